//! SIGINT during a running job: the job's final check-in is delivered before the process
//! exits. Runs the `shutdown_probe` service binary against a local ingest endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule_tests::{count, trace_id, Ingest, Mode};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Bounds a failing wait; passing runs take about a second (cooperative) or the 5 s
/// cancellation grace (a job that ignores its token).
const LIMIT: Duration = Duration::from_secs(60);

fn probe(job: &str, dsn: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shutdown_probe"));
    command.env("PROBE_JOB", job).env_remove("SENTRY_DSN");
    if let Some(dsn) = dsn {
        command.env("SENTRY_DSN", dsn);
    }
    command
}

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT failed: {status}");
}

/// Waits for the child to exit; kills it and fails when it does not within [`LIMIT`].
fn wait_for_exit(mut child: Child) -> ExitStatus {
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait()));
    match rx.recv_timeout(LIMIT) {
        Ok(status) => status.expect("wait for the probe"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the probe did not exit within {LIMIT:?} of SIGINT");
        }
    }
}

/// `expected`: the final status, and the event message when the run is reported `error`.
fn sigint_delivers_the_final_check_in(job: &str, expected: (&str, Option<&str>)) {
    let ingest = Ingest::start(Mode::Accept);
    let child = probe(job, Some(&ingest.dsn()))
        .stdout(Stdio::null())
        .spawn()
        .expect("start the probe");
    let started = ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 1);
    if !started {
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        panic!("no in_progress check-in: {:?}", ingest.check_ins());
    }

    sigint(&child);
    let status = wait_for_exit(child);

    // The process has exited: whatever the endpoint holds now was delivered before exit.
    assert!(status.success(), "probe exited with {status}");
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 2, "{check_ins:#?}");
    assert_eq!(check_ins[0]["status"], "in_progress");
    assert_eq!(check_ins[1]["status"], expected.0);
    assert_eq!(check_ins[1]["monitor_slug"], "long-export");
    assert_eq!(check_ins[1]["check_in_id"], check_ins[0]["check_in_id"]);
    assert!(check_ins[1]["duration"].is_f64(), "{:#}", check_ins[1]);
    let events = ingest.events();
    match expected.1 {
        None => assert!(events.is_empty(), "{events:#?}"),
        Some(message) => {
            assert_eq!(events.len(), 1, "{events:#?}");
            assert!(events[0].to_string().contains(message), "{:#}", events[0]);
            assert_eq!(trace_id(&events[0]), trace_id(&check_ins[0]));
        }
    }
}

/// The job's token fires on SIGINT; the job stops before the shutdown deadline and its
/// own outcome is reported.
#[test]
fn sigint_during_a_cooperative_job_delivers_its_final_check_in() {
    sigint_delivers_the_final_check_in("cooperative", ("ok", None));
}

/// The job ignores its token: at the deadline it is cancelled, dropped after the grace,
/// and reported `error` with an event.
#[test]
fn sigint_during_a_scheduled_fn_that_ignores_cancellation_delivers_its_final_check_in() {
    sigint_delivers_the_final_check_in(
        "macro",
        ("error", Some("job `long-export` interrupted by shutdown")),
    );
}

#[test]
fn without_a_dsn_check_ins_are_printed() {
    let mut child = probe("cooperative", None)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the probe");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(LIMIT).expect("a printed in_progress line");
    sigint(&child);
    let status = wait_for_exit(child);
    assert!(status.success(), "probe exited with {status}");
    let second = rx.recv_timeout(LIMIT).expect("a printed final line");

    let id = first
        .rsplit("check_in_id=")
        .next()
        .expect("check_in_id field");
    assert_eq!(id.len(), 32, "{first}");
    assert_eq!(
        first,
        format!(
            "[sentry-schedule] check-in  monitor=long-export  status=in_progress  check_in_id={id}"
        )
    );
    let prefix = format!(
        "[sentry-schedule] check-in  monitor=long-export  status=ok  check_in_id={id}  duration="
    );
    assert!(second.starts_with(&prefix), "{second}");
    assert!(second.ends_with('s'), "{second}");
}
