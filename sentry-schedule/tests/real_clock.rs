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

/// The last stretch before an instant is slept on the runtime's blocking pool, which the
/// application shares: with every blocking thread taken, jobs must still run.
#[test]
fn jobs_run_while_every_blocking_thread_is_taken() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let runs = runtime.block_on(async move {
        // Takes the only blocking thread until the test ends.
        let hog = tokio::task::spawn_blocking(move || {
            let _ = release_rx.recv();
        });
        let (tx, mut rx) = mpsc::unbounded_channel::<DateTime<Utc>>();
        let job = Job::builder("while-the-pool-is-busy", "1s")
            .monitor(false)
            .run(move |ctx: JobContext| {
                let _ = tx.send(ctx.scheduled());
                async {}
            })
            .build()
            .expect("valid job");
        let scheduler = Scheduler::builder()
            .registered_jobs(false)
            .job(job)
            .shutdown_signal(std::future::pending())
            .build()
            .expect("valid scheduler");
        let running = tokio::spawn(scheduler.run());
        let mut runs = Vec::new();
        while runs.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(scheduled)) => runs.push(scheduled),
                _ => break,
            }
        }
        running.abort();
        let _ = release_tx.send(());
        let _ = hog.await;
        runs
    });
    assert_eq!(
        runs.len(),
        2,
        "runs while the blocking pool was busy: {runs:?}"
    );
    assert!(runs[0] < runs[1]);
}
