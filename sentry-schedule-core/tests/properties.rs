//! Property tests: parsing never panics and always answers; what parses round-trips
//! through its normalized form; the search never goes backwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use chrono::{DateTime, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use proptest::prelude::*;
use sentry_schedule_core::{duration::parse_duration, slug, Schedule};

/// Near-valid crontab fields: the characters and words the grammar uses.
fn field() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        "[0-9]{1,2}",
        Just("*".to_owned()),
        "\\*/[0-9]{1,2}",
        "[0-9]{1,2}-[0-9]{1,2}",
        "[0-9]{1,2}-[0-9]{1,2}/[0-9]{1,2}",
        "[0-9]{1,2}/[0-9]{1,2}",
        "(L|LW|l|lw|[0-7]L|[0-7]#[0-6])",
        "(mon|TUE|Wed|jan|FEB|sun|SAT)(-(fri|DEC|sat))?",
        "H(\\([0-9]{1,2}-[0-9]{1,2}\\))?(/[0-9]{1,2})?",
        "[-*/,#LWH0-9]{1,6}",
    ];
    prop::collection::vec(token, 1..4).prop_map(|v| v.join(","))
}

fn near_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(field(), 5).prop_map(|v| v.join(" ")),
        prop::collection::vec(field(), 0..8).prop_map(|v| v.join(" ")),
        "@[a-zA-Z]{0,9}",
        "[0-9]{1,20}[smhdx]?",
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 1971..2100
    (31_536_000i64..4_102_444_800).prop_map(|t| DateTime::from_timestamp(t, 0).expect("in range"))
}

fn zone() -> impl Strategy<Value = Tz> {
    (0..TZ_VARIANTS.len()).prop_map(|i| TZ_VARIANTS[i])
}

fn check_parsed(text: &str, after: DateTime<Utc>, tz: Tz) -> Result<(), TestCaseError> {
    match text.parse::<Schedule>() {
        Ok(schedule) => {
            let shown = schedule.to_string();
            let again: Schedule = shown.parse().map_err(|e| {
                TestCaseError::fail(format!("`{shown}` (from `{text}`) fails: {e}"))
            })?;
            prop_assert_eq!(
                &again,
                &schedule,
                "round trip of `{}` via `{}`",
                text,
                shown
            );
            let mut last = after;
            for next in schedule.upcoming(after, tz).take(3) {
                prop_assert!(next > last, "`{}` in {}: {} after {}", text, tz, next, last);
                last = next;
            }
            let _ = schedule.to_sentry();
            let _ = schedule.resolve_hashed(text).to_string();
        }
        Err(e) => {
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

#[test]
fn extreme_instants_do_not_panic() {
    let expressions = [
        "* * * * *",
        "30 2 * * *",
        "0 0 L 2 *",
        "*/45 1 * * MON#5",
        "1s",
        "7d",
    ];
    let instants = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        DateTime::from_timestamp(-62_135_596_800, 0).expect("year 1"),
        DateTime::from_timestamp(253_402_300_799, 0).expect("year 9999"),
    ];
    for text in expressions {
        let schedule: Schedule = text.parse().expect("valid");
        for at in instants {
            for tz in [
                chrono_tz::UTC,
                chrono_tz::Europe::London,
                chrono_tz::Pacific::Chatham,
            ] {
                let mut last = at;
                for next in schedule.upcoming(at, tz).take(2) {
                    assert!(next > last, "`{text}` in {tz}: {next} after {last}");
                    last = next;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_string_gets_an_answer(text in any::<String>(), after in instant(), tz in zone()) {
        check_parsed(&text, after, tz)?;
        let _ = Schedule::cron(&text);
        let _ = Schedule::every(&text);
        let _ = parse_duration(&text);
    }

    #[test]
    fn near_valid_strings_get_an_answer(text in near_valid(), after in instant(), tz in zone()) {
        check_parsed(&text, after, tz)?;
    }

    #[test]
    fn derived_slugs_are_valid(module in "[a-zA-Z_][a-zA-Z0-9_]{0,20}(::[a-zA-Z_\\p{L}][a-zA-Z0-9_]{0,30}){0,5}", name in "[a-z_\\p{L}][a-z0-9_]{0,60}") {
        let s = slug::derive_slug(&module, &name);
        prop_assert!(slug::validate_slug(&s).is_ok(), "{}::{} -> {}", module, name, s);
        prop_assert_eq!(s, slug::derive_slug(&module, &name));
    }
}
