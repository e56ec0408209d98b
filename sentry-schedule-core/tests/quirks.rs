//! Regression tests for each semantic quirk Sentry's cronsim has and we must share.
//! Expected instants were worked out by hand (calendar and tz rules) and confirmed
//! against cronsim 2.8 with tzdata 2025b.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sentry_schedule_core::Schedule;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
        .with_timezone(&Utc)
}

fn tz(name: &str) -> Tz {
    name.parse().expect("zone")
}

/// The next `expected.len()` instants of `expr` after `start` in `zone`, as RFC 3339.
#[track_caller]
fn assert_next(expr: &str, zone: &str, start: &str, expected: &[&str]) {
    let schedule = Schedule::cron(expr).unwrap_or_else(|e| panic!("`{expr}`: {e}"));
    let got: Vec<String> = schedule
        .upcoming(utc(start), tz(zone))
        .take(expected.len())
        .map(|d| d.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect();
    assert_eq!(got, expected, "`{expr}` in {zone} after {start}");
}

#[test]
fn star_rule_or_when_both_day_fields_are_restricted() {
    // Every 13th *and* every Friday (Sep 2024: Fridays 6, 13, 20, 27; Oct 13 is a Sunday).
    assert_next(
        "0 0 13 * FRI",
        "UTC",
        "2024-09-01T00:00:00Z",
        &[
            "2024-09-06T00:00Z",
            "2024-09-13T00:00Z",
            "2024-09-20T00:00Z",
            "2024-09-27T00:00Z",
            "2024-10-04T00:00Z",
            "2024-10-11T00:00Z",
            "2024-10-13T00:00Z",
            "2024-10-18T00:00Z",
        ],
    );
    // `1-31` is restricted, so OR: every day.
    assert_next(
        "0 0 1-31 * FRI",
        "UTC",
        "2024-09-01T00:00:00Z",
        &["2024-09-02T00:00Z", "2024-09-03T00:00Z"],
    );
}

#[test]
fn star_rule_and_when_a_day_field_starts_with_star() {
    // `*/1` starts with `*`: AND, so only Fridays.
    assert_next(
        "0 0 */1 * FRI",
        "UTC",
        "2024-09-01T00:00:00Z",
        &[
            "2024-09-06T00:00Z",
            "2024-09-13T00:00Z",
            "2024-09-20T00:00Z",
        ],
    );
}

#[test]
fn seven_is_sunday() {
    // 2024-09-01 is a Sunday.
    for expr in ["0 12 * * 7", "0 12 * * 0", "0 12 * * SUN", "0 12 * * sun"] {
        assert_next(
            expr,
            "UTC",
            "2024-08-30T00:00:00Z",
            &["2024-09-01T12:00Z", "2024-09-08T12:00Z"],
        );
    }
    assert_next(
        "0 0 * * 5-7",
        "UTC",
        "2024-08-29T00:00:00Z",
        &[
            "2024-08-30T00:00Z",
            "2024-08-31T00:00Z",
            "2024-09-01T00:00Z",
            "2024-09-06T00:00Z",
        ],
    );
}

#[test]
fn step_45_is_minutes_0_and_45_not_every_45_minutes() {
    assert_next(
        "*/45 * * * *",
        "UTC",
        "2024-08-29T10:00:00Z",
        &[
            "2024-08-29T10:45Z",
            "2024-08-29T11:00Z",
            "2024-08-29T11:45Z",
            "2024-08-29T12:00Z",
        ],
    );
}

#[test]
fn fixed_time_in_a_spring_gap_fires_right_after_the_gap() {
    // London 2024-03-31: 01:00 GMT jumps to 02:00 BST; 01:30 does not exist.
    assert_next(
        "30 1 * * *",
        "Europe/London",
        "2024-03-30T12:00:00Z",
        &["2024-03-31T01:00Z", "2024-04-01T00:30Z"],
    );
    // New York 2024-03-10: 02:30 does not exist, fires at 03:00 EDT.
    assert_next(
        "30 2 * * *",
        "America/New_York",
        "2024-03-09T12:00:00Z",
        &["2024-03-10T07:00Z", "2024-03-11T06:30Z"],
    );
    // Southern hemisphere, 30-minute change: Lord Howe 2024-10-06 02:00 -> 02:30.
    assert_next(
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2024-10-05T00:00:00Z",
        &["2024-10-05T15:30Z", "2024-10-06T15:15Z"],
    );
}

#[test]
fn fixed_time_in_a_repeated_hour_fires_once_at_the_first_pass() {
    // London 2024-10-27: 01:00-02:00 happens twice (BST, then GMT).
    assert_next(
        "30 1 * * *",
        "Europe/London",
        "2024-10-26T12:00:00Z",
        &["2024-10-27T00:30Z", "2024-10-28T01:30Z"],
    );
    // Lord Howe 2024-04-07: 01:30-02:00 happens twice (+11, then +10:30).
    assert_next(
        "45 1 * * *",
        "Australia/Lord_Howe",
        "2024-04-06T00:00:00Z",
        &["2024-04-06T14:45Z", "2024-04-07T15:15Z"],
    );
}

#[test]
fn non_fixed_expressions_tick_on_real_instants() {
    // Both passes of the repeated hour.
    assert_next(
        "*/30 1 * * *",
        "Europe/London",
        "2024-10-26T23:00:00Z",
        &[
            "2024-10-27T00:00Z",
            "2024-10-27T00:30Z",
            "2024-10-27T01:00Z",
            "2024-10-27T01:30Z",
            "2024-10-28T01:00Z",
        ],
    );
    // Hour 1 never happens on the spring day: nothing that day.
    assert_next(
        "*/30 1 * * *",
        "Europe/London",
        "2024-03-30T12:00:00Z",
        &[
            "2024-04-01T00:00Z",
            "2024-04-01T00:30Z",
            "2024-04-02T00:00Z",
        ],
    );
}

#[test]
fn midnight_gap_and_midnight_repeat() {
    // Havana 2024-03-10: 00:00 CST jumps to 01:00 CDT, so midnight does not exist.
    assert_next(
        "0 0 * * *",
        "America/Havana",
        "2024-03-09T12:00:00Z",
        &["2024-03-10T05:00Z", "2024-03-11T04:00Z"],
    );
    // A non-fixed expression in hour 0 skips that day entirely.
    assert_next(
        "*/30 0 * * *",
        "America/Havana",
        "2024-03-09T12:00:00Z",
        &["2024-03-11T04:00Z", "2024-03-11T04:30Z"],
    );
    // Havana 2024-11-03: 01:00 CDT falls back to 00:00 CST; midnight fires once.
    assert_next(
        "0 0 * * *",
        "America/Havana",
        "2024-11-02T12:00:00Z",
        &["2024-11-03T04:00Z", "2024-11-04T05:00Z"],
    );
}

#[test]
fn last_day_and_last_weekday_of_month() {
    assert_next(
        "0 0 L * *",
        "UTC",
        "2024-01-15T00:00:00Z",
        &[
            "2024-01-31T00:00Z",
            "2024-02-29T00:00Z",
            "2024-03-31T00:00Z",
            "2024-04-30T00:00Z",
        ],
    );
    // 2024-03-31 is a Sunday -> Friday 29th; 2024-06-30 Sunday -> 28th; 2024-08-31
    // Saturday -> 30th.
    assert_next(
        "0 0 LW * *",
        "UTC",
        "2024-01-15T00:00:00Z",
        &[
            "2024-01-31T00:00Z",
            "2024-02-29T00:00Z",
            "2024-03-29T00:00Z",
            "2024-04-30T00:00Z",
            "2024-05-31T00:00Z",
            "2024-06-28T00:00Z",
            "2024-07-31T00:00Z",
            "2024-08-30T00:00Z",
        ],
    );
}

#[test]
fn last_and_nth_weekday() {
    assert_next(
        "0 0 * * 5L",
        "UTC",
        "2024-01-15T00:00:00Z",
        &[
            "2024-01-26T00:00Z",
            "2024-02-23T00:00Z",
            "2024-03-29T00:00Z",
            "2024-04-26T00:00Z",
        ],
    );
    assert_next(
        "0 0 * * MON#2",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-01-08T00:00Z",
            "2024-02-12T00:00Z",
            "2024-03-11T00:00Z",
            "2024-04-08T00:00Z",
        ],
    );
    // Only months with five Sundays.
    assert_next(
        "0 0 * * SUN#5",
        "UTC",
        "2024-01-01T00:00:00Z",
        &[
            "2024-03-31T00:00Z",
            "2024-06-30T00:00Z",
            "2024-09-29T00:00Z",
            "2024-12-29T00:00Z",
        ],
    );
}

