//! Switching jobs off without a rebuild (`SchedulerBuilder::disable_jobs`, and the rules
//! it shares with `SENTRY_SCHEDULE_DISABLED`), on tokio's paused clock and an injected wall
//! clock. No Sentry client is bound here: the environment is `production`, so only the
//! switch turns jobs off. `tests/disabled_variable.rs` sets the variable, in a binary of
//! its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::clock::TestClock;
use sentry_schedule::off::Off;
use sentry_schedule::{Error, Job, JobContext, Scheduler, SchedulerBuilder};
use std::time::Duration;

mod log_capture;
use log_capture::Logged;

/// 30 s before a `5m` tick: ticks at 12:00 and 12:05 within six minutes.
const START: &str = "2026-03-01T11:59:30Z";

fn job(slug: &str) -> Job {
    Job::builder(slug, "5m")
        .monitor(false)
        .run(|_: JobContext| async {})
        .build()
        .expect("valid job")
}

fn builder(slugs: &[&str]) -> SchedulerBuilder {
    Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new(START.parse().expect("instant")))
        .jobs(slugs.iter().map(|slug| job(slug)))
}

#[tokio::test(start_paused = true)]
async fn a_disabled_job_never_fires_and_the_start_up_log_says_why() {
    let (logged, _logs) = Logged::capture(tracing::Level::INFO);
    let scheduler = builder(&["nightly-export", "hourly-sync", "cleanup"])
        // Trimmed; the empty entry is ignored.
        .disable_jobs(["  nightly-export ", "", "cleanup"])
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(6 * 60)))
        .build()
        .expect("valid scheduler");
    let stats = |slug: &str| scheduler.job(slug).expect("job").stats();
    let (export, sync, cleanup) = (
        stats("nightly-export"),
        stats("hourly-sync"),
        stats("cleanup"),
    );
    assert_eq!(
        scheduler.off("nightly-export"),
        Some(&Off::DisabledByBuilder)
    );
    assert_eq!(scheduler.off("hourly-sync"), None);

    scheduler.run().await.expect("scheduler ran");

    assert_eq!(sync.started(), 2, "the job left on ran at 12:00 and 12:05");
    assert_eq!((export.started(), cleanup.started()), (0, 0));
    let text = logged.text();
    let off_lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("jobs off"))
        .collect();
    assert_eq!(off_lines.len(), 1, "{text}");
    assert!(
        off_lines[0].contains(
            "cleanup (disabled by SchedulerBuilder::disable_jobs); nightly-export (disabled by \
             SchedulerBuilder::disable_jobs)"
        ),
        "{text}"
    );
    assert!(off_lines[0].contains("INFO"), "{text}");
    // Only the job left on is announced as scheduled.
    let scheduled: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("job scheduled"))
        .collect();
    assert_eq!(scheduled.len(), 1, "{text}");
    assert!(scheduled[0].contains("hourly-sync"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn with_every_job_off_the_scheduler_still_runs_and_stops() {
    let scheduler = builder(&["nightly-export"])
        .disable_jobs(["nightly-export"])
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(6 * 60)))
        .build()
        .expect("valid scheduler");
    let export = scheduler.job("nightly-export").expect("job").stats();
    scheduler.run().await.expect("scheduler ran");
    assert_eq!(export.started(), 0);
}

#[tokio::test]
async fn list_shows_a_disabled_job_as_off_and_run_now_still_runs_it() {
    let scheduler = builder(&["nightly-export", "hourly-sync"])
        .disable_jobs(["nightly-export"])
        .build()
        .expect("valid scheduler");
    let list = scheduler.list().await;
    let row = |slug: &str| {
        list.lines()
            .find(|line| line.starts_with(slug))
            .unwrap_or_else(|| panic!("no row for {slug}:\n{list}"))
            .to_owned()
    };
    assert!(
        row("nightly-export").contains("off: disabled by SchedulerBuilder::disable_jobs"),
        "{list}"
    );
    assert!(
        row("hourly-sync").contains("2026-03-01 12:00:00 UTC"),
        "{list}"
    );
    // The off job's row has no next runs: only hourly-sync's three are listed.
    assert_eq!(list.matches("2026-03-01 12:").count(), 3, "{list}");

    let report = scheduler
        .run_now("nightly-export")
        .await
        .expect("known slug");
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        scheduler
            .job("nightly-export")
            .expect("job")
            .stats()
            .started(),
        1
    );
}

#[test]
fn an_unknown_disabled_slug_fails_the_build_with_the_nearest_slug() {
    let error = builder(&["nightly-export", "hourly-sync"])
        .disable_jobs(["hourly-sync", "nightly-exprot"])
        .build()
        .expect_err("an unknown slug");
    match &error {
        Error::UnknownDisabledSlug { slug, by, near } => {
            assert_eq!(slug, "nightly-exprot");
            assert_eq!(*by, "SchedulerBuilder::disable_jobs");
            assert_eq!(near, &["nightly-export".to_owned()]);
        }
        other => panic!("expected UnknownDisabledSlug, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "SchedulerBuilder::disable_jobs names `nightly-exprot`, which is no job's slug; did you \
         mean `nightly-export`?"
    );
    // Far from every slug: no suggestion.
    let error = builder(&["nightly-export"])
        .disable_jobs(["weekly-report"])
        .build()
        .expect_err("an unknown slug");
    assert_eq!(
        error.to_string(),
        "SchedulerBuilder::disable_jobs names `weekly-report`, which is no job's slug"
    );
}

/// `check` and `timeline` look at the jobs that run here: a job switched off has no row in
/// the timeline and no finding, while the same job on has both.
#[test]
fn check_and_timeline_leave_out_jobs_that_are_off() {
    let clustered = |slug: &str| {
        Job::builder(slug, "0 3 * * *")
            .monitor(false)
            .run(|_: JobContext| async {})
            .build()
            .expect("valid job")
    };
    let slugs = ["a-job", "b-job", "c-job", "d-job", "e-job", "f-job"];
    let with = |disabled: &[&str]| {
        Scheduler::builder()
            .registered_jobs(false)
            .clock(TestClock::new(START.parse().expect("instant")))
            .jobs(slugs.iter().map(|slug| clustered(slug)))
            .disable_jobs(disabled.iter().copied())
            .build()
            .expect("valid scheduler")
    };

    let all_on = with(&[]);
    let rows: Vec<String> = all_on
        .timeline(24)
        .rows
        .into_iter()
        .map(|r| r.slug)
        .collect();
    assert_eq!(rows, slugs);
    // Six jobs at 03:00: one cluster, and its finding.
    assert_eq!(all_on.timeline(24).clusters[0].slugs, slugs);
    let findings = all_on.check();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].kind,
        sentry_schedule::forecast::FindingKind::Cluster
    );

    let two_off = with(&["a-job", "f-job"]);
    let timeline = two_off.timeline(24);
    let rows: Vec<&str> = timeline.rows.iter().map(|r| r.slug.as_str()).collect();
    assert_eq!(rows, ["b-job", "c-job", "d-job", "e-job"]);
    // Four jobs left at 03:00: fewer than five, so no cluster and no finding.
    assert_eq!(timeline.clusters, []);
    assert_eq!(two_off.check(), []);
}
