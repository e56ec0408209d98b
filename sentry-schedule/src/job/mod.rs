//! A resolved job: slug, schedule, time zone, monitor config, run policy and run counters.
//!
//! Jobs come from `#[scheduled]` (collected by the registry) or are built at run time with
//! [`Job::cron`], [`Job::every`] or [`Job::builder`]; both paths go through the same
//! validation (see [`crate::job::builder`]).
pub(crate) mod builder;
pub(crate) mod cancel;
pub(crate) mod context;
pub mod output;
pub(crate) mod param;
pub(crate) mod registered;
pub(crate) mod registry;
pub(crate) mod state;
use crate::checkin::MonitorConfig;
use crate::job::context::JobContext;
use crate::job::param::StateCheck;
use crate::job::registered::JobFuture;
use crate::job::state::StateMap;
use crate::metrics::Outcome;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sentry_schedule_core::options::Overlap;
use sentry_schedule_core::retry::Retry;
use sentry_schedule_core::Schedule;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use crate::job::builder::JobBuilder;

/// Where a job was declared: the `#[scheduled]` fn, or the call that built a dynamic job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// `file!()`
    pub file: &'static str,
    /// `line!()`
    pub line: u32,
    /// `module_path!()` of a `#[scheduled]` fn; empty for a job built at run time.
    pub module_path: &'static str,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// How runs of a job are started and bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunPolicy {
    pub overlap: Overlap,
    pub timeout: Option<Duration>,
    pub jitter: Option<Duration>,
    pub run_at_startup: bool,
    pub catch_up: Option<Duration>,
    /// How failed attempts are retried within the run; `None`: they are not.
    pub retry: Option<Retry>,
    /// The Sentry environments the job runs in; `None`: all.
    pub environments: Option<Box<[String]>>,
}

/// The default policy, which most jobs have.
static DEFAULT_POLICY: RunPolicy = RunPolicy {
    overlap: Overlap::Skip,
    timeout: None,
    jitter: None,
    run_at_startup: false,
    catch_up: None,
    retry: None,
    environments: None,
};

/// A job's [`RunPolicy`], boxed only when it differs from the default: a pointer per job
/// instead of the whole policy. Dereferences to the policy.
#[derive(Clone, Default)]
pub(crate) struct Policy(Option<Box<RunPolicy>>);

impl From<RunPolicy> for Policy {
    fn from(policy: RunPolicy) -> Self {
        Self((policy != DEFAULT_POLICY).then(|| Box::new(policy)))
    }
}

impl std::ops::Deref for Policy {
    type Target = RunPolicy;

    fn deref(&self) -> &RunPolicy {
        self.0.as_deref().unwrap_or(&DEFAULT_POLICY)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        RunPolicy::fmt(self, f)
    }
}

/// Starts one run of a job.
#[derive(Clone)]
pub(crate) enum RunFn {
    Static(fn(&JobContext) -> JobFuture),
    Dynamic(Arc<dyn Fn(JobContext) -> JobFuture + Send + Sync>),
}

/// A job the scheduler runs.
///
/// Listed by [`Scheduler::jobs`](crate::Scheduler::jobs); built at run time with
/// [`Job::cron`], [`Job::every`] or [`Job::builder`].
///
/// Kept small, as a service may register thousands: what most jobs leave at its default
/// (the name of a dynamic job, the monitor settings of an unmonitored one, the run
/// policy) takes a pointer, not the full value.
pub struct Job {
    pub(crate) slug: Arc<str>,
    /// The slug was derived from the fn path (no `slug = "..."`).
    pub(crate) slug_derived: bool,
    /// The fn path of a `#[scheduled]` job; `None` when the name is the slug.
    pub(crate) name: Option<Box<str>>,
    pub(crate) location: Option<SourceLocation>,
    pub(crate) schedule: Schedule,
    pub(crate) timezone: Tz,
    /// `None` when the job runs without check-ins (`monitor = false`).
    pub(crate) monitor: Option<Box<MonitorConfig>>,
    /// The `monitor_config` every check-in carries, built and serialized once when the job
    /// is built.
    pub(crate) monitor_json: Option<Box<str>>,
    pub(crate) policy: Policy,
    pub(crate) run: RunFn,
    /// Checks of the state a `#[scheduled]` fn's parameters need (empty for dynamic jobs).
    pub(crate) requires: &'static [StateCheck],
    /// The scheduler's state, set when the scheduler is built.
    pub(crate) states: Arc<StateMap>,
    pub(crate) stats: JobStats,
}

