//! What Sentry's server accepts in `monitor_config` and in a check-in, one function per
//! rule, used both by the `#[scheduled]` macro (a compile error at the literal) and by
//! `JobBuilder::build` (an error naming the value), so a job that compiles or builds is
//! taken by Sentry unchanged.
//!
//! Every limit is read from Sentry's source (getsentry/sentry), cited at the constant:
//! `src/sentry/monitors/constants.py` (the numbers), `src/sentry/monitors/validators.py`
//! (`ConfigValidator`, `MonitorCheckInValidator`), `src/sentry/monitors/utils.py`
//! (`get_max_runtime`, `get_timeout_at`), `src/sentry/monitors/schedule.py`
//! (`get_next_schedule`) and `src/sentry/types/actor.py` (`parse_and_validate_actor`).

use std::fmt;
use std::time::Duration;

/// Largest `checkin_margin` Sentry accepts, in minutes (28 days): `MAX_MARGIN` in
/// `monitors/constants.py`, the `max_value` of `ConfigValidator.checkin_margin`.
pub const MAX_MARGIN_MINUTES: u32 = 40_320;

/// Largest `max_runtime` Sentry's `ConfigValidator` accepts, in minutes (28 days):
/// `MAX_TIMEOUT` in `monitors/constants.py`.
pub const MAX_TIMEOUT_MINUTES: u32 = 40_320;

/// Sentry's `max_runtime` when a monitor does not set one, in minutes: `TIMEOUT` in
/// `monitors/constants.py`, applied by `get_max_runtime` in `monitors/utils.py`.
pub const DEFAULT_MAX_RUNTIME_MINUTES: u32 = 30;

/// Sentry's check-in margin when a monitor does not set `checkin_margin`, in minutes:
/// `DEFAULT_CHECKIN_MARGIN` in `monitors/constants.py` (`get_checkin_margin`).
pub const DEFAULT_CHECKIN_MARGIN_MINUTES: u32 = 1;

/// Smallest `failure_issue_threshold` / `recovery_threshold`: `MIN_THRESHOLD`
/// (`min_value=1` in `ConfigValidator`).
pub const MIN_THRESHOLD: u32 = 1;

/// Largest `failure_issue_threshold` / `recovery_threshold`: `MAX_THRESHOLD` in
/// `monitors/constants.py`.
pub const MAX_THRESHOLD: u32 = 720;

/// Longest run duration a check-in may report, in milliseconds (2^31 − 1 ms, about
/// 24.86 days): `MonitorCheckInValidator.duration` has
/// `max_value=BoundedPositiveIntegerField.MAX_VALUE` (`monitors/validators.py`), and
/// `valid_duration` in `monitors/utils.py` applies the same bound to implicit durations.
/// A final check-in reporting more is refused, so the run stays "in progress" until
/// Sentry times it out.
pub const MAX_DURATION_MS: u64 = 2_147_483_647;

/// Largest `max_runtime` that fits both Sentry's range and the duration cap, in minutes:
/// a run allowed to last 40,320 minutes could not report its duration.
pub const MAX_RUNTIME_MINUTES: u32 = {
    let by_duration = MAX_DURATION_MS / 60_000;
    if by_duration < MAX_TIMEOUT_MINUTES as u64 {
        by_duration as u32
    } else {
        MAX_TIMEOUT_MINUTES
    }
};

/// Longest `every` interval, in seconds: 1,000 years of 365 days (365,000 days).
///
/// Sentry computes the next expected check-in of an interval monitor with
/// `dateutil.rrule(freq, interval=n, dtstart=last_check_in, count=2).after(..)`
/// (`get_next_schedule` in `monitors/schedule.py`). `rrule` stops at Python's
/// `datetime.MAXYEAR` (9999) and then returns `None`, on which `get_next_schedule` calls
/// `.replace(..)` and the check-in's processing fails. So the last check-in plus the
/// interval must stay before the year 10000; with this bound that holds for every run
/// before the year 8999 (`3000000d`, about 8,214 years, already fails today).
pub const MAX_INTERVAL_SECS: u64 = 365_000 * 86_400;

