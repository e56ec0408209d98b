//! The grace a timed-out run gets after its token fired: 5 s by default, so a `timeout` of
//! 2 s on a job that ignores its token reports failing after 7 s; `cancel_grace` sets it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::coordinator::RunStatus;
use sentry_schedule::{Job, Scheduler, SchedulerBuilder};
use std::time::Duration;

/// Runs a job with a 2 s timeout that ignores its token, once, on the paused clock.
async fn timed_out_after(builder: SchedulerBuilder) -> (RunStatus, Duration) {
    let job = Job::builder("ignores-its-token", "0 3 * * *")
        .monitor(false)
        .timeout(Duration::from_secs(2))
        .run(|_| tokio::time::sleep(Duration::from_secs(3600)))
        .build()
        .expect("valid job");
    let scheduler = builder
        .registered_jobs(false)
        .job(job)
        .build()
        .expect("valid scheduler");
    let report = scheduler
        .run_now("ignores-its-token")
        .await
        .expect("known slug");
    (report.status, report.duration)
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_run_is_dropped_after_the_timeout_plus_the_grace() {
    assert_eq!(
        sentry_schedule::DEFAULT_CANCEL_GRACE,
        Duration::from_secs(5)
    );
    assert_eq!(
        timed_out_after(Scheduler::builder()).await,
        (RunStatus::TimedOut, Duration::from_secs(7))
    );
    assert_eq!(
        timed_out_after(Scheduler::builder().cancel_grace(Duration::from_millis(500))).await,
        (RunStatus::TimedOut, Duration::from_millis(2500))
    );
}
