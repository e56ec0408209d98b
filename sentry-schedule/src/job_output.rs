//! What a job fn may return: `()` or `Result<(), E>` with `E: Display + Debug`.
use std::fmt::{Debug, Display};

/// A failed run: the error a job returned, rendered for Sentry.
#[derive(Debug, Clone)]
pub struct JobError {
    /// `std::any::type_name` of the returned error type.
    pub type_name: &'static str,
    /// The error's `Display` (alternate form `{:#}`, which includes anyhow's chain).
    pub message: String,
    /// The error's `Debug`.
    pub debug: String,
}

/// Return types a `#[scheduled]` job may have.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a supported return type for a #[scheduled] job",
    label = "unsupported return type",
    note = "a #[scheduled] job must return `()` or `Result<(), E>` where `E: Display + Debug + Send + 'static` (anyhow::Error, Box<dyn Error + Send + Sync>, thiserror types)"
)]
pub trait JobOutput: Send + 'static {
    /// Converts the job's output into the runtime's result.
    fn into_job_result(self) -> Result<(), JobError>;
}

impl JobOutput for () {
    fn into_job_result(self) -> Result<(), JobError> {
        Ok(())
    }
}

impl<E: Display + Debug + Send + 'static> JobOutput for Result<(), E> {
    fn into_job_result(self) -> Result<(), JobError> {
        self.map_err(|e| JobError {
            type_name: std::any::type_name::<E>(),
            message: format!("{e:#}"),
            debug: format!("{e:?}"),
        })
    }
}
