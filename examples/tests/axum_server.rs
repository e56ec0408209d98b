//! The axum example as a service: its `/metrics`; and it is stopped: SIGTERM while its job runs stops the server and
//! the scheduler together, the running job finishes and its final check-in is printed, and
//! the process exits 0. Runs the example's binary as a child process.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a step may take before the test fails (it never waits for it otherwise).
const LIMIT: Duration = Duration::from_secs(60);

/// The example's binary, built by the cargo running this test (`cargo test` only checks
/// examples): `target/<profile>/examples/axum_server`.
fn example_binary() -> PathBuf {
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--example",
            "axum_server",
            "--features",
            "axum",
        ])
        .args([
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .status()
        .expect("run cargo build --example axum_server");
    assert!(built.success(), "cargo build --example axum_server failed");
    let me = std::env::current_exe().expect("test binary path");
    me.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples")
        .join("axum_server")
}

/// Reads `child`'s stdout lines onto a channel, from a thread of its own.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
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
    rx
}

/// Waits for the first line containing `wanted`, keeping every line read in `seen`.
fn wait_for(rx: &mpsc::Receiver<String>, seen: &mut Vec<String>, wanted: &str) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(wanted) {
                    return line;
                }
            }
            Err(_) => panic!("no line with {wanted:?} within {LIMIT:?}; output: {seen:#?}"),
        }
    }
}

fn get(addr: &str) -> String {
    get_path(addr, "/")
}

fn get_path(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the example's server");
    stream.set_read_timeout(Some(LIMIT)).expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

/// Kills the example with SIGKILL when the test fails before it exited.
struct KillOnFailure(u32);

impl Drop for KillOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
}

/// Starts the example on a free port: the child, its stdout lines, and its address.
fn start_example() -> (Child, mpsc::Receiver<String>, Vec<String>, String) {
    let mut child = Command::new(example_binary())
        .env("LISTEN", "127.0.0.1:0")
        .env_remove("SENTRY_DSN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the axum example (built by `cargo test --features axum`)");
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    let listening = wait_for(&rx, &mut seen, "listening on http://");
    let addr = listening
        .trim_start_matches("listening on http://")
        .to_owned();
    (child, rx, seen, addr)
}

/// `/metrics` serves the scheduler's metrics in the Prometheus text format once a run ended.
#[test]
fn metrics_are_served_in_the_prometheus_format() {
    let (mut child, rx, mut seen, addr) = start_example();
    let _kill = KillOnFailure(child.id());
    let slug = "axum_server-refresh_rates";
    wait_for(&rx, &mut seen, &format!("monitor={slug}  status=ok"));
    let response = get_path(&addr, "/metrics");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let value = |series: &str| -> f64 {
        let line = response
            .lines()
            .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {series} in {response}"));
        line[series.len()..].trim().parse().expect("a number")
    };
    let ok = format!("sentry_schedule_runs_total{{job=\"{slug}\",outcome=\"ok\"}}");
    assert!(value(&ok) >= 1.0, "{response}");
    let error = format!("sentry_schedule_runs_total{{job=\"{slug}\",outcome=\"error\"}}");
    assert_eq!(value(&error), 0.0, "{response}");
    let duration = format!("sentry_schedule_run_duration_seconds_count{{job=\"{slug}\"}}");
    assert!(value(&duration) >= 1.0, "{response}");
    assert!(
        response.contains("# TYPE sentry_schedule_start_lag_seconds summary"),
        "{response}"
    );
    child.kill().expect("stop the example");
    let _ = child.wait();
}

#[test]
fn sigterm_stops_server_and_scheduler_with_final_check_ins_and_exit_0() {
    let (mut child, rx, mut seen, addr) = start_example();
    let _kill = KillOnFailure(child.id());
    let slug = "axum_server-refresh_rates";
    wait_for(
        &rx,
        &mut seen,
        &format!("monitor={slug}  status=in_progress"),
    );
    // The job takes two seconds: the server answers while it runs.
    let response = get(&addr);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    wait_for(&rx, &mut seen, "refresh_rates: EUR/USD 1.08");
    wait_for(&rx, &mut seen, &format!("monitor={slug}  status=ok"));
    wait_for(&rx, &mut seen, "server and scheduler stopped");
    let (done, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let exit = exited
        .recv_timeout(LIMIT)
        .expect("the example exits after SIGTERM")
        .expect("exit status");
    assert_eq!(exit.code(), Some(0), "{exit:?}; output: {seen:#?}");
}