impl Job {
    /// The Sentry monitor slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// Whether the slug was derived from the fn's path rather than set with `slug = "..."`.
    ///
    /// A derived slug changes when the fn is renamed or moved, or the crate renamed: Sentry
    /// then sees a new monitor, and the old one reports missed check-ins until deleted.
    /// Give the jobs that matter an explicit slug.
    pub fn slug_is_derived(&self) -> bool {
        self.slug_derived
    }

    /// The job's name: the fn path (`my_app::jobs::send_report`) of a `#[scheduled]` job,
    /// the slug of a job built at run time.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.slug)
    }

    /// The schedule, with hashed `H` fields already resolved for this job's slug.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The time zone the schedule is computed in (UTC unless set).
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Where the job was declared, if known.
    pub fn location(&self) -> Option<&SourceLocation> {
        self.location.as_ref()
    }

    /// The monitor settings sent to Sentry, or `None` when the job runs without check-ins.
    pub fn monitor_config(&self) -> Option<&MonitorConfig> {
        self.monitor.as_deref()
    }

    /// What happens when a tick comes while a previous run still runs.
    pub fn overlap(&self) -> Overlap {
        self.policy.overlap
    }

    /// The longest a run may take before it is cancelled, if bounded.
    pub fn timeout(&self) -> Option<Duration> {
        self.policy.timeout
    }

    /// The upper bound of the random delay added to each run, if any.
    pub fn jitter(&self) -> Option<Duration> {
        self.policy.jitter
    }

    /// Whether the job runs once as soon as the scheduler starts.
    pub fn runs_at_startup(&self) -> bool {
        self.policy.run_at_startup
    }

    /// The start-up catch-up window: a tick missed within it runs once at start-up.
    pub fn catch_up(&self) -> Option<Duration> {
        self.policy.catch_up
    }

    /// The Sentry environments the job runs in (`environments = [...]`), or `None` when it
    /// runs in every environment.
    pub fn environments(&self) -> Option<&[String]> {
        self.policy.environments.as_deref()
    }

    /// The fire instants strictly after `after`, in order: `job.upcoming(now).take(3)`.
    pub fn upcoming(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.schedule.upcoming(after, self.timezone)
    }

    /// Live counters of this job's runs; the handle stays valid while the scheduler runs.
    pub fn stats(&self) -> JobStats {
        self.stats.clone()
    }

    /// `` `name` (file:line) `` — how errors and logs name the job.
    pub(crate) fn describe(&self) -> String {
        describe(self.name(), self.location.as_ref())
    }
}

/// A job's name with its source location, for error messages.
pub(crate) fn describe(name: &str, location: Option<&SourceLocation>) -> String {
    match location {
        Some(loc) => format!("`{name}` ({loc})"),
        None => format!("`{name}`"),
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("slug", &self.slug)
            .field("name", &self.name())
            .field("location", &self.location)
            .field("schedule", &self.schedule.to_string())
            .field("timezone", &self.timezone)
            .field("monitor", &self.monitor)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Live counters of one job's runs, shared with the scheduler (clones see the same counts).
#[derive(Debug, Clone, Default)]
pub struct JobStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    replaced: AtomicU64,
    missed: AtomicU64,
    crashed: AtomicU64,
    paused: AtomicU64,
    /// The job's metric handles (feature `metrics`).
    metrics: crate::metrics::Slot,
    /// How the last run ended: `Outcome as u8 + 1`, 0 before the first run ended.
    last_outcome: AtomicU8,
    /// The last run's duration in microseconds.
    last_duration_us: AtomicU64,
    /// The last run's tick, in unix milliseconds.
    last_tick_ms: AtomicI64,
}

/// How the last run of a job ended, as this process saw it (shown by the ops page).
#[cfg_attr(not(feature = "web"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastRun {
    pub(crate) outcome: Outcome,
    pub(crate) duration: Duration,
    pub(crate) scheduled: DateTime<Utc>,
}

