//! A job that blocks its thread (against tokio's rules, but it happens) must not hold up
//! the jobs due at the same instant: they start on another worker thread meanwhile.
//!
//! Real time on a two-worker runtime, since the point is a thread that is really blocked.
//! No timing is assumed: the blocking job waits for the second job to start and the test
//! checks that it started for the same tick (a later tick would also reach it: the
//! dispatcher starts the next tick's run of the second job on its own).
use chrono::{DateTime, Utc};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Far longer than starting a job takes; reached only when the second job cannot start.
const BOUND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_blocking_its_thread_does_not_delay_the_jobs_due_with_it() {
    let (started_tx, started_rx) = mpsc::channel::<DateTime<Utc>>();
    let started_rx = Arc::new(Mutex::new(started_rx));
    let (verdict_tx, verdict_rx) = oneshot::channel::<(DateTime<Utc>, Option<DateTime<Utc>>)>();
    let verdict_tx = Arc::new(Mutex::new(Some(verdict_tx)));

    // First in the table, so first in the batch of jobs due at the same second.
    let blocking = Job::builder("blocks-its-thread", "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let (started_rx, verdict_tx) = (Arc::clone(&started_rx), Arc::clone(&verdict_tx));
            async move {
                // Blocks the worker thread, synchronously, until the other job has started.
                let other = started_rx
                    .lock()
                    .ok()
                    .and_then(|rx| rx.recv_timeout(BOUND).ok());
                if let Some(tx) = verdict_tx.lock().ok().and_then(|mut tx| tx.take()) {
                    let _ = tx.send((ctx.scheduled(), other));
                }
            }
        })
        .build()
        .expect("valid job");
    let other = Job::builder("due-at-the-same-second", "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let started_tx = started_tx.clone();
            async move {
                let _ = started_tx.send(ctx.scheduled());
            }
        })
        .build()
        .expect("valid job");

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .job(blocking)
        .job(other)
        .shutdown_timeout(Duration::from_secs(1))
        .shutdown_signal(async move {
            let _ = stop_rx.await;
        })
        .build()
        .expect("valid scheduler");
    let running = tokio::spawn(scheduler.run());

    let (tick, other) = tokio::time::timeout(BOUND * 2, verdict_rx)
        .await
        .expect("the blocking job ran")
        .expect("the blocking job reported");
    assert_eq!(
        other,
        Some(tick),
        "the job due at the same second did not start for that second while the first one \
         blocked its thread"
    );
    let _ = stop_tx.send(());
    running
        .await
        .expect("scheduler task")
        .expect("scheduler stopped cleanly");
}
