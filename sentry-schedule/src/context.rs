//! The per-run context handed to jobs.
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

/// What a run knows about itself: slug, scheduled instant, check-in id, trace id and
/// a cancellation token that fires on timeout, replacement or shutdown.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) slug: String,
    pub(crate) scheduled: DateTime<Utc>,
    pub(crate) check_in_id: String,
    pub(crate) trace_id: String,
    pub(crate) cancel: CancellationToken,
}

impl JobContext {
    /// The job's monitor slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The instant this run was scheduled for (before jitter).
    pub fn scheduled(&self) -> DateTime<Utc> {
        self.scheduled
    }

    /// The run's check-in id (32 hex digits), the same in both of its check-ins.
    pub fn check_in_id(&self) -> &str {
        &self.check_in_id
    }

    /// The run's trace id (32 hex digits): events with it are linked to the check-in.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// Fires when the run should stop: timeout, replacement by a newer run, or shutdown.
    /// A job that stops within the grace period ends cleanly; otherwise its future is dropped.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether the run was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the run is asked to stop; use it in `tokio::select!`.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }
}
