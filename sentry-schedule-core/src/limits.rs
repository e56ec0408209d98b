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

/// Sentry's check-in margin (minutes) when a monitor does not set `checkin_margin`.
pub const DEFAULT_CHECKIN_MARGIN_MINUTES: u32 = 1;

/// Options that only configure the Sentry monitor: with monitoring off they would
/// silently do nothing, so the attribute and the job builder refuse them.
pub const MONITOR_ONLY_OPTIONS: [&str; 5] = [
    "checkin_margin",
    "max_runtime",
    "failure_issue_threshold",
    "recovery_threshold",
    "owner",
];

/// A run-control option that contradicts the job's Sentry monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: &'static str,
}

/// `timeout` must not exceed `max_runtime` (minutes), or Sentry would mark the run
/// failed before the timeout stops it. `timeout_text` is the value as the user wrote it.
pub fn check_timeout_fits(
    timeout: std::time::Duration,
    timeout_text: &str,
    max_runtime: Option<u32>,
) -> Result<(), Contradiction> {
    match max_runtime {
        Some(max) if timeout > std::time::Duration::from_secs(u64::from(max) * 60) => {
            Err(Contradiction {
                message: format!(
                    "timeout `{timeout_text}` is longer than `max_runtime = {max}` minutes: \
                     Sentry would already have marked the run as failed"
                ),
                help: "make the timeout at most `max_runtime`, or raise `max_runtime`",
            })
        }
        _ => Ok(()),
    }
}

/// `jitter` must fit inside the check-in margin (minutes; Sentry's default when unset),
/// or a delayed run would check in late. `jitter_text` is the value as the user wrote it.
pub fn check_jitter_fits(
    jitter: std::time::Duration,
    jitter_text: &str,
    checkin_margin: Option<u32>,
) -> Result<(), Contradiction> {
    let margin = checkin_margin.unwrap_or(DEFAULT_CHECKIN_MARGIN_MINUTES);
    if jitter <= std::time::Duration::from_secs(u64::from(margin) * 60) {
        return Ok(());
    }
    let margin_text = match checkin_margin {
        Some(_) => format!("`checkin_margin = {margin}` minutes"),
        None => format!("the default `checkin_margin` of {margin} minute"),
    };
    Err(Contradiction {
        message: format!(
            "jitter `{jitter_text}` does not fit inside {margin_text}: a delayed run would \
             check in after the margin and Sentry would report it late"
        ),
        help: "make the jitter at most the check-in margin, or raise `checkin_margin`",
    })
}

/// The error for an option in [`MONITOR_ONLY_OPTIONS`] set while monitoring is off.
pub fn monitor_only_option(key: &str) -> Contradiction {
    Contradiction {
        message: format!(
            "`{key}` configures the Sentry monitor, but `monitor = false` turns monitoring off"
        ),
        help: "remove the option, or turn monitoring back on",
    }
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

    #[test]
    fn timeout_and_jitter_must_fit_the_monitor() {
        use std::time::Duration;
        let min = |m: u64| Duration::from_secs(m * 60);
        assert!(check_timeout_fits(min(10), "10m", Some(10)).is_ok());
        assert!(check_timeout_fits(min(11), "11m", None).is_ok());
        let e = check_timeout_fits(min(11), "11m", Some(10)).unwrap_err();
        assert!(e
            .message
            .starts_with("timeout `11m` is longer than `max_runtime = 10`"));
        assert!(check_jitter_fits(Duration::from_secs(60), "60s", None).is_ok());
        let e = check_jitter_fits(Duration::from_secs(61), "61s", None).unwrap_err();
        assert!(e
            .message
            .contains("the default `checkin_margin` of 1 minute"));
        assert!(check_jitter_fits(min(5), "5m", Some(5)).is_ok());
        assert!(check_jitter_fits(min(6), "6m", Some(5)).is_err());
    }
}
