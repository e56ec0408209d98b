//! The test kit's ingest faults go through the scheduler's own check-in sender: its
//! retries with backoff, rate-limit pauses, drops, counters and warnings run as in
//! production, on virtual time. Expected instants and counts are written by hand from the
//! documented rules (README, "How check-ins reach Sentry"): backoff 1 s, 2 s, 4 s … 60 s,
//! at most 8 attempts, `Retry-After` honoured, a final check-in sent only after its
//! `in_progress` was answered, a 5 s flush bound at the end.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::testing::{Answer, CheckIn, Simulation, TestKit};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

mod log_capture;
use log_capture::Logged;

mod kit_support;
use kit_support::{at, every_five};

/// A rule answering `first` to the first request carrying each check-in, then `Accept`.
fn first_request(first: Answer) -> impl Fn(&CheckIn) -> Answer + Send + Sync + 'static {
    let seen = Mutex::new(HashSet::new());
    move |check_in| {
        let key = (
            check_in.check_in_id().to_owned(),
            check_in.status().to_owned(),
        );
        if seen.lock().expect("lock").insert(key) {
            first
        } else {
            Answer::Accept
        }
    }
}

/// A rule answering `answer` to every `in_progress` check-in and `Accept` to the others.
fn in_progress_answered(answer: Answer) -> impl Fn(&CheckIn) -> Answer + Send + Sync + 'static {
    move |check_in| match check_in.status() {
        "in_progress" => answer,
        _ => Answer::Accept,
    }
}

/// One run of `slug` at 10:05, the simulation ending at `to`.
async fn one_run(kit: TestKit, slug: &str, to: &str) -> Simulation {
    kit.simulate([every_five(slug)], at("2027-06-01T10:04:00Z"), at(to))
        .await
        .expect("simulated")
}

#[tokio::test(start_paused = true)]
async fn a_check_in_refused_with_a_5xx_is_retried_after_the_backoff_and_delivered() {
    let kit = TestKit::new().ingest(first_request(Answer::Refuse(503)));
    let sim = one_run(kit, "flaky-ingest", "2027-06-01T10:10:00Z").await;
    let run = &sim.runs[0];
    assert_eq!(run.statuses(), ["in_progress", "ok"]);
    let [started, ended] = &run.check_ins[..] else {
        panic!("two check-ins: {:?}", run.check_ins);
    };
    // in_progress: refused at 10:05:00, sent again after 1 s. The `ok` waits for its
    // answer, is refused in turn at 10:05:01 (a first failure again after a success: 1 s).
    assert_eq!(started.attempts(), 2);
    assert_eq!(started.received(), Some(at("2027-06-01T10:05:01Z")));
    assert_eq!(ended.attempts(), 2);
    assert_eq!(ended.received(), Some(at("2027-06-01T10:05:02Z")));
    assert_eq!(run.sentry_saw(), ["in_progress", "ok"]);
    let stats = sim.check_in_stats;
    assert_eq!((stats.queued, stats.sent, stats.retried), (2, 2, 2));
    assert_eq!(stats.dropped.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_check_in_that_always_fails_is_dropped_after_eight_attempts_counted_and_warned() {
    let (logged, _guard) = Logged::capture(tracing::Level::WARN);
    let kit = TestKit::new().ingest(in_progress_answered(Answer::Refuse(500)));
    let sim = one_run(kit, "down-ingest", "2027-06-01T10:10:00Z").await;
    let run = &sim.runs[0];
    let [started, ended] = &run.check_ins[..] else {
        panic!("two check-ins: {:?}", run.check_ins);
    };
    assert_eq!(started.attempts(), 8);
    assert!(!started.accepted());
    // Pauses of 1, 2, 4, 8, 16, 32 and 60 s between the 8 attempts: the `ok` goes after
    // the last one, at 10:05:00 + 123 s.
    assert_eq!(ended.attempts(), 1);
    assert_eq!(ended.received(), Some(at("2027-06-01T10:07:03Z")));
    assert_eq!(run.sentry_saw(), ["ok"]);
    let stats = sim.check_in_stats;
    assert_eq!((stats.sent, stats.retried, stats.dropped.failed), (1, 7, 1));
    let logs = logged.text();
    assert!(
        logs.contains("check-in could not be sent; dropped")
            && logs.contains("monitor=down-ingest")
            && logs.contains("attempts=8"),
        "{logs}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_pauses_sending_for_its_retry_after() {
    let kit = TestKit::new().ingest(first_request(Answer::RetryAfter(Duration::from_secs(30))));
    let sim = one_run(kit, "limited", "2027-06-01T10:10:00Z").await;
    let [started, ended] = &sim.runs[0].check_ins[..] else {
        panic!("two check-ins");
    };
    assert_eq!(started.received(), Some(at("2027-06-01T10:05:30Z")));
    // The `ok`'s own first request is limited in turn.
    assert_eq!(ended.received(), Some(at("2027-06-01T10:06:00Z")));
    let stats = sim.check_in_stats;
    assert_eq!(
        (stats.sent, stats.rate_limited, stats.dropped.total()),
        (2, 2, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn what_a_rate_limit_holds_past_the_flush_bound_is_dropped_counted_and_warned() {
    let (logged, _guard) = Logged::capture(tracing::Level::WARN);
    let kit = TestKit::new().ingest(first_request(Answer::RetryAfter(Duration::from_secs(30))));
    // Stopped at 10:05:10; the flush bound (5 s) ends before the pause (10:05:30).
    let sim = one_run(kit, "held", "2027-06-01T10:05:10Z").await;
    let run = &sim.runs[0];
    assert_eq!(run.statuses(), ["in_progress", "ok"]);
    assert!(run.check_ins.iter().all(|check_in| !check_in.accepted()));
    assert!(run.sentry_saw().is_empty());
    assert_eq!(sim.check_in_stats.dropped.shutdown, 2);
    let logs = logged.text();
    assert!(
        logs.contains("check-ins not sent within the flush bound; dropped")
            && logs.contains(r#"monitor="held""#),
        "{logs}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_in_progress_leaves_sentry_the_final_alone_and_a_late_one_holds_it_back() {
    let (logged, _guard) = Logged::capture(tracing::Level::WARN);
    let kit = TestKit::new().ingest(in_progress_answered(Answer::Refuse(413)));
    let run = kit.run_once(every_five("too-large")).await.unwrap();
    assert_eq!(run.statuses(), ["in_progress", "ok"]);
    assert_eq!(
        (run.check_ins[0].accepted(), run.check_ins[0].attempts()),
        (false, 1)
    );
    assert_eq!(run.sentry_saw(), ["ok"]);
    let logs = logged.text();
    assert!(
        logs.contains("Sentry refused the check-in; dropped") && logs.contains("http_status=413"),
        "{logs}"
    );

    // A slow answer to the `in_progress` (within the 5 s flush bound of `run_once`): the
    // `ok` waits for it, never before it.
    let kit = TestKit::new()
        .at(at("2027-06-01T10:00:00Z"))
        .ingest(in_progress_answered(Answer::Delay(Duration::from_secs(3))));
    let run = kit.run_once(every_five("slow-ingest")).await.unwrap();
    assert_eq!(run.sentry_saw(), ["in_progress", "ok"]);
    assert_eq!(
        run.check_ins[0].received(),
        Some(at("2027-06-01T10:00:03Z"))
    );
    assert_eq!(
        run.check_ins[1].received(),
        Some(at("2027-06-01T10:00:03Z"))
    );
}
