//! Crontab expressions with cronsim's (Debian cron's) meaning.
//!
//! * [`parse`](self::parse) mirrors cronsim's `Field.parse` branch for branch;
//! * [`fields`] holds the compiled sets and day matching;
//! * [`next`] is the forward search, including cronsim's DST behaviour;
//! * [`hashed`] places Jenkins-style `H` terms by a stable hash.

mod fields;
mod hashed;
mod next;
mod parse;

use crate::error::ScheduleError;
use fields::{FieldKind, Fields};
pub(crate) use next::Cursor;

/// Nicknames Sentry's server translates before handing the expression to cronsim.
const NICKNAMES: [(&str, &str); 6] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const FIELD_ORDER: &str = "minute hour day-of-month month day-of-week";

/// A validated crontab expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CronExpr {
    /// The nickname as written (lowercased), if the expression was one.
    nickname: Option<&'static str>,
    /// The five fields, uppercased, possibly with `H` terms.
    fields_text: [String; 5],
    /// Compiled fields; for a hashed expression, those of `resolve("")`.
    compiled: Fields,
    /// Contains `H` terms not yet placed.
    hashed: bool,
}

/// Python's `str.split()` whitespace: Unicode whitespace plus the ASCII separators
/// `\x1c`-`\x1f`, which `str.isspace()` also counts.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Compiles five concrete (H-free) fields the way `CronSim.__init__` does and applies
/// its validation plus ours (never-firing expressions).
fn compile(fields: [&str; 5]) -> Result<Fields, ScheduleError> {
    let [minute, hour, dom, month, dow] = fields;
    let day_and = dom.starts_with('*') || dow.starts_with('*');
    let compiled = Fields {
        minutes: parse::parse_field(FieldKind::Minute, minute)?,
        hours: parse::parse_field(FieldKind::Hour, hour)?,
        days: parse::parse_field(FieldKind::DayOfMonth, dom)?,
        months: parse::parse_field(FieldKind::Month, month)?,
        weekdays: parse::parse_field(FieldKind::DayOfWeek, dow)?,
        day_and,
        fixed: !minute.starts_with('*') && !hour.starts_with('*'),
    };

    // cronsim: `if min(days) > 29 and day_and` and no selected month is that long.
    let days = &compiled.days;
    if day_and && !days.last && !days.last_weekday {
        if let Some(min_day) = days.values().next() {
            let longest = compiled
                .months
                .values()
                .map(|m| match m {
                    2 => 29,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                })
                .max()
                .unwrap_or(31);
            if min_day > 29 && min_day > longest {
                return Err(ScheduleError::new(
                    Some(FieldKind::DayOfMonth.name()),
                    format!(
                        "invalid day-of-month field `{dom}`: this schedule never fires, \
                         no month in `{month}` has a day {min_day} (the longest has {longest} days)"
                    ),
                )
                .with_help(
                    "pick days that exist in the selected months, or `L` for the last day",
                ));
            }
        }
    }

    if !compiled.can_fire() {
        return Err(ScheduleError::new(
            None,
            format!(
                "this schedule never fires: no date matches day-of-month `{dom}`, \
                 month `{month}` and day-of-week `{dow}` together"
            ),
        )
        .with_help(
            "when either day field starts with `*` both must match the same date \
             (e.g. `*/30` is days 1 and 31); otherwise either may match",
        ));
    }
    Ok(compiled)
}

