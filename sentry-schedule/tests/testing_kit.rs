//! The test kit itself (`sentry_schedule::testing`): what it reports is what the scheduler
//! did and sent. Expected instants and values are written by hand.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::testing::{self, with_fault, Fault, TestKit};
use sentry_schedule::{Job, RunStatus, State};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

mod kit_support;
use kit_support::{at, every_five};

/// The state the job below takes, as a real service would hand in a pool.
#[derive(Default)]
struct Exports {
    written: AtomicU32,
}

#[sentry_schedule::scheduled(
    cron = "30 2 * * *",
    slug = "nightly-export",
    timezone = "Europe/Vienna",
    checkin_margin = 5,
    max_runtime = 20,
    owner = "team:42"
)]
async fn nightly_export(exports: State<Exports>) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_secs(90)).await;
    exports.written.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[sentry_schedule::scheduled(cron = "0 * * * *", slug = "sync-invoices")]
async fn sync_invoices() -> anyhow::Result<()> {
    anyhow::bail!("ledger unreachable")
}

#[tokio::test(start_paused = true)]
async fn run_once_reports_the_check_ins_as_sent_with_the_injected_state() {
    let kit = TestKit::new()
        .at(at("2027-01-04T01:30:00Z"))
        .environment("production")
        .release("shop@1.4.0")
        .state(Exports::default());
    let run = kit
        .run_once(testing::job(nightly_export).unwrap())
        .await
        .unwrap();

    assert!(run.outcome.is_ok(), "{:?}", run.outcome);
    assert_eq!(run.outcome.duration, Duration::from_secs(90));
    assert_eq!(run.scheduled, at("2027-01-04T01:30:00Z"));
    assert_eq!(run.statuses(), ["in_progress", "ok"]);
    let [started, ended] = &run.check_ins[..] else {
        panic!("two check-ins, got {:?}", run.check_ins);
    };
    for check_in in [started, ended] {
        assert_eq!(check_in.check_in_id(), run.check_in_id);
        assert_eq!(check_in.monitor_slug(), "nightly-export");
        assert_eq!(check_in.environment(), Some("production"));
        assert_eq!(check_in.release(), Some("shop@1.4.0"));
        assert_eq!(check_in.trace_id(), Some(run.trace_id.as_str()));
        assert_eq!(
            check_in.monitor_config(),
            Some(&serde_json::json!({
                "schedule": {"type": "crontab", "value": "30 2 * * *"},
                "checkin_margin": 5,
                "max_runtime": 20,
                "timezone": "Europe/Vienna",
                "owner": "team:42",
            }))
        );
    }
    assert_eq!(started.duration(), None);
    assert_eq!(ended.duration(), Some(Duration::from_secs(90)));
    assert_eq!(ended.sent(), at("2027-01-04T01:31:30Z"));
    assert!(run.events.is_empty());
    run.assert_sentry_accepts();
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_an_event_linked_to_its_check_in() {
    let run = TestKit::new()
        .run_once(testing::job(sync_invoices).unwrap())
        .await
        .unwrap();
    assert_eq!(run.outcome.status, RunStatus::Error);
    assert_eq!(run.outcome.message.as_deref(), Some("ledger unreachable"));
    assert_eq!(run.statuses(), ["in_progress", "error"]);
    let [event] = &run.events[..] else {
        panic!("one event, got {:?}", run.events);
    };
    assert_eq!(event.message(), Some("ledger unreachable"));
    assert_eq!(event.tag("monitor.slug"), Some("sync-invoices"));
    assert_eq!(event.trace_id().as_deref(), Some(run.trace_id.as_str()));
    assert_eq!(run.check_ins[1].trace_id(), Some(run.trace_id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn a_fn_that_is_not_scheduled_is_an_error_naming_it() {
    async fn helper() {}
    let error = testing::job(helper).unwrap_err().to_string();
    assert!(
        error.contains("helper` is not a `#[scheduled]` fn"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_dst_day_fires_a_time_in_the_skipped_hour_once_after_the_gap() {
    // Vienna skips 02:00-03:00 local on 2027-03-28: 02:30 does not exist that day; the run
    // comes at 03:00 CEST (01:00 UTC), once. The days around it: 02:30 CET = 01:30 UTC,
    // 02:30 CEST = 00:30 UTC.
    let days = TestKit::new()
        .state(Exports::default())
        .simulate(
            [testing::job(nightly_export).unwrap()],
            at("2027-03-27T00:00:00Z"),
            at("2027-03-30T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(
        days.fired_at("nightly-export"),
        [
            at("2027-03-27T01:30:00Z"),
            at("2027-03-28T01:00:00Z"),
            at("2027-03-29T00:30:00Z"),
        ]
    );
    assert_eq!(
        days.started_at("nightly-export"),
        days.fired_at("nightly-export")
    );
    days.assert_sentry_accepts();
}

#[tokio::test(start_paused = true)]
async fn simulate_fires_every_tick_on_time_with_both_check_ins() {
    let hour = TestKit::new()
        .simulate(
            [every_five("a"), every_five("b")],
            at("2027-06-01T10:00:00Z"),
            at("2027-06-01T10:30:00Z"),
        )
        .await
        .unwrap();
    let ticks = [
        at("2027-06-01T10:05:00Z"),
        at("2027-06-01T10:10:00Z"),
        at("2027-06-01T10:15:00Z"),
        at("2027-06-01T10:20:00Z"),
        at("2027-06-01T10:25:00Z"),
    ];
    for slug in ["a", "b"] {
        assert_eq!(hour.fired_at(slug), ticks);
        assert_eq!(hour.started_at(slug), ticks, "never early, never late");
        assert!(hour.never_overlaps(slug));
    }
    assert_eq!(hour.runs.len(), 10);
    assert!(hour
        .runs
        .iter()
        .all(|run| run.statuses() == ["in_progress", "ok"]));
    assert!(hour.stray_check_ins.is_empty() && hour.stray_events.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_slow_run_makes_the_next_tick_skip() {
    let slow = with_fault(every_five("slow"), Fault::Slow(Duration::from_secs(7 * 60)));
    let half_hour = TestKit::new()
        .simulate(
            [slow],
            at("2027-06-01T10:00:00Z"),
            at("2027-06-01T10:30:00Z"),
        )
        .await
        .unwrap();
    // 10:05 runs to 10:12, so 10:10 is skipped; 10:15 runs to 10:22, 10:20 skipped; 10:25.
    assert_eq!(
        half_hour.fired_at("slow"),
        [
            at("2027-06-01T10:05:00Z"),
            at("2027-06-01T10:15:00Z"),
            at("2027-06-01T10:25:00Z"),
        ]
    );
    assert_eq!(half_hour.skipped("slow"), 2);
    assert!(half_hour.never_overlaps("slow"));
}

#[tokio::test(start_paused = true)]
async fn a_hanging_run_times_out_and_one_at_the_end_is_cancelled_by_shutdown() {
    let timed = Job::builder("bounded", "0 * * * *")
        .timeout(Duration::from_secs(60))
        .run(|_| async {})
        .build()
        .unwrap();
    let kit = TestKit::new()
        .cancel_grace(Duration::from_secs(5))
        .shutdown_timeout(Duration::from_secs(10));
    let run = kit.run_once(with_fault(timed, Fault::Hang)).await.unwrap();
    assert_eq!(run.outcome.status, RunStatus::TimedOut);
    assert_eq!(run.outcome.duration, Duration::from_secs(65));
    assert_eq!(run.statuses(), ["in_progress", "error"]);
    assert_eq!(
        run.events[0].message(),
        Some("job `bounded` timed out after 1m")
    );

    let hanging = with_fault(every_five("hangs"), Fault::Hang);
    let sim = kit
        .simulate(
            [hanging],
            at("2027-06-01T10:00:00Z"),
            at("2027-06-01T10:06:00Z"),
        )
        .await
        .unwrap();
    let [run] = &sim.runs[..] else {
        panic!("one run, got {:?}", sim.runs);
    };
    assert_eq!(run.outcome.status, RunStatus::Cancelled);
    assert_eq!(
        run.outcome.message.as_deref(),
        Some("interrupted by shutdown")
    );
    assert_eq!(run.statuses(), ["in_progress", "error"]);
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_repeats_and_stays_below_its_bound() {
    let jittered = || {
        Job::builder("jittered", "*/5 * * * *")
            .jitter(Duration::from_secs(60))
            .run(|_| async {})
            .build()
            .unwrap()
    };
    let simulate = |seed| async move {
        TestKit::new()
            .jitter_seed(seed)
            .simulate(
                [jittered()],
                at("2027-06-01T10:00:00Z"),
                at("2027-06-01T11:00:00Z"),
            )
            .await
            .unwrap()
    };
    let (first, again, other) = (simulate(7).await, simulate(7).await, simulate(8).await);
    assert_eq!(first.started_at("jittered"), again.started_at("jittered"));
    assert_ne!(first.started_at("jittered"), other.started_at("jittered"));
    assert_eq!(first.runs.len(), 11);
    for run in &first.runs {
        let delay = run.started - run.scheduled;
        assert!(delay >= chrono::TimeDelta::zero() && delay < chrono::TimeDelta::seconds(60));
    }
}

#[tokio::test(start_paused = true)]
async fn two_kits_side_by_side_see_only_their_own_runs() {
    let (from, to) = (at("2027-06-01T10:00:00Z"), at("2027-06-01T10:12:00Z"));
    let failing = with_fault(every_five("left"), Fault::Fail("left broke".into()));
    let left = TestKit::new().environment("left");
    let right = TestKit::new().environment("right");
    let (left, right) = tokio::join!(
        left.simulate([failing], from, to),
        right.simulate([every_five("right")], from, to),
    );
    let (left, right) = (left.unwrap(), right.unwrap());
    assert!(left.runs.iter().all(|run| run.slug == "left"));
    assert!(right.runs.iter().all(|run| run.slug == "right"));
    assert_eq!((left.runs.len(), right.runs.len()), (2, 2));
    assert!(left.check_ins().all(|c| c.environment() == Some("left")));
    assert!(right.check_ins().all(|c| c.environment() == Some("right")));
    assert!(right.runs.iter().all(|run| run.events.is_empty()));
    assert!(left.runs.iter().all(|run| run.events.len() == 1));
    assert!(left.stray_events.is_empty() && right.stray_events.is_empty());
    // Nothing was bound to the test's own hub.
    assert!(sentry::Hub::current().client().is_none());
}

#[tokio::test(start_paused = true)]
async fn simulate_registered_runs_every_scheduled_fn_of_the_binary() {
    let night = TestKit::new()
        .state(Exports::default())
        .simulate_registered(at("2027-01-04T00:00:00Z"), at("2027-01-04T02:30:00Z"))
        .await
        .unwrap();
    assert_eq!(
        night.fired_at("sync-invoices"),
        [at("2027-01-04T01:00:00Z"), at("2027-01-04T02:00:00Z")]
    );
    // 02:30 Vienna in winter is 01:30 UTC.
    assert_eq!(
        night.fired_at("nightly-export"),
        [at("2027-01-04T01:30:00Z")]
    );
    assert_eq!(night.runs.len(), 3);
    assert_eq!(night.stats("sync-invoices").unwrap().failed(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_light_report_keeps_ticks_statuses_and_outcomes_but_no_check_ins() {
    let (from, to) = (at("2027-06-01T10:00:00Z"), at("2027-06-01T11:00:00Z"));
    let jobs = || {
        [
            every_five("plain"),
            with_fault(every_five("broken"), Fault::Fail("down".into())),
        ]
    };
    let full = TestKit::new().simulate(jobs(), from, to).await.unwrap();
    let light = TestKit::new()
        .keep_check_ins(false)
        .simulate(jobs(), from, to)
        .await
        .unwrap();
    let ticks: Vec<_> = (1..12)
        .map(|n| from + chrono::TimeDelta::minutes(5 * n))
        .collect();
    for slug in ["plain", "broken"] {
        assert_eq!(light.fired_at(slug), ticks);
        assert_eq!(light.fired_at(slug), full.fired_at(slug));
        assert!(light.never_overlaps(slug));
        assert_eq!(light.stats(slug).unwrap().started(), 11);
    }
    assert_eq!(light.runs.len(), 22);
    for run in &light.runs {
        let expected = if run.slug == "plain" { "ok" } else { "error" };
        assert_eq!(run.statuses(), ["in_progress", expected]);
        assert!(run.check_ins.is_empty());
    }
    let broken = light.runs_of("broken").next().unwrap();
    assert_eq!(broken.outcome.message.as_deref(), Some("down"));
    assert_eq!(
        broken.events[0].trace_id().as_deref(),
        Some(broken.trace_id.as_str())
    );
    assert_eq!(full.check_ins().count(), 44);
    assert_eq!(light.check_ins().count(), 0);
}

#[tokio::test(start_paused = true)]
async fn retries_stay_inside_one_check_in_with_an_event_per_failed_attempt() {
    // Attempts 1 and 2 fail, 3 succeeds; backoff 10 s doubles: waits of 10 s and 20 s.
    let flaky = Job::builder("flaky-import", "0 * * * *")
        .timeout(Duration::from_secs(60))
        .retries(2)
        .backoff(Duration::from_secs(10))
        .run(|ctx| async move {
            match ctx.attempt() {
                n @ (1 | 2) => Err(std::io::Error::other(format!("attempt {n} failed"))),
                _ => Ok(()),
            }
        })
        .build()
        .unwrap();
    let run = TestKit::new()
        .at(at("2027-06-01T10:00:00Z"))
        .run_once(flaky)
        .await
        .unwrap();
    assert_eq!(run.outcome.status, RunStatus::Ok);
    assert_eq!(run.statuses(), ["in_progress", "ok"]);
    assert_eq!(run.outcome.duration, Duration::from_secs(30));
    assert_eq!(run.check_ins[1].duration(), Some(Duration::from_secs(30)));
    let attempts: Vec<_> = run.events.iter().map(|e| e.tag("attempt")).collect();
    assert_eq!(attempts, [Some("1"), Some("2")]);
    let messages: Vec<_> = run.events.iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        [Some("attempt 1 failed"), Some("attempt 2 failed")]
    );
    assert!(run
        .events
        .iter()
        .all(|e| e.trace_id().as_deref() == Some(run.trace_id.as_str())));
    run.assert_sentry_accepts();
}
