//! Retries inside one run, end to end: the attempts of a tick run on the backoff schedule
//! within one check-in (one `in_progress`, one final), each failed attempt is one event on
//! the run's trace with its `attempt` tag, and shutdown or replacement stops retrying. The
//! real sentry client and HTTP transport against a local ingest endpoint, on tokio's paused
//! clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{Job, JobBuilder, JobContext, Overlap};
use sentry_schedule_tests::{bind, client, count, run_scheduler, trace_id, Ingest, Mode};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// 30 s before the 12:00 tick.
const START: &str = "2026-03-01T11:59:30Z";
const LIMIT: Duration = Duration::from_secs(20);

/// Each attempt: its number, the tick it belongs to, and when it started (tokio's clock).
type Attempts = Arc<Mutex<Vec<(u32, String, Instant)>>>;

fn record(attempts: &Attempts, ctx: &JobContext) -> u32 {
    let tick = ctx.scheduled().format("%H:%M").to_string();
    attempts
        .lock()
        .unwrap()
        .push((ctx.attempt(), tick, Instant::now()));
    ctx.attempt()
}

/// Seconds of each attempt's start after the first one's.
fn offsets(attempts: &Attempts) -> Vec<(u32, u64)> {
    let attempts = attempts.lock().unwrap();
    let first = attempts[0].2;
    attempts
        .iter()
        .map(|(n, _, at)| (*n, (*at - first).as_secs()))
        .collect()
}

/// `ledger-sync` on `schedule` with a 20 s timeout and `retries` retries after `backoff`;
/// every attempt is recorded in `attempts`, then runs `body` with its number.
fn ledger_sync<F, Fut>(
    schedule: &str,
    retries: u32,
    backoff: u64,
    attempts: &Attempts,
    body: F,
) -> JobBuilder
where
    F: Fn(JobContext, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let seen = Arc::clone(attempts);
    Job::builder("ledger-sync", schedule)
        .timeout(Duration::from_secs(20))
        .retries(retries)
        .backoff(Duration::from_secs(backoff))
        .run(move |ctx: JobContext| {
            let attempt = record(&seen, &ctx);
            body(ctx, attempt)
        })
}

fn statuses(check_ins: &[Value]) -> Vec<&str> {
    check_ins
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

/// Attempt 1 returns `Err`, 2 panics, 3 times out (20 s), 4 succeeds. Backoff 10 s doubling,
/// capped at 15 s: attempts start at 0, 10, 25 (+20 timed out = 45) + 15 = 60 s. One
/// `in_progress`, one `ok` with the 60 s of all attempts, three events on the run's trace
/// tagged `attempt` 1, 2 and 3.
#[tokio::test(start_paused = true)]
async fn failed_attempts_are_retried_on_the_backoff_schedule_inside_one_check_in() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let attempts = Attempts::default();
    let job = ledger_sync("0 12 * * *", 3, 10, &attempts, |ctx, attempt| async move {
        match attempt {
            1 => Err(anyhow::anyhow!("ledger locked")),
            2 => panic!("ledger corrupt"),
            3 => {
                ctx.cancelled().await;
                Ok(())
            }
            _ => Ok(()),
        }
    })
    .backoff_max(Duration::from_secs(15))
    .build()
    .unwrap();

    run_scheduler(START, Duration::from_secs(120), vec![job]).await;

    assert_eq!(offsets(&attempts), [(1, 0), (2, 10), (3, 25), (4, 60)]);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 2
        && count(e, "event") >= 3));
    let check_ins = ingest.check_ins();
    assert_eq!(statuses(&check_ins), ["in_progress", "ok"]);
    assert_eq!(check_ins[0]["check_in_id"], check_ins[1]["check_in_id"]);
    assert_eq!(check_ins[1]["duration"], json!(60.0));
    let run_trace = trace_id(&check_ins[0]).to_owned();
    let events = ingest.events();
    assert_eq!(events.len(), 3, "{events:#?}");
    let mut tagged: Vec<(String, String)> = events
        .iter()
        .map(|event| {
            assert_eq!(trace_id(event), run_trace, "{event:#}");
            assert_eq!(event["tags"]["monitor.slug"], "ledger-sync");
            let what = event["exception"]["values"][0]["value"]
                .as_str()
                .or(event["message"].as_str())
                .or(event["logentry"]["message"].as_str())
                .unwrap_or_default()
                .to_owned();
            (event["tags"]["attempt"].as_str().unwrap().to_owned(), what)
        })
        .collect();
    tagged.sort();
    assert_eq!(
        tagged,
        [
            ("1".to_owned(), "ledger locked".to_owned()),
            ("2".to_owned(), "ledger corrupt".to_owned()),
            (
                "3".to_owned(),
                "job `ledger-sync` timed out after 20s".to_owned()
            ),
        ]
    );
}

