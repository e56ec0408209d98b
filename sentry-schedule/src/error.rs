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
}
