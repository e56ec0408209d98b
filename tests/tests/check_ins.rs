//! One run, end to end: the real sentry client and its HTTP transport post to a local
//! ingest endpoint; the scheduler runs on tokio's paused clock and an injected wall clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry::integrations::tracing::{ErrorLayer, SpanLayer};
use sentry_schedule::{Job, JobContext};
use sentry_schedule_tests::{
    bind, client, client_with, count, is_hex32, run_scheduler, trace_id, Ingest, Mode, ENVIRONMENT,
    RELEASE,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

/// Bounds a failing wait on the ingest endpoint; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(20);
/// 30 s before a `*/5` tick, so only the start-up run happens in the first 10 s.
const START: &str = "2026-03-01T11:59:30Z";
const SHORT: Duration = Duration::from_secs(10);

/// What a job saw of its own run.
#[derive(Debug, Clone, Default)]
struct Seen {
    check_in_id: String,
    trace_id: String,
}

fn record(seen: &Arc<Mutex<Vec<Seen>>>, ctx: &JobContext) {
    seen.lock().expect("lock").push(Seen {
        check_in_id: ctx.check_in_id().to_owned(),
        trace_id: ctx.trace_id().to_owned(),
    });
}

/// An event's level; the protocol leaves out the default, `error`.
fn level(event: &Value) -> &str {
    event["level"].as_str().unwrap_or("error")
}

fn wait_for_check_ins(ingest: &Ingest, n: usize) -> Vec<Value> {
    let arrived = ingest.wait_until(LIMIT, |envelopes| count(envelopes, "check_in") >= n);
    assert!(
        arrived,
        "expected {n} check-ins, got {:?}",
        ingest.check_ins()
    );
    ingest.check_ins()
}

#[tokio::test(start_paused = true)]
async fn ok_run_sends_in_progress_then_ok_with_monitor_config() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let job_seen = Arc::clone(&seen);
    let job = Job::builder("refresh-rates", "*/5 * * * *")
        .timezone("Europe/Vienna")
        .checkin_margin(2)
        .max_runtime(10)
        .failure_issue_threshold(3)
        .recovery_threshold(4)
        .owner("team:6")
        .run_at_startup(true)
        .run(move |ctx: JobContext| {
            record(&job_seen, &ctx);
            async {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        })
        .build()
        .expect("valid job");

    run_scheduler(START, SHORT, vec![job]).await;

    let check_ins = wait_for_check_ins(&ingest, 2);
    assert_eq!(check_ins.len(), 2, "{check_ins:#?}");
    let (started, ended) = (&check_ins[0], &check_ins[1]);
    let expected_config = json!({
        "schedule": {"type": "crontab", "value": "*/5 * * * *"},
        "checkin_margin": 2,
        "max_runtime": 10,
        "failure_issue_threshold": 3,
        "recovery_threshold": 4,
        "timezone": "Europe/Vienna",
        "owner": "team:6",
    });
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["monitor_slug"], "refresh-rates");
    assert_eq!(started["monitor_config"], expected_config);
    assert_eq!(started["environment"], ENVIRONMENT);
    assert_eq!(started["release"], RELEASE);
    assert!(started.get("duration").is_none(), "{started}");

    assert_eq!(ended["status"], "ok");
    assert_eq!(ended["check_in_id"], started["check_in_id"]);
    assert_eq!(trace_id(ended), trace_id(started));
    assert_eq!(ended["environment"], ENVIRONMENT);
    assert_eq!(ended["release"], RELEASE);
    // The job slept 3 s on the paused clock: the duration is exactly that.
    assert_eq!(ended["duration"], json!(3.0));

    let check_in_id = started["check_in_id"].as_str().expect("check_in_id");
    assert!(is_hex32(check_in_id), "{check_in_id}");
    assert!(is_hex32(trace_id(started)), "{}", trace_id(started));
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].check_in_id, check_in_id);
    assert_eq!(seen[0].trace_id, trace_id(started));
    assert!(ingest.events().is_empty(), "{:#?}", ingest.events());
    assert!(ingest.errors().is_empty(), "{:?}", ingest.errors());
    // Nothing but the two check-ins was posted (no empty envelopes).
    assert_eq!(ingest.requests(), 2);
}

