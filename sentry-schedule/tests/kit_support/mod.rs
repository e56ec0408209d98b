//! What the test kit's own tests share (`mod kit_support;` in each).
use chrono::{DateTime, Utc};
use sentry_schedule::Job;

/// The instant `s` (RFC 3339).
pub(crate) fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// A job `slug` on `*/5 * * * *` that does nothing.
pub(crate) fn every_five(slug: &str) -> Job {
    Job::cron(slug, "*/5 * * * *", |_| async {}).expect("valid job")
}
