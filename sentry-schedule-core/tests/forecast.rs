//! The schedule check and timeline on known clock changes. Every expected date and instant
//! below is written out by hand from the tz database (2027: Vienna 28 Mar / 31 Oct, New York
//! 14 Mar / 7 Nov, Lord Howe 4 Apr / 3 Oct (30-minute changes), Chatham 4 Apr / 26 Sep at
//! 02:45 local), not computed by the code under test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sentry_schedule_core::forecast::{
    check, transitions, CheckRules, Finding, FindingKind, PlannedJob, Severity, Timeline,
};
use sentry_schedule_core::Schedule;
use std::time::Duration;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn start() -> DateTime<Utc> {
    utc(2027, 1, 1, 0, 0)
}

fn findings_for(cron: &str, tz: Tz) -> Vec<Finding> {
    let schedule = Schedule::cron(cron).unwrap();
    check(
        &[PlannedJob::new("job", &schedule, tz)],
        start(),
        &CheckRules::default(),
    )
}

fn kinds(findings: &[Finding]) -> Vec<(FindingKind, NaiveDate)> {
    findings.iter().map(|f| (f.kind, f.date)).collect()
}

#[test]
fn vienna_transitions_are_found_to_the_second() {
    let found = transitions(chrono_tz::Europe::Vienna, start(), utc(2028, 1, 1, 0, 0));
    let at: Vec<_> = found.iter().map(|t| (t.at, t.before, t.after)).collect();
    assert_eq!(
        at,
        [
            (utc(2027, 3, 28, 1, 0), 3600, 7200),
            (utc(2027, 10, 31, 1, 0), 7200, 3600),
        ]
    );
}

#[test]
fn vienna_fixed_time_in_both_changed_hours() {
    let findings = findings_for("30 2 * * *", chrono_tz::Europe::Vienna);
    assert_eq!(
        kinds(&findings),
        [
            (FindingKind::DstRunsLate, date(2027, 3, 28)),
            (FindingKind::DstRunsOnce, date(2027, 10, 31)),
        ]
    );
    assert!(findings.iter().all(|f| f.severity == Severity::Warning));
    assert_eq!(
        findings[0].to_string(),
        "warning: job on 2027-03-28: 02:30 Europe/Vienna does not exist that day (clocks jump \
         from 02:00 to 03:00): it runs at 03:00 (01:00 UTC) instead"
    );
    assert!(findings[1].message.contains("runs once, on the first pass"));
}

#[test]
fn new_york_repeats_one_oclock_not_two() {
    // Clocks go back from 02:00 to 01:00: 01:30 happens twice, 02:30 once.
    let half_past_two = findings_for("30 2 * * *", chrono_tz::America::New_York);
    assert_eq!(
        kinds(&half_past_two),
        [(FindingKind::DstRunsLate, date(2027, 3, 14))]
    );
    assert!(half_past_two[0]
        .message
        .contains("it runs at 03:00 (07:00 UTC)"));
    let half_past_one = findings_for("30 1 * * *", chrono_tz::America::New_York);
    assert_eq!(
        kinds(&half_past_one),
        [(FindingKind::DstRunsOnce, date(2027, 11, 7))]
    );
}

#[test]
fn lord_howe_half_hour_changes() {
    // 3 Oct 2027: 02:00 -> 02:30, so 02:15 runs at 02:30 (15:30 UTC on 2 Oct).
    let quarter_past_two = findings_for("15 2 * * *", chrono_tz::Australia::Lord_Howe);
    assert_eq!(
        kinds(&quarter_past_two),
        [(FindingKind::DstRunsLate, date(2027, 10, 3))]
    );
    assert!(quarter_past_two[0]
        .message
        .contains("clocks jump from 02:00 to 02:30): it runs at 02:30 (15:30 UTC)"));
    // 4 Apr 2027: 02:00 -> 01:30, so 01:45 happens twice.
    let quarter_to_two = findings_for("45 1 * * *", chrono_tz::Australia::Lord_Howe);
    assert_eq!(
        kinds(&quarter_to_two),
        [(FindingKind::DstRunsOnce, date(2027, 4, 4))]
    );
}

