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
use fields::FieldKind;
pub(crate) use fields::Fields;
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
    /// The five fields, uppercased and single-space separated, possibly with `H` terms;
    /// empty for a nickname, whose fields are its expansion in [`NICKNAMES`].
    text: Box<str>,
    /// Compiled fields; for a hashed expression, those of `resolve("")`.
    compiled: Fields,
    /// The nickname as written (an index into [`NICKNAMES`]), if the expression was one.
    nickname: Option<u8>,
    /// Contains `H` terms not yet placed.
    hashed: bool,
}

/// Python's `str.split()` whitespace: Unicode whitespace plus the ASCII separators
/// `\x1c`-`\x1f`, which `str.isspace()` also counts.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The five fields of a normalized text (five terms, single-space separated).
fn split_fields(text: &str) -> [&str; 5] {
    let mut terms = text.split(' ');
    [(); 5].map(|()| terms.next().unwrap_or(""))
}

/// Compiles five concrete (H-free) fields, given as normalized text, the way
/// `CronSim.__init__` does and applies its validation plus ours (never-firing
/// expressions).
fn compile(text: &str) -> Result<Fields, ScheduleError> {
    let [minute, hour, dom, month, dow] = split_fields(text);
    let day_and = dom.starts_with('*') || dow.starts_with('*');
    let sets = [
        parse::parse_field(FieldKind::Minute, minute)?,
        parse::parse_field(FieldKind::Hour, hour)?,
        parse::parse_field(FieldKind::DayOfMonth, dom)?,
        parse::parse_field(FieldKind::Month, month)?,
        parse::parse_field(FieldKind::DayOfWeek, dow)?,
    ];
    let [_, _, days, months, _] = sets;
    let compiled = Fields::new(
        sets,
        day_and,
        !minute.starts_with('*') && !hour.starts_with('*'),
    );

    // cronsim: `if min(days) > 29 and day_and` and no selected month is that long.
    if day_and && !days.last && !days.last_weekday {
        if let Some(min_day) = days.values().next() {
            let longest = months
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
            let Some((index, (nickname, expansion))) =
                NICKNAMES.iter().enumerate().find(|(_, (n, _))| *n == first)
            else {
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
            // The expansion's text is the nickname's, in `NICKNAMES`.
            parsed.text = Box::default();
            parsed.nickname = u8::try_from(index).ok();
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

        // Exactly the joined length, so the text is boxed without reallocating.
        let joined_len = tokens.iter().map(|t| t.len()).sum::<usize>() + tokens.len() - 1;
        let mut text = String::with_capacity(joined_len);
        for (token, kind) in tokens.iter().zip(FieldKind::ALL) {
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
            if !text.is_empty() {
                text.push(' ');
            }
            text.extend(token.chars().map(|c| c.to_ascii_uppercase()));
        }

        let hashed = hashed::validate(&text)?;
        let compiled = if hashed {
            compile(&hashed::resolve(&text, "", 0))?
        } else {
            compile(&text)?
        };
        Ok(Self {
            text: text.into_boxed_str(),
            compiled,
            nickname: None,
            hashed,
        })
    }

    pub(crate) fn is_hashed(&self) -> bool {
        self.hashed
    }

    /// The five fields as text: uppercased, single-space separated, possibly with `H`
    /// terms (a nickname's expansion for a nickname).
    fn fields_text(&self) -> &str {
        match self.nickname.and_then(|i| NICKNAMES.get(usize::from(i))) {
            Some((_, expansion)) => expansion,
            None => &self.text,
        }
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
            let text = hashed::resolve(self.fields_text(), seed, attempt);
            if let Ok(compiled) = compile(&text) {
                return Self {
                    text: text.into_boxed_str(),
                    compiled,
                    nickname: None,
                    hashed: false,
                };
            }
        }
        Self {
            text: hashed::resolve(self.fields_text(), "", 0).into_boxed_str(),
            compiled: self.compiled,
            nickname: None,
            hashed: false,
        }
    }

    pub(crate) fn fields(&self) -> Fields {
        self.compiled
    }

    /// The five concrete fields Sentry receives (nicknames expanded, `H` placed with
    /// the empty seed when unresolved).
    pub(crate) fn sentry_text(&self) -> String {
        if self.hashed {
            hashed::resolve(self.fields_text(), "", 0)
        } else {
            self.fields_text().to_owned()
        }
    }

    /// The normalized form: the nickname, or the five fields uppercased and
    /// single-space separated.
    pub(crate) fn display_text(&self) -> &str {
        match self.nickname.and_then(|i| NICKNAMES.get(usize::from(i))) {
            Some((nickname, _)) => nickname,
            None => &self.text,
        }
    }
}
