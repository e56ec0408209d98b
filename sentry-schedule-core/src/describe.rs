//! A schedule in plain language: "at 12:00 every day, Europe/Vienna", "every 15 minutes,
//! UTC", "at 09:30 on Monday to Friday, UTC".
//!
//! Read from the five concrete fields Sentry receives (nicknames expanded), so `@daily` and
//! `0 0 * * *` read the same. Place `H` terms first ([`Schedule::resolve_hashed`] with the
//! slug), or they read as the placement of the empty seed. A field this describer cannot
//! put in words (steps with an offset, mixed lists and ranges in the hour, ...) makes the
//! whole description fall back to "on the cron schedule `…`", never a wrong sentence.
//!
//! ```
//! use sentry_schedule_core::{describe::describe, Schedule};
//! let daily = Schedule::cron("0 12 * * *")?;
//! assert_eq!(describe(&daily, chrono_tz::Europe::Vienna), "at 12:00 every day, Europe/Vienna");
//! # Ok::<(), sentry_schedule_core::ScheduleError>(())
//! ```
use crate::schedule::{Schedule, SentrySchedule};
use chrono_tz::Tz;

/// `schedule` in plain language, ending with the zone it is read in.
pub fn describe(schedule: &Schedule, tz: Tz) -> String {
    let what = match schedule.interval() {
        Some(period) => every(period.as_secs()),
        None => match schedule.to_sentry() {
            Some(SentrySchedule::Crontab(text)) => {
                crontab(&text).unwrap_or_else(|| format!("on the cron schedule `{text}`"))
            }
            _ => format!("on the schedule `{schedule}`"),
        },
    };
    format!("{what}, {}", tz.name())
}

/// `every 15 minutes`, `every hour`, `every 90 seconds`.
fn every(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| secs.is_multiple_of(*size))
        .unwrap_or((1, "second"));
    match secs / size {
        1 => format!("every {unit}"),
        n => format!("every {n} {unit}s"),
    }
}

/// `hour`, `second hour`, `third hour`, `6th hour`.
fn nth(n: u32, unit: &str) -> String {
    match n {
        0 | 1 => unit.to_owned(),
        2 => format!("second {unit}"),
        3 => format!("third {unit}"),
        n => format!("{n}th {unit}"),
    }
}

/// One field as this describer understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    /// `*`
    Any,
    /// `*/n`
    Every(u32),
    /// `a,b,c` (a single value too), in the order written.
    Values(Vec<u32>),
    /// `a-b`
    Range(u32, u32),
}

