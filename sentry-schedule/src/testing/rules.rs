//! Sentry's acceptance rules, applied to a captured check-in: the functions of
//! `sentry-schedule-core` that the macro and the builder validate with, each of which cites
//! the getsentry/sentry or getsentry/relay code it follows (`monitors/validators.py`,
//! `monitors/consumers/monitor_consumer.py`, `relay-monitors`).
use sentry_schedule_core::limits::{self, Violation};
use sentry_schedule_core::{environment, slug, timezone, Schedule};
use serde_json::Value;
use std::fmt;

/// Something Sentry would refuse or rewrite in a check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The field, as a path in the check-in's JSON (`monitor_config.checkin_margin`).
    pub field: &'static str,
    /// The rule and what Sentry would do, naming the value.
    pub rule: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// The statuses a client may send: getsentry/relay `relay-monitors/src/lib.rs`,
/// `CheckInStatus`, reads any other as `unknown` (`#[serde(other)]`) and rewrites `missed`
/// to `unknown` in `process_check_in` ("computed on the server").
const STATUSES: [&str; 3] = ["in_progress", "ok", "error"];

/// The interval units of `monitor_config.schedule`: getsentry/relay
/// `relay-monitors/src/lib.rs`, `IntervalName` (any other fails the payload's
/// deserialization, and Relay drops the check-in).
const INTERVAL_UNITS: [&str; 6] = ["minute", "hour", "day", "week", "month", "year"];

/// Every rule `check_in` breaks.
pub(crate) fn check(check_in: &Value) -> Vec<Rejection> {
    let mut found = Vec::new();
    let mut broken = |field: &'static str, result: Result<(), Violation>| {
        if let Err(violation) = result {
            found.push(Rejection {
                field,
                rule: violation.to_string(),
            });
        }
    };
    broken(
        "monitor_slug",
        match check_in["monitor_slug"].as_str() {
            Some(s) => slug::validate_slug(s),
            None => Err(missing("monitor_slug")),
        },
    );
    broken("status", status(&check_in["status"]));
    broken("check_in_id", check_in_id(&check_in["check_in_id"]));
    if let Some(environment) = check_in.get("environment") {
        broken(
            "environment",
            match environment.as_str() {
                Some(e) => environment::check_environment(e),
                None => Err(not_a("environment", "string", environment)),
            },
        );
    }
    if let Some(duration) = check_in.get("duration") {
        broken("duration", self::duration(duration));
    }
    if let Some(config) = check_in.get("monitor_config") {
        monitor_config(config, &mut broken);
    }
    found
}

