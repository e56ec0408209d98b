//! Building and validating a [`Job`]: the run-time builder for dynamic jobs and the one
//! validation path shared with `#[scheduled]` descriptors.
//!
//! Validation uses the same `sentry-schedule-core` functions the macro uses at compile
//! time, so a schedule or option accepted by one is accepted by the other.
use crate::__private::{into_job_future, JobOutput, Overlap};
use crate::context::JobContext;
use crate::error::Error;
use crate::job::{Job, JobStats, MonitorConfig, RunFn, RunPolicy, SourceLocation};
use crate::state::StateMap;
use sentry_schedule_core::{limits, slug, timezone, Schedule, ScheduleError};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How a schedule was given.
#[derive(Debug, Clone)]
pub(crate) enum ScheduleText {
    /// A crontab expression or nickname.
    Cron(String),
    /// An interval such as `15m`.
    Every(String),
    /// Either (from configuration): parsed with `Schedule::from_str`.
    Any(String),
}

/// A job as declared, before validation.
pub(crate) struct JobSpec {
    /// An explicit slug; derived from `module_path` and `name` when `None`.
    pub slug: Option<String>,
    /// The fn path of a `#[scheduled]` fn; `None` for a dynamic job, named by its slug.
    pub name: Option<String>,
    /// The fn's own name, for the derived slug.
    pub fn_name: &'static str,
    pub module_path: &'static str,
    pub location: Option<SourceLocation>,
    pub schedule: ScheduleText,
    pub timezone: Option<String>,
    pub monitor: bool,
    pub config: MonitorConfig,
    pub policy: RunPolicy,
    pub run: Option<RunFn>,
    /// State checks of a `#[scheduled]` fn's parameters.
    pub requires: &'static [crate::__private::StateCheck],
}

/// Builds a job at run time, with every option `#[scheduled]` has.
///
/// ```
/// use sentry_schedule::{Job, JobContext, Overlap};
/// use std::time::Duration;
///
/// let job = Job::builder("nightly-export", "30 2 * * *")
///     .timezone("Europe/Vienna")
///     .checkin_margin(5)
///     .max_runtime(60)
///     .overlap(Overlap::Skip)
///     .timeout(Duration::from_secs(45 * 60))
///     .run(|ctx: JobContext| async move {
///         let _ = ctx;
///         Ok::<(), std::io::Error>(())
///     })
///     .build()
///     .expect("valid job");
/// assert_eq!(job.slug(), "nightly-export");
/// ```
#[must_use = "call `.build()` to get the job"]
pub struct JobBuilder {
    spec: JobSpec,
}

impl Job {
    /// Starts building a job with the given monitor slug and schedule (a crontab
    /// expression such as `"0 12 * * *"` or an interval such as `"15m"`). The slug must be
    /// in the form Sentry keeps (`nightly-export`, not `Nightly Export` or `a--b`):
    /// [`build`](JobBuilder::build) names the normal form otherwise.
    #[track_caller]
    pub fn builder(slug: impl Into<String>, schedule: impl Into<String>) -> JobBuilder {
        JobBuilder::new(slug.into(), ScheduleText::Any(schedule.into()))
    }

    /// A job running `f` on a crontab schedule, with default options.
    #[track_caller]
    pub fn cron<F, Fut>(
        slug: impl Into<String>,
        expr: impl Into<String>,
        f: F,
    ) -> Result<Job, Error>
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: JobOutput,
    {
        JobBuilder::new(slug.into(), ScheduleText::Cron(expr.into()))
            .run(f)
            .build()
    }

    /// A job running `f` every `interval` (`"30s"`, `"15m"`, `"1h"`, `"1d"`; ticks are
    /// aligned to the Unix epoch), with default options.
    #[track_caller]
    pub fn every<F, Fut>(
        slug: impl Into<String>,
        interval: impl Into<String>,
        f: F,
    ) -> Result<Job, Error>
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: JobOutput,
    {
        JobBuilder::new(slug.into(), ScheduleText::Every(interval.into()))
            .run(f)
            .build()
    }
}

impl JobBuilder {
    #[track_caller]
    fn new(slug: String, schedule: ScheduleText) -> Self {
        let caller = std::panic::Location::caller();
        Self {
            spec: JobSpec {
                name: None,
                slug: Some(slug),
                fn_name: "",
                module_path: "",
                location: Some(SourceLocation {
                    file: caller.file(),
                    line: caller.line(),
                    module_path: "",
                }),
                schedule,
                timezone: None,
                monitor: true,
                config: MonitorConfig::default(),
                policy: RunPolicy::default(),
                run: None,
                requires: &[],
            },
        }
    }

