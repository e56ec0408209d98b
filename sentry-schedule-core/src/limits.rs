//! Ranges Sentry's server accepts in `monitor_config` (its `ConfigValidator`), checked
//! at compile time so a monitor never fails to upsert at run time.

/// Largest `max_runtime` Sentry accepts, in minutes (28 days).
pub const MAX_RUNTIME_MINUTES: u64 = 40_320;
/// Largest `failure_issue_threshold` / `recovery_threshold`.
pub const MAX_THRESHOLD: u64 = 720;
/// Largest `checkin_margin` stored by Sentry (a positive 32-bit integer), in minutes.
pub const MAX_CHECKIN_MARGIN_MINUTES: u64 = i32::MAX as u64;

/// Checks `checkin_margin` (minutes, at least 1).
pub fn check_checkin_margin(v: u64) -> Result<(), String> {
    if (1..=MAX_CHECKIN_MARGIN_MINUTES).contains(&v) {
        Ok(())
    } else {
        Err("checkin_margin must be at least 1 minute".into())
    }
}

/// Checks `max_runtime` (minutes, 1..=40320).
pub fn check_max_runtime(v: u64) -> Result<(), String> {
    if (1..=MAX_RUNTIME_MINUTES).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "max_runtime must be 1..={MAX_RUNTIME_MINUTES} minutes"
        ))
    }
}

/// Checks `failure_issue_threshold` / `recovery_threshold` (1..=720); `name` is the
/// option's name, used in the message.
pub fn check_threshold(name: &str, v: u64) -> Result<(), String> {
    if (1..=MAX_THRESHOLD).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} must be 1..={MAX_THRESHOLD}"))
    }
}

/// Checks `owner`: `user:<id or email>` or `team:<id or slug>`.
pub fn check_owner(v: &str) -> Result<(), String> {
    let expected = "owner must be `user:<id or email>` or `team:<slug>`";
    let rest = v
        .strip_prefix("user:")
        .or_else(|| v.strip_prefix("team:"))
        .ok_or_else(|| expected.to_owned())?;
    if rest.is_empty() || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(expected.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_margin_bounds() {
        assert!(check_checkin_margin(0).unwrap_err().contains("at least 1"));
        assert!(check_checkin_margin(1).is_ok());
        assert!(check_checkin_margin(60 * 24).is_ok());
        assert!(check_checkin_margin(u64::MAX).is_err());
    }

    #[test]
    fn max_runtime_bounds() {
        assert!(check_max_runtime(0).is_err());
        assert!(check_max_runtime(1).is_ok());
        assert!(check_max_runtime(40_320).is_ok());
        assert!(check_max_runtime(40_321).unwrap_err().contains("1..=40320"));
    }

    #[test]
    fn threshold_bounds_name_the_option() {
        assert!(check_threshold("recovery_threshold", 0)
            .unwrap_err()
            .contains("recovery_threshold"));
        assert!(check_threshold("failure_issue_threshold", 1).is_ok());
        assert!(check_threshold("failure_issue_threshold", 720).is_ok());
        assert!(check_threshold("failure_issue_threshold", 721)
            .unwrap_err()
            .contains("1..=720"));
    }

    #[test]
    fn owner_forms() {
        assert!(check_owner("team:backend").is_ok());
        assert!(check_owner("user:42").is_ok());
        assert!(check_owner("user:jane@example.com").is_ok());
        for bad in [
            "", "backend", "team:", "user:", "group:x", "team:a b", "Team:x",
        ] {
            assert!(
                check_owner(bad)
                    .unwrap_err()
                    .contains("`user:<id or email>`"),
                "{bad}"
            );
        }
    }
}