#[tokio::test(start_paused = true)]
async fn events_of_a_failed_run_carry_its_trace_id_and_slug() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let _tracing = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(SpanLayer::new().with_filter(LevelFilter::INFO))
            .with(ErrorLayer::new().with_filter(LevelFilter::ERROR)),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let job_seen = Arc::clone(&seen);
    let job = Job::builder("nightly-export", "*/5 * * * *")
        .run_at_startup(true)
        .run(move |ctx: JobContext| {
            record(&job_seen, &ctx);
            async {
                sentry::capture_message("exporting", sentry::Level::Info);
                tokio::time::sleep(Duration::from_millis(250)).await;
                tracing::error!("row 17 is corrupt");
                Err::<(), _>(anyhow::anyhow!("database unreachable"))
            }
        })
        .build()
        .expect("valid job");

    run_scheduler(START, SHORT, vec![job]).await;

    let check_ins = wait_for_check_ins(&ingest, 2);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "event") >= 3));
    let events = ingest.events();
    assert_eq!(check_ins.len(), 2);
    assert_eq!(check_ins[0]["status"], "in_progress");
    assert_eq!(check_ins[1]["status"], "error");
    assert_eq!(check_ins[1]["duration"], json!(0.25));
    let run_trace = trace_id(&check_ins[0]);
    assert_eq!(trace_id(&check_ins[1]), run_trace);
    assert_eq!(seen.lock().expect("lock")[0].trace_id, run_trace);

    assert_eq!(events.len(), 3, "{events:#?}");
    for event in &events {
        assert_eq!(trace_id(event), run_trace, "{event:#}");
        assert_eq!(event["tags"]["monitor.slug"], "nightly-export", "{event:#}");
        assert_eq!(event["environment"], ENVIRONMENT);
        assert_eq!(event["release"], RELEASE);
    }
    let captured = events
        .iter()
        .find(|e| e["message"] == "exporting" || e["logentry"]["message"] == "exporting")
        .expect("the capture_message event");
    assert_eq!(level(captured), "info");
    let traced = events
        .iter()
        .find(|e| e.to_string().contains("row 17 is corrupt"))
        .expect("the tracing::error! event");
    assert_eq!(level(traced), "error");
    let returned = events
        .iter()
        .find(|e| e["exception"]["values"][0]["value"] == "database unreachable")
        .expect("the returned Err as an exception event");
    assert_eq!(returned["exception"]["values"][0]["type"], "anyhow::Error");
    assert_eq!(level(returned), "error");
    assert!(ingest.errors().is_empty(), "{:?}", ingest.errors());
}

async fn panics(ctx: JobContext) {
    let minute = ctx.scheduled().format("%H:%M");
    panic!("sync failed at {minute}");
}

/// A job panicking on every tick, with or without sentry's panic integration: each run is
/// reported `error` with exactly one panic event, and the scheduler keeps running it.
async fn panicking_job(panic_integration: bool) {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), panic_integration));
    let job = Job::builder("flaky-sync", "* * * * *")
        .run(panics)
        .build()
        .expect("valid job");

    // Ticks at 12:00 and 12:01.
    run_scheduler(START, Duration::from_secs(100), vec![job]).await;

    let check_ins = wait_for_check_ins(&ingest, 4);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "event") >= 2));
    assert_eq!(check_ins.len(), 4, "{check_ins:#?}");
    let events = ingest.events();
    assert_eq!(events.len(), 2, "one event per panic: {events:#?}");
    // The sender keeps the order of each run's check-ins, not the order between runs (it
    // has several requests in flight, and under the paused clock one run ends as the next
    // starts in real time): each run's check-ins are those with its event's trace id.
    let runs: Vec<Vec<&Value>> = events
        .iter()
        .map(|event| {
            let of_run = |c: &&Value| trace_id(c) == trace_id(event);
            check_ins.iter().filter(of_run).collect()
        })
        .collect();
    for (event, (run, minute)) in events.iter().zip(runs.iter().zip(["12:00", "12:01"])) {
        let statuses: Vec<&Value> = run.iter().map(|c| &c["status"]).collect();
        assert_eq!(statuses, ["in_progress", "error"]);
        assert_eq!(run[0]["check_in_id"], run[1]["check_in_id"]);
        let exception = &event["exception"]["values"][0];
        assert_eq!(exception["value"], format!("sync failed at {minute}"));
        assert_eq!(exception["mechanism"]["type"], "panic");
        assert_eq!(event["tags"]["monitor.slug"], "flaky-sync");
    }
    assert_ne!(runs[0][0]["check_in_id"], runs[1][0]["check_in_id"]);
    assert_ne!(trace_id(runs[0][0]), trace_id(runs[1][0]));
}

#[tokio::test(start_paused = true)]
async fn panic_is_reported_once_without_the_panic_integration() {
    panicking_job(false).await;
}

#[tokio::test(start_paused = true)]
async fn panic_is_reported_once_with_the_panic_integration() {
    panicking_job(true).await;
}

