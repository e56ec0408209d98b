//! What one run left behind: its check-ins as sent, the events it captured, its outcome.
use super::rules::{self, Rejection};
use crate::checkin::CheckInStatus;
use crate::ids::HexId;
use crate::run::Ended;
use crate::RunStatus;
use chrono::{DateTime, TimeDelta, Utc};
use sentry::protocol::{Context, Event};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// The check-ins of one run, in the order sent: whole, or (a light report) their statuses.
#[derive(Default)]
pub(crate) struct Sent {
    pub(crate) statuses: Statuses,
    pub(crate) check_ins: Vec<CheckIn>,
}

/// The statuses of a run's check-ins, in the order sent: the first two (all a run sends)
/// held inline, any further ones in a list, so a simulated year of runs allocates nothing
/// for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Statuses {
    first: [Option<CheckInStatus>; 2],
    more: Vec<CheckInStatus>,
}

impl Statuses {
    /// Adds `status` after the others.
    pub(crate) fn push(&mut self, status: CheckInStatus) {
        match self.first.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(status),
            None => self.more.push(status),
        }
    }

    /// The statuses' protocol names, in order.
    fn names(&self) -> Vec<&'static str> {
        let first = self.first.iter().flatten();
        first
            .chain(&self.more)
            .map(|status| status.as_str())
            .collect()
    }
}

/// What became of one check-in at the kit's endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Delivered {
    /// Requests that carried it.
    pub(crate) attempts: u32,
    /// When the endpoint took it, if it did.
    pub(crate) received: Option<DateTime<Utc>>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// How it ended; everything but [`RunStatus::Ok`] was reported `error` to Sentry.
    pub status: RunStatus,
    /// How long it took (tokio's clock: virtual time under a paused clock).
    pub duration: Duration,
    /// What went wrong (the error, the panic, the timeout, the cancel), `None` when ok.
    pub message: Option<String>,
}

impl Outcome {
    pub(crate) fn of(ended: &Ended) -> Self {
        let recorded = crate::coordinator::RunOutcome::from(ended);
        Self {
            status: recorded.status,
            duration: ended.duration(),
            message: recorded.message,
        }
    }

    /// Whether the run was reported `ok`.
    pub fn is_ok(&self) -> bool {
        self.status == RunStatus::Ok
    }
}

/// One check-in exactly as the scheduler sent it (the `check_in` envelope item's JSON),
/// with when and whether the kit's ingest took it (with an ingest rule, after how many
/// requests of the scheduler's sender).
///
/// Kept as the bytes sent and parsed on first use: a simulated year holds millions.
#[derive(Debug, Clone)]
pub struct CheckIn {
    payload: Box<str>,
    parsed: OnceLock<Value>,
    sent: DateTime<Utc>,
    delivered: Delivered,
}

impl PartialEq for CheckIn {
    fn eq(&self, other: &Self) -> bool {
        let delivered = |c: &Self| (c.delivered.attempts, c.delivered.received);
        (self.json(), self.sent, delivered(self)) == (other.json(), other.sent, delivered(other))
    }
}

impl CheckIn {
    /// The check-in whose item payload is `payload`; `None` when it is not UTF-8 JSON.
    pub(crate) fn new(payload: Box<[u8]>, sent: DateTime<Utc>) -> Option<Self> {
        let payload = String::from_utf8(payload.into_vec()).ok()?.into_boxed_str();
        let parsed = OnceLock::new();
        // Parsed now only when the cheap look-up of its id cannot read it.
        if string_field(&payload, CHECK_IN_ID).is_none() {
            let _ = parsed.set(serde_json::from_str(&payload).ok()?);
        }
        Some(Self {
            payload,
            parsed,
            sent,
            // Without an ingest rule, taken where it is handed over.
            delivered: Delivered {
                attempts: 1,
                received: Some(sent),
            },
        })
    }

    pub(crate) fn delivered(&mut self, delivered: Delivered) {
        self.delivered = delivered;
    }