    /// The IANA time zone the schedule is computed in (default UTC).
    pub fn timezone(mut self, name: impl Into<String>) -> Self {
        self.spec.timezone = Some(name.into());
        self
    }
    /// Minutes after the expected time before Sentry reports a missed check-in
    /// (1..=40320, Sentry's `MAX_MARGIN`; Sentry's default is 1).
    pub fn checkin_margin(mut self, minutes: u32) -> Self {
        self.spec.config.checkin_margin = Some(minutes);
        self
    }
    /// Minutes a run may take before Sentry marks it failed (1..=35791: Sentry's
    /// `MAX_TIMEOUT` is 40320, but a check-in reports at most 2^31 − 1 ms; Sentry's default
    /// is 30).
    pub fn max_runtime(mut self, minutes: u32) -> Self {
        self.spec.config.max_runtime = Some(minutes);
        self
    }
    /// Consecutive failures before Sentry opens an issue (1..=720).
    pub fn failure_issue_threshold(mut self, n: u32) -> Self {
        self.spec.config.failure_issue_threshold = Some(n);
        self
    }
    /// Consecutive successes before Sentry resolves the issue (1..=720).
    pub fn recovery_threshold(mut self, n: u32) -> Self {
        self.spec.config.recovery_threshold = Some(n);
        self
    }
    /// The monitor's owner: `team:<numeric id>` or `user:<numeric id>` (e.g. `team:6`), as
    /// Sentry parses it; the ids are listed by Sentry's API
    /// (`GET /api/0/organizations/<org>/teams/`, `.../members/` → `user.id`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.spec.config.owner = Some(owner.into());
        self
    }
    /// `false` runs the job without check-ins (required for sub-minute schedules); the
    /// monitor settings (`checkin_margin`, `max_runtime`, thresholds, `owner`) are then
    /// rejected, as by the attribute.
    pub fn monitor(mut self, monitor: bool) -> Self {
        self.spec.monitor = monitor;
        self
    }
    /// What happens when a tick comes while the previous run still runs (default `Skip`).
    pub fn overlap(mut self, overlap: Overlap) -> Self {
        self.spec.policy.overlap = overlap;
        self
    }
    /// Cancels a run that takes longer (when monitored, at most `max_runtime`, or Sentry's
    /// default `max_runtime` of 30 minutes when unset). The run's token fires at the timeout;
    /// a job that ignores it is dropped after the scheduler's cancel grace (5 s unless set with
    /// [`SchedulerBuilder::cancel_grace`](crate::SchedulerBuilder::cancel_grace)), so it is
    /// reported failing at the timeout plus the grace.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec.policy.timeout = Some(timeout);
        self
    }
    /// Delays each run by a random amount below `jitter` (must fit inside `checkin_margin`
    /// when monitored, one minute by default).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.spec.policy.jitter = Some(jitter);
        self
    }
    /// Runs once as soon as the scheduler starts, in addition to the schedule.
    pub fn run_at_startup(mut self, yes: bool) -> Self {
        self.spec.policy.run_at_startup = yes;
        self
    }
    /// At start-up, run once the latest tick missed within this window (coalescing several
    /// missed ticks into one run). Needs a coordinator that keeps run history; off by default.
    pub fn catch_up(mut self, window: Duration) -> Self {
        self.spec.policy.catch_up = Some(window);
        self
    }
    /// The async fn or closure run on every tick; it receives the run's [`JobContext`].
    pub fn run<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: JobOutput,
    {
        self.spec.run = Some(RunFn::Dynamic(Arc::new(move |ctx| into_job_future(f(ctx)))));
        self
    }
    /// Validates every option and returns the job, or an error listing every problem.
    pub fn build(self) -> Result<Job, Error> {
        resolve(self.spec)
    }
}

