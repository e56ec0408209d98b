//! The default shutdown signals: SIGINT (Ctrl-C) and SIGTERM stop the scheduler gracefully.
//! (Its own test binary: the signals go to the whole process.)
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{Job, JobContext, Scheduler};
use std::time::Duration;
use tokio::sync::mpsc;

/// Runs a scheduler with the default signals and a job that starts at once and waits for
/// its cancellation token; sends `signal` to this process while the job runs.
async fn stops_on(signal: &str) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::builder("waits-for-shutdown", "0 0 1 1 *")
        .monitor(false)
        .run_at_startup(true)
        .run(move |ctx: JobContext| {
            let tx = tx.clone();
            async move {
                let _ = tx.send("started");
                ctx.cancelled().await;
                let _ = tx.send("wrapped up");
            }
        })
        .build()
        .unwrap();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .job(job)
        .build()
        .unwrap();
    let handle = tokio::spawn(scheduler.run());
    // Jobs start only after the signal handlers are installed.
    assert_eq!(rx.recv().await, Some("started"));

    kill(signal);

    // Bounded only so a regression fails instead of hanging.
    let ended = tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .unwrap_or_else(|_| panic!("scheduler did not stop on SIG{signal}"));
    ended.expect("scheduler task").expect("scheduler result");
    assert_eq!(rx.recv().await, Some("wrapped up"));
}

/// Sends `signal` to this process.
fn kill(signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// The exported signal: its clones (one for a server, one for the scheduler) all resolve on
/// one SIGTERM; `trigger` resolves them without a signal.
async fn shared_signal_resolves_every_clone() {
    let signal = sentry_schedule::shutdown_signal();
    let server = tokio::spawn(signal.clone());
    let scheduler = tokio::spawn(signal.clone());
    assert!(!signal.is_triggered());
    kill("TERM");
    for clone in [server, scheduler] {
        tokio::time::timeout(Duration::from_secs(20), clone)
            .await
            .expect("a clone did not resolve on SIGTERM")
            .expect("clone task");
    }
    assert!(signal.is_triggered());

    let by_hand = sentry_schedule::shutdown_signal();
    let waiting = tokio::spawn(by_hand.clone());
    by_hand.trigger();
    waiting.await.expect("a clone resolves on trigger");
}

// One test: the signals go to the whole process, so the cases must not run side by side.
#[tokio::test]
async fn sigint_and_sigterm_shut_down_gracefully() {
    stops_on("INT").await;
    stops_on("TERM").await;
    shared_signal_resolves_every_clone().await;
}
