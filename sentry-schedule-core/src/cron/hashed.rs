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

/// Checks every `H` term; returns whether there is any.
pub(crate) fn validate(fields: &[String; 5]) -> Result<bool, ScheduleError> {
    let mut any = false;
    for (text, kind) in fields.iter().zip(FieldKind::ALL) {
        for term in text.split(',').filter(|t| is_hash_term(t)) {
            parse_term(kind, term)?;
            any = true;
        }
    }
    Ok(any)
}

/// Places every `H` term of `fields` by the hash of `seed` (and `attempt`).
pub(crate) fn resolve(fields: &[String; 5], seed: &str, attempt: u8) -> [String; 5] {
    let mut out: [String; 5] = Default::default();
    for (index, ((slot, text), kind)) in out
        .iter_mut()
        .zip(fields.iter())
        .zip(FieldKind::ALL)
        .enumerate()
    {
        let terms: Vec<String> = text
            .split(',')
            .enumerate()
            .map(|(position, term)| {
                if !is_hash_term(term) {
                    return term.to_owned();
                }
                let Ok(h) = parse_term(kind, term) else {
                    return term.to_owned();
                };
                let salt = [
                    0u8,
                    index as u8,
                    u8::try_from(position).unwrap_or(u8::MAX),
                    attempt,
                ];
                let hash = fnv1a64_parts(&[seed.as_bytes(), &salt]);
                let width = u64::from(h.hi - h.lo) + 1;
                match h.step {
                    None => (u64::from(h.lo) + hash % width).to_string(),
                    Some(step) => {
                        let start = u64::from(h.lo) + hash % step.min(width);
                        if start >= u64::from(h.hi) {
                            start.to_string()
                        } else {
                            format!("{start}-{}/{step}", h.hi)
                        }
                    }
                }
            })
            .collect();
        *slot = terms.join(",");
    }
    out
}
