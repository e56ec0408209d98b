//! Sentry check-ins: the payload we build ourselves, and its delivery.
//!
//! The sentry crate's `MonitorCheckIn` lacks `release`, `contexts` and the monitor
//! `owner`, so the payload is our own JSON, sent as a raw `check_in` envelope item. By
//! default the scheduler sends check-ins itself ([`CheckInSender::Http`]): a bounded
//! `queue` drained by one `sender` thread that posts to the client's DSN (`http`),
//! retries, honours rate limits (`rate_limit`) and keeps `counters`. sentry's own HTTP transport
//! queues at most 30 envelopes and drops the rest silently (`try_send` in
//! `sentry/src/transports/tokio_thread.rs`), which lost check-ins of jobs due together.
mod counters;
mod deliver;
mod envelope;
#[cfg(feature = "http")]
mod http;
mod payload;
#[cfg(feature = "http")]
mod queue;
#[cfg(feature = "http")]
mod rate_limit;
#[cfg(feature = "http")]
mod sender;

/// How many check-in requests the scheduler's sender has in flight at most (one check-in
/// each, on connections of its own): a slow endpoint holds back at most this many
/// check-ins at once, and the rest wait in the queue.
pub const CHECK_IN_REQUESTS_IN_FLIGHT: usize = 8;

/// How long the check-in queue and the Sentry client may take to flush at the end.
pub(crate) const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub use counters::{CheckInCounters, CheckInStats, DroppedCheckIns};
pub(crate) use deliver::Delivery;
pub use deliver::{CheckInSender, DEFAULT_CHECK_IN_QUEUE_CAPACITY};
#[cfg(feature = "testing")]
pub(crate) use http::{MemoryEndpoint, Response};
pub use payload::MonitorConfig;
pub(crate) use payload::{CheckIn, CheckInStatus, MonitorUpsert};
