//! Ten thousand jobs: every one fires on its tick.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

const JOBS: usize = 10_000;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_jobs_all_fire_on_their_tick() {
    let clock = TestClock::new(at("2026-03-02T12:04:10Z"));
    let ran = Arc::new(AtomicUsize::new(0));
    let on_time = Arc::new(AtomicUsize::new(0));
    let all_done = Arc::new(Notify::new());
    let jobs = (0..JOBS).map(|i| {
        let (ran, on_time, all_done, clock) = (
            ran.clone(),
            on_time.clone(),
            all_done.clone(),
            clock.clone(),
        );
        Job::builder(format!("job-{i:05}"), "*/5 * * * *")
            .monitor(false)
            .run(move |ctx: JobContext| {
                if ctx.scheduled() == at("2026-03-02T12:05:00Z") && clock.now() == ctx.scheduled() {
                    on_time.fetch_add(1, Ordering::SeqCst);
                }
                if ran.fetch_add(1, Ordering::SeqCst) + 1 == JOBS {
                    all_done.notify_one();
                }
                async {}
            })
            .build()
            .expect("valid job")
    });
    let started = std::time::Instant::now();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .jobs(jobs)
        .shutdown_signal(std::future::pending())
        .build()
        .expect("valid scheduler");
    let built = started.elapsed();
    let handle = tokio::spawn(scheduler.run());
    all_done.notified().await;
    println!(
        "{JOBS} jobs: built in {built:?}, all ran once after {:?} (real time)",
        started.elapsed()
    );
    assert_eq!(on_time.load(Ordering::SeqCst), JOBS);
    handle.abort();
}