#[test]
fn next_after_is_strictly_after() {
    let hourly = Schedule::cron("0 * * * *").unwrap();
    assert_eq!(
        hourly.next_after(utc("2024-01-01T10:00:00Z"), chrono_tz::UTC),
        Some(utc("2024-01-01T11:00:00Z"))
    );
    assert_eq!(
        hourly.next_after(utc("2024-01-01T09:59:59.500Z"), chrono_tz::UTC),
        Some(utc("2024-01-01T10:00:00Z"))
    );
}

#[test]
fn starting_in_the_second_pass_never_goes_back_in_time() {
    // At 01:30 GMT (the second 01:30 of 2024-10-27 in London) cronsim's next is the
    // first-pass 01:45 BST, which is already past; `upcoming` skips it.
    let s = Schedule::cron("45 1 * * *").unwrap();
    let start = utc("2024-10-27T01:30:00Z");
    let london = tz("Europe/London");
    let raw: Vec<_> = s.cronsim_sequence(start, london).take(2).collect();
    assert_eq!(
        raw,
        [utc("2024-10-27T00:45:00Z"), utc("2024-10-28T01:45:00Z")]
    );
    assert_eq!(
        s.next_after(start, london),
        Some(utc("2024-10-28T01:45:00Z"))
    );
}

#[test]
fn answers_where_cronsim_loops_forever() {
    // Pacific/Chatham falls back from 03:45 to 02:45 on 2017-04-02; cronsim never
    // returns for this expression. The next real 03:52 is at +12:45.
    let s = Schedule::cron("52/50 */3 * * *").unwrap();
    assert_eq!(
        s.next_after(utc("2017-04-01T13:04:14Z"), tz("Pacific/Chatham")),
        Some(utc("2017-04-01T15:07:00Z"))
    );
}

#[test]
fn nicknames() {
    for (nick, expansion) in [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ] {
        let s = Schedule::cron(nick).unwrap();
        assert_eq!(s.to_string(), nick);
        assert_eq!(
            s.to_sentry(),
            Some(sentry_schedule_core::SentrySchedule::Crontab(
                expansion.into()
            ))
        );
        let e = Schedule::cron(expansion).unwrap();
        let start = utc("2024-05-05T05:05:05Z");
        assert!(s
            .upcoming(start, tz("Europe/Berlin"))
            .take(3)
            .eq(e.upcoming(start, tz("Europe/Berlin")).take(3)));
    }
}
