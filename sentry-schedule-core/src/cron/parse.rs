//! Parsing one crontab field, branch for branch as cronsim's `Field.parse`, so that we
//! accept exactly what cronsim accepts (plus the stricter rules documented on
//! [`crate::Schedule`]), with error messages that name the field and what it allows.

use super::fields::{FieldKind, ValueSet, DAY_NAMES, MONTH_NAMES};
use crate::error::ScheduleError;

/// Python's `int()` refuses strings longer than this many digits (it raises a
/// `ValueError`, which Sentry's validator does not accept either).
const PY_MAX_INT_DIGITS: usize = 4300;

fn err(kind: FieldKind, message: String) -> ScheduleError {
    ScheduleError::new(Some(kind.name()), message).with_help(kind.syntax_help())
}

/// cronsim's `Field._int`: a non-empty run of ASCII digits, any size (saturating).
pub(crate) fn parse_digits(kind: FieldKind, s: &str, what: &str) -> Result<u64, ScheduleError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        let shown = if s.is_empty() { "nothing" } else { s };
        return Err(err(
            kind,
            format!(
                "invalid {} field: expected {what}, found `{shown}`",
                kind.name()
            ),
        ));
    }
    if s.len() > PY_MAX_INT_DIGITS {
        return Err(err(
            kind,
            format!("invalid {} field: number too long", kind.name()),
        ));
    }
    Ok(s.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// cronsim's `Field.int`: a month/day name or a number within the field's range.
pub(crate) fn parse_value(kind: FieldKind, s: &str) -> Result<u8, ScheduleError> {
    if kind == FieldKind::Month {
        if let Some(i) = MONTH_NAMES.iter().position(|n| *n == s) {
            return Ok(i as u8 + 1);
        }
    }
    if kind == FieldKind::DayOfWeek {
        if let Some(i) = DAY_NAMES.iter().position(|n| *n == s) {
            return Ok(i as u8);
        }
    }
    let what = match kind {
        FieldKind::Month => "a number 1-12 or a month name JAN-DEC",
        FieldKind::DayOfWeek => "a number 0-7 (0 and 7 are Sunday) or a day name SUN-SAT",
        FieldKind::DayOfMonth => "a number 1-31, `L` or `LW`",
        FieldKind::Minute => "a number 0-59",
        FieldKind::Hour => "a number 0-23",
    };
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        let shown = if s.is_empty() { "nothing" } else { s };
        let names: &[&str] = match kind {
            FieldKind::Month => &MONTH_NAMES,
            FieldKind::DayOfWeek => &DAY_NAMES,
            _ => &[],
        };
        let suggestion = match crate::suggest::closest(s, names.iter().copied(), 1)[..] {
            [near] => format!("; did you mean `{near}`?"),
            _ => String::new(),
        };
        return Err(err(
            kind,
            format!(
                "invalid {} field `{shown}`: expected {what}{suggestion}",
                kind.name(),
            ),
        ));
    }
    let v = parse_digits(kind, s, what)?;
    if v < u64::from(kind.min()) || v > u64::from(kind.max()) {
        return Err(err(
            kind,
            format!(
                "invalid {} field `{s}`: expected {}",
                kind.name(),
                kind.allowed()
            ),
        ));
    }
    Ok(v as u8)
}

/// Parses one field (or one comma-separated part of it), mirroring `Field.parse`.
pub(crate) fn parse_field(kind: FieldKind, s: &str) -> Result<ValueSet, ScheduleError> {
    if s == "*" {
        return Ok(ValueSet::range(kind.min(), kind.max()));
    }

    if s.contains(',') {
        let mut result = ValueSet::default();
        for term in s.split(',') {
            result.union(&parse_field(kind, term)?);
        }
        return Ok(result);
    }

    if kind == FieldKind::DayOfWeek && s.contains('L') {
        // `5L`: cronsim drops the last character and wants digits before it.
        let mut chars = s.chars();
        chars.next_back();
        let value = chars.as_str();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) || !s.ends_with('L') {
            return Err(err(
                kind,
                format!(
                    "invalid day-of-week field `{s}`: `L` must follow a day number 0-7, \
                     as in `5L` (the last Friday of the month)"
                ),
            ));
        }
        let dow = parse_value(kind, value)?;
        let mut set = ValueSet::default();
        set.dow_last |= 1 << (dow % 7);
        return Ok(set);
    }

    if kind == FieldKind::DayOfWeek && s.contains('#') {
        let (term, nth_str) = s.split_once('#').unwrap_or((s, ""));
        let nth = parse_digits(kind, nth_str, "a number 1-5 after `#`")?;
        if !(1..=5).contains(&nth) {
            return Err(err(
                kind,
                format!(
                    "invalid day-of-week field `{s}`: expected 1-5 after `#` \
                     (the n-th such weekday of the month), found `{nth_str}`"
                ),
            ));
        }
        let dow = parse_value(kind, term)?;
        let mut set = ValueSet::default();
        if let Some(bits) = set.dow_nth.get_mut(usize::from(dow % 7)) {
            *bits |= 1 << nth;
        }
        return Ok(set);
    }

    if s.contains('/') {
        let (term, step_str) = s.split_once('/').unwrap_or((s, ""));
        let step = parse_digits(kind, step_str, "a step number after `/`")?;
        if step == 0 {
            return Err(err(
                kind,
                format!(
                    "invalid {} field `{s}`: the step after `/` must be at least 1",
                    kind.name()
                ),
            ));
        }
        let items = parse_field(kind, term)?;
        if items.is_only_last() || items.is_only_last_weekday() {
            return Ok(items);
        }
        let step = usize::try_from(step).unwrap_or(usize::MAX);
        let mut result = ValueSet::default();
        if items.len() == 1 {
            if term.contains('-') {
                // Stricter than cronsim: it reads `a-a/n` as `a/n` (a to the end of the
                // range), other crons as just `a`. Sentry and we must agree, so refuse.
                let start = items.values().next().unwrap_or(kind.min());
                return Err(err(
                    kind,
                    format!(
                        "ambiguous {} field `{s}`: a one-value range with a step is read as \
                         `{start}/{step}` by Sentry but as `{start}` by other crons",
                        kind.name()
                    ),
                )
                .with_help(format!(
                    "write `{start}/{step}` (every {step} from {start} to {}) or `{start}`",
                    kind.max()
                )));
            }
            let start = items.values().next().unwrap_or(kind.min());
            for v in (start..=kind.max()).step_by(step) {
                result.bits |= 1 << v;
            }
            return Ok(result);
        }
        for v in items.values().step_by(step) {
            result.bits |= 1 << v;
        }
        return Ok(result);
    }

    if s.contains('-') {
        let (start_str, end_str) = s.split_once('-').unwrap_or((s, ""));
        let start = parse_value(kind, start_str)?;
        let end = parse_value(kind, end_str)?;
        if end < start {
            return Err(err(
                kind,
                format!(
                    "invalid {} field `{s}`: the range starts after it ends",
                    kind.name()
                ),
            )
            .with_help(format!(
                "write ranges low-high within {}, e.g. `{end}-{start}`",
                kind.allowed()
            )));
        }
        return Ok(ValueSet::range(start, end));
    }

    if kind == FieldKind::DayOfMonth && s == "LW" {
        return Ok(ValueSet {
            last_weekday: true,
            ..ValueSet::default()
        });
    }
    if kind == FieldKind::DayOfMonth && s == "L" {
        return Ok(ValueSet {
            last: true,
            ..ValueSet::default()
        });
    }

    Ok(ValueSet::single(parse_value(kind, s)?))
}
