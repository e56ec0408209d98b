//! STUB — ranges Sentry's server accepts in `monitor_config`.

/// Checks `checkin_margin` (minutes, at least 1).
pub fn check_checkin_margin(v: u64) -> Result<(), String> {
    if v >= 1 {
        Ok(())
    } else {
        Err("checkin_margin must be at least 1 minute".into())
    }
}
/// Checks `max_runtime` (minutes, 1..=40320).
pub fn check_max_runtime(v: u64) -> Result<(), String> {
    if (1..=40320).contains(&v) {
        Ok(())
    } else {
        Err("max_runtime must be 1..=40320 minutes".into())
    }
}
/// Checks `failure_issue_threshold` / `recovery_threshold` (1..=720).
pub fn check_threshold(name: &str, v: u64) -> Result<(), String> {
    if (1..=720).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be 1..=720"))
    }
}
/// Checks `owner` (`user:…` or `team:…`).
pub fn check_owner(v: &str) -> Result<(), String> {
    if v.starts_with("user:") || v.starts_with("team:") {
        Ok(())
    } else {
        Err("owner must be `user:<id or email>` or `team:<slug>`".into())
    }
}
