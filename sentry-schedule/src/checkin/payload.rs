//! The JSON of one check-in envelope item.
use chrono_tz::Tz;
use sentry_schedule_core::{Schedule, SentrySchedule};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The status of a check-in. Sentry also knows `missed` and `unknown`, which a client
/// must never send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckInStatus {
    /// The run started.
    InProgress,
    /// The run ended successfully.
    Ok,
    /// The run failed, panicked, timed out or was interrupted.
    Error,
}

impl CheckInStatus {
    /// The protocol's name of the status.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// One check-in of one run.
#[derive(Debug, Clone)]
pub(crate) struct CheckIn<'a> {
    /// 32 hex digits, the same for both check-ins of a run.
    pub check_in_id: &'a str,
    /// The monitor's slug.
    pub monitor_slug: &'a str,
    /// What happened.
    pub status: CheckInStatus,
    /// How long the run took; sent only with `ok` and `error`.
    pub duration: Option<Duration>,
    /// 32 hex digits; links the check-in to the run's events.
    pub trace_id: &'a str,
    /// The monitor's `monitor_config` as JSON text (built and serialized once per job with
    /// [`MonitorUpsert::to_json`]), written into the item as it is.
    pub monitor: Option<&'a str>,
}

/// Sentry monitor settings sent in `monitor_config` (minutes, thresholds, owner). `None`
/// leaves a setting at Sentry's default (getsentry/sentry `src/sentry/monitors/constants.py`
/// and `monitors/validators.py`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Minutes after the expected time before Sentry reports a missed check-in; `None`:
    /// Sentry's default, 1 (`DEFAULT_CHECKIN_MARGIN`).
    pub checkin_margin: Option<u32>,
    /// Minutes a run may take before Sentry marks it failed; `None`: Sentry's default, 30
    /// (`TIMEOUT`).
    pub max_runtime: Option<u32>,
    /// Consecutive failures before Sentry opens an issue; `None`: Sentry's default, 1.
    pub failure_issue_threshold: Option<u32>,
    /// Consecutive successes before Sentry resolves it; `None`: Sentry's default, 1.
    pub recovery_threshold: Option<u32>,
    /// `user:...` or `team:...`.
    pub owner: Option<String>,
}

/// What `monitor_config` is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MonitorUpsert<'a> {
    /// The job's schedule.
    pub schedule: &'a Schedule,
    /// The job's time zone.
    pub timezone: Tz,
    /// Margins, thresholds and owner.
    pub config: &'a MonitorConfig,
}

impl CheckIn<'_> {
    /// The item's JSON, with `environment` and `release` from the client options. The
    /// environment is sent as it is: the scheduler refuses to start with one Sentry would
    /// drop (`Scheduler::builder().build()`), so nothing is cut or rewritten here.
    ///
    /// Written straight into bytes, with no `Value` in between: building and serializing a
    /// map (a deep copy of `monitor_config` each time) was most of the cost of a run. The
    /// `monitor_config` is serialized once per job, not once per check-in.
    pub(crate) fn to_json(&self, environment: Option<&str>, release: Option<&str>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.push(b'{');
        field(&mut out, "check_in_id", self.check_in_id);
        field(&mut out, "monitor_slug", self.monitor_slug);
        field(&mut out, "status", self.status.as_str());
        if self.status != CheckInStatus::InProgress {
            if let Some(duration) = self.duration {
                key(&mut out, "duration");
                value(&mut out, &json!(duration.as_secs_f64()));
            }
        }
        if let Some(environment) = environment {
            field(&mut out, "environment", environment);
        }
        if let Some(release) = release {
            field(&mut out, "release", release);
        }
        if let Some(config) = self.monitor {
            key(&mut out, "monitor_config");
            out.extend_from_slice(config.as_bytes());
        }
        key(&mut out, "contexts");
        out.extend_from_slice(br#"{"trace":{"trace_id":"#);
        string(&mut out, self.trace_id);
        out.extend_from_slice(b"}}}");
        out
    }
}

/// `"key":` after a `,` unless it is the object's first key.
fn key(out: &mut Vec<u8>, name: &str) {
    if out.last() != Some(&b'{') {
        out.push(b',');
    }
    string(out, name);
    out.push(b':');
}

/// `"key":"text"`, escaped as JSON.
fn field(out: &mut Vec<u8>, name: &str, text: &str) {
    key(out, name);
    string(out, text);
}

/// `v` as JSON. Serializing a `Value` into a `Vec` cannot fail; on an error (none is
/// known) `null` keeps the JSON whole.
fn value(out: &mut Vec<u8>, v: &Value) {
    let before = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(before);
        out.extend_from_slice(b"null");
    }
}

/// `text` as a JSON string. Slugs and hex ids (every string of most check-ins) need no
/// escape, and are copied as they are; any other goes through `serde_json`. JSON escapes
/// `"`, `\\` and control characters below U+0020 only (RFC 8259, section 7), and
/// `serde_json` writes everything else as UTF-8 unchanged.
fn string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let before = out.len();
        if serde_json::to_writer(&mut *out, text).is_err() {
            out.truncate(before);
            out.extend_from_slice(b"null");
        }
    }
}

