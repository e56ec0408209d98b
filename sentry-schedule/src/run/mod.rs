//! One run of a job, and the pipeline every run goes through ([`pipeline`]).
//!
//! Interface used by the pipeline:
//! - [`RunCancel::new`], [`RunCancel::cancel`]: asks a run to stop (timeout, overlap replace,
//!   shutdown deadline); the run's `JobContext` token fires, after the scheduler's cancel
//!   grace ([`DEFAULT_CANCEL_GRACE`](crate::DEFAULT_CANCEL_GRACE) unless set) the future
//!   is dropped, and the run is reported `error` with the reason. [`RunCancel::token`] alone
//!   (firing it without a reason) only tells the job to wrap up; its own outcome counts.
//! - [`execute`]: performs one whole run including both check-ins; never panics; returns after
//!   the final check-in was handed to the scheduler's check-in delivery.
mod body;
mod capture;
mod execute;
pub(crate) mod pauses;
pub(crate) mod pipeline;
pub(crate) mod report;
mod retry;
pub(crate) mod run_set;
mod wait;
mod wake;

pub(crate) use crate::ids::{random, RunIds};
pub(crate) use crate::job::cancel::RunCancel;
pub(crate) use capture::human_duration;
pub(crate) use execute::{execute, execute_caught};

use crate::coordinator::{self, RunStatus};
use std::time::Duration;

/// How a run ended. Every variant but `Ok` was reported `error` to Sentry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The job returned `()` or `Ok(())`.
    Ok { duration: Duration },
    /// The job returned `Err`.
    Failed { duration: Duration, message: String },
    /// The job panicked.
    Panicked { duration: Duration, message: String },
    /// The job ran longer than its `timeout`.
    TimedOut { duration: Duration, after: Duration },
    /// [`RunCancel::cancel`] stopped the run.
    Cancelled { duration: Duration, reason: String },
}

impl Ended {
    /// How long the run took (monotonic clock).
    pub(crate) fn duration(&self) -> Duration {
        match self {
            Self::Ok { duration }
            | Self::Failed { duration, .. }
            | Self::Panicked { duration, .. }
            | Self::TimedOut { duration, .. }
            | Self::Cancelled { duration, .. } => *duration,
        }
    }

    /// Whether the run was reported `ok`.
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self, Self::Ok { .. })
    }

    /// One line saying what went wrong, `None` for `Ok`.
    pub(crate) fn failure(&self) -> Option<String> {
        match self {
            Self::Ok { .. } => None,
            Self::Failed { message, .. } => Some(message.clone()),
            Self::Panicked { message, .. } => Some(format!("panicked: {message}")),
            Self::TimedOut { after, .. } => Some(format!(
                "timed out after {}",
                capture::human_duration(*after)
            )),
            Self::Cancelled { reason, .. } => Some(reason.clone()),
        }
    }
}

impl From<&Ended> for crate::metrics::Outcome {
    fn from(ended: &Ended) -> Self {
        match ended {
            Ended::Ok { .. } => Self::Ok,
            Ended::Failed { .. } => Self::Error,
            Ended::Panicked { .. } => Self::Panicked,
            Ended::TimedOut { .. } => Self::TimedOut,
            Ended::Cancelled { .. } => Self::Cancelled,
        }
    }
}

impl From<&Ended> for coordinator::RunOutcome {
    fn from(ended: &Ended) -> Self {
        let status = match ended {
            Ended::Ok { .. } => RunStatus::Ok,
            Ended::Failed { .. } => RunStatus::Error,
            Ended::Panicked { .. } => RunStatus::Panicked,
            Ended::TimedOut { .. } => RunStatus::TimedOut,
            Ended::Cancelled { .. } => RunStatus::Cancelled,
        };
        Self {
            status,
            duration: ended.duration(),
            message: ended.failure(),
        }
    }
}
