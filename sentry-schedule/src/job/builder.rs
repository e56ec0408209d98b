//! Building and validating a [`Job`]: the run-time builder for dynamic jobs and the one
//! validation path shared with `#[scheduled]` descriptors.
//!
//! The builder fills the option schema the macro fills (`sentry_schedule_core::options`)
//! and validates it with the same `validate()`, so an option set accepted by one is
//! accepted by the other, and a rejected one gets the same problems.
use crate::checkin::MonitorConfig;
use crate::error::Error;
use crate::job::context::JobContext;
use crate::job::output::JobOutput;
use crate::job::registered::into_job_future;
use crate::job::state::StateMap;
use crate::job::{Job, JobStats, RunFn, RunPolicy, SourceLocation};
use sentry_schedule_core::options::{Given, JobOptions, Overlap, Problem, Target};
use sentry_schedule_core::{slug, Schedule};
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
    /// Either (from configuration): told apart as `Schedule::from_str` does.
    Any(String),
}

impl ScheduleText {
    /// Puts the schedule into the schema's `cron` or `every`.
    fn fill(self, options: &mut JobOptions) {
        match self {
            Self::Cron(text) => options.cron = Some(text),
            Self::Every(text) => options.every = Some(text),
            Self::Any(text) if Schedule::looks_like_interval(&text) => options.every = Some(text),
            Self::Any(text) => options.cron = Some(text),
        }
    }
}

/// A job as declared, before validation.
pub(crate) struct JobSpec {
    /// Every option, as given (an explicit slug in `options.slug`; derived from
    /// `module_path` and `fn_name` when `None`).
    pub options: JobOptions,
    /// The fn path of a `#[scheduled]` fn; `None` for a dynamic job, named by its slug.
    pub name: Option<String>,
    /// The fn's own name, for the derived slug.
    pub fn_name: &'static str,
    pub module_path: &'static str,
    pub location: Option<SourceLocation>,
    pub run: Option<RunFn>,
    /// State checks of a `#[scheduled]` fn's parameters.
    pub requires: &'static [crate::job::param::StateCheck],
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
        let mut options = JobOptions {
            slug: Some(slug),
            ..JobOptions::default()
        };
        schedule.fill(&mut options);
        Self {
            spec: JobSpec {
                options,
                name: None,
                fn_name: "",
                module_path: "",
                location: Some(SourceLocation {
                    file: caller.file(),
                    line: caller.line(),
                    module_path: "",
                }),
                run: None,
                requires: &[],
            },
        }
    }

    /// The IANA time zone a crontab schedule is computed in (default UTC). Refused with an
    /// interval schedule, which is aligned to the Unix epoch in UTC, as by the attribute.
    pub fn timezone(mut self, name: impl Into<String>) -> Self {
        self.spec.options.timezone = Some(name.into());
        self
    }
    /// Minutes after the expected time before Sentry reports a missed check-in
    /// (1..=40320, Sentry's `MAX_MARGIN`; Sentry's default is 1).
    pub fn checkin_margin(mut self, minutes: u32) -> Self {
        self.spec.options.checkin_margin = Some(minutes.into());
        self
    }
    /// Minutes a run may take before Sentry marks it failed (1..=35791: Sentry's
    /// `MAX_TIMEOUT` is 40320, but a check-in reports at most 2^31 − 1 ms; Sentry's default
    /// is 30).
    pub fn max_runtime(mut self, minutes: u32) -> Self {
        self.spec.options.max_runtime = Some(minutes.into());
        self
    }
    /// Consecutive failures before Sentry opens an issue (1..=720).
    pub fn failure_issue_threshold(mut self, n: u32) -> Self {
        self.spec.options.failure_issue_threshold = Some(n.into());
        self
    }
    /// Consecutive successes before Sentry resolves the issue (1..=720).
    pub fn recovery_threshold(mut self, n: u32) -> Self {
        self.spec.options.recovery_threshold = Some(n.into());
        self
    }
    /// The monitor's owner: `team:<numeric id>` or `user:<numeric id>` (e.g. `team:6`), as
    /// Sentry parses it; the ids are listed by Sentry's API
    /// (`GET /api/0/organizations/<org>/teams/`, `.../members/` → `user.id`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.spec.options.owner = Some(owner.into());
        self
    }
    /// `false` runs the job without check-ins (required for sub-minute schedules); the
    /// monitor settings (`checkin_margin`, `max_runtime`, thresholds, `owner`) are then
    /// rejected, as by the attribute.
    pub fn monitor(mut self, monitor: bool) -> Self {
        self.spec.options.monitor = Some(monitor);
        self
    }
    /// What happens when a tick comes while the previous run still runs (default `Skip`).
    pub fn overlap(mut self, overlap: Overlap) -> Self {
        self.spec.options.overlap = Some(Given::Value(overlap));
        self
    }
    /// Cancels a run that takes longer (when monitored, at most `max_runtime`, or Sentry's
    /// default `max_runtime` of 30 minutes when unset). The run's token fires at the timeout;
    /// a job that ignores it is dropped after the scheduler's cancel grace (5 s unless set with
    /// [`SchedulerBuilder::cancel_grace`](crate::SchedulerBuilder::cancel_grace)), so it is
    /// reported failing at the timeout plus the grace.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec.options.timeout = Some(Given::Value(timeout));
        self
    }
    /// Delays each run by a random amount below `jitter` (must fit inside `checkin_margin`
    /// when monitored, one minute by default).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.spec.options.jitter = Some(Given::Value(jitter));
        self
    }
    /// Runs once as soon as the scheduler starts, in addition to the schedule.
    pub fn run_at_startup(mut self, yes: bool) -> Self {
        self.spec.options.run_at_startup = Some(yes);
        self
    }
    /// At start-up, run once the latest tick missed within this window (coalescing several
    /// missed ticks into one run). Needs a coordinator that keeps run history; off by default.
    pub fn catch_up(mut self, window: Duration) -> Self {
        self.spec.options.catch_up = Some(Given::Value(window));
        self
    }
    /// Runs the job only where the Sentry client's environment is one of `names` (each a
    /// name Sentry accepts, at least one); elsewhere the job is off: it never fires, sends
    /// no check-in, and `list` says why. A client without an environment counts as
    /// `production`, where Sentry files its check-ins.
    pub fn environments<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.options.environments = Some(names.into_iter().map(Into::into).collect());
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

