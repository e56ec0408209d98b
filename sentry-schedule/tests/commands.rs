//! The operations commands: `list` prints the jobs with their next runs, `run <slug>`
//! runs one job now and its exit code says how it went, an unknown slug gets the near
//! matches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::TestClock;
use sentry_schedule::coordinator::RunStatus;
use sentry_schedule::{scheduled, Error, Job, JobContext, Scheduler};
use std::process::ExitCode;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

const EXPORT_LINE: u32 = line!() + 7;

#[scheduled(
    cron = "30 2 * * *",
    timezone = "Europe/Vienna",
    slug = "nightly-export"
)]
async fn nightly_export() {}

const FAILING_LINE: u32 = line!() + 3;

#[scheduled(every = "15m", slug = "sync-rates")]
async fn sync_rates() -> Result<(), String> {
    Err("rates service answered 503".to_owned())
}

fn build_scheduler(clock: TestClock) -> (Scheduler, u32) {
    let line = line!() + 1;
    let poll = Job::builder("poll-queue", "10s")
        .monitor(false)
        .run(|_: JobContext| async {})
        .build()
        .expect("valid job");
    let scheduler = Scheduler::builder()
        .clock(clock)
        .job(poll)
        .build()
        .expect("valid scheduler");
    (scheduler, line)
}

#[tokio::test]
async fn list_shows_each_job_with_its_next_three_runs_in_its_time_zone() {
    // Saturday 2026-03-28 18:00 UTC: Vienna switches to summer time in the night after,
    // skipping 02:00-03:00, so that night's 02:30 run happens at 03:00 (as on Sentry).
    let (scheduler, poll_line) = build_scheduler(TestClock::new(at("2026-03-28T18:00:00Z")));
    let file = file!();
    let export = format!("{file}:{EXPORT_LINE}");
    let sync = format!("{file}:{FAILING_LINE}");
    let poll = format!("{file}:{poll_line}");
    let rows = [
        ["SLUG", "SCHEDULE", "TIMEZONE", "NEXT RUNS", "SOURCE"].map(str::to_owned),
        [
            "nightly-export",
            "30 2 * * *",
            "Europe/Vienna",
            "2026-03-29 03:00:00 CEST",
            &export,
        ]
        .map(str::to_owned),
        ["", "", "", "2026-03-30 02:30:00 CEST", ""].map(str::to_owned),
        ["", "", "", "2026-03-31 02:30:00 CEST", ""].map(str::to_owned),
        [
            "poll-queue",
            "10s (unmonitored)",
            "UTC",
            "2026-03-28 18:00:10 UTC",
            &poll,
        ]
        .map(str::to_owned),
        ["", "", "", "2026-03-28 18:00:20 UTC", ""].map(str::to_owned),
        ["", "", "", "2026-03-28 18:00:30 UTC", ""].map(str::to_owned),
        ["sync-rates", "15m", "UTC", "2026-03-28 18:15:00 UTC", &sync].map(str::to_owned),
        ["", "", "", "2026-03-28 18:30:00 UTC", ""].map(str::to_owned),
        ["", "", "", "2026-03-28 18:45:00 UTC", ""].map(str::to_owned),
    ];
    let widths = [14, 17, 13, 24, export.len().max(sync.len()).max(poll.len())];
    let expected: String = rows
        .iter()
        .map(|row| {
            let line: String = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}  "))
                .collect();
            format!("{}\n", line.trim_end())
        })
        .collect();
    assert_eq!(scheduler.list().await, expected);
}

#[tokio::test(start_paused = true)]
async fn run_reports_the_outcome_and_the_exit_code_follows_it() {
    let (scheduler, _) = build_scheduler(TestClock::new(at("2026-03-28T18:00:00Z")));
    let ok = scheduler
        .run_now("nightly-export")
        .await
        .expect("known slug");
    assert_eq!(ok.status, RunStatus::Ok);
    assert_eq!(ok.slug, "nightly-export");
    assert_eq!(ok.scheduled, at("2026-03-28T18:00:00Z"));
    assert_eq!(ok.message, None);

    let failed = scheduler.run_now("sync-rates").await.expect("known slug");
    assert_eq!(failed.status, RunStatus::Error);
    assert_eq!(
        failed.message.as_deref(),
        Some("rates service answered 503")
    );
    let stats = scheduler.job("sync-rates").expect("job").stats();
    assert_eq!((stats.started(), stats.failed()), (1, 1));

    let clock = || TestClock::new(at("2026-03-28T18:00:00Z"));
    assert_eq!(
        build_scheduler(clock())
            .0
            .run_or_command(["run", "nightly-export"])
            .await,
        ExitCode::SUCCESS
    );
    assert_eq!(
        build_scheduler(clock())
            .0
            .run_or_command(["run", "sync-rates"])
            .await,
        ExitCode::FAILURE
    );
    assert_eq!(
        build_scheduler(clock())
            .0
            .run_or_command(["run", "nightly-exprot"])
            .await,
        ExitCode::from(2)
    );
    assert_eq!(
        build_scheduler(clock()).0.run_or_command(["deploy"]).await,
        ExitCode::from(2)
    );
    assert_eq!(
        build_scheduler(clock()).0.run_or_command(["list"]).await,
        ExitCode::SUCCESS
    );
}

#[tokio::test]
async fn an_unknown_slug_names_the_near_matches() {
    let (scheduler, _) = build_scheduler(TestClock::new(at("2026-03-28T18:00:00Z")));
    let err = scheduler
        .run_now("nightly-exprot")
        .await
        .expect_err("unknown");
    match &err {
        Error::UnknownSlug { slug, near } => {
            assert_eq!(slug, "nightly-exprot");
            assert_eq!(near, &["nightly-export"]);
        }
        other => panic!("expected UnknownSlug, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "no job with the slug `nightly-exprot`; did you mean `nightly-export`?"
    );

    // A part of a slug finds the slugs containing it.
    let err = scheduler.run_now("rates").await.expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "no job with the slug `rates`; did you mean `sync-rates`?"
    );
    // `_` for `-` (as in derived slugs) still finds it.
    let err = scheduler.run_now("nightly_exp").await.expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "no job with the slug `nightly_exp`; did you mean `nightly-export`?"
    );
    let err = scheduler
        .run_now("zzz-unrelated")
        .await
        .expect_err("unknown");
    assert_eq!(err.to_string(), "no job with the slug `zzz-unrelated`");
}
