//! An ingest endpoint that answers 500, hangs, or is down must not stop or delay any job,
//! and a job that panics or fails must not disturb the others.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{Job, JobContext};
use sentry_schedule_tests::three_ticks::{DUE, RUN_FOR, START};
use sentry_schedule_tests::{bind, client, client_with, down_dsn, run_scheduler, Ingest, Mode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

type Starts = Arc<Mutex<Vec<Duration>>>;

/// A job on every minute recording when (since `t0`, tokio's clock) each run started,
/// then ending with `end`.
fn job(slug: &str, t0: Instant, starts: &Starts, end: fn() -> Result<(), String>) -> Job {
    let starts = Arc::clone(starts);
    Job::builder(slug, "* * * * *")
        .run(move |_ctx: JobContext| {
            starts.lock().expect("lock").push(t0.elapsed());
            async move { end() }
        })
        .build()
        .expect("valid job")
}

fn succeed() -> Result<(), String> {
    Ok(())
}

fn fail() -> Result<(), String> {
    Err("upstream refused".into())
}

fn panic() -> Result<(), String> {
    panic!("bug in the job")
}

/// Runs three jobs (ok, `Err`, panic) for three ticks with the client posting to `dsn`;
/// every run of every job must start exactly when due. Returns the real time it took.
async fn jobs_run_on_time(client: Arc<sentry::Client>) -> std::time::Duration {
    let _hub = bind(client);
    let t0 = Instant::now();
    let starts: [Starts; 3] = Default::default();
    let jobs = vec![
        job("healthy", t0, &starts[0], succeed),
        job("failing", t0, &starts[1], fail),
        job("panicking", t0, &starts[2], panic),
    ];

    let real = std::time::Instant::now();
    run_scheduler(START, RUN_FOR, jobs).await;
    let real = real.elapsed();

    for (slug, starts) in ["healthy", "failing", "panicking"].iter().zip(&starts) {
        assert_eq!(*starts.lock().expect("lock"), DUE, "runs of `{slug}`");
    }
    real
}

/// The transport sends from its own thread and drops what it cannot queue, so a broken
/// endpoint never delays a run on the scheduler's clock (checked exactly above). Real time
/// it can cost: the scheduler's final flush (5 s) and, with sentry's panic integration,
/// that integration's own synchronous flush on every panic (the client's
/// `shutdown_timeout`, 2 s; three panics here) when the endpoint never answers.
const REAL_TIME_BOUND: std::time::Duration = std::time::Duration::from_secs(15);

#[tokio::test(start_paused = true)]
async fn endpoint_answering_500_delays_nothing() {
    let ingest = Ingest::start(Mode::Status(500));
    let real = jobs_run_on_time(client(&ingest.dsn(), true)).await;
    assert!(ingest.requests() > 0, "the client never posted");
    assert!(real < REAL_TIME_BOUND, "took {real:?}");
}

#[tokio::test(start_paused = true)]
async fn endpoint_that_never_answers_delays_nothing() {
    let ingest = Ingest::start(Mode::Hang);
    // sentry 0.49's panic integration flushes synchronously inside the panic hook, and that
    // flush blocks without limit once the transport's queue (30 envelopes by default) is
    // full behind a request that never returns: sentry's behaviour, outside the scheduler
    // (the README says so). This test is about the scheduler, so the queue is made large
    // enough for all its envelopes; the flush then waits its 2 s and returns.
    let client = client_with(&ingest.dsn(), true, |options| {
        options.transport_channel_capacity(1000)
    });
    let real = jobs_run_on_time(Arc::clone(&client)).await;
    assert!(ingest.requests() > 0, "the client never posted");
    assert!(real < REAL_TIME_BOUND, "took {real:?}");
    // Dropping the client joins its transport thread, which waits for an answer that never
    // comes (the reqwest transport has no request timeout): keep it alive instead.
    std::mem::forget(client);
}

#[tokio::test(start_paused = true)]
async fn endpoint_that_is_down_delays_nothing() {
    let real = jobs_run_on_time(client(&down_dsn(), true)).await;
    assert!(real < REAL_TIME_BOUND, "took {real:?}");
}

#[tokio::test(start_paused = true)]
async fn working_endpoint_receives_every_run() {
    let ingest = Ingest::start(Mode::Accept);
    jobs_run_on_time(client(&ingest.dsn(), true)).await;
    let arrived = ingest.wait_until(std::time::Duration::from_secs(20), |e| {
        sentry_schedule_tests::count(e, "check_in") >= 18
    });
    assert!(arrived, "{:#?}", ingest.check_ins());
    let check_ins = ingest.check_ins();
    for slug in ["healthy", "failing", "panicking"] {
        let statuses: Vec<&str> = check_ins
            .iter()
            .filter(|c| c["monitor_slug"] == slug)
            .map(|c| c["status"].as_str().expect("status"))
            .collect();
        let end = if slug == "healthy" { "ok" } else { "error" };
        assert_eq!(
            statuses,
            ["in_progress", end, "in_progress", end, "in_progress", end],
            "{slug}"
        );
    }
}