/// A value Sentry would refuse or rewrite: what is wrong (naming the value and the rule)
/// and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong, naming the value and the rule.
    pub message: String,
    /// What would be accepted, or how to fix it.
    pub help: String,
}

impl Violation {
    /// A violation with its help line.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.message, self.help)
    }
}

impl std::error::Error for Violation {}

/// Checks `checkin_margin` (minutes): `1..=40320` (`ConfigValidator.checkin_margin`,
/// `min_value=1, max_value=MAX_MARGIN`).
pub fn check_checkin_margin(minutes: u64) -> Result<(), Violation> {
    if (1..=u64::from(MAX_MARGIN_MINUTES)).contains(&minutes) {
        return Ok(());
    }
    if minutes == 0 {
        // `MissedMarginField.to_internal_value` turns a 0 into 1 (monitors/validators.py).
        return Err(Violation::new(
            "checkin_margin 0 is below 1 minute, Sentry's minimum: Sentry would silently use 1",
            format!("use a margin from 1 to {MAX_MARGIN_MINUTES} minutes"),
        ));
    }
    Err(Violation::new(
        format!(
            "checkin_margin {minutes} is outside 1..={MAX_MARGIN_MINUTES} minutes, the range \
             Sentry accepts (MAX_MARGIN, 28 days): Sentry would refuse the monitor"
        ),
        format!("use a margin from 1 to {MAX_MARGIN_MINUTES} minutes"),
    ))
}

/// Checks `max_runtime` (minutes): `1..=40320` (`ConfigValidator.max_runtime`,
/// `max_value=MAX_TIMEOUT`), and at most [`MAX_RUNTIME_MINUTES`] so that a run of that
/// length can still report its duration ([`check_duration_cap`]).
pub fn check_max_runtime(minutes: u64) -> Result<(), Violation> {
    if !(1..=u64::from(MAX_TIMEOUT_MINUTES)).contains(&minutes) {
        return Err(Violation::new(
            format!(
                "max_runtime {minutes} is outside 1..={MAX_TIMEOUT_MINUTES} minutes, the range \
                 Sentry accepts (MAX_TIMEOUT, 28 days): Sentry would refuse the monitor"
            ),
            format!("use a max_runtime from 1 to {MAX_RUNTIME_MINUTES} minutes"),
        ));
    }
    check_duration_cap(
        "max_runtime",
        &format!("{minutes} minutes"),
        Duration::from_secs(minutes * 60),
    )
}

/// The duration cap: a run of length `duration` must be able to report it, at most
/// [`MAX_DURATION_MS`] (2^31 − 1 ms). `key` and `text` name the option and its value.
pub fn check_duration_cap(key: &str, text: &str, duration: Duration) -> Result<(), Violation> {
    if duration.as_millis() <= u128::from(MAX_DURATION_MS) {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "{key} {text} is longer than the longest duration a check-in may report \
             (2^31 − 1 ms, about 24.8 days, Sentry's MonitorCheckInValidator): the final \
             check-in of such a run would be refused"
        ),
        format!(
            "keep {key} at most {MAX_RUNTIME_MINUTES} minutes (`{}d` or less)",
            MAX_DURATION_MS / 86_400_000
        ),
    ))
}

/// Checks `timeout`: longer than zero and within the duration cap.
pub fn check_timeout(timeout: Duration, text: &str) -> Result<(), Violation> {
    if timeout.is_zero() {
        return Err(Violation::new(
            format!("timeout {text} is zero: it would cancel every run before it starts"),
            "give a positive timeout, e.g. `10m`, or none",
        ));
    }
    check_duration_cap("timeout", text, timeout)
}

