//! The `metrics` feature with a real recorder (`metrics-util`'s `DebuggingRecorder`): three
//! jobs on tokio's paused clock, one that succeeds, one that fails, one whose ticks are
//! skipped by overlap; the exact values and labels recorded. Expected values written by hand.
#![cfg(feature = "metrics")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::{Job, Overlap, Scheduler};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::oneshot;

/// What the recorder holds: `name{label=value,...}` → value (histograms: every sample).
fn recorded(snapshotter: &metrics_util::debugging::Snapshotter) -> BTreeMap<String, Vec<f64>> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let values = match value {
                DebugValue::Counter(n) => vec![n as f64],
                DebugValue::Gauge(g) => vec![g.0],
                DebugValue::Histogram(samples) => samples.into_iter().map(|s| s.0).collect(),
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), values)
        })
        .collect()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

#[tokio::test(start_paused = true)]
async fn runs_outcomes_durations_lag_and_overlap_skips_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let jobs = vec![
        Job::builder("metrics-ok", "* * * * *")
            .run(|_| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok::<(), String>(())
            })
            .build()
            .unwrap(),
        Job::builder("metrics-fails", "* * * * *")
            .run(|_| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err::<(), String>("no".into())
            })
            .build()
            .unwrap(),
        Job::builder("metrics-overlap", "* * * * *")
            .overlap(Overlap::Skip)
            .run(|_| async {
                tokio::time::sleep(Duration::from_secs(150)).await;
                Ok::<(), String>(())
            })
            .build()
            .unwrap(),
    ];
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .jobs(jobs)
        .build()
        .unwrap();
    let handle = tokio::spawn(scheduler.run());

    // Ticks at 12:01, 12:02, 12:03 and 12:04; at 12:04:10 the overlap job's second run (from
    // 12:04, 150 s long) still runs, its first ran 12:01 to 12:03:30, 12:02 and 12:03 skipped.
    tokio::time::sleep(Duration::from_secs(220)).await;
    assert_eq!(
        clock.now(),
        at("2026-03-02T12:04:10Z"),
        "the wall clock follows tokio's"
    );
    let got = recorded(&snapshotter);

    let last_ok = at("2026-03-02T12:04:02Z").timestamp() as f64;
    let last_overlap_ok = at("2026-03-02T12:03:30Z").timestamp() as f64;
    let expected: BTreeMap<String, Vec<f64>> = [
        (
            "sentry_schedule_runs_total{job=metrics-ok,outcome=ok}",
            vec![4.0],
        ),
        (
            "sentry_schedule_runs_total{job=metrics-ok,outcome=error}",
            vec![0.0],
        ),
        (
            "sentry_schedule_runs_total{job=metrics-fails,outcome=ok}",
            vec![0.0],
        ),
        (
            "sentry_schedule_runs_total{job=metrics-fails,outcome=error}",
            vec![4.0],
        ),
        (
            "sentry_schedule_runs_total{job=metrics-overlap,outcome=ok}",
            vec![1.0],
        ),
        (
            "sentry_schedule_run_duration_seconds{job=metrics-ok}",
            vec![2.0; 4],
        ),
        (
            "sentry_schedule_run_duration_seconds{job=metrics-fails}",
            vec![1.0; 4],
        ),
        (
            "sentry_schedule_run_duration_seconds{job=metrics-overlap}",
            vec![150.0],
        ),
        (
            "sentry_schedule_start_lag_seconds{job=metrics-ok}",
            vec![0.0; 4],
        ),
        (
            "sentry_schedule_start_lag_seconds{job=metrics-fails}",
            vec![0.0; 4],
        ),
        (
            "sentry_schedule_start_lag_seconds{job=metrics-overlap}",
            vec![0.0; 2],
        ),
        (
            "sentry_schedule_ticks_skipped_total{job=metrics-overlap,reason=overlap}",
            vec![2.0],
        ),
        (
            "sentry_schedule_ticks_skipped_total{job=metrics-ok,reason=overlap}",
            vec![0.0],
        ),
        (
            "sentry_schedule_runs_in_progress{job=metrics-overlap}",
            vec![1.0],
        ),
        (
            "sentry_schedule_runs_in_progress{job=metrics-ok}",
            vec![0.0],
        ),
        (
            "sentry_schedule_runs_in_progress{job=metrics-fails}",
            vec![0.0],
        ),
        (
            "sentry_schedule_last_success_timestamp_seconds{job=metrics-ok}",
            vec![last_ok],
        ),
        (
            "sentry_schedule_last_success_timestamp_seconds{job=metrics-overlap}",
            vec![last_overlap_ok],
        ),
        (
            "sentry_schedule_last_success_timestamp_seconds{job=metrics-fails}",
            vec![0.0],
        ),
    ]
    .into_iter()
    .map(|(key, values)| (key.to_owned(), values))
    .collect();
    for (key, values) in &expected {
        assert_eq!(
            got.get(key),
            Some(values),
            "{key}; everything recorded: {got:#?}"
        );
    }
    // Every outcome and skip reason of every job is there from the first run on (zero until
    // counted), so a dashboard sees the series before the first failure.
    for job in ["metrics-ok", "metrics-fails", "metrics-overlap"] {
        for outcome in [
            "ok",
            "error",
            "panicked",
            "timed_out",
            "cancelled",
            "crashed",
        ] {
            let key = format!("sentry_schedule_runs_total{{job={job},outcome={outcome}}}");
            assert!(got.contains_key(&key), "{key} missing: {got:#?}");
        }
        for reason in [
            "overlap",
            "missed",
            "not_claimed",
            "coordinator_error",
            "paused",
        ] {
            let key = format!("sentry_schedule_ticks_skipped_total{{job={job},reason={reason}}}");
            assert_eq!(
                got.get(&key).map(|v| v[0] > 0.0),
                Some(reason == "overlap" && job == "metrics-overlap"),
                "{key}: {got:#?}"
            );
        }
    }

    let _ = stop.send(());
    handle.await.unwrap().unwrap();
    // A snapshot resets what it read: since the last one, the run still in progress ended
    // (cancelled by the shutdown deadline), and none started.
    let after = recorded(&snapshotter);
    for (key, value) in [
        (
            "sentry_schedule_runs_in_progress{job=metrics-overlap}",
            -1.0,
        ),
        (
            "sentry_schedule_runs_total{job=metrics-overlap,outcome=cancelled}",
            1.0,
        ),
        ("sentry_schedule_runs_total{job=metrics-ok,outcome=ok}", 0.0),
    ] {
        assert_eq!(after.get(key), Some(&vec![value]), "{key}: {after:#?}");
    }
}