/// Every attempt fails: the run ends `error` only after the third (retries = 2), 1 + 2 s of
/// backoff later; three events, tagged 1 to 3.
#[tokio::test(start_paused = true)]
async fn a_run_whose_attempts_all_fail_ends_in_error_after_the_last() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let attempts = Attempts::default();
    let job = ledger_sync("0 12 * * *", 2, 1, &attempts, |_, attempt| async move {
        Err(anyhow::anyhow!("ledger locked ({attempt})"))
    })
    .build()
    .unwrap();

    run_scheduler(START, Duration::from_secs(60), vec![job]).await;

    assert_eq!(offsets(&attempts), [(1, 0), (2, 1), (3, 3)]);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 2
        && count(e, "event") >= 3));
    let check_ins = ingest.check_ins();
    assert_eq!(statuses(&check_ins), ["in_progress", "error"]);
    assert_eq!(check_ins[1]["duration"], json!(3.0));
    let mut tags: Vec<String> = ingest
        .events()
        .iter()
        .map(|e| e["tags"]["attempt"].as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    assert_eq!(tags, ["1", "2", "3"]);
}

/// Shutdown 10 s into a 60 s backoff: the run stops retrying at once and ends with its one
/// failed attempt; the scheduler does not wait for the backoff or its shutdown deadline.
#[tokio::test(start_paused = true)]
async fn shutdown_during_the_backoff_stops_retrying() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let attempts = Attempts::default();
    let job = ledger_sync("0 12 * * *", 3, 60, &attempts, |_, _| async {
        Err(anyhow::anyhow!("ledger locked"))
    })
    .build()
    .unwrap();

    let began = Instant::now();
    run_scheduler(START, Duration::from_secs(40), vec![job]).await;
    // Shutdown at 12:00:10; no run left to wait for.
    assert_eq!(began.elapsed(), Duration::from_secs(40));

    assert_eq!(offsets(&attempts), [(1, 0)]);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 2
        && count(e, "event") >= 1));
    let check_ins = ingest.check_ins();
    assert_eq!(statuses(&check_ins), ["in_progress", "error"]);
    assert_eq!(check_ins[1]["duration"], json!(0.0));
    assert_eq!(ingest.events().len(), 1);
}

/// `overlap = "replace"`: the 12:01 tick replaces the 12:00 run while it waits a 90 s
/// backoff; that run ends `error` with its one attempt, and the 12:01 run starts at once.
#[tokio::test(start_paused = true)]
async fn replacement_during_the_backoff_stops_retrying() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let attempts = Attempts::default();
    let job = ledger_sync("* * * * *", 1, 90, &attempts, |_, attempt| async move {
        match attempt {
            1 => Err(anyhow::anyhow!("ledger locked")),
            _ => Ok(()),
        }
    })
    .overlap(Overlap::Replace)
    .max_runtime(5)
    .build()
    .unwrap();

    // Until 12:01:30: the 12:01 run is in its backoff at shutdown and stops too.
    run_scheduler(START, Duration::from_secs(120), vec![job]).await;

    let ticks: Vec<(u32, String)> = attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(n, tick, _)| (*n, tick.clone()))
        .collect();
    assert_eq!(ticks, [(1, "12:00".into()), (1, "12:01".into())]);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 4));
    let check_ins = ingest.check_ins();
    let first: Vec<&str> = check_ins
        .iter()
        .filter(|c| c["check_in_id"] == check_ins[0]["check_in_id"])
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(first, ["in_progress", "error"]);
    assert_eq!(count(&ingest.envelopes(), "check_in"), 4);
}