/// Checks `failure_issue_threshold` / `recovery_threshold` (`key`): `1..=720`
/// (`ConfigValidator`, `min_value=1, max_value=MAX_THRESHOLD`).
pub fn check_threshold(key: &str, value: u64) -> Result<(), Violation> {
    if (u64::from(MIN_THRESHOLD)..=u64::from(MAX_THRESHOLD)).contains(&value) {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "{key} {value} is outside {MIN_THRESHOLD}..={MAX_THRESHOLD}, the range Sentry \
             accepts (MAX_THRESHOLD): Sentry would refuse the monitor"
        ),
        format!("use a number of runs from {MIN_THRESHOLD} to {MAX_THRESHOLD}"),
    ))
}

/// Where the numeric ids `owner` needs are found.
const OWNER_HELP: &str = "write `team:<id>` or `user:<id>` with the numeric id, e.g. `team:6` or \
                          `user:51`; a team's id is the `id` listed by Sentry's API \
                          `GET /api/0/organizations/<org>/teams/`, a user's id is `user.id` in \
                          `GET /api/0/organizations/<org>/members/`";

/// Checks `owner`: `user:<numeric id>` or `team:<numeric id>`.
///
/// Sentry's upsert parses it with `parse_and_validate_actor` (`types/actor.py`:
/// `Actor.from_identifier` reads `int(id[5:])` after `user:`/`team:`, the error says
/// "Format should be `type:id`"; `MonitorValidator.owner` documents "eg. user:51 or
/// team:6"). The monitor consumer (`_ensure_monitor_with_config` in
/// `monitors/consumers/monitor_consumer.py`) only logs a failure and creates the monitor
/// without an owner, so anything else would silently leave the monitor unowned.
pub fn check_owner(owner: &str) -> Result<(), Violation> {
    let id = owner
        .strip_prefix("user:")
        .or_else(|| owner.strip_prefix("team:"));
    let ok = id.is_some_and(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && id.parse::<i64>().is_ok_and(|n| n > 0)
    });
    if ok {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "invalid owner `{owner}`: Sentry accepts `user:<numeric id>` or \
             `team:<numeric id>` and creates the monitor without an owner otherwise"
        ),
        OWNER_HELP,
    ))
}

/// Checks the length of an `every` interval (`secs`, as written in `text`): at most
/// [`MAX_INTERVAL_SECS`], so Sentry can compute the next expected check-in.
pub fn check_interval(secs: u64, text: &str) -> Result<(), Violation> {
    if secs <= MAX_INTERVAL_SECS {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "interval `{text}` is longer than {} days: Sentry computes the next expected \
             check-in with dateutil's rrule, which ends at the year 9999, and could not \
             process the monitor's check-ins",
            MAX_INTERVAL_SECS / 86_400
        ),
        format!(
            "use an interval of at most `{}d` (1,000 years), or a cron expression",
            MAX_INTERVAL_SECS / 86_400
        ),
    ))
}

/// Options that only configure the Sentry monitor: with monitoring off they would
/// silently do nothing, so the attribute and the job builder refuse them.
pub const MONITOR_ONLY_OPTIONS: [&str; 5] = [
    "checkin_margin",
    "max_runtime",
    "failure_issue_threshold",
    "recovery_threshold",
    "owner",
];

/// `timeout` must not exceed the effective `max_runtime` (minutes; Sentry's default of
/// [`DEFAULT_MAX_RUNTIME_MINUTES`] when unset), or Sentry would mark the run failed while
/// it still runs (`get_timeout_at` in `monitors/utils.py`). `timeout_text` is the value
/// as the user wrote it.
pub fn check_timeout_fits(
    timeout: Duration,
    timeout_text: &str,
    max_runtime: Option<u32>,
) -> Result<(), Violation> {
    let (max, max_text) = effective_max_runtime(max_runtime);
    if timeout <= max {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "timeout `{timeout_text}` is longer than {max_text}: Sentry would mark the run \
             as failed while it still runs"
        ),
        "make the timeout at most `max_runtime`, or set a larger `max_runtime`",
    ))
}

