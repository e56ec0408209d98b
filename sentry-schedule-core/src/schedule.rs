//! STUB — replaced by the cron engine. Public API contract only.
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A parsed schedule: a crontab expression or a fixed interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
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

/// Why a schedule string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// The field the error is in (`"minute"`, `"hour"`, `"day-of-month"`, `"month"`, `"day-of-week"`), if any.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub help: Option<String>,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ScheduleError {}

impl Schedule {
    /// Parses a 5-field crontab expression or nickname.
    pub fn cron(expr: &str) -> Result<Self, ScheduleError> {
        Ok(Self { text: expr.to_owned() })
    }
    /// Parses an interval such as `15m` (units `s`, `m`, `h`, `d`).
    pub fn every(expr: &str) -> Result<Self, ScheduleError> {
        Ok(Self { text: expr.to_owned() })
    }
    /// The first fire instant strictly after `after`, computed in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, _tz: Tz) -> Option<DateTime<Utc>> {
        Some(after + chrono::Duration::minutes(1))
    }
    /// Whether the expression contains hashed `H` fields that must be resolved with
    /// [`Schedule::resolve_hashed`] before use.
    pub fn is_hashed(&self) -> bool {
        false
    }
    /// Replaces every `H` by a value chosen by a stable hash of `seed` (the job's slug).
    pub fn resolve_hashed(&self, _seed: &str) -> Schedule {
        self.clone()
    }
    /// What Sentry's monitor config receives, or `None` when Sentry cannot monitor it (sub-minute).
    pub fn to_sentry(&self) -> Option<SentrySchedule> {
        Some(SentrySchedule::Crontab(self.text.clone()))
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::cron(s)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
