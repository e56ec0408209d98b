//! Overlap policies end to end: what Sentry receives when a tick comes while the previous
//! run still runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{Job, JobContext, Overlap};
use sentry_schedule_tests::{bind, client, count, run_scheduler, trace_id, Ingest, Mode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 30 s before the 12:00 tick.
const START: &str = "2026-03-01T11:59:30Z";
const LIMIT: Duration = Duration::from_secs(20);

fn statuses(check_ins: &[Value]) -> Vec<&str> {
    check_ins
        .iter()
        .map(|c| c["status"].as_str().expect("status"))
        .collect()
}

/// 80 s runs every minute: the 12:01 and 12:03 ticks come while a run is going and are
/// skipped; the 12:00 and 12:02 runs are reported normally.
#[tokio::test(start_paused = true)]
async fn skip_sends_nothing_for_a_skipped_tick() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let scheduled = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&scheduled);
    let job = Job::builder("export", "* * * * *")
        .overlap(Overlap::Skip)
        .run(move |ctx: JobContext| {
            seen.lock()
                .expect("lock")
                .push(ctx.scheduled().format("%H:%M").to_string());
            async { tokio::time::sleep(Duration::from_secs(80)).await }
        })
        .build()
        .expect("valid job");

    // Until 12:03:30; the 12:02 run ends at 12:03:20.
    run_scheduler(START, Duration::from_secs(240), vec![job]).await;

    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 4));
    // The sender keeps the order of each run's check-ins, not the order between runs (it
    // has several requests in flight, and under the paused clock one run ends as the next
    // starts in real time): each run's check-ins are taken by its id.
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 4, "{check_ins:#?}");
    let mut runs: Vec<Vec<Value>> = Vec::new();
    for check_in in check_ins {
        match runs
            .iter_mut()
            .find(|run| run[0]["check_in_id"] == check_in["check_in_id"])
        {
            Some(run) => run.push(check_in),
            None => runs.push(vec![check_in]),
        }
    }
    assert_eq!(runs.len(), 2, "{runs:#?}");
    for run in &runs {
        assert_eq!(statuses(run), ["in_progress", "ok"]);
        assert_eq!(run[1]["duration"], json!(80.0));
    }
    assert_eq!(*scheduled.lock().expect("lock"), ["12:00", "12:02"]);
}

/// 90 s runs every minute that ignore their token: at 12:01 the 12:00 run is cancelled,
/// dropped after the 5 s grace and reported `error` ("replaced by a newer run"); the
/// 12:01 run is still going at shutdown (12:01:10), is cancelled at the 30 s deadline and
/// reported `error` ("interrupted by shutdown") after the grace.
#[tokio::test(start_paused = true)]
async fn replace_reports_the_old_run_as_error_and_starts_the_new_one() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let job = Job::builder("rebuild-index", "* * * * *")
        .overlap(Overlap::Replace)
        .run(|_ctx: JobContext| async {
            tokio::time::sleep(Duration::from_secs(90)).await;
        })
        .build()
        .expect("valid job");

    run_scheduler(START, Duration::from_secs(100), vec![job]).await;

    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 4
        && count(e, "event") >= 2));
    // The sender keeps the order of each run's check-ins, not the order between runs (it
    // has several requests in flight, and under the paused clock both runs end at once in
    // real time): each run's check-ins are taken by its trace id, which its event names.
    let events = ingest.events();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(events[0]
        .to_string()
        .contains("job `rebuild-index` replaced by a newer run"));
    assert!(events[1]
        .to_string()
        .contains("job `rebuild-index` interrupted by shutdown"));
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 4, "{check_ins:#?}");
    let run_of = |event: &Value| -> Vec<Value> {
        let of_run = |c: &&Value| trace_id(c) == trace_id(event);
        check_ins.iter().filter(of_run).cloned().collect()
    };
    let (old, new) = (run_of(&events[0]), run_of(&events[1]));
    assert_eq!(statuses(&old), ["in_progress", "error"]);
    assert_eq!(statuses(&new), ["in_progress", "error"]);
    assert_ne!(old[0]["check_in_id"], new[0]["check_in_id"]);
    assert_eq!(old[1]["check_in_id"], old[0]["check_in_id"]);
    assert_eq!(new[1]["check_in_id"], new[0]["check_in_id"]);
    // 12:00:00 → replaced at 12:01:00 → dropped 5 s later.
    assert_eq!(old[1]["duration"], json!(65.0));
    // 12:01:00 → shutdown at 12:01:10, deadline 12:01:40 → dropped 5 s later.
    assert_eq!(new[1]["duration"], json!(45.0));
}