fn monitor_config(config: &Value, broken: &mut impl FnMut(&'static str, Result<(), Violation>)) {
    broken("monitor_config.schedule", schedule(&config["schedule"]));
    let number = |key: &'static str| config.get(key).map(|v| (v.as_u64(), v));
    if let Some((value, raw)) = number("checkin_margin") {
        broken(
            "monitor_config.checkin_margin",
            value
                .ok_or_else(|| not_a("checkin_margin", "whole number", raw))
                .and_then(limits::check_checkin_margin),
        );
    }
    if let Some((value, raw)) = number("max_runtime") {
        broken(
            "monitor_config.max_runtime",
            value
                .ok_or_else(|| not_a("max_runtime", "whole number", raw))
                .and_then(limits::check_max_runtime),
        );
    }
    for (key, field) in [
        (
            "failure_issue_threshold",
            "monitor_config.failure_issue_threshold",
        ),
        ("recovery_threshold", "monitor_config.recovery_threshold"),
    ] {
        if let Some((value, raw)) = number(key) {
            broken(
                field,
                value
                    .ok_or_else(|| not_a(key, "whole number", raw))
                    .and_then(|n| limits::check_threshold(key, n)),
            );
        }
    }
    if let Some(tz) = config.get("timezone") {
        broken(
            "monitor_config.timezone",
            match tz.as_str() {
                Some(name) => timezone::parse_timezone(name)
                    .map(drop)
                    .map_err(|e| Violation::new(e, "Sentry refuses the monitor config")),
                None => Err(not_a("timezone", "string", tz)),
            },
        );
    }
    if let Some(owner) = config.get("owner") {
        broken(
            "monitor_config.owner",
            match owner.as_str() {
                Some(owner) => limits::check_owner(owner),
                None => Err(not_a("owner", "string", owner)),
            },
        );
    }
}

fn schedule(schedule: &Value) -> Result<(), Violation> {
    let help = "`{\"type\": \"crontab\", \"value\": \"0 * * * *\"}` or `{\"type\": \
                \"interval\", \"value\": 5, \"unit\": \"minute\"}`";
    match schedule["type"].as_str() {
        Some("crontab") => match schedule["value"].as_str() {
            Some(value) => Schedule::cron(value)
                .map(drop)
                .map_err(|e| Violation::new(format!("crontab `{value}` is invalid: {e}"), help)),
            None => Err(Violation::new("crontab schedule without a value", help)),
        },
        Some("interval") => {
            let value = schedule["value"].as_u64().filter(|n| *n >= 1);
            let unit = schedule["unit"]
                .as_str()
                .filter(|unit| INTERVAL_UNITS.contains(unit));
            match (value, unit) {
                (Some(_), Some(_)) => Ok(()),
                _ => Err(Violation::new(
                    format!("interval schedule {schedule} needs a value of at least 1 and a unit of {INTERVAL_UNITS:?}"),
                    help,
                )),
            }
        }
        _ => Err(Violation::new(
            format!("schedule {schedule} has no type Sentry knows"),
            help,
        )),
    }
}

fn status(status: &Value) -> Result<(), Violation> {
    match status.as_str() {
        Some(s) if STATUSES.contains(&s) => Ok(()),
        _ => Err(Violation::new(
            format!("status {status} is not one a client sends"),
            "one of `in_progress`, `ok`, `error`",
        )),
    }
}

fn check_in_id(id: &Value) -> Result<(), Violation> {
    match id.as_str().map(uuid::Uuid::parse_str) {
        Some(Ok(_)) => Ok(()),
        _ => Err(Violation::new(
            // relay-monitors `CheckIn.check_in_id: Uuid`: any other fails deserialization.
            format!("check_in_id {id} is not a uuid: Relay drops the check-in"),
            "32 hex digits",
        )),
    }
}

fn duration(duration: &Value) -> Result<(), Violation> {
    match duration.as_f64() {
        // Sentry stores milliseconds in a 32-bit column (`limits::MAX_DURATION_MS`).
        Some(secs) if secs >= 0.0 && secs * 1000.0 <= limits::MAX_DURATION_MS as f64 => Ok(()),
        _ => Err(Violation::new(
            format!(
                "duration {duration} s is not between 0 and {} ms, what Sentry stores",
                limits::MAX_DURATION_MS
            ),
            "a run of at most about 24.8 days",
        )),
    }
}

fn missing(field: &str) -> Violation {
    Violation::new(format!("`{field}` is missing"), "Sentry needs it")
}

fn not_a(field: &str, kind: &str, value: &Value) -> Violation {
    Violation::new(
        format!("`{field}` is {value}, not a {kind}"),
        "Sentry refuses it",
    )
}

/// Panics listing `rejections`, when there are any.
#[track_caller]
pub(crate) fn assert_none(rejections: &[Rejection]) {
    if !rejections.is_empty() {
        let lines: Vec<String> = rejections.iter().map(|r| format!("  - {r}")).collect();
        panic!(
            "Sentry would refuse or rewrite these check-ins:\n{}",
            lines.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "check_in_id": "0123456789abcdef0123456789abcdef",
            "monitor_slug": "nightly",
            "status": "ok",
            "duration": 1.5,
            "environment": "production",
            "monitor_config": {
                "schedule": {"type": "crontab", "value": "0 3 * * *"},
                "checkin_margin": 5,
                "max_runtime": 30,
                "timezone": "Europe/Vienna",
                "owner": "team:7"
            },
            "contexts": {"trace": {"trace_id": "fedcba9876543210fedcba9876543210"}}
        })
    }

    #[test]
    fn a_valid_check_in_passes() {
        assert_eq!(check(&valid()), Vec::new());
    }

    #[test]
    fn each_broken_rule_is_named() {
        let cases: [(&str, &[&str], Value); 7] = [
            ("monitor_slug", &[], json!("Nightly Backup")),
            ("environment", &[], json!("eu/staging")),
            ("monitor_config", &["checkin_margin"], json!(0)),
            ("monitor_config", &["max_runtime"], json!(40_321)),
            ("monitor_config", &["timezone"], json!("Mars/Olympus")),
            ("monitor_config", &["owner"], json!("alice@example.com")),
            (
                "monitor_config",
                &["schedule", "value"],
                json!("0 0 31 2 *"),
            ),
        ];
        for (top, path, value) in cases {
            let mut check_in = valid();
            let mut slot = &mut check_in[top];
            for key in path {
                slot = &mut slot[*key];
            }
            *slot = value.clone();
            let found = check(&check_in);
            assert_eq!(found.len(), 1, "{top}.{path:?} = {value}: {found:?}");
        }
    }
}