    /// The item's JSON as sent.
    pub fn json(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.payload).unwrap_or(Value::Null))
    }

    /// `check_in_id` (32 hex digits, the same for both check-ins of a run).
    pub fn check_in_id(&self) -> &str {
        match string_field(&self.payload, CHECK_IN_ID) {
            Some(id) => id,
            None => self.json()["check_in_id"].as_str().unwrap_or_default(),
        }
    }

    /// `status`: `in_progress`, `ok` or `error`.
    pub fn status(&self) -> &str {
        self.json()["status"].as_str().unwrap_or_default()
    }

    /// `monitor_slug`.
    pub fn monitor_slug(&self) -> &str {
        self.json()["monitor_slug"].as_str().unwrap_or_default()
    }

    /// `duration` (sent with `ok` and `error` only).
    pub fn duration(&self) -> Option<Duration> {
        self.json()["duration"]
            .as_f64()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
    }

    /// `monitor_config`, when sent.
    pub fn monitor_config(&self) -> Option<&Value> {
        self.json().get("monitor_config")
    }

    /// `environment`, when sent.
    pub fn environment(&self) -> Option<&str> {
        self.json()["environment"].as_str()
    }

    /// `release`, when sent.
    pub fn release(&self) -> Option<&str> {
        self.json()["release"].as_str()
    }

    /// `contexts.trace.trace_id`: what links the run's events to this check-in.
    pub fn trace_id(&self) -> Option<&str> {
        self.json()["contexts"]["trace"]["trace_id"].as_str()
    }

    /// When the scheduler sent it (the kit's wall clock).
    pub fn sent(&self) -> DateTime<Utc> {
        self.sent
    }

    /// Whether the kit's ingest took it in the end: `false` when the sender dropped it
    /// (refused, too many failures, or still unsent at the end of the flush bound).
    pub fn accepted(&self) -> bool {
        self.delivered.received.is_some()
    }

    /// When Sentry had it (the kit's wall clock): when sent without an ingest rule; with
    /// one, when a request of the sender carrying it was taken (after retries, pauses,
    /// an [`Answer::Delay`](super::Answer::Delay)); `None` when it never was.
    pub fn received(&self) -> Option<DateTime<Utc>> {
        self.delivered.received
    }

    /// How many requests carried it: 1 without an ingest rule; with one, 0 when the
    /// sender dropped it before sending (its queue full), more after retries.
    pub fn attempts(&self) -> u32 {
        self.delivered.attempts
    }

    /// What Sentry would refuse or rewrite in this check-in, by Sentry's own rules (the
    /// functions of `sentry-schedule-core` the macro and the builder use); empty when
    /// Sentry would take it as sent.
    pub fn sentry_rejections(&self) -> Vec<Rejection> {
        rules::check(self.json())
    }
}

/// What precedes the check-in id in the compact JSON the scheduler writes.
const CHECK_IN_ID: &str = "\"check_in_id\":\"";

/// The string after `pattern` (`"key":"`) in the compact JSON `payload` the scheduler
/// writes (no whitespace), when it has no escapes; `None` otherwise (the caller then parses
/// the JSON).
fn string_field<'a>(payload: &'a str, pattern: &str) -> Option<&'a str> {
    let start = payload.find(pattern)? + pattern.len();
    let value = &payload[start..];
    let end = value.find('"')?;
    let value = &value[..end];
    (!value.contains('\\')).then_some(value)
}

/// An event the run captured (an error it returned, its panic, its timeout), as the
/// client would send it.
#[derive(Debug, Clone)]
pub struct CapturedEvent {
    event: Event<'static>,
}

impl CapturedEvent {
    pub(crate) fn new(event: Event<'static>) -> Self {
        Self { event }
    }

    /// The whole event.
    pub fn event(&self) -> &Event<'static> {
        &self.event
    }

    /// The message (`capture_message`, a timeout) or else the first exception's value
    /// (a returned error, a panic).
    pub fn message(&self) -> Option<&str> {
        self.event.message.as_deref().or_else(|| {
            self.event
                .exception
                .values
                .first()
                .and_then(|e| e.value.as_deref())
        })
    }

    /// The type of the first exception (`panic`, or the error's type), if any.
    pub fn exception_type(&self) -> Option<&str> {
        self.event.exception.values.first().map(|e| e.ty.as_str())
    }

    /// The tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.event.tags.get(key).map(String::as_str)
    }

    /// `contexts.trace.trace_id`, as 32 hex digits.
    pub fn trace_id(&self) -> Option<String> {
        match self.event.contexts.get("trace") {
            Some(Context::Trace(trace)) => Some(trace.trace_id.to_string()),
            _ => None,
        }
    }
}

