//! The public [`Schedule`]: a crontab expression (with Sentry's cronsim semantics) or a
//! fixed interval.
use crate::cron::{CronExpr, Cursor};
use crate::interval::Interval;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

pub use crate::error::ScheduleError;

/// When a job runs: a 5-field crontab or a fixed interval.
///
/// Crontabs mean exactly what they mean to Sentry's server, which predicts check-ins
/// with the Python package cronsim (Debian cron semantics):
///
/// * fields `minute hour day-of-month month day-of-week`; names (`JAN`, `mon`) in any
///   case; day-of-week `0`-`7` with `0` and `7` both Sunday; `*`, ranges `a-b`, lists
///   `a,b`, steps `*/n`, `a-b/n` and `a/n` (every n from a to the end of the range);
///   `L` / `LW` (last day / last weekday) in day-of-month; `5L` (last Friday) and
///   `MON#2` (second Monday) in day-of-week; the nicknames `@yearly`, `@annually`,
///   `@monthly`, `@weekly`, `@daily`, `@hourly` (lowercase, as Sentry reads them);
/// * day-of-month and day-of-week are OR-ed when both are restricted and AND-ed when
///   either field *starts with* `*` (so `*/2` counts as a star);
/// * "fixed" expressions (neither minute nor hour starts with `*`) run in local
///   wall-clock time: a time skipped by a DST change fires at the first minute after the
///   gap, a repeated time fires once (first pass); other expressions tick on real
///   instants, so `*/15 * * * *` also fires during both passes of a repeated hour.
///
/// Rejected (with a message naming the field and what it allows): 6- and 7-field
/// expressions, `@reboot` and unknown nicknames, values out of range, reversed ranges,
/// zero steps, the ambiguous `a-a/n`, non-ASCII text, and expressions that never fire
/// (`0 0 30 2 *`, `0 0 31 4,6 *`).
///
/// Hashed terms (`H`, `H(0-29)`, `H/15`) are placed by a stable hash of the job's slug
/// with [`Schedule::resolve_hashed`].
///
/// Intervals (`30s`, `15m`, `2h`, `1d`) tick at multiples of the period counted from the
/// Unix epoch in UTC, whatever the time zone.
///
/// ```
/// use sentry_schedule_core::Schedule;
/// use chrono::{TimeZone, Utc};
///
/// let daily: Schedule = "30 2 * * *".parse()?;
/// let vienna = chrono_tz::Europe::Vienna;
/// // 2024-03-31 02:30 does not exist in Vienna: it fires at 03:00 local (01:00 UTC).
/// let after = Utc.with_ymd_and_hms(2024, 3, 30, 12, 0, 0).unwrap();
/// assert_eq!(
///     daily.next_after(after, vienna),
///     Some(Utc.with_ymd_and_hms(2024, 3, 31, 1, 0, 0).unwrap())
/// );
///
/// let every: Schedule = "15m".parse()?;
/// assert_eq!(every.to_string(), "15m");
/// # Ok::<(), sentry_schedule_core::ScheduleError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Inline: the compiled fields are small, so boxing would only add an allocation.
    Cron(CronExpr),
    Interval(Interval),
}

/// How Sentry's `monitor_config.schedule` describes a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentrySchedule {
    /// `{"type": "crontab", "value": ...}`
    Crontab(String),
    /// `{"type": "interval", "value": ..., "unit": ...}`; unit is one of minute|hour|day|week|month|year.
    Interval {
        /// Number of units.
        value: u64,
        /// Sentry unit name.
        unit: &'static str,
    },
}

