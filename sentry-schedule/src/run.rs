//! One run of a job: fresh hub and trace id, check-ins, panic and error capture. (Owner: run side.)
//!
//! INTERFACE used by the scheduler loop (keep these signatures):
//! - `RunCancel::new()`, `RunCancel::cancel(&self, reason)`: asks a run to stop (timeout, overlap
//!   replace, shutdown deadline); the run's `JobContext` token fires, after a short grace the
//!   future is dropped and the run is reported `error` with the reason.
//! - `execute(job, scheduled, cancel, clock) -> RunOutcome`: performs one whole run including
//!   both check-ins; never panics; returns after the final check-in was handed to the transport.
use crate::clock::Clock;
use crate::job::Job;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    Ok { duration: Duration },
    Failed { duration: Duration, message: String },
}

/// Asks a running job to stop, saying why.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunCancel {
    token: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl RunCancel {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    /// Cancels the run; the first reason given wins.
    pub(crate) fn cancel(&self, reason: &str) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert_with(|| reason.to_owned());
        }
        self.token.cancel();
    }
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }
    pub(crate) fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

pub(crate) async fn execute(
    _job: Arc<Job>,
    _scheduled: DateTime<Utc>,
    _cancel: RunCancel,
    _clock: Arc<dyn Clock>,
) -> RunOutcome {
    RunOutcome::Ok { duration: Duration::ZERO }
}
