//! One run of a job: fresh hub and trace id, check-ins, panic and error capture. (Owner: run side.)
//!
//! INTERFACE used by the scheduler loop:
//! `pub(crate) async fn execute(job: Arc<Job>, scheduled: DateTime<Utc>, cancel: CancellationToken, clock: Arc<dyn Clock>) -> RunOutcome`
use crate::clock::Clock;
use crate::job::Job;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    Ok { duration: Duration },
    Failed { duration: Duration, message: String },
}

pub(crate) async fn execute(
    _job: Arc<Job>,
    _scheduled: DateTime<Utc>,
    _cancel: CancellationToken,
    _clock: Arc<dyn Clock>,
) -> RunOutcome {
    RunOutcome::Ok { duration: Duration::ZERO }
}