impl JobStats {
    /// Runs started.
    pub fn started(&self) -> u64 {
        self.inner.started.load(Ordering::Relaxed)
    }
    /// Runs that ended `ok`.
    pub fn succeeded(&self) -> u64 {
        self.inner.succeeded.load(Ordering::Relaxed)
    }
    /// Runs that ended `error` (returned `Err`, panicked, timed out or were cancelled).
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }
    /// Ticks skipped because the previous run still ran (`overlap = "skip"`).
    pub fn skipped(&self) -> u64 {
        self.inner.skipped.load(Ordering::Relaxed)
    }
    /// Runs cancelled because a newer run replaced them (`overlap = "replace"`).
    pub fn replaced(&self) -> u64 {
        self.inner.replaced.load(Ordering::Relaxed)
    }
    /// Ticks not run because the wall clock jumped past them (all but the latest of a jump;
    /// counted up to 10,000 per jump).
    pub fn missed(&self) -> u64 {
        self.inner.missed.load(Ordering::Relaxed)
    }
    /// Run tasks that died instead of reporting an outcome (a bug, logged as an error).
    pub fn crashed(&self) -> u64 {
        self.inner.crashed.load(Ordering::Relaxed)
    }
    /// Ticks not run because the job was paused
    /// ([`Scheduler::pause`](crate::Scheduler::pause)), as this process saw them.
    pub fn paused(&self) -> u64 {
        self.inner.paused.load(Ordering::Relaxed)
    }

    /// The job's metric handles.
    pub(crate) fn metrics(&self) -> &crate::metrics::Slot {
        &self.inner.metrics
    }

    /// How the last run that ended in this process went; `None` before the first.
    #[cfg_attr(not(feature = "web"), allow(dead_code))]
    pub(crate) fn last_run(&self) -> Option<LastRun> {
        let c = &*self.inner;
        let outcome = Outcome::from_index(c.last_outcome.load(Ordering::Relaxed).checked_sub(1)?)?;
        Some(LastRun {
            outcome,
            duration: Duration::from_micros(c.last_duration_us.load(Ordering::Relaxed)),
            scheduled: DateTime::from_timestamp_millis(c.last_tick_ms.load(Ordering::Relaxed))?,
        })
    }

    /// Keeps how a run ended for [`JobStats::last_run`] (three stores: a reader racing two
    /// ends may see parts of both).
    pub(crate) fn set_last_run(
        &self,
        outcome: Outcome,
        duration: Duration,
        scheduled: DateTime<Utc>,
    ) {
        let c = &*self.inner;
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        c.last_duration_us.store(micros, Ordering::Relaxed);
        c.last_tick_ms
            .store(scheduled.timestamp_millis(), Ordering::Relaxed);
        c.last_outcome.store(outcome as u8 + 1, Ordering::Relaxed);
    }

    pub(crate) fn add_started(&self) {
        self.inner.started.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_succeeded(&self) {
        self.inner.succeeded.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_failed(&self) {
        self.inner.failed.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_skipped(&self) {
        self.inner.skipped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_replaced(&self, n: u64) {
        self.inner.replaced.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_missed(&self, n: u64) {
        self.inner.missed.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn add_crashed(&self) {
        self.inner.crashed.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_paused(&self) {
        self.inner.paused.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobBuilder {
        Job::builder("nightly", "0 3 * * *").run(|_| async { Ok::<(), std::io::Error>(()) })
    }

    #[test]
    fn a_dynamic_job_is_named_by_its_slug() {
        let job = job().build().unwrap();
        assert_eq!(job.name(), "nightly");
        assert_eq!(
            job.describe(),
            format!("`nightly` ({})", job.location().unwrap())
        );
    }

    #[test]
    fn only_a_policy_that_differs_from_the_default_is_boxed() {
        let plain = job().build().unwrap();
        assert!(plain.policy.0.is_none());
        assert_eq!(*plain.policy, RunPolicy::default());
        assert_eq!(plain.overlap(), Overlap::Skip);

        let tuned = job()
            .overlap(Overlap::Allow)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        assert!(tuned.policy.0.is_some());
        assert_eq!(tuned.overlap(), Overlap::Allow);
        assert_eq!(tuned.timeout(), Some(Duration::from_secs(30)));
        assert_eq!(tuned.jitter(), None);
    }

    #[test]
    fn monitor_settings_are_kept_only_for_monitored_jobs() {
        let monitored = job().checkin_margin(5).build().unwrap();
        assert_eq!(
            monitored.monitor_config().and_then(|c| c.checkin_margin),
            Some(5)
        );
        assert!(monitored.monitor_json.is_some());

        let unmonitored = job().monitor(false).build().unwrap();
        assert_eq!(unmonitored.monitor_config(), None);
        assert!(unmonitored.monitor_json.is_none());
    }

    /// A service may register thousands of jobs: a regression here multiplies by them.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_job_stays_small() {
        assert!(std::mem::size_of::<Job>() <= 224);
    }
}