/// Parses a field of plain numbers (names already replaced); `None` for anything else.
fn field(text: &str) -> Option<Field> {
    if text == "*" {
        return Some(Field::Any);
    }
    if let Some(step) = text.strip_prefix("*/") {
        return step.parse().ok().map(Field::Every);
    }
    if let Some((a, b)) = text.split_once('-') {
        return Some(Field::Range(a.parse().ok()?, b.parse().ok()?));
    }
    text.split(',')
        .map(|v| v.parse().ok())
        .collect::<Option<Vec<u32>>>()
        .map(Field::Values)
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_ABBR: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_ABBR: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const ORDINALS: [&str; 5] = ["first", "second", "third", "fourth", "fifth"];

/// `text` with the names of `names` replaced by their number (`first` for the first name).
fn numbered(text: &str, names: &[&str], first: usize) -> String {
    let mut text = text.to_owned();
    for (i, name) in names.iter().enumerate() {
        text = text.replace(name, &(i + first).to_string());
    }
    text
}

/// `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The five fields in words; `None` when a field is beyond this describer.
fn crontab(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = parts.as_slice() else {
        return None;
    };
    let (minute, hour) = (field(minute)?, field(hour)?);
    let time = time_of_day(&minute, &hour)?;
    let month = months(&field(&numbered(month, &MONTH_ABBR, 1))?)?;
    let days = days(dom, &numbered(dow, &DAY_ABBR, 0))?;
    let fixed_times = matches!((&minute, &hour), (Field::Values(_), Field::Values(_)));
    let mut words = time;
    match (days, month) {
        (None, None) if fixed_times => words.push_str(" every day"),
        (None, None) => {}
        (Some(days), None) => words = format!("{words} {days}"),
        (None, Some(month)) => words = format!("{words} every day {month}"),
        (Some(days), Some(month)) => words = format!("{words} {days} {month}"),
    }
    Some(words)
}

/// The time-of-day part: `at 12:00`, `every 15 minutes`, `at minute 5 of every hour`.
fn time_of_day(minute: &Field, hour: &Field) -> Option<String> {
    let hh_mm = |h: u32, m: u32| format!("{h:02}:{m:02}");
    let hours_range = |a: u32, b: u32| format!("from {a:02}:00 to {b:02}:59");
    Some(match (minute, hour) {
        (Field::Values(ms), Field::Values(hs)) if ms.len() * hs.len() <= 6 => {
            let mut times: Vec<(u32, u32)> = hs
                .iter()
                .flat_map(|h| ms.iter().map(move |m| (*h, *m)))
                .collect();
            times.sort_unstable();
            let times: Vec<String> = times.into_iter().map(|(h, m)| hh_mm(h, m)).collect();
            format!("at {}", and_list(&times))
        }
        (Field::Any, Field::Any) => "every minute".to_owned(),
        (Field::Every(n), Field::Any) => format!("every {n} minutes"),
        (Field::Values(ms), Field::Any) if ms.len() == 1 => {
            format!("at minute {} of every hour", ms[0])
        }
        (Field::Values(ms), Field::Any) => {
            let ms: Vec<String> = ms.iter().map(u32::to_string).collect();
            format!("at minutes {} of every hour", and_list(&ms))
        }
        (Field::Values(ms), Field::Every(n)) if ms.len() == 1 => {
            format!(
                "at minute {} of every {} from 00:00",
                ms[0],
                nth(*n, "hour")
            )
        }
        (Field::Values(ms), Field::Range(a, b)) if ms.len() == 1 => {
            format!("at minute {} of every hour {}", ms[0], hours_range(*a, *b))
        }
        (Field::Any, Field::Values(hs)) if hs.len() == 1 => {
            format!("every minute {}", hours_range(hs[0], hs[0]))
        }
        (Field::Any, Field::Range(a, b)) => format!("every minute {}", hours_range(*a, *b)),
        (Field::Every(n), Field::Range(a, b)) => {
            format!("every {n} minutes {}", hours_range(*a, *b))
        }
        (Field::Every(n), Field::Values(hs)) if hs.len() == 1 => {
            format!("every {n} minutes {}", hours_range(hs[0], hs[0]))
        }
        _ => return None,
    })
}

/// The day part: `None` for every day, `Some("on Monday to Friday")` and the like; the outer
/// `None` when it is beyond this describer.
fn days(dom: &str, dow: &str) -> Option<Option<String>> {
    let dom_words = day_of_month(dom)?;
    let dow_words = day_of_week(dow)?;
    Some(match (dom_words, dow_words) {
        (None, None) => None,
        (Some(d), None) | (None, Some(d)) => Some(d),
        // Both restricted: either one (the Vixie rule, cronsim's too).
        (Some(dom), Some(dow)) => Some(format!("{dom} or {dow}")),
    })
}

/// `on day 1 of the month`, `on the last day of the month`; `Some(None)`: every day.
fn day_of_month(text: &str) -> Option<Option<String>> {
    if text.starts_with('*') {
        return match field(text)? {
            Field::Any => Some(None),
            Field::Every(n) => Some(Some(format!(
                "on every {} of the month from the 1st",
                nth(n, "day")
            ))),
            _ => None,
        };
    }
    Some(Some(match text {
        "L" => "on the last day of the month".to_owned(),
        "LW" => "on the last weekday of the month".to_owned(),
        _ => match field(text)? {
            Field::Values(days) => {
                let days: Vec<String> = days.iter().map(u32::to_string).collect();
                let noun = if days.len() == 1 { "day" } else { "days" };
                format!("on {noun} {} of the month", and_list(&days))
            }
            Field::Range(a, b) => format!("on days {a} to {b} of the month"),
            Field::Any | Field::Every(_) => return None,
        },
    }))
}

/// `on Monday to Friday`, `on Saturday and Sunday`, `on the last Friday of the month`;
/// `Some(None)`: any day of the week.
fn day_of_week(text: &str) -> Option<Option<String>> {
    if text.starts_with('*') {
        return match field(text)? {
            Field::Any => Some(None),
            _ => None,
        };
    }
    let name = |d: u32| WEEKDAYS.get((d % 7) as usize).copied();
    if let Some(day) = text.strip_suffix('L') {
        let day = name(day.parse().ok()?)?;
        return Some(Some(format!("on the last {day} of the month")));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let day = name(day.parse().ok()?)?;
        let nth = ORDINALS.get(nth.parse::<usize>().ok()?.checked_sub(1)?)?;
        return Some(Some(format!("on the {nth} {day} of the month")));
    }
    Some(Some(match field(text)? {
        Field::Values(days) => {
            let days = days
                .iter()
                .map(|d| name(*d).map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            format!("on {}", and_list(&days))
        }
        Field::Range(a, b) => format!("on {} to {}", name(a)?, name(b)?),
        Field::Any | Field::Every(_) => return None,
    }))
}

/// `in January`, `in June to August`; `None` inside: every month.
fn months(month: &Field) -> Option<Option<String>> {
    let name = |m: u32| MONTHS.get(m.checked_sub(1)? as usize).copied();
    Some(match month {
        Field::Any => None,
        Field::Values(ms) => {
            let ms = ms
                .iter()
                .map(|m| name(*m).map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            Some(format!("in {}", and_list(&ms)))
        }
        Field::Range(a, b) => Some(format!("in {} to {}", name(*a)?, name(*b)?)),
        Field::Every(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn says(expr: &str) -> String {
        let schedule = expr.parse::<Schedule>().expect("valid schedule");
        describe(&schedule, chrono_tz::UTC)
    }

    #[test]
    fn fixed_times() {
        assert_eq!(
            describe(
                &Schedule::cron("0 12 * * *").unwrap(),
                chrono_tz::Europe::Vienna
            ),
            "at 12:00 every day, Europe/Vienna"
        );
        assert_eq!(says("30 2 * * *"), "at 02:30 every day, UTC");
        assert_eq!(says("@daily"), "at 00:00 every day, UTC");
        assert_eq!(says("0 9,17 * * *"), "at 09:00 and 17:00 every day, UTC");
        assert_eq!(says("15,45 8 * * *"), "at 08:15 and 08:45 every day, UTC");
        assert_eq!(says("0 22,6 * * *"), "at 06:00 and 22:00 every day, UTC");
    }

    #[test]
    fn minutes_and_hours() {
        assert_eq!(says("* * * * *"), "every minute, UTC");
        assert_eq!(says("*/15 * * * *"), "every 15 minutes, UTC");
        assert_eq!(says("@hourly"), "at minute 0 of every hour, UTC");
        assert_eq!(says("5 * * * *"), "at minute 5 of every hour, UTC");
        assert_eq!(
            says("0,30 * * * *"),
            "at minutes 0 and 30 of every hour, UTC"
        );
        assert_eq!(
            says("0 9-17 * * *"),
            "at minute 0 of every hour from 09:00 to 17:59, UTC"
        );
        assert_eq!(
            says("*/10 9-17 * * MON-FRI"),
            "every 10 minutes from 09:00 to 17:59 on Monday to Friday, UTC"
        );
        assert_eq!(says("* 3 * * *"), "every minute from 03:00 to 03:59, UTC");
        assert_eq!(
            says("0 */2 * * *"),
            "at minute 0 of every second hour from 00:00, UTC"
        );
        assert_eq!(
            says("20 */6 * * *"),
            "at minute 20 of every 6th hour from 00:00, UTC"
        );
    }

    #[test]
    fn days_of_the_week() {
        assert_eq!(says("30 9 * * 1-5"), "at 09:30 on Monday to Friday, UTC");
        assert_eq!(
            says("30 9 * * MON-FRI"),
            "at 09:30 on Monday to Friday, UTC"
        );
        assert_eq!(
            says("0 10 * * SAT,SUN"),
            "at 10:00 on Saturday and Sunday, UTC"
        );
        assert_eq!(says("0 10 * * 0"), "at 10:00 on Sunday, UTC");
        assert_eq!(says("0 10 * * 7"), "at 10:00 on Sunday, UTC");
        assert_eq!(says("@weekly"), "at 00:00 on Sunday, UTC");
        assert_eq!(
            says("0 8 * * 1,3,5"),
            "at 08:00 on Monday, Wednesday and Friday, UTC"
        );
        assert_eq!(
            says("0 18 * * 5L"),
            "at 18:00 on the last Friday of the month, UTC"
        );
        assert_eq!(
            says("0 7 * * MON#2"),
            "at 07:00 on the second Monday of the month, UTC"
        );
    }

    #[test]
    fn days_of_the_month_and_months() {
        assert_eq!(says("0 0 1 * *"), "at 00:00 on day 1 of the month, UTC");
        assert_eq!(says("@monthly"), "at 00:00 on day 1 of the month, UTC");
        assert_eq!(
            says("0 6 1,15 * *"),
            "at 06:00 on days 1 and 15 of the month, UTC"
        );
        assert_eq!(
            says("0 6 1-7 * *"),
            "at 06:00 on days 1 to 7 of the month, UTC"
        );
        assert_eq!(
            says("0 23 L * *"),
            "at 23:00 on the last day of the month, UTC"
        );
        assert_eq!(
            says("0 23 LW * *"),
            "at 23:00 on the last weekday of the month, UTC"
        );
        assert_eq!(
            says("@yearly"),
            "at 00:00 on day 1 of the month in January, UTC"
        );
        assert_eq!(says("0 12 * 7 *"), "at 12:00 every day in July, UTC");
        assert_eq!(
            says("0 12 * JUN-AUG *"),
            "at 12:00 every day in June to August, UTC"
        );
        assert_eq!(
            says("0 12 13 * FRI"),
            "at 12:00 on day 13 of the month or on Friday, UTC"
        );
        assert_eq!(
            says("*/30 * * 1,7 *"),
            "every 30 minutes every day in January and July, UTC"
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(says("15m"), "every 15 minutes, UTC");
        assert_eq!(says("1h"), "every hour, UTC");
        assert_eq!(says("90s"), "every 90 seconds, UTC");
        assert_eq!(says("2d"), "every 2 days, UTC");
        assert_eq!(says("30s"), "every 30 seconds, UTC");
    }

    #[test]
    fn what_it_cannot_say_it_quotes() {
        assert_eq!(
            says("5-10/2 * * * *"),
            "on the cron schedule `5-10/2 * * * *`, UTC"
        );
        assert_eq!(
            says("0 1,3-5 * * *"),
            "on the cron schedule `0 1,3-5 * * *`, UTC"
        );
        assert_eq!(
            says("0,10,20,30,40,50 1,2 * * *"),
            "on the cron schedule `0,10,20,30,40,50 1,2 * * *`, UTC"
        );
    }
}
