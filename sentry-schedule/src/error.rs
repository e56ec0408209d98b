//! Errors of the scheduler's start-up.

/// Implements `Debug` as the type's `Display`, as anyhow's errors do: `main` returning
/// `Result<(), E>` and `.expect(..)` print an error with `Debug`, and what users see there
/// should be the helpful message, not the variant's fields.
macro_rules! debug_as_display {
    ($ty:ty) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    };
}
pub(crate) use debug_as_display;

/// Why a job or the scheduler could not be set up.
///
/// Its `Debug` is its `Display`, so `fn main() -> Result<(), sentry_schedule::Error>` prints
/// the message:
///
/// ```
/// let error = sentry_schedule::Error::NoJobs;
/// assert_eq!(format!("{error:?}"), error.to_string());
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two jobs have the same monitor slug: Sentry would mix their check-ins.
    #[error(
        "duplicate monitor slug `{slug}`: used by {first} and by {second}; \
         give one of them its own `slug = \"...\"`"
    )]
    DuplicateSlug {
        /// The slug.
        slug: String,
        /// The first job using it: fn path and source location.
        first: String,
        /// The second job using it: fn path and source location.
        second: String,
    },
    /// A job's schedule or options are invalid (a dynamic job, or a hand-built descriptor).
    #[error("invalid job {job}: {}", problems.join("; "))]
    InvalidJob {
        /// The job: name and source location.
        job: String,
        /// Every problem found, each saying what was expected.
        problems: Vec<String>,
    },
    /// A job takes `State<T>` but no value of type `T` was registered with
    /// [`SchedulerBuilder::state`](crate::SchedulerBuilder::state).
    #[error(
        "job {job} takes `State<{type_name}>`, but no value of type `{type_name}` was \
         registered; add `.state(value)` to `Scheduler::builder()`"
    )]
    MissingState {
        /// The job: name and source location.
        job: String,
        /// The type of the missing value (`std::any::type_name`).
        type_name: &'static str,
    },
    /// The Sentry client's `environment` is one Sentry refuses in check-ins: it would drop
    /// every check-in, so the scheduler does not start.
    #[error("{rule}")]
    InvalidEnvironment {
        /// The environment, as configured.
        environment: String,
        /// Which of Sentry's rules it breaks, and what to do.
        rule: sentry_schedule_core::limits::Violation,
    },
    /// [`Scheduler::run_now`](crate::Scheduler::run_now) was given a slug no job has.
    #[error("no job with the slug `{slug}`{}", suggestions(near))]
    UnknownSlug {
        /// The slug asked for.
        slug: String,
        /// The closest slugs of existing jobs, best first.
        near: Vec<String>,
    },
    /// A slug given to switch a job off ([`SENTRY_SCHEDULE_DISABLED`](crate::scheduler::off::DISABLED_VAR)
    /// or [`SchedulerBuilder::disable_jobs`](crate::SchedulerBuilder::disable_jobs)) is no
    /// job's slug: the job meant is probably still on, so the scheduler does not start.
    #[error("{by} names `{slug}`, which is no job's slug{}", suggestions(near))]
    UnknownDisabledSlug {
        /// The slug given.
        slug: String,
        /// Where it was given: `SENTRY_SCHEDULE_DISABLED` or `SchedulerBuilder::disable_jobs`.
        by: &'static str,
        /// The closest slugs of existing jobs, best first.
        near: Vec<String>,
    },
    /// [`Scheduler::run`](crate::Scheduler::run) (or [`run_all`](crate::run_all)) was
    /// called with no job at all: no `#[scheduled]` fn is linked into the binary and none
    /// was added with [`SchedulerBuilder::job`](crate::SchedulerBuilder::job). Usually the
    /// jobs live in a library crate the binary does not otherwise use, so the linker left
    /// them out: [`link_jobs!`](crate::link_jobs) pulls them in.
    #[error(
        "no jobs to run: no `#[scheduled]` fn is linked into this binary and no job was added \
         with `Scheduler::builder().job(..)`; if your jobs are in a library crate, add \
         `sentry_schedule::link_jobs!(that_crate);` to the binary (a crate the binary never \
         uses is not linked, and its jobs with it)"
    )]
    NoJobs,
    /// Another scheduler of this process is already running the same `#[scheduled]` jobs:
    /// every tick would run twice, with two check-ins each. Allowed only with
    /// [`SchedulerBuilder::allow_same_jobs_twice`](crate::SchedulerBuilder::allow_same_jobs_twice).
    #[error(
        "another scheduler in this process is already running {}: each tick would run twice; \
         run one scheduler, or build this one with `.registered_jobs(false)` (or \
         `.allow_same_jobs_twice()` if that is what you want)",
        running_slugs(slugs)
    )]
    AlreadyRunning {
        /// The monitor slugs both schedulers would run, in slug order.
        slugs: Vec<String>,
    },
    /// The coordinator failed to carry out an operator action (pause, resume, …).
    #[error("{action} failed: {reason}")]
    Coordinator {
        /// What was asked (`pausing `nightly-export``).
        action: String,
        /// Why the coordinator failed (its error, as text).
        reason: String,
    },
    /// [`testing::job`](crate::testing::job) was given a fn that is no `#[scheduled]` fn
    /// linked into this binary.
    #[cfg(feature = "testing")]
    #[error(
        "`{name}` is not a `#[scheduled]` fn of this binary: put `#[scheduled(...)]` on it, \
         or build the job with `Job::cron`/`Job::every` and pass that"
    )]
    NotScheduled {
        /// The fn's type name.
        name: &'static str,
    },
    /// A simulation split across threads ([`TestKit::threads`](crate::testing::TestKit::threads))
    /// could not start one of them.
    #[cfg(feature = "testing")]
    #[error("the simulation could not be split across threads: {reason}")]
    Simulation {
        /// What failed, with the system's error.
        reason: String,
    },
}

debug_as_display!(Error);

fn running_slugs(slugs: &[String]) -> String {
    let shown: Vec<String> = slugs.iter().take(3).map(|s| format!("`{s}`")).collect();
    match slugs.len() {
        1 => format!("the job {}", shown.join("")),
        n if n <= 3 => format!("the jobs {}", shown.join(", ")),
        n => format!("the jobs {} and {} more", shown.join(", "), n - 3),
    }
}

fn suggestions(near: &[String]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!(
            "; did you mean one of: {}?",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
