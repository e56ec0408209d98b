//! Errors of the scheduler's start-up.

/// Why a job or the scheduler could not be set up.
#[derive(Debug, thiserror::Error)]
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
    /// [`Scheduler::run_now`](crate::Scheduler::run_now) was given a slug no job has.
    #[error("no job with the slug `{slug}`{}", suggestions(near))]
    UnknownSlug {
        /// The slug asked for.
        slug: String,
        /// The closest slugs of existing jobs, best first.
        near: Vec<String>,
    },
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