/// Validates a declared job with the option schema: every problem is collected into
/// one [`Error::InvalidJob`].
pub(crate) fn resolve(spec: JobSpec) -> Result<Job, Error> {
    let mut options = spec.options;
    let slug_derived = options.slug.is_none();
    // Derived slugs are in normal form by construction; checked anyway (by the schema),
    // as descriptors can be built by hand. Every job's slug is thus in Sentry's normal
    // form, so slugs compare as Sentry's monitors do.
    let slug = options
        .slug
        .get_or_insert_with(|| slug::derive_slug(spec.module_path, spec.fn_name))
        .clone();
    let (valid, mut problems) = match options.validate() {
        Ok(valid) => (Some(valid), Vec::new()),
        Err(problems) => (
            None,
            problems.iter().map(|p| describe(&options, p)).collect(),
        ),
    };
    if spec.run.is_none() {
        problems.push("no fn to run: call `.run(...)` before `.build()`".into());
    }

    let location = spec.location;
    match (valid, spec.run) {
        (Some(valid), Some(run)) if problems.is_empty() => {
            let schedule = if valid.schedule.is_hashed() {
                valid.schedule.resolve_hashed(&slug)
            } else {
                valid.schedule
            };
            let timezone = valid.timezone.unwrap_or(chrono_tz::UTC);
            let monitor = valid.monitor.then(|| {
                Box::new(MonitorConfig {
                    checkin_margin: valid.checkin_margin,
                    max_runtime: valid.max_runtime,
                    failure_issue_threshold: valid.failure_issue_threshold,
                    recovery_threshold: valid.recovery_threshold,
                    owner: valid.owner,
                })
            });
            let policy = RunPolicy {
                overlap: valid.overlap.unwrap_or_default(),
                timeout: valid.timeout,
                jitter: valid.jitter,
                run_at_startup: valid.run_at_startup.unwrap_or(false),
                catch_up: valid.catch_up,
                environments: valid.environments.map(Vec::into_boxed_slice),
            };
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
                policy: policy.into(),
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

/// A problem as the builder's error states it: the schema's message and help; a
/// schedule's problem names the schedule (the attribute points at it instead).
fn describe(options: &JobOptions, problem: &Problem) -> String {
    let text = match problem.key {
        "cron" => options.cron.as_deref(),
        "every" => options.every.as_deref(),
        _ => None,
    };
    match text {
        Some(text) if problem.target == Target::Value && !problem.message.contains(text) => {
            format!("{} `{text}`: {problem}", problem.key)
        }
        _ => problem.to_string(),
    }
}

/// The states of a job not added to a scheduler yet: one empty map shared by every job
/// (the scheduler's build gives each job its own map's `Arc`).
fn no_states() -> Arc<StateMap> {
    static EMPTY: OnceLock<Arc<StateMap>> = OnceLock::new();
    Arc::clone(EMPTY.get_or_init(Arc::default))
}