impl MonitorUpsert<'_> {
    /// `monitor_config` as JSON text, or `None` when Sentry cannot express the schedule.
    pub(crate) fn to_json(self) -> Option<Box<str>> {
        self.to_value()
            .map(|config| config.to_string().into_boxed_str())
    }

    /// `monitor_config`, or `None` when Sentry cannot express the schedule.
    fn to_value(self) -> Option<Value> {
        let schedule = match self.schedule.to_sentry()? {
            SentrySchedule::Crontab(value) => json!({ "type": "crontab", "value": value }),
            SentrySchedule::Interval { value, unit } => {
                json!({ "type": "interval", "value": value, "unit": unit })
            }
        };
        let mut config = Map::new();
        config.insert("schedule".into(), schedule);
        let c = self.config;
        let numbers = [
            ("checkin_margin", c.checkin_margin),
            ("max_runtime", c.max_runtime),
            ("failure_issue_threshold", c.failure_issue_threshold),
            ("recovery_threshold", c.recovery_threshold),
        ];
        for (key, value) in numbers {
            if let Some(value) = value {
                config.insert(key.into(), json!(value));
            }
        }
        config.insert("timezone".into(), json!(self.timezone.name()));
        if let Some(owner) = &c.owner {
            config.insert("owner".into(), json!(owner));
        }
        Some(Value::Object(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("the check-in is JSON")
    }

    #[test]
    fn strings_are_escaped_and_the_first_key_has_no_comma() {
        let check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "a\"b",
            status: CheckInStatus::InProgress,
            duration: None,
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: None,
        };
        let bytes = check_in.to_json(Some("line\nbreak"), None);
        assert!(bytes.starts_with(br#"{"check_in_id":"#), "{bytes:?}");
        let json = parsed(&bytes);
        assert_eq!(json["monitor_slug"], json!("a\"b"));
        assert_eq!(json["environment"], json!("line\nbreak"));
    }

    #[test]
    fn strings_copied_without_escaping_are_what_serde_json_writes() {
        // The fast path and serde_json must agree on every byte class: plain ASCII, the
        // three that need an escape, control characters, DEL and multi-byte UTF-8.
        let texts = [
            "refresh-rates",
            "0123456789abcdef",
            "",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{1f}unit",
            "\u{7f}del",
            "é ü 日本 🦀",
            "end\u{0}",
        ];
        for text in texts {
            let mut out = Vec::new();
            string(&mut out, text);
            let expected = serde_json::to_vec(text).expect("a string serializes");
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected),
                "{text:?}"
            );
        }
    }

    fn config() -> MonitorConfig {
        MonitorConfig {
            checkin_margin: Some(2),
            max_runtime: Some(10),
            failure_issue_threshold: Some(3),
            recovery_threshold: None,
            owner: Some("team:6".into()),
        }
    }

    #[test]
    fn in_progress_carries_monitor_config_and_no_duration() {
        let schedule = Schedule::cron("*/5 * * * *").expect("valid cron");
        let config = config();
        let monitor_config = MonitorUpsert {
            schedule: &schedule,
            timezone: chrono_tz::Europe::Vienna,
            config: &config,
        }
        .to_json();
        let check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "refresh-rates",
            status: CheckInStatus::InProgress,
            duration: Some(Duration::from_secs(3)),
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: monitor_config.as_deref(),
        };
        let expected: Value = serde_json::from_str(
            r#"{
                "check_in_id": "0123456789abcdef0123456789abcdef",
                "monitor_slug": "refresh-rates",
                "status": "in_progress",
                "environment": "production",
                "release": "app@1.2.3",
                "monitor_config": {
                    "schedule": {"type": "crontab", "value": "*/5 * * * *"},
                    "checkin_margin": 2,
                    "max_runtime": 10,
                    "failure_issue_threshold": 3,
                    "timezone": "Europe/Vienna",
                    "owner": "team:6"
                },
                "contexts": {"trace": {"trace_id": "fedcba9876543210fedcba9876543210"}}
            }"#,
        )
        .expect("expected JSON parses");
        assert_eq!(
            parsed(&check_in.to_json(Some("production"), Some("app@1.2.3"))),
            expected
        );
    }

    #[test]
    fn final_check_in_has_duration_and_omits_missing_fields() {
        let check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "nightly",
            status: CheckInStatus::Error,
            duration: Some(Duration::from_millis(1500)),
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: None,
        };
        let expected: Value = serde_json::from_str(
            r#"{
                "check_in_id": "0123456789abcdef0123456789abcdef",
                "monitor_slug": "nightly",
                "status": "error",
                "duration": 1.5,
                "contexts": {"trace": {"trace_id": "fedcba9876543210fedcba9876543210"}}
            }"#,
        )
        .expect("expected JSON parses");
        assert_eq!(parsed(&check_in.to_json(None, None)), expected);
    }

    #[test]
    fn environment_is_sent_unchanged() {
        let check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "nightly",
            status: CheckInStatus::Ok,
            duration: Some(Duration::ZERO),
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: None,
        };
        let long = "é".repeat(70);
        let json = parsed(&check_in.to_json(Some(&long), None));
        assert_eq!(json["environment"], json!("é".repeat(70)));
    }
}
