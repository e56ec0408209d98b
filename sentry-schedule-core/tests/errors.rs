//! What we reject, and that every message names the field and what is allowed.

use sentry_schedule_core::{Schedule, ScheduleError, SentrySchedule};

#[track_caller]
fn rejected(expr: &str) -> ScheduleError {
    match Schedule::cron(expr) {
        Ok(s) => panic!("`{expr}` should be rejected, parsed as `{s}`"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_rejected(expr: &str, field: Option<&str>, message_has: &[&str]) {
    let e = rejected(expr);
    assert_eq!(e.field, field, "`{expr}`: {e}");
    for part in message_has {
        assert!(
            e.message.contains(part),
            "`{expr}`: message `{}` lacks `{part}`",
            e.message
        );
    }
}

#[test]
fn out_of_range_values_name_field_and_range() {
    assert_rejected(
        "0 25 * * *",
        Some("hour"),
        &["invalid hour field `25`: expected 0-23"],
    );
    assert_rejected("60 * * * *", Some("minute"), &["`60`", "0-59"]);
    assert_rejected("0 0 32 * *", Some("day-of-month"), &["`32`", "1-31"]);
    assert_rejected("0 0 0 * *", Some("day-of-month"), &["`0`", "1-31"]);
    assert_rejected("0 0 * 13 *", Some("month"), &["`13`", "1-12"]);
    assert_rejected("0 0 * * 8", Some("day-of-week"), &["`8`", "0-7"]);
    assert_rejected("0 0 * JANUARY *", Some("month"), &["`JANUARY`", "JAN-DEC"]);
    let e = rejected("0 25 * * *");
    assert!(e
        .help
        .as_deref()
        .is_some_and(|h| h.contains("hour accepts 0-23")));
}

#[test]
fn field_count() {
    let e = rejected("0 0 12 * * *");
    assert!(e.message.contains("expected 5 fields") && e.message.contains("found 6"));
    assert!(e.help.unwrap().contains("seconds"));
    let e = rejected("0 0 12 * * * 2030");
    assert!(e.message.contains("found 7"));
    assert!(e.help.unwrap().contains("year"));
    assert!(rejected("* * * *").message.contains("found 4"));
    assert!(rejected("").message.contains("empty"));
    assert!(rejected("   ").message.contains("empty"));
}

#[test]
fn nicknames_sentry_does_not_know() {
    assert!(rejected("@reboot").message.contains("@reboot"));
    assert!(rejected("@midnight").message.contains("unknown nickname"));
    assert!(rejected("@DAILY").message.contains("write `@daily`"));
    assert!(rejected("@daily 5").message.contains("stands alone"));
}

#[test]
fn ranges_and_steps() {
    assert_rejected(
        "0 5-2 * * *",
        Some("hour"),
        &["`5-2`", "starts after it ends"],
    );
    assert_rejected("*/0 * * * *", Some("minute"), &["`*/0`", "at least 1"]);
    assert_rejected("0 0 * * MON#6", Some("day-of-week"), &["`MON#6`", "1-5"]);
    assert_rejected("0 0 * * MON#0", Some("day-of-week"), &["1-5"]);
    assert_rejected("0 0 * * L", Some("day-of-week"), &["`L`", "5L"]);
    assert_rejected("0 0 15W * *", Some("day-of-month"), &["`15W`"]);
    assert_rejected("0 0 1, * *", Some("day-of-month"), &["nothing"]);
}

#[test]
fn ambiguous_single_value_range_with_step() {
    let e = rejected("5-5/10 * * * *");
    assert_eq!(e.field, Some("minute"));
    assert!(e.message.contains("ambiguous minute field `5-5/10`"), "{e}");
    assert!(e.help.unwrap().contains("`5/10`"));
    assert!(rejected("0 0 * * MON-MON/2").message.contains("ambiguous"));
    // The unambiguous spellings are fine.
    assert!(Schedule::cron("5/10 * * * *").is_ok());
    assert!(Schedule::cron("5-5 * * * *").is_ok());
}

#[test]
fn expressions_that_never_fire() {
    assert_rejected("0 0 30 2 *", Some("day-of-month"), &["never fires"]);
    assert_rejected("0 0 31 4,6 *", Some("day-of-month"), &["never fires"]);
    assert_rejected("0 0 30,31 FEB *", Some("day-of-month"), &["never fires"]);
    // Days 1 and 31 AND the second Monday: never the same date.
    assert_rejected("0 0 */30 * MON#2", None, &["never fires"]);
    // These do fire.
    for ok in ["0 0 29 2 *", "0 0 L 2 *", "0 0 30 2 MON", "0 0 31 * *"] {
        assert!(Schedule::cron(ok).is_ok(), "{ok}");
    }
}

#[test]
fn non_ascii_is_rejected_clearly() {
    assert_rejected(
        "0 0 * * ſun",
        Some("day-of-week"),
        &["unexpected character `ſ`"],
    );
}

#[test]
fn display_is_normalized_and_round_trips() {
    let s = Schedule::cron("0  9 *\t* mon-fri").unwrap();
    assert_eq!(s.to_string(), "0 9 * * MON-FRI");
    assert_eq!(s.to_string().parse::<Schedule>().unwrap(), s);
    assert_eq!(
        s.to_sentry(),
        Some(SentrySchedule::Crontab("0 9 * * MON-FRI".into()))
    );
}

#[test]
fn intervals() {
    use chrono::{TimeZone, Utc};
    let every: Schedule = "15m".parse().unwrap();
    assert_eq!(every.interval(), Some(std::time::Duration::from_secs(900)));
    let at = |h, m, s| Utc.with_ymd_and_hms(2024, 3, 31, h, m, s).unwrap();
    // Epoch-aligned, independent of the zone.
    assert_eq!(
        every.next_after(at(10, 7, 30), chrono_tz::Asia::Kathmandu),
        Some(at(10, 15, 0))
    );
    assert_eq!(
        every.next_after(at(10, 15, 0), chrono_tz::UTC),
        Some(at(10, 30, 0))
    );
    let ticks: Vec<_> = every
        .upcoming(at(0, 59, 59), chrono_tz::Europe::London)
        .take(3)
        .collect();
    assert_eq!(ticks, [at(1, 0, 0), at(1, 15, 0), at(1, 30, 0)]);

    assert_eq!(
        "120m".parse::<Schedule>().unwrap().to_sentry(),
        Some(SentrySchedule::Interval {
            value: 2,
            unit: "hour"
        })
    );
    assert_eq!("120m".parse::<Schedule>().unwrap().to_string(), "2h");
    assert_eq!(
        "1440m".parse::<Schedule>().unwrap().to_sentry(),
        Some(SentrySchedule::Interval {
            value: 1,
            unit: "day"
        })
    );
    assert_eq!(
        "90m".parse::<Schedule>().unwrap().to_sentry(),
        Some(SentrySchedule::Interval {
            value: 90,
            unit: "minute"
        })
    );

    let fast = Schedule::every("30s").unwrap();
    assert!(fast.is_sub_minute());
    assert_eq!(fast.to_sentry(), None);
    let e = fast.sentry_schedule().unwrap_err();
    assert!(e.message.contains("6 check-ins per minute"), "{e}");
    assert!(e.help.unwrap().contains("monitor = false"));
    let odd = Schedule::every("90s").unwrap();
    assert!(!odd.is_sub_minute());
    assert!(odd
        .sentry_schedule()
        .unwrap_err()
        .message
        .contains("whole number of minutes"));

    for bad in [
        "0m",
        "15",
        "m",
        "1.5h",
        "-1m",
        "15 m",
        "18446744073709551615d",
    ] {
        let e = Schedule::every(bad).unwrap_err();
        assert_eq!(e.field, Some("interval"), "{bad}");
    }
}

#[test]
fn hashed_fields() {
    let s = Schedule::cron("H 3 * * *").unwrap();
    assert!(s.is_hashed());
    let a = s.resolve_hashed("my-app-jobs-backup");
    let b = s.resolve_hashed("my-app-jobs-report");
    assert!(!a.is_hashed());
    assert_eq!(a, s.resolve_hashed("my-app-jobs-backup"));
    // Placement is FNV-1a 64 of seed ++ [0, field, term, attempt], modulo the range;
    // values computed independently.
    assert_eq!(a.to_string(), "29 3 * * *");
    assert_eq!(b.to_string(), "9 3 * * *");
    assert_eq!(
        a.to_sentry(),
        Some(SentrySchedule::Crontab("29 3 * * *".into()))
    );

    let ranged = Schedule::cron("H(0-29) H(1-5) * * *").unwrap();
    for seed in ["a", "b", "c", "d", "e", "f", "g"] {
        let r = ranged.resolve_hashed(seed).to_string();
        let mut parts = r.split(' ');
        let m: u32 = parts.next().unwrap().parse().unwrap();
        let h: u32 = parts.next().unwrap().parse().unwrap();
        assert!(m <= 29 && (1..=5).contains(&h), "{seed}: {r}");
    }
    let stepped = Schedule::cron("H/15 * * * *").unwrap().resolve_hashed("x");
    let text = stepped.to_string();
    let start: u32 = text.split('-').next().unwrap().parse().unwrap();
    assert!(start < 15 && text.ends_with("-59/15 * * * *"), "{text}");

    for bad in [
        "H(5-1) * * * *",
        "H(0-99) * * * *",
        "0 0 H(1-31) * *",
        "H/0 * * * *",
        "H( * * * *",
        "0 0 * * H#2",
    ] {
        assert!(Schedule::cron(bad).is_err(), "{bad}");
    }
    let e = Schedule::cron("0 0 H(1-31) * *").unwrap_err();
    assert!(e.message.contains("1-28"), "{e}");
}

#[test]
fn mistyped_day_and_month_names_get_a_suggestion() {
    assert_rejected(
        "0 12 * * MOM",
        Some("day-of-week"),
        &["did you mean `MON`?"],
    );
    assert_rejected(
        "0 12 * * mon-fir",
        Some("day-of-week"),
        &["did you mean `FRI`?"],
    );
    assert_rejected("0 12 1 JNU *", Some("month"), &["did you mean `JUN`?"]);
    let far = Schedule::cron("0 12 * * XYZW").unwrap_err();
    assert!(!far.message.contains("did you mean"), "{far}");
}
