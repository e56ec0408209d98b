//! Fixed intervals (`every = "15m"`), aligned to the Unix epoch in UTC so that every
//! replica computes the same ticks whatever its time zone or start time.

use crate::duration::parse_duration;
use crate::error::ScheduleError;
use chrono::{DateTime, Utc};

/// A positive whole number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Interval {
    secs: u64,
}

const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];

impl Interval {
    pub(crate) fn parse(text: &str) -> Result<Self, ScheduleError> {
        let duration = parse_duration(text).map_err(|message| {
            ScheduleError::new(Some("interval"), message).with_help(
                "an interval is a positive whole number and a unit: `30s`, `15m`, `2h`, `1d`",
            )
        })?;
        if duration.subsec_nanos() != 0 || duration.as_secs() == 0 {
            return Err(ScheduleError::new(
                Some("interval"),
                format!("invalid interval `{text}`: expected at least one whole second"),
            ));
        }
        if let Err(v) = crate::limits::check_interval(duration.as_secs(), text) {
            return Err(ScheduleError::new(Some("interval"), v.message).with_help(v.help));
        }
        Ok(Self {
            secs: duration.as_secs(),
        })
    }

    pub(crate) fn secs(self) -> u64 {
        self.secs
    }

    /// The smallest multiple of the period (counted from the Unix epoch) strictly after
    /// `after`.
    pub(crate) fn next_after(self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let period = i64::try_from(self.secs).ok()?;
        let ticks = after.timestamp().div_euclid(period);
        let next = ticks.checked_add(1)?.checked_mul(period)?;
        DateTime::from_timestamp(next, 0)
    }

    /// `(value, Sentry unit)` with the largest unit dividing the period, when the period
    /// is a whole number of minutes.
    pub(crate) fn sentry_unit(self) -> Option<(u64, &'static str)> {
        if self.secs < 60 || !self.secs.is_multiple_of(60) {
            return None;
        }
        [(86_400, "day"), (3_600, "hour"), (60, "minute")]
            .into_iter()
            .find(|(unit, _)| self.secs.is_multiple_of(*unit))
            .map(|(unit, name)| (self.secs / unit, name))
    }

    /// Normalized text: the largest unit that divides the period.
    pub(crate) fn display_text(self) -> String {
        let (unit, suffix) = UNITS
            .into_iter()
            .find(|(unit, _)| self.secs.is_multiple_of(*unit))
            .unwrap_or((1, "s"));
        format!("{}{suffix}", self.secs / unit)
    }
}
