//! The kit's in-memory ingest: an endpoint the scheduler's own check-in sender posts to,
//! answering each check-in as the test's rule says (accept, refuse, rate-limit, or late).
use super::report::CheckIn;
use std::sync::Arc;
use std::time::Duration;

/// The kit's ingest's answer to one request carrying a check-in
/// ([`TestKit::ingest`](super::TestKit::ingest)), as Sentry's ingest (Relay) would answer.
///
/// With a rule, check-ins go through the scheduler's own sender, exactly as in production:
/// its queue, its order per run, its retries with backoff (`5xx`, `408`, time-outs), its
/// pauses on rate limits (`429`), its drops (another `4xx`, too many failures, the end of
/// the flush bound), each counted and logged at warn level. Each request asks the rule
/// again, so a rule can refuse a check-in once and take it when it comes back. What it
/// changes is what Sentry would have: [`CheckIn::accepted`], [`CheckIn::received`],
/// [`CheckIn::attempts`], and with them [`TestRun::sentry_saw`](super::TestRun::sentry_saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// `200`: taken at once.
    Accept,
    /// Answered with this HTTP status and no headers: `429` pauses sending for 60 s (no
    /// `Retry-After`), `5xx` and `408` are tried again after a backoff, another `4xx` drops
    /// the check-in, a `2xx` takes it.
    Refuse(u16),
    /// `429` with `Retry-After` this long (whole seconds, rounded up): sending pauses that
    /// long, then the check-in is sent again.
    RetryAfter(Duration),
    /// `200`, but only this long after the request was made (a slow network or a queue in
    /// front): the request is in flight meanwhile, and one longer than the sender's request
    /// time-out (30 s) is given up and tried again.
    Delay(Duration),
}

/// The rule the kit's ingest answers with.
pub(crate) type IngestRule = Arc<dyn Fn(&CheckIn) -> Answer + Send + Sync>;
