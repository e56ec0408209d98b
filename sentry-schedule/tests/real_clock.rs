//! With the system clock the scheduler sleeps the last two milliseconds before an instant on
//! a blocking thread instead of tokio's timer: runs must still never start early.
//!
//! Real time, since that path is taken only with the real clock. Nothing is assumed about
//! how late a run may be; the test checks the one hard rule, start >= scheduled instant,
//! on every run of three ticks.
use chrono::{DateTime, Utc};
use sentry_schedule::clock::{Clock, SystemClock, TestClock};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::time::Duration;
use tokio::sync::mpsc;

#[test]
fn only_the_system_clock_allows_the_precise_wake() {
    assert!(SystemClock.precise_wake());
    assert!(!TestClock::new(Utc::now()).precise_wake());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_never_start_before_their_instant() {
    const TICKS: usize = 3;
    let (tx, mut rx) = mpsc::unbounded_channel::<(DateTime<Utc>, DateTime<Utc>)>();
    let jobs = (0..4).map(|i| {
        let tx = tx.clone();
        Job::builder(format!("every-second-{i}"), "1s")
            .monitor(false)
            .run(move |ctx: JobContext| {
                let started = Utc::now();
                let _ = tx.send((ctx.scheduled(), started));
                async {}
            })
            .build()
            .expect("valid job")
    });
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .jobs(jobs)
        .shutdown_signal(std::future::pending())
        .build()
        .expect("valid scheduler");
    let running = tokio::spawn(scheduler.run());
    let mut seen = Vec::new();
    while seen.len() < TICKS * 4 {
        let run = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("runs keep coming every second")
            .expect("channel open");
        seen.push(run);
    }
    running.abort();
    for (scheduled, started) in &seen {
        assert!(
            started >= scheduled,
            "a run for {scheduled} started early, at {started}"
        );
        assert_eq!(
            scheduled.timestamp_subsec_nanos(),
            0,
            "instants are whole seconds"
        );
    }
}