/// A run's `check_in_id` or trace id ([`TestRun::check_in_id`], [`TestRun::trace_id`]):
/// 32 lowercase hex digits, held inline (a simulated year holds millions of runs, and a
/// string each cost an allocation). Reads as a `&str` ([`as_str`](Self::as_str), `Deref`)
/// and compares with strings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), sentry_schedule::Error> {
/// let job = sentry_schedule::Job::cron("sync", "* * * * *", |_| async {})?;
/// let run = sentry_schedule::testing::TestKit::new().run_once(job).await?;
/// assert_eq!(run.check_in_id.len(), 32);
/// assert_eq!(run.check_in_id, run.check_ins[0].check_in_id());
/// assert!(run.trace_id.bytes().all(|b| b.is_ascii_hexdigit()));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Id(Option<HexId>);

impl Id {
    /// The digits (empty only for a run whose task died before it began: never in a
    /// report of a sound scheduler).
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", HexId::as_str)
    }
}

impl From<HexId> for Id {
    fn from(id: HexId) -> Self {
        Self(Some(id))
    }
}

impl std::ops::Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Id> for str {
    fn eq(&self, other: &Id) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Id> for &str {
    fn eq(&self, other: &Id) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        self == other.as_str()
    }
}

/// One run of a job: its tick, its start, its outcome, and what Sentry received of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestRun {
    /// The job's monitor slug.
    pub slug: String,
    /// The tick the run was for (its scheduled instant).
    pub scheduled: DateTime<Utc>,
    /// When it started (the kit's wall clock): after the tick by its jitter, if any.
    pub started: DateTime<Utc>,
    /// The run's `check_in_id`.
    pub check_in_id: Id,
    /// The run's trace id, in its check-ins and its events.
    pub trace_id: Id,
    /// How it ended.
    pub outcome: Outcome,
    /// Its check-ins, in the order sent (none for a job with `monitor = false`, and none
    /// kept in a light report: [`TestKit::keep_check_ins`](super::TestKit::keep_check_ins)).
    pub check_ins: Vec<CheckIn>,
    /// The events captured during the run, in order.
    pub events: Vec<CapturedEvent>,
    /// The statuses of its check-ins, in the order sent (kept in a light report too).
    sent: Statuses,
}

impl TestRun {
    /// A run with its check-ins as `sent`, no events yet.
    pub(crate) fn new(
        slug: String,
        scheduled: DateTime<Utc>,
        started: DateTime<Utc>,
        check_in_id: Id,
        trace_id: Id,
        outcome: Outcome,
        sent: Sent,
    ) -> Self {
        Self {
            slug,
            scheduled,
            started,
            check_in_id,
            trace_id,
            outcome,
            check_ins: sent.check_ins,
            events: Vec::new(),
            sent: sent.statuses,
        }
    }

    /// A run of no job that allocates nothing: what a merge moves runs over.
    pub(crate) fn placeholder() -> Self {
        let outcome = Outcome {
            status: RunStatus::Ok,
            duration: Duration::ZERO,
            message: None,
        };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let (no_id, no_slug) = (Id::default, String::new);
        Self::new(
            no_slug(),
            epoch,
            epoch,
            no_id(),
            no_id(),
            outcome,
            Sent::default(),
        )
    }

    /// The statuses of its check-ins, in the order sent: `["in_progress", "ok"]` (also in
    /// a light report, which keeps no [`check_ins`](Self::check_ins)).
    pub fn statuses(&self) -> Vec<&str> {
        self.sent.names()
    }

    /// The statuses Sentry would have, in the order it received them: refused check-ins
    /// left out, delayed ones moved (an `ok` before its `in_progress` shows as a timeout).
    pub fn sentry_saw(&self) -> Vec<&str> {
        let mut received: Vec<(DateTime<Utc>, usize, &str)> = self
            .check_ins
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((c.received()?, i, c.status())))
            .collect();
        received.sort();
        received.into_iter().map(|(_, _, status)| status).collect()
    }

    /// When the run ended: its start plus its duration.
    pub fn ended(&self) -> DateTime<Utc> {
        TimeDelta::from_std(self.outcome.duration)
            .ok()
            .and_then(|d| self.started.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// What Sentry would refuse or rewrite in any of its check-ins.
    pub fn sentry_rejections(&self) -> Vec<Rejection> {
        self.check_ins
            .iter()
            .flat_map(CheckIn::sentry_rejections)
            .collect()
    }

    /// Panics, listing them, when Sentry would refuse or rewrite any of its check-ins.
    #[track_caller]
    pub fn assert_sentry_accepts(&self) {
        rules::assert_none(&self.sentry_rejections());
    }
}
