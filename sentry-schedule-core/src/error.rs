//! The error every schedule parser in this crate returns.
use std::fmt;

/// Why a schedule string was rejected.
///
/// `message` names the offending field and token and says what is allowed, e.g.
/// ``invalid hour field `25`: expected 0-23``; `help` adds the accepted syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// The field the error is in (`"minute"`, `"hour"`, `"day-of-month"`, `"month"`,
    /// `"day-of-week"`, or `"interval"`), if any.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub help: Option<String>,
}

impl ScheduleError {
    pub(crate) fn new(field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScheduleError {}
