//! What the schedules *will* do: DST hazards, runs that may overlap, jobs that start
//! together ([`check`]) and a text chart of the coming hours ([`Timeline`]).
//!
//! Everything here is computed from the schedules alone, with the same engine that decides
//! when jobs fire (and that agrees with Sentry's cronsim), so what it predicts is what the
//! scheduler and Sentry will do.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use sentry_schedule_core::forecast::{check, CheckRules, FindingKind, PlannedJob};
//! use sentry_schedule_core::Schedule;
//!
//! let nightly = Schedule::cron("30 2 * * *")?;
//! let jobs = [PlannedJob::new("nightly", &nightly, chrono_tz::Europe::Vienna)];
//! let from = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
//! let findings = check(&jobs, from, &CheckRules::default());
//! // 2027-03-28 02:30 does not exist in Vienna: that day it runs at 03:00.
//! assert!(findings.iter().any(|f| f.kind == FindingKind::DstRunsLate
//!     && f.date.to_string() == "2027-03-28"));
//! # Ok::<(), sentry_schedule_core::ScheduleError>(())
//! ```

mod clusters;
mod dst;
mod findings;
mod overlap;
mod timeline;

pub use clusters::Cluster;
pub use dst::{transitions, Transition};
pub use findings::{check, CheckRules, Finding, FindingKind, Severity};
pub use timeline::{Timeline, TimelineRow};

use crate::schedule::Schedule;
use chrono_tz::Tz;
use std::time::Duration;

/// One job as the forecast sees it: its slug, schedule (hashed `H` terms are placed by the
/// slug, as the scheduler places them), time zone and Sentry `max_runtime`.
#[derive(Debug, Clone)]
pub struct PlannedJob<'a> {
    /// The monitor slug, used in findings and as the seed of hashed schedules.
    pub slug: &'a str,
    /// When the job runs.
    pub schedule: &'a Schedule,
    /// The zone the schedule is read in.
    pub timezone: Tz,
    /// How long a run may take before Sentry marks it timed out; `None`: not monitored.
    pub max_runtime: Option<Duration>,
}

impl<'a> PlannedJob<'a> {
    /// A job without a `max_runtime` (no overlap findings).
    pub fn new(slug: &'a str, schedule: &'a Schedule, timezone: Tz) -> Self {
        Self {
            slug,
            schedule,
            timezone,
            max_runtime: None,
        }
    }

    /// Sets the `max_runtime` the overlap findings compare with the periods.
    pub fn with_max_runtime(mut self, max_runtime: Duration) -> Self {
        self.max_runtime = Some(max_runtime);
        self
    }

    /// The schedule with hashed terms placed by the slug.
    fn placed(&self) -> Schedule {
        self.schedule.resolve_hashed(self.slug)
    }

    /// The job's starts in `[from, to)`, at most `cap` of them.
    fn starts(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        cap: usize,
    ) -> impl Iterator<Item = chrono::DateTime<chrono::Utc>> {
        self.placed()
            .upcoming(from - chrono::TimeDelta::nanoseconds(1), self.timezone)
            .take_while(move |tick| *tick < to)
            .take(cap)
    }
}

/// `12:05` style, or `12:05:30` when seconds matter.
fn clock_text(time: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    if time.second() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

/// `02:00, 02:30` (at most `MAX_LISTED` shown, then "and N more").
fn clock_list(times: &[chrono::NaiveTime]) -> String {
    const MAX_LISTED: usize = 4;
    let mut text = times
        .iter()
        .take(MAX_LISTED)
        .map(|t| clock_text(*t))
        .collect::<Vec<_>>()
        .join(", ");
    if times.len() > MAX_LISTED {
        text.push_str(&format!(" and {} more", times.len() - MAX_LISTED));
    }
    text
}

/// `90 min`, `2 h`, `1 h 30 min`, `45 s`.
fn duration_text(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        return format!("{secs} s");
    }
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}
