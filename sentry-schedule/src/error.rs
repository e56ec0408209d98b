//! Errors of the scheduler's start-up and run. (Owner: scheduler side.)

/// Why the scheduler could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two jobs have the same monitor slug.
    #[error("duplicate monitor slug `{slug}`: {first} and {second}")]
    DuplicateSlug {
        /// The slug.
        slug: String,
        /// First location.
        first: String,
        /// Second location.
        second: String,
    },
}
