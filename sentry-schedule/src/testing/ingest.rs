//! What the kit's in-memory ingest answers each check-in: accept, refuse, or take it late.
use std::time::Duration;

/// The kit's ingest's answer to one check-in ([`TestKit::ingest`](super::TestKit::ingest)).
///
/// The kit's ingest stands where the Sentry client's transport stands: the scheduler hands
/// it each check-in and goes on. What a refusal or a delay changes is what Sentry would
/// have: [`CheckIn::accepted`](super::CheckIn::accepted) and
/// [`CheckIn::received`](super::CheckIn::received), and with them
/// [`TestRun::sentry_saw`](super::TestRun::sentry_saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Taken (`2xx`) at once.
    Accept,
    /// Refused with this HTTP status (`429`, `500`, `413`…): Sentry does not have it.
    Refuse(u16),
    /// Taken, but only this long after it was sent (a slow network or a queue in front).
    Delay(Duration),
}