impl CronExpr {
    pub(crate) fn parse(expr: &str) -> Result<Self, ScheduleError> {
        let tokens: Vec<&str> = expr.split(is_py_space).filter(|t| !t.is_empty()).collect();
        let first = match tokens.first() {
            Some(first) => *first,
            None => {
                return Err(
                    ScheduleError::new(None, "empty schedule").with_help(format!(
                        "expected a 5-field crontab ({FIELD_ORDER}) such as `0 12 * * *`, \
                     a nickname such as `@daily`, or an interval such as `15m`"
                    )),
                )
            }
        };

        if first.starts_with('@') {
            let lower = first.to_ascii_lowercase();
            let names = NICKNAMES.map(|(n, _)| n).join(", ");
            // Sentry's server matches nicknames exactly (lowercase).
            let Some((nickname, expansion)) = NICKNAMES.iter().find(|(n, _)| *n == first) else {
                let why = if lower == "@reboot" {
                    "`@reboot` has no schedule Sentry could monitor".to_owned()
                } else if NICKNAMES.iter().any(|(n, _)| *n == lower) {
                    format!("unknown nickname `{first}`: nicknames are lowercase, write `{lower}`")
                } else {
                    format!("unknown nickname `{first}`")
                };
                return Err(ScheduleError::new(None, why)
                    .with_help(format!("expected one of {names}, or a 5-field crontab")));
            };
            if tokens.len() > 1 {
                return Err(ScheduleError::new(
                    None,
                    format!("unexpected text after `{first}`: a nickname stands alone"),
                )
                .with_help(format!("write just `{nickname}` or a 5-field crontab")));
            }
            let mut parsed = Self::parse(expansion)?;
            parsed.nickname = Some(nickname);
            return Ok(parsed);
        }

        if tokens.len() != 5 {
            let n = tokens.len();
            let help = match n {
                6 => {
                    "Sentry monitors only 5-field crontabs: a seconds field is not supported \
                      (drop the first field)"
                }
                7 => {
                    "Sentry monitors only 5-field crontabs: seconds and year fields are not \
                      supported"
                }
                _ => "a crontab has exactly 5 fields, e.g. `0 12 * * *` (every day at 12:00)",
            };
            return Err(ScheduleError::new(
                None,
                format!("expected 5 fields ({FIELD_ORDER}), found {n}"),
            )
            .with_help(help));
        }

        let mut fields_text: [String; 5] = Default::default();
        for ((slot, token), kind) in fields_text.iter_mut().zip(&tokens).zip(FieldKind::ALL) {
            if let Some(c) = token.chars().find(|c| !c.is_ascii()) {
                return Err(ScheduleError::new(
                    Some(kind.name()),
                    format!(
                        "invalid {} field `{token}`: unexpected character `{c}`",
                        kind.name()
                    ),
                )
                .with_help(kind.syntax_help()));
            }
            *slot = token.to_ascii_uppercase();
        }

        let hashed = hashed::validate(&fields_text)?;
        let resolved = hashed::resolve(&fields_text, "", 0);
        let compiled = compile(resolved.each_ref().map(String::as_str))?;
        Ok(Self {
            nickname: None,
            fields_text,
            compiled,
            hashed,
        })
    }

    pub(crate) fn is_hashed(&self) -> bool {
        self.hashed
    }

    /// Replaces each `H` term by a value placed by a stable hash of `seed`.
    pub(crate) fn resolve(&self, seed: &str) -> Self {
        if !self.hashed {
            return self.clone();
        }
        // A placement can make a schedule impossible (e.g. `0 0 */30 * MON#2,H` never
        // matches for some days); such placements are skipped deterministically by
        // re-hashing, and the placement validated at parse time is the last resort.
        for attempt in 0..hashed::MAX_ATTEMPTS {
            let fields_text = hashed::resolve(&self.fields_text, seed, attempt);
            if let Ok(compiled) = compile(fields_text.each_ref().map(String::as_str)) {
                return Self {
                    nickname: None,
                    fields_text,
                    compiled,
                    hashed: false,
                };
            }
        }
        Self {
            nickname: None,
            fields_text: hashed::resolve(&self.fields_text, "", 0),
            compiled: self.compiled.clone(),
            hashed: false,
        }
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.compiled
    }

    /// The five concrete fields Sentry receives (nicknames expanded, `H` placed with
    /// the empty seed when unresolved).
    pub(crate) fn sentry_text(&self) -> String {
        if self.hashed {
            hashed::resolve(&self.fields_text, "", 0).join(" ")
        } else {
            self.fields_text.join(" ")
        }
    }

    /// The normalized form: the nickname, or the five fields uppercased and
    /// single-space separated.
    pub(crate) fn display_text(&self) -> String {
        match self.nickname {
            Some(nickname) => nickname.to_owned(),
            None => self.fields_text.join(" "),
        }
    }
}