/// A job that runs past its timeout is reported `error` with an event saying so.
async fn timed_out_job(cooperative: bool, expected_duration: f64) {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let job = Job::builder("slow-report", "0 * * * *")
        .max_runtime(15)
        .timeout(Duration::from_secs(600))
        .run_at_startup(true)
        .run(move |ctx: JobContext| async move {
            let hour = tokio::time::sleep(Duration::from_secs(3600));
            if cooperative {
                tokio::select! {
                    () = hour => {}
                    () = ctx.cancelled() => {}
                }
            } else {
                hour.await;
            }
        })
        .build()
        .expect("valid job");

    run_scheduler(START, Duration::from_secs(1200), vec![job]).await;

    let check_ins = wait_for_check_ins(&ingest, 2);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "event") >= 1));
    assert_eq!(check_ins.len(), 2);
    assert_eq!(check_ins[1]["status"], "error");
    assert_eq!(check_ins[1]["duration"], json!(expected_duration));
    let events = ingest.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let text = events[0].to_string();
    assert!(
        text.contains("job `slow-report` timed out after 10m"),
        "{text}"
    );
    assert_eq!(trace_id(&events[0]), trace_id(&check_ins[0]));
}

#[tokio::test(start_paused = true)]
async fn timeout_drops_a_job_that_ignores_its_token_after_the_grace() {
    // 10 min timeout + 5 s grace.
    timed_out_job(false, 605.0).await;
}

#[tokio::test(start_paused = true)]
async fn timeout_fires_the_token_of_a_cooperative_job() {
    timed_out_job(true, 600.0).await;
}

#[tokio::test(start_paused = true)]
async fn unmonitored_job_sends_no_check_ins_but_links_its_error() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let job_seen = Arc::clone(&seen);
    let job = Job::builder("cache-warmer", "*/5 * * * *")
        .monitor(false)
        .run_at_startup(true)
        .run(move |ctx: JobContext| {
            record(&job_seen, &ctx);
            async { Err::<(), _>(std::io::Error::other("cache node gone")) }
        })
        .build()
        .expect("valid job");

    run_scheduler(START, SHORT, vec![job]).await;

    assert!(ingest.wait_until(LIMIT, |e| count(e, "event") >= 1));
    let events = ingest.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["exception"]["values"][0]["type"],
        "std::io::error::Error"
    );
    assert_eq!(
        events[0]["exception"]["values"][0]["value"],
        "cache node gone"
    );
    assert_eq!(events[0]["tags"]["monitor.slug"], "cache-warmer");
    assert_eq!(trace_id(&events[0]), seen.lock().expect("lock")[0].trace_id);
    assert!(ingest.check_ins().is_empty(), "{:#?}", ingest.check_ins());
}

#[tokio::test(start_paused = true)]
async fn sampled_run_sends_a_cron_transaction_in_the_runs_trace() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client_with(&ingest.dsn(), true, |o| {
        o.traces_sample_rate(1.0)
    }));
    let _tracing = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(SpanLayer::new().with_filter(LevelFilter::INFO)),
    );
    let job = Job::builder("rollup", "*/5 * * * *")
        .run_at_startup(true)
        .run(|_ctx: JobContext| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
        })
        .build()
        .expect("valid job");

    run_scheduler(START, SHORT, vec![job]).await;

    let check_ins = wait_for_check_ins(&ingest, 2);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "transaction") >= 1));
    let transactions = ingest.payloads("transaction");
    assert_eq!(transactions.len(), 1, "{transactions:#?}");
    let transaction = &transactions[0];
    assert_eq!(transaction["transaction"], "rollup");
    assert_eq!(transaction["contexts"]["trace"]["op"], "cron");
    assert_eq!(transaction["contexts"]["trace"]["status"], "ok");
    assert_eq!(trace_id(transaction), trace_id(&check_ins[0]));
    assert_eq!(transaction["tags"]["monitor.slug"], "rollup");
    // The run's `tracing` span, through sentry-tracing, is a child span of the transaction.
    let spans = transaction["spans"].as_array().expect("spans");
    assert!(
        spans.iter().any(|s| s["description"] == "scheduled_job"
            && s["trace_id"] == check_ins[0]["contexts"]["trace"]["trace_id"]),
        "{spans:#?}"
    );
}

/// Sentry attaches pending client reports (counts of dropped data, here the transaction
/// not sampled at rate 0) to the next envelope it sends; a check-in envelope must not
/// swallow them.
#[tokio::test(start_paused = true)]
async fn client_reports_are_not_lost_to_check_ins() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client_with(&ingest.dsn(), true, |o| {
        o.traces_sample_rate(0.0)
    }));
    let job = Job::builder("unsampled", "*/5 * * * *")
        .run_at_startup(true)
        .run(|_ctx: JobContext| async {})
        .build()
        .expect("valid job");

    run_scheduler(START, SHORT, vec![job]).await;

    wait_for_check_ins(&ingest, 2);
    assert!(ingest.wait_until(LIMIT, |e| count(e, "client_report") >= 1));
    let reports = ingest.payloads("client_report");
    let discarded = &reports[0]["discarded_events"];
    assert!(
        discarded
            .as_array()
            .expect("discarded_events")
            .iter()
            .any(|d| d["reason"] == "sample_rate" && d["category"] == "transaction"),
        "{reports:#?}"
    );
}
