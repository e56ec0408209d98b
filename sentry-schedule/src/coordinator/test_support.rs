//! What the coordinator's unit tests share.
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;

/// A lease no unit test outlives by accident.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// A tick on 2025-03-01 at 12:`minute`.
pub(crate) fn tick(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, minute, 0).unwrap()
}