/// The `max_runtime` Sentry applies (the given minutes, else its default), and how a
/// message names it.
fn effective_max_runtime(max_runtime: Option<u32>) -> (Duration, String) {
    let max = max_runtime.unwrap_or(DEFAULT_MAX_RUNTIME_MINUTES);
    let text = match max_runtime {
        Some(_) => format!("`max_runtime = {max}` minutes"),
        None => format!("Sentry's default `max_runtime` of {max} minutes"),
    };
    (Duration::from_secs(u64::from(max) * 60), text)
}

/// `retries` must be at most [`MAX_RETRIES`](crate::retry::MAX_RETRIES).
pub fn check_retries(retries: u64) -> Result<(), Violation> {
    if retries <= crate::retry::MAX_RETRIES {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "retries {retries} is more than {}: a run would keep one check-in open for that \
             many attempts",
            crate::retry::MAX_RETRIES
        ),
        format!("give at most {}", crate::retry::MAX_RETRIES),
    ))
}

/// A run with retries keeps one check-in open over all its attempts: its worst case (every
/// attempt runs for `timeout`, every backoff is waited) must fit in the effective
/// `max_runtime` (minutes; Sentry's default of [`DEFAULT_MAX_RUNTIME_MINUTES`] when unset),
/// or Sentry would mark the run timed out while it still retries (`get_timeout_at` in
/// `monitors/utils.py`, as for [`check_timeout_fits`]).
pub fn check_retries_fit(
    retry: &crate::retry::Retry,
    timeout: Duration,
    max_runtime: Option<u32>,
) -> Result<(), Violation> {
    let (max, max_text) = effective_max_runtime(max_runtime);
    let worst = retry.worst_case(timeout);
    if worst <= max {
        return Ok(());
    }
    Err(Violation::new(
        format!(
            "{} attempts of at most {} plus {} of backoff take up to {}, longer than {max_text}: \
             Sentry would mark the run as timed out while it still retries",
            retry.retries + 1,
            crate::duration::display(timeout),
            crate::duration::display(retry.total_backoff()),
            crate::duration::display(worst),
        ),
        "give fewer retries, a shorter `timeout` or `backoff`, or a larger `max_runtime`",
    ))
}

/// `jitter` must fit inside the check-in margin (minutes; Sentry's default when unset),
/// or a delayed run would check in late. `jitter_text` is the value as the user wrote it.
pub fn check_jitter_fits(
    jitter: Duration,
    jitter_text: &str,
    checkin_margin: Option<u32>,
) -> Result<(), Violation> {
    let margin = checkin_margin.unwrap_or(DEFAULT_CHECKIN_MARGIN_MINUTES);
    if jitter <= Duration::from_secs(u64::from(margin) * 60) {
        return Ok(());
    }
    let margin_text = match checkin_margin {
        Some(_) => format!("`checkin_margin = {margin}` minutes"),
        None => format!("Sentry's default `checkin_margin` of {margin} minute"),
    };
    Err(Violation::new(
        format!(
            "jitter `{jitter_text}` does not fit inside {margin_text}: a delayed run would \
             check in after the margin and Sentry would report it late"
        ),
        "make the jitter at most the check-in margin, or raise `checkin_margin`",
    ))
}