impl Schedule {
    /// Parses a 5-field crontab expression or nickname.
    pub fn cron(expr: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            kind: Kind::Cron(CronExpr::parse(expr)?),
        })
    }

    /// Parses an interval such as `15m` (units `s`, `m`, `h`, `d`).
    pub fn every(expr: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            kind: Kind::Interval(Interval::parse(expr)?),
        })
    }

    /// The first fire instant strictly after `after`, computed in `tz`; `None` when
    /// there is none (dates beyond chrono's range).
    ///
    /// For crontabs this is cronsim's next instant, except that an instant not after
    /// `after` is skipped: cronsim can return the first pass of a repeated hour when
    /// started during the second pass. An unresolved hashed schedule behaves as
    /// `resolve_hashed("")`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.upcoming(after, tz).next()
    }

    /// The fire instants strictly after `after`, in order.
    ///
    /// ```
    /// use sentry_schedule_core::Schedule;
    /// use chrono::{TimeZone, Utc};
    /// let s = Schedule::cron("0 9 * * MON-FRI")?;
    /// let after = Utc.with_ymd_and_hms(2025, 1, 3, 12, 0, 0).unwrap(); // a Friday
    /// let next: Vec<_> = s.upcoming(after, chrono_tz::UTC).take(2).collect();
    /// assert_eq!(next, [
    ///     Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0).unwrap(),
    ///     Utc.with_ymd_and_hms(2025, 1, 7, 9, 0, 0).unwrap(),
    /// ]);
    /// # Ok::<(), sentry_schedule_core::ScheduleError>(())
    /// ```
    pub fn upcoming(&self, after: DateTime<Utc>, tz: Tz) -> Upcoming {
        let inner = match &self.kind {
            Kind::Cron(expr) => UpcomingKind::Cron(Cursor::new(expr.fields(), after, tz)),
            Kind::Interval(interval) => UpcomingKind::Interval {
                interval: *interval,
                last: after,
            },
        };
        Upcoming {
            inner,
            after: Some(after),
        }
    }

    /// cronsim's own sequence from `start`, without the "strictly after" filter of
    /// [`Schedule::upcoming`]: what Sentry's server computes for a reference time
    /// `start`. Differs from `upcoming` only when `start` lies in the second pass of a
    /// repeated hour. For intervals it equals `upcoming`.
    pub fn cronsim_sequence(&self, start: DateTime<Utc>, tz: Tz) -> Upcoming {
        let mut upcoming = self.upcoming(start, tz);
        upcoming.after = None;
        upcoming
    }

    /// Whether the expression contains hashed `H` fields that must be resolved with
    /// [`Schedule::resolve_hashed`] before use.
    pub fn is_hashed(&self) -> bool {
        matches!(&self.kind, Kind::Cron(expr) if expr.is_hashed())
    }

    /// Replaces every `H` by a value chosen by a stable hash of `seed` (the job's slug).
    /// The result's [`Display`](fmt::Display) is the concrete expression Sentry receives.
    ///
    /// ```
    /// use sentry_schedule_core::Schedule;
    /// let s = Schedule::cron("H H(1-5) * * *")?;
    /// let placed = s.resolve_hashed("nightly-backup");
    /// assert!(!placed.is_hashed());
    /// assert_eq!(placed, s.resolve_hashed("nightly-backup")); // stable
    /// # Ok::<(), sentry_schedule_core::ScheduleError>(())
    /// ```
    pub fn resolve_hashed(&self, seed: &str) -> Schedule {
        match &self.kind {
            Kind::Cron(expr) => Self {
                kind: Kind::Cron(expr.resolve(seed)),
            },
            Kind::Interval(_) => self.clone(),
        }
    }

    /// What Sentry's monitor config receives, or `None` when Sentry cannot monitor it
    /// (see [`Schedule::sentry_schedule`] for the reason).
    pub fn to_sentry(&self) -> Option<SentrySchedule> {
        self.sentry_schedule().ok()
    }

    /// What Sentry's monitor config receives, or why Sentry cannot monitor this
    /// schedule (intervals shorter than a minute or not a whole number of minutes).
    ///
    /// Sentry's interval units are `year`, `month`, `week`, `day`, `hour` and `minute`, with a
    /// positive integer count (getsentry/sentry `src/sentry/monitors/validators.py`,
    /// `INTERVAL_NAMES`; `src/sentry/monitors/types.py`, `IntervalUnit`): nothing shorter
    /// than a minute, no fraction of one.
    ///
    /// Crontabs are sent as five concrete fields: nicknames expanded as Sentry's server
    /// expands them, `H` placed (with the empty seed if not resolved yet), field text
    /// otherwise as written (uppercased), so the star rule reads the same on both sides.
    pub fn sentry_schedule(&self) -> Result<SentrySchedule, ScheduleError> {
        match &self.kind {
            Kind::Cron(expr) => Ok(SentrySchedule::Crontab(expr.sentry_text())),
            Kind::Interval(interval) => match interval.sentry_unit() {
                Some((value, unit)) => Ok(SentrySchedule::Interval { value, unit }),
                None if interval.secs() < 60 => Err(ScheduleError::new(
                    Some("interval"),
                    format!(
                        "`{}` is shorter than a minute, which Sentry cannot monitor: it accepts \
                         at most 6 check-ins per minute per monitor and counts whole minutes",
                        interval.display_text()
                    ),
                )
                .with_help("set `monitor = false` to run it without check-ins, or use at least `1m`")),
                None => Err(ScheduleError::new(
                    Some("interval"),
                    format!(
                        "`{}` is not a whole number of minutes, which Sentry interval monitors count",
                        interval.display_text()
                    ),
                )
                .with_help("use a multiple of 60s such as `1m` or `2m`, or set `monitor = false`")),
            },
        }
    }

    /// Whether `text` is written as an interval (a number and a unit letter, e.g. `15m`)
    /// rather than a crontab: how [`str::parse`] tells the two apart.
    pub fn looks_like_interval(text: &str) -> bool {
        text.starts_with(|c: char| c.is_ascii_digit())
            && text.ends_with(|c: char| c.is_ascii_alphabetic())
            && !text.contains(char::is_whitespace)
    }

    /// Whether this is an interval shorter than one minute (never monitorable).
    pub fn is_sub_minute(&self) -> bool {
        matches!(&self.kind, Kind::Interval(i) if i.secs() < 60)
    }

    /// The period of an interval schedule; `None` for crontabs.
    pub fn interval(&self) -> Option<std::time::Duration> {
        match &self.kind {
            Kind::Interval(i) => Some(std::time::Duration::from_secs(i.secs())),
            Kind::Cron(_) => None,
        }
    }

    /// The compiled crontab fields (`None` for intervals), for the forecast's DST analysis.
    pub(crate) fn cron_fields(&self) -> Option<crate::cron::Fields> {
        match &self.kind {
            Kind::Cron(expr) => Some(expr.fields()),
            Kind::Interval(_) => None,
        }
    }

    /// Whether this is a crontab (as opposed to an interval).
    pub fn is_cron(&self) -> bool {
        matches!(self.kind, Kind::Cron(_))
    }
}

