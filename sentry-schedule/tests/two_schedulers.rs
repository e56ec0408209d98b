//! A second scheduler in one process running the same `#[scheduled]` jobs is an error
//! (every tick would run twice), unless it is built with `allow_same_jobs_twice`; once the
//! first has stopped, the jobs can run again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{scheduled, Error, Scheduler};
use tokio::sync::oneshot;

#[scheduled(cron = "0 3 * * *", slug = "twice-nightly")]
async fn nightly() {}

/// A scheduler of the registered jobs, running until the returned sender fires.
fn start(
    builder: sentry_schedule::SchedulerBuilder,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), Error>>,
) {
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = builder
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .build()
        .expect("valid scheduler");
    (stop, tokio::spawn(scheduler.run()))
}

/// Lets the spawned schedulers start (the paused clock advances at once).
async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn the_same_registered_jobs_run_in_one_scheduler_unless_allowed() {
    let (stop_first, first) = start(Scheduler::builder());
    // Let the first one start (it marks its jobs as running before anything else).
    settle().await;
    assert!(!first.is_finished());

    let second = Scheduler::builder().build().expect("valid scheduler");
    // Bounded: a second scheduler that ran instead would wait for Ctrl-C.
    let err = tokio::time::timeout(std::time::Duration::from_secs(1), second.run())
        .await
        .expect("the second scheduler must fail at once, not run")
        .expect_err("the second scheduler must not run");
    assert!(
        matches!(&err, Error::AlreadyRunning { slugs } if slugs == &["twice-nightly"]),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "another scheduler in this process is already running the job `twice-nightly`: each \
         tick would run twice; run one scheduler, or build this one with \
         `.registered_jobs(false)` (or `.allow_same_jobs_twice()` if that is what you want)"
    );

    // Explicitly allowed, it runs beside the first.
    let (stop_allowed, allowed) = start(Scheduler::builder().allow_same_jobs_twice());
    settle().await;
    assert!(!allowed.is_finished());
    let _ = stop_allowed.send(());
    allowed
        .await
        .expect("task")
        .expect("the allowed scheduler ran");

    // Once the first has stopped, the jobs are free again.
    let _ = stop_first.send(());
    first.await.expect("task").expect("the first scheduler ran");
    let (stop_again, again) = start(Scheduler::builder());
    settle().await;
    assert!(!again.is_finished());
    let _ = stop_again.send(());
    again
        .await
        .expect("task")
        .expect("a later scheduler runs the jobs again");
}