/// The error for an option in [`MONITOR_ONLY_OPTIONS`] set while monitoring is off.
pub fn monitor_only_option(key: &str) -> Violation {
    Violation::new(
        format!(
            "`{key}` configures the Sentry monitor, but `monitor = false` turns monitoring off"
        ),
        "remove the option, or turn monitoring back on",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkin_margin_bounds() {
        assert!(check_checkin_margin(0)
            .unwrap_err()
            .message
            .contains("silently use 1"));
        assert!(check_checkin_margin(1).is_ok());
        assert!(check_checkin_margin(40_320).is_ok());
        let e = check_checkin_margin(40_321).unwrap_err();
        assert!(e.message.contains("1..=40320"), "{e}");
        assert!(e.message.contains("40321"), "{e}");
    }

    #[test]
    fn max_runtime_bounds() {
        assert_eq!(MAX_RUNTIME_MINUTES, 35_791);
        assert!(check_max_runtime(0).is_err());
        assert!(check_max_runtime(1).is_ok());
        assert!(check_max_runtime(35_791).is_ok());
        // Within Sentry's range, but a run that long could not report its duration.
        let e = check_max_runtime(35_792).unwrap_err();
        assert!(e.message.contains("2^31 − 1 ms"), "{e}");
        let e = check_max_runtime(40_321).unwrap_err();
        assert!(e.message.contains("1..=40320"), "{e}");
    }

    #[test]
    fn timeout_within_the_duration_cap() {
        let ms = |n: u64| Duration::from_millis(n);
        assert!(check_timeout(ms(2_147_483_647), "x").is_ok());
        let e = check_timeout(ms(2_147_483_648), "25d").unwrap_err();
        assert!(e.message.starts_with("timeout 25d is longer"), "{e}");
        assert!(check_timeout(Duration::ZERO, "0s").is_err());
    }

    #[test]
    fn threshold_bounds_name_the_option() {
        let e = check_threshold("recovery_threshold", 0).unwrap_err();
        assert!(e.message.starts_with("recovery_threshold 0"), "{e}");
        assert!(check_threshold("failure_issue_threshold", 1).is_ok());
        assert!(check_threshold("failure_issue_threshold", 720).is_ok());
        assert!(check_threshold("failure_issue_threshold", 721)
            .unwrap_err()
            .message
            .contains("1..=720"));
    }

    #[test]
    fn owner_forms() {
        for ok in ["team:6", "user:51", "team:4505449964175360"] {
            assert!(check_owner(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ops",
            "51",
            "team:",
            "user:",
            "team:ops",
            "user:jane@example.com",
            "team:0",
            "team:+6",
            "team: 6",
            "team:6 ",
            "team:١",
            "Team:6",
            "group:6",
            "team:99999999999999999999",
        ] {
            let e = check_owner(bad).expect_err(bad);
            assert!(e.message.contains(&format!("`{bad}`")), "{e}");
            assert!(e.help.contains("/teams/"), "{e}");
        }
    }

    #[test]
    fn interval_bound() {
        assert!(check_interval(MAX_INTERVAL_SECS, "365000d").is_ok());
        let e = check_interval(3_000_000 * 86_400, "3000000d").unwrap_err();
        assert!(e.message.contains("`3000000d`"), "{e}");
    }

    #[test]
    fn timeout_and_jitter_must_fit_the_monitor() {
        let min = |m: u64| Duration::from_secs(m * 60);
        assert!(check_timeout_fits(min(10), "10m", Some(10)).is_ok());
        assert!(check_timeout_fits(min(30), "30m", None).is_ok());
        let e = check_timeout_fits(min(31), "31m", None).unwrap_err();
        assert!(
            e.message
                .contains("Sentry's default `max_runtime` of 30 minutes"),
            "{e}"
        );
        let e = check_timeout_fits(min(11), "11m", Some(10)).unwrap_err();
        assert!(e
            .message
            .starts_with("timeout `11m` is longer than `max_runtime = 10`"));
        assert!(check_jitter_fits(Duration::from_secs(60), "60s", None).is_ok());
        let e = check_jitter_fits(Duration::from_secs(61), "61s", None).unwrap_err();
        assert!(e
            .message
            .contains("Sentry's default `checkin_margin` of 1 minute"));
        assert!(check_jitter_fits(min(5), "5m", Some(5)).is_ok());
        assert!(check_jitter_fits(min(6), "6m", Some(5)).is_err());
    }
}