#[test]
fn chatham_changes_at_quarter_to_three() {
    let three = findings_for("0 3 * * *", chrono_tz::Pacific::Chatham);
    assert_eq!(
        kinds(&three),
        [
            (FindingKind::DstRunsOnce, date(2027, 4, 4)),
            (FindingKind::DstRunsLate, date(2027, 9, 26)),
        ]
    );
    assert!(three[1]
        .message
        .contains("clocks jump from 02:45 to 03:45): it runs at 03:45 (14:00 UTC)"));
}

#[test]
fn real_time_expressions_lose_or_gain_runs_only_with_a_restricted_hour() {
    let restricted = findings_for("*/30 2 * * *", chrono_tz::Europe::Vienna);
    assert_eq!(
        kinds(&restricted),
        [
            (FindingKind::DstSkipped, date(2027, 3, 28)),
            (FindingKind::DstRunsTwice, date(2027, 10, 31)),
        ]
    );
    assert!(restricted[0]
        .message
        .starts_with("02:00, 02:30 Europe/Vienna"));
    assert!(restricted[0].message.contains("2 fewer run(s)"));
    // Every hour selected: runs keep following real time, nothing to report.
    assert_eq!(findings_for("*/15 * * * *", chrono_tz::Europe::Vienna), []);
    // Fixed times away from the changed hours.
    assert_eq!(findings_for("0 12 * * *", chrono_tz::Europe::Vienna), []);
    // UTC has no changes.
    assert_eq!(findings_for("30 2 * * *", chrono_tz::UTC), []);
}

#[test]
fn intervals_follow_real_time() {
    let every = Schedule::every("1h").unwrap();
    let jobs = [PlannedJob::new("hourly", &every, chrono_tz::Europe::Vienna)];
    assert_eq!(check(&jobs, start(), &CheckRules::default()), []);
}

#[test]
fn max_runtime_longer_than_every_gap_is_an_error() {
    let hourly = Schedule::cron("0 * * * *").unwrap();
    let jobs = [PlannedJob::new("slow", &hourly, chrono_tz::UTC)
        .with_max_runtime(Duration::from_secs(90 * 60))];
    let findings = check(&jobs, start(), &CheckRules::default());
    assert_eq!(
        kinds(&findings),
        [(FindingKind::AlwaysOverlaps, date(2027, 1, 1))]
    );
    assert_eq!(findings[0].severity, Severity::Error);
    assert!(findings[0].message.contains("max_runtime 1 h 30 min"));
    assert!(findings[0].message.contains("(at most 1 h)"));
    // Within the period: nothing.
    let fine = [PlannedJob::new("ok", &hourly, chrono_tz::UTC)
        .with_max_runtime(Duration::from_secs(60 * 60))];
    assert_eq!(check(&fine, start(), &CheckRules::default()), []);
}

#[test]
fn max_runtime_longer_than_some_gaps_is_a_warning() {
    // Weekdays at 09:00: gaps of one day (Mon-Fri) and three days (Fri-Mon).
    let weekdays = Schedule::cron("0 9 * * MON-FRI").unwrap();
    let jobs = [PlannedJob::new("daily", &weekdays, chrono_tz::UTC)
        .with_max_runtime(Duration::from_secs(48 * 3600))];
    let findings = check(&jobs, start(), &CheckRules::default());
    // 2027-01-01 is a Friday: the first gap shorter than 48 h follows Monday 4 Jan.
    assert_eq!(
        kinds(&findings),
        [(FindingKind::MayOverlap, date(2027, 1, 4))]
    );
    assert_eq!(findings[0].severity, Severity::Warning);
    assert!(findings[0].message.contains("gaps from 24 h to 72 h"));
}

