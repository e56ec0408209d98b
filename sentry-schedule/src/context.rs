//! The per-run context handed to jobs. (Owner: run side.)
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
