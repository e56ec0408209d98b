//! A resolved job: slug, schedule, time zone, monitor config, run policy. (Owner: scheduler side.)
use crate::__private::{JobFuture, Overlap};
use crate::context::JobContext;
use chrono_tz::Tz;
use sentry_schedule_core::Schedule;
use std::sync::Arc;
use std::time::Duration;

/// Where a job was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// `file!()`
    pub file: &'static str,
    /// `line!()`
    pub line: u32,
    /// `module_path!()`
    pub module_path: &'static str,
}

/// Sentry monitor settings sent in `monitor_config` (minutes, thresholds, owner).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Minutes after the expected time before Sentry reports a missed check-in.
    pub checkin_margin: Option<u32>,
    /// Minutes a run may take before Sentry marks it failed.
    pub max_runtime: Option<u32>,
    /// Consecutive failures before Sentry opens an issue.
    pub failure_issue_threshold: Option<u32>,
    /// Consecutive successes before Sentry resolves it.
    pub recovery_threshold: Option<u32>,
    /// `user:...` or `team:...`.
    pub owner: Option<String>,
}

/// How runs of a job are started and bounded.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunPolicy {
    pub overlap: Overlap,
    pub timeout: Option<Duration>,
    pub jitter: Option<Duration>,
    pub run_at_startup: bool,
    pub catch_up: Option<Duration>,
}

/// Starts one run of a job.
#[derive(Clone)]
pub(crate) enum RunFn {
    Static(fn() -> JobFuture),
    Dynamic(Arc<dyn Fn(JobContext) -> JobFuture + Send + Sync>),
}

/// A job the scheduler runs.
pub struct Job {
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) location: Option<SourceLocation>,
    pub(crate) schedule: Schedule,
    pub(crate) timezone: Tz,
    /// `None` when the job runs without check-ins (`monitor = false`).
    pub(crate) monitor: Option<MonitorConfig>,
    pub(crate) policy: RunPolicy,
    pub(crate) run: RunFn,
}