#[test]
fn five_jobs_at_one_minute_are_a_cluster_with_h_suggested() {
    let at_two = Schedule::cron("0 2 * * *").unwrap();
    let slugs = ["a", "b", "c", "d", "e"];
    let jobs: Vec<_> = slugs
        .iter()
        .map(|slug| PlannedJob::new(slug, &at_two, chrono_tz::UTC))
        .collect();
    let findings = check(&jobs, start(), &CheckRules::default());
    assert_eq!(kinds(&findings), [(FindingKind::Cluster, date(2027, 1, 1))]);
    assert_eq!(
        findings[0].message,
        "5 jobs start together at 02:00 UTC: a, b, c, d, e; write the minute as `H` to spread \
         them over the hour by a stable hash of each slug (a: \"H 2 * * *\", b: \"H 2 * * *\", \
         c: \"H 2 * * *\", d: \"H 2 * * *\", e: \"H 2 * * *\")"
    );
    // Four are not a cluster with the default size of five.
    assert_eq!(check(&jobs[..4], start(), &CheckRules::default()), []);
    // Hashed minutes spread them: no cluster.
    let hashed = Schedule::cron("H 2 * * *").unwrap();
    let spread: Vec<_> = slugs
        .iter()
        .map(|slug| PlannedJob::new(slug, &hashed, chrono_tz::UTC))
        .collect();
    assert_eq!(check(&spread, start(), &CheckRules::default()), []);
}

#[test]
fn timeline_draws_one_row_per_job() {
    let hourly = Schedule::cron("0 * * * *").unwrap();
    let quarterly = Schedule::cron("*/15 * * * *").unwrap();
    let nightly = Schedule::cron("30 2 * * *").unwrap();
    let jobs = [
        PlannedJob::new("hourly", &hourly, chrono_tz::UTC),
        PlannedJob::new("every-15-minutes", &quarterly, chrono_tz::UTC),
        PlannedJob::new("nightly", &nightly, chrono_tz::UTC)
            .with_max_runtime(Duration::from_secs(60)),
    ];
    let timeline = Timeline::new(&jobs, utc(2027, 1, 4, 0, 0), 24, 5);
    assert_eq!(timeline.rows[0].starts.len(), 24);
    assert_eq!(timeline.rows[1].starts.len(), 96);
    assert_eq!(timeline.rows[2].starts, [utc(2027, 1, 4, 2, 30)]);
    assert_eq!(
        timeline.render(24, chrono_tz::UTC),
        "next 24 h from 2027-01-04 00:00 (UTC), one column = 1 h\n\
         \x20                00 03 06 09 12 15 18 21\n\
         hourly           ||||||||||||||||||||||||\n\
         every-15-minutes 444444444444444444444444\n\
         nightly          ..|.....................\n"
    );
}

#[test]
fn timeline_marks_clusters_and_overlaps() {
    let at_two = Schedule::cron("0 2 * * *").unwrap();
    let hourly = Schedule::cron("0 * * * *").unwrap();
    let mut jobs: Vec<_> = ["a", "b"]
        .iter()
        .map(|slug| PlannedJob::new(slug, &at_two, chrono_tz::UTC))
        .collect();
    jobs.push(
        PlannedJob::new("slow", &hourly, chrono_tz::UTC)
            .with_max_runtime(Duration::from_secs(7200)),
    );
    let timeline = Timeline::new(&jobs, utc(2027, 1, 4, 0, 0), 6, 3);
    assert_eq!(
        timeline.render(6, chrono_tz::Europe::Vienna),
        "next 6 h from 2027-01-04 01:00 (Europe/Vienna), one column = 1 h\n\
         \x20          03 06\n\
         a        ..|...\n\
         b        ..|...\n\
         slow     ||||||\n\
         clusters   ^\n\
         cluster: 3 jobs start at 03:00 (02:00 UTC): a, b, slow; consider `H` for the minute: \
         a \"H 2 * * *\", b \"H 2 * * *\", slow \"H * * * *\"\n\
         overlap: slow has max_runtime 2 h but ticks only 1 h apart\n"
    );
}
