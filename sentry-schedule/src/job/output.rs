//! What a job fn may return: `()` or `Result<(), E>` with `E: Display + Debug`.
use std::fmt::{Debug, Display};

/// A failed run: the error a job returned, rendered for Sentry.
#[derive(Debug, Clone)]
pub struct JobError {
    /// `std::any::type_name` of the returned error type.
    pub(crate) type_name: &'static str,
    /// The error's `Display` (alternate form `{:#}`, which includes anyhow's chain), with a
    /// cause that its parent's message already ends with left out once.
    pub(crate) message: String,
    /// The error's `Debug`.
    pub(crate) debug: String,
}

impl JobError {
    /// The failure of a run that returned `error`, as Sentry is told it.
    pub fn new<E: Display + Debug + ?Sized>(error: &E) -> Self {
        Self {
            type_name: std::any::type_name::<E>(),
            message: without_repeated_causes(&format!("{error:#}")),
            debug: format!("{error:?}"),
        }
    }

    /// `std::any::type_name` of the returned error type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The error's `Display` (alternate form `{:#}`, which includes anyhow's chain), with a
    /// cause that its parent's message already ends with left out once.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error's `Debug`.
    pub fn debug(&self) -> &str {
        &self.debug
    }
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
        self.map_err(|e| JobError::new(&e))
    }
}

/// `a: b: b` → `a: b`: drops each cause (a `": "`-separated part, or a run of them) whose text
/// the message before it already ends with.
///
/// anyhow's `{:#}` appends every source's message to its parent's, but many errors already
/// include their source in their own message (`#[error("query failed: {0}")]` with
/// `#[source]`, sqlx's `error returned from database: …`), so the chain would print it twice.
pub(crate) fn without_repeated_causes(message: &str) -> String {
    const SEPARATOR: &str = ": ";
    let parts: Vec<&str> = message.split(SEPARATOR).collect();
    let mut kept: Vec<&str> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while let Some(part) = parts.get(i) {
        // The longest run of parts starting here that repeats the end of what is kept.
        let repeated = (1..=parts.len() - i).rev().find(|&len| {
            len <= kept.len() && parts.get(i..i + len) == kept.get(kept.len() - len..)
        });
        match repeated {
            Some(len) => i += len,
            None => {
                kept.push(part);
                i += 1;
            }
        }
    }
    kept.join(SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::without_repeated_causes;

    #[test]
    fn a_cause_already_in_its_parents_message_is_left_out() {
        let cases = [
            (
                r#"relation "x" does not exist: relation "x" does not exist"#,
                r#"relation "x" does not exist"#,
            ),
            (
                "error returned from database: relation \"x\": relation \"x\"",
                "error returned from database: relation \"x\"",
            ),
            (
                "nightly export: query failed: timeout: query failed: timeout",
                "nightly export: query failed: timeout",
            ),
            ("disk full", "disk full"),
            ("a: b: c", "a: b: c"),
            ("", ""),
            ("a: b: a", "a: b: a"),
        ];
        for (chain, shown) in cases {
            assert_eq!(without_repeated_causes(chain), shown, "{chain}");
        }
    }
}
