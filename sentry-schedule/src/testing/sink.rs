//! The kit's in-memory Sentry: a client whose transport records every envelope, and the
//! log of the runs the scheduler reports to it.
use super::ingest::Answer;
use super::report::{CapturedEvent, CheckIn, Outcome};
use crate::clock::Clock;
use crate::job::Job;
use crate::run::{Ended, RunIds};
use chrono::{DateTime, Utc};
use sentry::{ClientOptions, Envelope, Hub, Transport};
use std::sync::{Arc, Mutex, MutexGuard};

/// A DSN under `.invalid` (RFC 6761), as `sentry::test` uses: it never resolves, so the
/// scheduler hands check-ins to the client's transport (`checkin::deliver`), here the kit's.
const TEST_DSN: &str = "https://public@sentry.invalid/1";

/// The rule the kit's ingest answers with.
pub(crate) type IngestRule = Arc<dyn Fn(&CheckIn) -> Answer + Send + Sync>;

/// One run as the scheduler reported it to the kit, before its check-ins and events are
/// joined to it.
#[derive(Debug, Clone)]
pub(crate) struct RunSeen {
    pub(crate) slug: String,
    pub(crate) scheduled: DateTime<Utc>,
    pub(crate) started: DateTime<Utc>,
    pub(crate) check_in_id: String,
    pub(crate) trace_id: String,
    pub(crate) outcome: Outcome,
}

/// Everything the kit's Sentry received, in order.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) runs: Vec<RunSeen>,
    pub(crate) check_ins: Vec<CheckIn>,
    pub(crate) events: Vec<CapturedEvent>,
}

/// The client the runs of a kit-driven scheduler report to, and what it received.
pub(crate) struct Sink {
    /// The hub each run's hub is made from (`Delivery::parent_hub`).
    pub(crate) hub: Arc<Hub>,
    log: Arc<Mutex<Log>>,
}

impl Sink {
    /// A client with the kit's transport, `environment` and `release`, bound to a hub of
    /// its own; check-ins are stamped with `clock` and answered by `ingest`.
    pub(crate) fn new(
        environment: Option<String>,
        release: Option<String>,
        clock: Arc<dyn Clock>,
        ingest: Option<IngestRule>,
    ) -> Arc<Self> {
        let log = Arc::new(Mutex::new(Log::default()));
        let transport = Arc::new(KitTransport {
            log: Arc::clone(&log),
            clock,
            ingest,
        });
        let mut options = ClientOptions::new()
            .dsn(TEST_DSN)
            .transport(transport)
            .sample_rate(1.0);
        options.environment = environment.map(Into::into);
        options.release = release.map(Into::into);
        let client = Arc::new(sentry::Client::from(options));
        let hub = Arc::new(Hub::new(Some(client), Arc::default()));
        Arc::new(Self { hub, log })
    }

    /// Called by the run at its end (`run::execute`).
    pub(crate) fn ran(
        &self,
        job: &Job,
        scheduled: DateTime<Utc>,
        started: DateTime<Utc>,
        ids: &RunIds,
        ended: &Ended,
    ) {
        let run = RunSeen {
            slug: job.slug().to_owned(),
            scheduled,
            started,
            check_in_id: ids.check_in_id.as_str().to_owned(),
            trace_id: ids.trace_id_hex.as_str().to_owned(),
            outcome: Outcome::of(ended),
        };
        self.lock().runs.push(run);
    }

    /// Takes everything received so far.
    pub(crate) fn take(&self) -> Log {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Records every envelope: events as events, `check_in` items as check-ins with the
/// ingest's answer.
struct KitTransport {
    log: Arc<Mutex<Log>>,
    clock: Arc<dyn Clock>,
    ingest: Option<IngestRule>,
}

impl Transport for KitTransport {
    fn send_envelope(&self, envelope: Envelope) {
        if let Some(event) = envelope.event() {
            let event = CapturedEvent::new(event.clone());
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .events
                .push(event);
            return;
        }
        let mut bytes = Vec::new();
        if envelope.to_writer(&mut bytes).is_err() {
            return;
        }
        for payload in check_in_payloads(&bytes) {
            let Some(mut check_in) = CheckIn::new(payload, self.clock.now()) else {
                continue;
            };
            let answer = match &self.ingest {
                Some(rule) => rule(&check_in),
                None => Answer::Accept,
            };
            check_in.answer(answer);
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .check_ins
                .push(check_in);
        }
    }
}

/// The payloads of the `check_in` items of the serialized envelope `bytes`: a header line,
/// then per item a header line (`type`, `length`) and its payload.
fn check_in_payloads(bytes: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut rest = match bytes.iter().position(|b| *b == b'\n') {
        Some(end) => &bytes[end + 1..],
        None => return found,
    };
    while let Some(end) = rest.iter().position(|b| *b == b'\n') {
        let header = &rest[..end];
        rest = &rest[end + 1..];
        // The scheduler's own item header, read without a parser (a simulated year has
        // millions); any other header is parsed.
        let (check_in, length) = match header
            .strip_prefix(br#"{"type":"check_in","length":"#)
            .and_then(|n| n.strip_suffix(b"}"))
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
        {
            Some(length) => (true, Some(length)),
            None => match serde_json::from_slice::<serde_json::Value>(header) {
                Ok(header) => (
                    header["type"] == "check_in",
                    header["length"]
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok()),
                ),
                Err(_) => break,
            },
        };
        let length = length
            .or_else(|| rest.iter().position(|b| *b == b'\n'))
            .unwrap_or(rest.len())
            .min(rest.len());
        if check_in {
            found.push(&rest[..length]);
        }
        rest = rest.get(length + 1..).unwrap_or_default();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_check_in_items_of_an_envelope() {
        let payload = br#"{"monitor_slug":"a"}"#;
        let bytes = b"{\"sent_at\":\"x\"}\n{\"type\":\"check_in\",\"length\":20}\n{\"monitor_slug\":\"a\"}\n";
        assert_eq!(check_in_payloads(bytes), vec![&payload[..]]);
        let event = b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n";
        assert!(check_in_payloads(event).is_empty());
    }
}