/// Validates a declared job: every problem is collected into one [`Error::InvalidJob`].
pub(crate) fn resolve(spec: JobSpec) -> Result<Job, Error> {
    let mut problems = Vec::new();

    let slug_derived = spec.slug.is_none();
    let slug = match spec.slug {
        Some(explicit) => explicit,
        None => slug::derive_slug(spec.module_path, spec.fn_name),
    };
    // Derived slugs are in normal form by construction; checked anyway, as descriptors
    // can be built by hand. Every job's slug is thus in Sentry's normal form, so slugs
    // compare as Sentry's monitors do.
    if let Err(e) = slug::validate_slug(&slug) {
        problems.push(e.to_string());
    }

    let schedule = match &spec.schedule {
        ScheduleText::Cron(s) => Schedule::cron(s).map_err(|e| ("cron", s, e)),
        ScheduleText::Every(s) => Schedule::every(s).map_err(|e| ("every", s, e)),
        ScheduleText::Any(s) => s.parse::<Schedule>().map_err(|e| ("schedule", s, e)),
    };
    let schedule = match schedule {
        Ok(s) if s.is_hashed() => Some(s.resolve_hashed(&slug)),
        Ok(s) => Some(s),
        Err((key, text, e)) => {
            problems.push(describe_schedule_error(key, text, &e));
            None
        }
    };

    let tz = match &spec.timezone {
        None => Some(chrono_tz::UTC),
        Some(name) => match timezone::parse_timezone(name) {
            Ok(tz) => Some(tz),
            Err(e) => {
                problems.push(format!("timezone: {e}"));
                None
            }
        },
    };

    let c = &spec.config;
    let mut check = |r: Result<(), limits::Violation>| {
        if let Err(e) = r {
            problems.push(e.to_string());
        }
    };
    if let Some(v) = c.checkin_margin {
        check(limits::check_checkin_margin(v.into()));
    }
    if let Some(v) = c.max_runtime {
        check(limits::check_max_runtime(v.into()));
    }
    if let Some(v) = c.failure_issue_threshold {
        check(limits::check_threshold("failure_issue_threshold", v.into()));
    }
    if let Some(v) = c.recovery_threshold {
        check(limits::check_threshold("recovery_threshold", v.into()));
    }
    if let Some(owner) = &c.owner {
        check(limits::check_owner(owner));
    }

    if !spec.monitor {
        // Keys that only configure the Sentry monitor would silently do nothing.
        let set = [
            ("checkin_margin", c.checkin_margin.is_some()),
            ("max_runtime", c.max_runtime.is_some()),
            (
                "failure_issue_threshold",
                c.failure_issue_threshold.is_some(),
            ),
            ("recovery_threshold", c.recovery_threshold.is_some()),
            ("owner", c.owner.is_some()),
        ];
        for (key, _) in set.into_iter().filter(|(_, is_set)| *is_set) {
            problems.push(limits::monitor_only_option(key).to_string());
        }
    }

    let p = &spec.policy;
    if let Some(timeout) = p.timeout {
        if let Err(e) = limits::check_timeout(timeout, &crate::run::human_duration(timeout)) {
            problems.push(e.to_string());
        }
    }
    if spec.monitor {
        if let Some(s) = &schedule {
            if s.to_sentry().is_none() {
                problems.push(format!(
                    "schedule `{s}` runs more often than once a minute: Sentry accepts at most \
                     6 check-ins per minute per monitor and counts whole minutes; \
                     run it with `monitor(false)`"
                ));
            }
        }
        if let Some(timeout) = p.timeout {
            let text = crate::run::human_duration(timeout);
            if let Err(e) = limits::check_timeout_fits(timeout, &text, c.max_runtime) {
                problems.push(e.to_string());
            }
        }
        if let Some(jitter) = p.jitter {
            let text = crate::run::human_duration(jitter);
            if let Err(e) = limits::check_jitter_fits(jitter, &text, c.checkin_margin) {
                problems.push(e.to_string());
            }
        }
    }

    let run = match spec.run {
        Some(run) => Some(run),
        None => {
            problems.push("no fn to run: call `.run(...)` before `.build()`".into());
            None
        }
    };

    let location = spec.location;
    match (schedule, tz, run) {
        (Some(schedule), Some(timezone), Some(run)) if problems.is_empty() => {
            let monitor = spec.monitor.then(|| Box::new(spec.config));
            let monitor_json = monitor.as_deref().and_then(|config| {
                crate::checkin::MonitorUpsert {
                    schedule: &schedule,
                    timezone,
                    config,
                }
                .to_json()
            });
            Ok(Job {
                slug: slug.into(),
                slug_derived,
                name: spec.name.map(String::into_boxed_str),
                location,
                schedule,
                timezone,
                monitor,
                monitor_json,
                policy: spec.policy.into(),
                run,
                requires: spec.requires,
                states: no_states(),
                stats: JobStats::default(),
            })
        }
        _ => Err(Error::InvalidJob {
            job: crate::job::describe(spec.name.as_deref().unwrap_or(&slug), location.as_ref()),
            problems,
        }),
    }
}

/// The states of a job not added to a scheduler yet: one empty map shared by every job
/// (the scheduler's build gives each job its own map's `Arc`).
fn no_states() -> Arc<StateMap> {
    static EMPTY: OnceLock<Arc<StateMap>> = OnceLock::new();
    Arc::clone(EMPTY.get_or_init(Arc::default))
}

/// `ScheduleError`'s `Display` already ends with its help line.
fn describe_schedule_error(key: &str, text: &str, e: &ScheduleError) -> String {
    format!("{key} `{text}`: {e}")
}
