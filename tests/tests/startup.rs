//! What a new service sees when it starts: the facts it must not miss on stderr (without any
//! tracing subscriber), errors printed as their message from `main`, jobs of a library
//! crate linked with one line, and no job at all as an error instead of a silent wait.
//!
//! Runs the `startup_probe` and `linked_jobs_probe` binaries as child processes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use std::process::{Command, Output};
use std::time::Duration;

/// Runs `binary` with `args` and `env`, without a DSN, and waits for it (bounded so a probe
/// that waits forever fails the test instead of hanging it).
fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_remove("SENTRY_DSN")
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the probe");
    let id = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match waited.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.expect("probe output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
            panic!("{binary} {args:?} did not exit within 60 s");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const NO_JOBS: &str = "no jobs to run: no `#[scheduled]` fn is linked into this binary and no \
job was added with `Scheduler::builder().job(..)`; if your jobs are in a library crate, add \
`sentry_schedule::link_jobs!(that_crate);` to the binary (a crate the binary never uses is \
not linked, and its jobs with it)";

const NO_DSN: &str = "sentry-schedule: warning: Sentry has no DSN: check-ins are printed on \
stdout, not sent; in production this means SENTRY_DSN is not set (or `ClientOptions::dsn` is \
empty)";

#[test]
fn without_jobs_run_all_fails_at_once_and_main_prints_the_message_not_debug() {
    let out = run(
        env!("CARGO_BIN_EXE_startup_probe"),
        &[],
        &[("PROBE", "run")],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // `main` returning `Err` prints it with `Debug`, which reads like `Display`.
    assert_eq!(text(&out.stderr), format!("Error: {NO_JOBS}\n"));
}

#[test]
fn list_without_jobs_says_why_and_exits_non_zero_and_warns_about_the_missing_dsn() {
    let out = run(
        env!("CARGO_BIN_EXE_startup_probe"),
        &[],
        &[("PROBE", "list")],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(text(&out.stdout), "no jobs\n");
    assert_eq!(
        text(&out.stderr),
        format!("{NO_DSN}\nerror: {NO_JOBS}\n"),
        "stderr"
    );
}

#[test]
fn without_a_sentry_client_list_says_so() {
    let out = run(
        env!("CARGO_BIN_EXE_startup_probe"),
        &[],
        &[("PROBE", "list"), ("PROBE_SENTRY", "none")],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "sentry-schedule: warning: no Sentry client: check-ins are printed on stdout, not \
             sent; call `sentry::init` before the scheduler starts and keep its guard alive\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_library_crates_job_is_linked_by_one_line_and_listed_as_derived() {
    let probe = env!("CARGO_BIN_EXE_linked_jobs_probe");
    let out = run(probe, &["list"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    let slug = "sentry_schedule_test_jobslib-nightly_cleanup";
    let row = stdout
        .lines()
        .find(|line| line.starts_with(slug))
        .unwrap_or_else(|| panic!("no row for the library's job in:\n{stdout}"));
    assert!(row.starts_with(&format!("{slug}*  0 3 * * *")), "{row}");
    assert!(
        stdout.ends_with(
            "\n* slug derived from the fn path: renaming or moving the fn, or renaming its \
             crate, makes a new Sentry monitor (the old one then reports missed check-ins); \
             give jobs that matter `slug = \"...\"`\n"
        ),
        "{stdout}"
    );
    assert_eq!(text(&out.stderr), format!("{NO_DSN}\n"));

    // And it runs: `run <slug>` starts the library's fn, with its check-ins printed.
    let out = run(probe, &["run", slug], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("nightly_cleanup: done\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("check-in  monitor={slug}  status=ok")),
        "{stdout}"
    );
}
