//! Running one job on demand ([`Scheduler::run_now`](crate::Scheduler::run_now)) and the
//! public report of how it went.
use crate::RunStatus;
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

/// How one run went: returned by [`Scheduler::run_now`](crate::Scheduler::run_now).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// The job's monitor slug.
    pub slug: String,
    /// The instant the run was scheduled for.
    pub scheduled: DateTime<Utc>,
    /// How the run ended; everything but [`RunStatus::Ok`] was reported `error` to Sentry.
    pub status: RunStatus,
    /// How long the run took.
    pub duration: Duration,
    /// What went wrong (the error's message, the panic, the timeout), `None` when ok.
    pub message: Option<String>,
}

impl RunReport {
    /// Whether the run was reported `ok`.
    pub fn is_ok(&self) -> bool {
        self.status == RunStatus::Ok
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job `{}` {} after {}",
            self.slug,
            if self.is_ok() { "succeeded" } else { "failed" },
            short_duration(self.duration)
        )?;
        match &self.message {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

/// `0.14s`, `12.30s`, then `2m5s` from a minute on.
fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        crate::run::human_duration(Duration::from_secs(d.as_secs()))
    }
}
