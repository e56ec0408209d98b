//! The `check` and `timeline` commands on a scheduler's jobs: exit codes, the findings with
//! their dates (written out by hand from the tz database: Vienna changes on 28 March and
//! 31 October 2027) and the chart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, NaiveDate, Utc};
use sentry_schedule::cli::Command;
use sentry_schedule::clock::TestClock;
use sentry_schedule::forecast::{FindingKind, Severity};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::process::ExitCode;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn job(
    slug: &str,
    schedule: &str,
    configure: impl FnOnce(sentry_schedule::JobBuilder) -> sentry_schedule::JobBuilder,
) -> Job {
    configure(Job::builder(slug, schedule))
        .run(|_: JobContext| async {})
        .build()
        .expect("valid job")
}

fn scheduler(jobs: Vec<Job>) -> Scheduler {
    Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new(at("2027-01-01T00:00:00Z")))
        .jobs(jobs)
        .build()
        .expect("valid scheduler")
}

fn nightly() -> Job {
    job("nightly-export", "30 2 * * *", |b| {
        b.timezone("Europe/Vienna")
    })
}

fn slow_hourly() -> Job {
    job("slow-hourly", "0 * * * *", |b| b.max_runtime(90))
}

#[tokio::test]
async fn check_names_each_job_and_date_and_fails_only_on_errors() {
    let findings = scheduler(vec![nightly(), slow_hourly()]).check();
    let seen: Vec<_> = findings
        .iter()
        .map(|f| (f.severity, f.kind, f.slug.as_str(), f.date))
        .collect();
    let date = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    assert_eq!(
        seen,
        [
            (
                Severity::Error,
                FindingKind::AlwaysOverlaps,
                "slow-hourly",
                date(1, 1)
            ),
            (
                Severity::Warning,
                FindingKind::DstRunsLate,
                "nightly-export",
                date(3, 28)
            ),
            (
                Severity::Warning,
                FindingKind::DstRunsOnce,
                "nightly-export",
                date(10, 31)
            ),
        ]
    );
    assert_eq!(
        scheduler(vec![nightly(), slow_hourly()])
            .run_or_command(["check"])
            .await,
        ExitCode::FAILURE
    );
    // Warnings alone pass.
    assert_eq!(
        scheduler(vec![nightly()]).run_or_command(["check"]).await,
        ExitCode::SUCCESS
    );
}

#[tokio::test]
async fn a_timeout_is_a_declared_run_length_and_sentrys_default_is_not() {
    // Every 10 minutes with Sentry's default max_runtime (30 minutes): nothing to report.
    let frequent = job("frequent", "*/10 * * * *", |b| b);
    assert_eq!(scheduler(vec![frequent]).check(), []);
    // An unmonitored job whose timeout exceeds its period.
    let bounded = job("bounded", "*/10 * * * *", |b| {
        b.monitor(false)
            .timeout(std::time::Duration::from_secs(20 * 60))
    });
    let findings = scheduler(vec![bounded]).check();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, FindingKind::AlwaysOverlaps);
}

// Paused: the test clock advances with tokio's clock, so `now` stays at midnight.
#[tokio::test(start_paused = true)]
async fn timeline_draws_the_next_day_of_every_job() {
    let every_six_hours = job("six-hourly", "0 */6 * * *", |b| b);
    let scheduler = scheduler(vec![nightly(), every_six_hours]);
    let timeline = scheduler.timeline(24);
    // 02:30 Vienna in January is 01:30 UTC.
    assert_eq!(timeline.rows[0].starts, [at("2027-01-01T01:30:00Z")]);
    assert_eq!(
        timeline.rows[1].starts,
        [
            at("2027-01-01T00:00:00Z"),
            at("2027-01-01T06:00:00Z"),
            at("2027-01-01T12:00:00Z"),
            at("2027-01-01T18:00:00Z"),
        ]
    );
    let chart = timeline.render(24, sentry_schedule::chrono_tz::UTC);
    assert_eq!(
        chart,
        "next 24 h from 2027-01-01 00:00 (UTC), one column = 1 h\n\
         \x20              00 03 06 09 12 15 18 21\n\
         nightly-export .|......................\n\
         six-hourly     |.....|.....|.....|.....\n"
    );
    assert_eq!(
        scheduler.run_or_command(["timeline"]).await,
        ExitCode::SUCCESS
    );
}

#[test]
fn timeline_hours_are_read_and_checked() {
    assert_eq!(Command::parse(["check"]), Ok(Command::Check));
    assert_eq!(
        Command::parse(["timeline"]),
        Ok(Command::Timeline { hours: 24 })
    );
    assert_eq!(
        Command::parse(["timeline", "--hours", "48"]),
        Ok(Command::Timeline { hours: 48 })
    );
    for bad in ["0", "169", "two", "-1"] {
        assert_eq!(
            Command::parse(["timeline", "--hours", bad]),
            Err(format!(
                "`--hours` takes a whole number of hours from 1 to 168, not `{bad}`"
            ))
        );
    }
    assert!(Command::parse(["timeline", "--hours"]).is_err());
    assert!(Command::parse(["check", "--all"]).is_err());
}