/// Iterator over fire instants, from [`Schedule::upcoming`].
#[derive(Debug, Clone)]
pub struct Upcoming {
    inner: UpcomingKind,
    /// `upcoming`: skip instants not after this one (the start, then the last yielded),
    /// so the sequence is strictly increasing. `None` for `cronsim_sequence`.
    after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
enum UpcomingKind {
    Cron(Cursor),
    Interval {
        interval: Interval,
        last: DateTime<Utc>,
    },
}

impl Iterator for Upcoming {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            let next = match &mut self.inner {
                UpcomingKind::Cron(cursor) => cursor.next()?,
                UpcomingKind::Interval { interval, last } => {
                    let next = interval.next_after(*last)?;
                    *last = next;
                    next
                }
            };
            match self.after {
                Some(after) if next <= after => continue,
                Some(_) => {
                    self.after = Some(next);
                    return Some(next);
                }
                None => return Some(next),
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    /// An interval (a number and a unit letter, e.g. `15m`) or else a crontab.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Self::looks_like_interval(s) {
            Self::every(s)
        } else {
            Self::cron(s)
        }
    }
}

impl fmt::Display for Schedule {
    /// The normalized form: crontab fields uppercased and single-spaced (or the
    /// nickname), intervals in the largest unit that divides them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Cron(expr) => f.write_str(expr.display_text()),
            Kind::Interval(interval) => f.write_str(&interval.display_text()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schedules are held by every job and cursors by the scheduler for every job: a
    /// regression here multiplies by the number of jobs.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn schedules_and_cursors_stay_small() {
        assert!(std::mem::size_of::<Schedule>() <= 48);
        assert!(std::mem::size_of::<Upcoming>() <= 64);
    }

    #[test]
    fn nicknames_keep_their_name_and_send_their_expansion() {
        let weekly = Schedule::cron("@weekly").unwrap();
        assert_eq!(weekly.to_string(), "@weekly");
        assert_eq!(
            weekly.to_sentry(),
            Some(SentrySchedule::Crontab("0 0 * * 0".into()))
        );
        assert_ne!(weekly, Schedule::cron("0 0 * * 0").unwrap());
        assert_eq!(weekly.resolve_hashed("seed"), weekly);
    }
}
