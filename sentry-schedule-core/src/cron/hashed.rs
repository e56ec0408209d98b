//! Hashed fields: `H`, `H(a-b)`, `H/n`, `H(a-b)/n` (as Jenkins), placed by a stable
//! hash of a seed (the job's slug) so a fleet of jobs spreads over the hour or day.
//!
//! Ranges used for a bare `H`: minute 0-59, hour 0-23, day-of-month 1-28 (so the day
//! exists in every month), month 1-12, day-of-week 0-6. A placed term is written in
//! plain crontab syntax (`37`, `7-59/15`) so Sentry receives an ordinary expression.

use super::fields::FieldKind;
use super::parse::{parse_digits, parse_value};
use crate::error::ScheduleError;
use crate::hash::fnv1a64_parts;
use std::fmt::Write as _;

/// How many re-hashes [`super::CronExpr::resolve`] tries before falling back.
pub(crate) const MAX_ATTEMPTS: u8 = 16;

/// A parsed `H` term.
struct HashTerm {
    lo: u8,
    hi: u8,
    step: Option<u64>,
}

fn hash_range(kind: FieldKind) -> (u8, u8) {
    match kind {
        FieldKind::DayOfMonth => (1, 28),
        FieldKind::DayOfWeek => (0, 6),
        _ => (kind.min(), kind.max()),
    }
}

fn h_error(kind: FieldKind, term: &str, why: &str) -> ScheduleError {
    let (lo, hi) = hash_range(kind);
    ScheduleError::new(
        Some(kind.name()),
        format!("invalid {} field `{term}`: {why}", kind.name()),
    )
    .with_help(format!(
        "hashed terms are `H` (any value {lo}-{hi}), `H(a-b)` (a value in a-b), `H/n` or \
         `H(a-b)/n` (every n from a hashed start)"
    ))
}

fn parse_term(kind: FieldKind, term: &str) -> Result<HashTerm, ScheduleError> {
    let (lo, hi) = hash_range(kind);
    let rest = term.strip_prefix('H').unwrap_or(term);
    let (range_part, step_part) = match rest.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    let (a, b) = if range_part.is_empty() {
        (lo, hi)
    } else {
        let inner = range_part
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| h_error(kind, term, "expected `H`, `H(a-b)`, `H/n` or `H(a-b)/n`"))?;
        let (a, b) = inner
            .split_once('-')
            .ok_or_else(|| h_error(kind, term, "expected a range `a-b` inside `H(...)`"))?;
        let a = parse_value(kind, a)?;
        let b = parse_value(kind, b)?;
        if a > b {
            return Err(h_error(kind, term, "the range starts after it ends"));
        }
        if a < lo || b > hi {
            return Err(h_error(
                kind,
                term,
                &format!("a hashed range must lie within {lo}-{hi}"),
            ));
        }
        (a, b)
    };
    let step = match step_part {
        Some(s) => {
            let n = parse_digits(kind, s, "a step number after `/`")?;
            if n == 0 {
                return Err(h_error(kind, term, "the step after `/` must be at least 1"));
            }
            Some(n)
        }
        None => None,
    };
    Ok(HashTerm { lo: a, hi: b, step })
}

fn is_hash_term(term: &str) -> bool {
    term.starts_with('H')
}

/// Checks every `H` term of the normalized five-field `text`; returns whether there is
/// any.
pub(crate) fn validate(text: &str) -> Result<bool, ScheduleError> {
    let mut any = false;
    for (field, kind) in text.split(' ').zip(FieldKind::ALL) {
        for term in field.split(',').filter(|t| is_hash_term(t)) {
            parse_term(kind, term)?;
            any = true;
        }
    }
    Ok(any)
}

/// Places every `H` term of the normalized five-field `text` by the hash of `seed` (and
/// `attempt`); the other terms are kept as written.
pub(crate) fn resolve(text: &str, seed: &str, attempt: u8) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (index, (field, kind)) in text.split(' ').zip(FieldKind::ALL).enumerate() {
        if index > 0 {
            out.push(' ');
        }
        for (position, term) in field.split(',').enumerate() {
            if position > 0 {
                out.push(',');
            }
            let placed = is_hash_term(term)
                .then(|| parse_term(kind, term).ok())
                .flatten();
            let Some(h) = placed else {
                out.push_str(term);
                continue;
            };
            let salt = [
                0u8,
                index as u8,
                u8::try_from(position).unwrap_or(u8::MAX),
                attempt,
            ];
            let hash = fnv1a64_parts(&[seed.as_bytes(), &salt]);
            let width = u64::from(h.hi - h.lo) + 1;
            // Writing to a `String` cannot fail.
            let _ = match h.step {
                None => write!(out, "{}", u64::from(h.lo) + hash % width),
                Some(step) => {
                    let start = u64::from(h.lo) + hash % step.min(width);
                    if start >= u64::from(h.hi) {
                        write!(out, "{start}")
                    } else {
                        write!(out, "{start}-{}/{step}", h.hi)
                    }
                }
            };
        }
    }
    out
}
