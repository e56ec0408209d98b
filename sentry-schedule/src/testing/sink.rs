//! The kit's in-memory Sentry: a client whose transport records every event, and the log
//! of the runs and check-ins the scheduler reports to it.
use super::ingest::{Answer, IngestRule};
use super::report::{CapturedEvent, CheckIn, Delivered, Outcome, Sent, TestRun};
use crate::checkin::{CheckInStatus, MemoryEndpoint, Response};
use crate::clock::Clock;
use crate::ids::HexId;
use crate::job::Job;
use crate::run::{Ended, RunIds};
use chrono::{DateTime, Utc};
use sentry::{ClientOptions, Envelope, Hub, Transport};
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

/// A DSN under `.invalid` (RFC 6761), as `sentry::test` uses: it never resolves, and the
/// kit's transport takes the client's events.
const TEST_DSN: &str = "https://public@sentry.invalid/1";

/// Everything the kit's Sentry received, in order.
#[derive(Default)]
pub(crate) struct Log {
    /// The runs that ended, with their check-ins.
    pub(crate) runs: Vec<TestRun>,
    /// Check-ins of runs that have not ended (yet), by check-in id.
    pub(crate) pending: HashMap<HexId, Sent, BuildHasherDefault<IdHasher>>,
    /// Check-ins that came through the client's transport (a job's own), not the scheduler.
    pub(crate) stray_check_ins: Vec<CheckIn>,
    pub(crate) events: Vec<CapturedEvent>,
    /// What became of each check-in posted to the kit's endpoint, by check-in id and
    /// status (an ingest rule only).
    pub(crate) deliveries: HashMap<(String, String), Delivered>,
}

/// Hashes a check-in id by folding its bytes 8 at a time: the ids are random, and the
/// default SipHash over 32 bytes cost more per run than the rest of the kit's bookkeeping.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The client the runs of a kit-driven scheduler report to, and what it received.
pub(crate) struct Sink {
    /// The hub each run's hub is made from (`Delivery::parent_hub`).
    pub(crate) hub: Arc<Hub>,
    log: Arc<Mutex<Log>>,
    clock: Arc<dyn Clock>,
    ingest: Option<IngestRule>,
    /// Whether check-ins are kept whole (`false`: their statuses only).
    keep_check_ins: bool,
}

impl Sink {
    /// A client with the kit's transport, `environment` and `release`, bound to a hub of
    /// its own; check-ins are stamped with `clock`, answered by `ingest` and kept whole
    /// when `keep_check_ins`.
    pub(crate) fn new(
        environment: Option<String>,
        release: Option<String>,
        clock: Arc<dyn Clock>,
        ingest: Option<IngestRule>,
        keep_check_ins: bool,
    ) -> Arc<Self> {
        let log = Arc::new(Mutex::new(Log::default()));
        let transport = Arc::new(KitTransport {
            log: Arc::clone(&log),
            clock: Arc::clone(&clock),
        });
        let mut options = ClientOptions::new()
            .dsn(TEST_DSN)
            .transport(transport)
            .sample_rate(1.0);
        options.environment = environment.map(Into::into);
        options.release = release.map(Into::into);
        let client = Arc::new(sentry::Client::from(options));
        let hub = Arc::new(Hub::new(Some(client), Arc::default()));
        Arc::new(Self {
            hub,
            log,
            clock,
            ingest,
            keep_check_ins,
        })
    }

    /// Called by the delivery for each check-in of the run `run` (`payload`: builds the
    /// `check_in` item's JSON, as the scheduler would send it; called only when the kit
    /// keeps check-ins whole).
    pub(crate) fn check_in(
        &self,
        run: HexId,
        status: CheckInStatus,
        payload: impl FnOnce() -> Vec<u8>,
    ) {
        let check_in = if self.keep_check_ins {
            CheckIn::new(payload().into(), self.clock.now()).map(|mut check_in| {
                if self.ingest.is_some() {
                    // Taken only once the sender's request for it is.
                    check_in.delivered(Delivered::default());
                }
                check_in
            })
        } else {
            None
        };
        let mut log = self.lock();
        let sent = log.pending.entry(run).or_default();
        sent.statuses.push(status);
        if self.keep_check_ins {
            sent.check_ins.extend(check_in);
        }
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
        let mut log = self.lock();
        let sent = log.pending.remove(&ids.check_in_id).unwrap_or_default();
        let run = TestRun::new(
            job.slug().to_owned(),
            scheduled,
            started,
            ids.check_in_id.into(),
            ids.trace_id_hex.into(),
            Outcome::of(ended),
            sent,
        );
        log.runs.push(run);
    }

    /// Whether check-ins go to the kit's endpoint through the scheduler's sender.
    pub(crate) fn endpoint_set(&self) -> bool {
        self.ingest.is_some()
    }

    /// The endpoint the scheduler's sender posts check-ins to, when the kit has an ingest
    /// rule.
    pub(crate) fn endpoint(self: &Arc<Self>) -> Option<Arc<dyn MemoryEndpoint>> {
        let rule = self.ingest.clone()?;
        Some(Arc::new(KitEndpoint {
            sink: Arc::clone(self),
            rule,
        }))
    }

    /// The kit's wall clock now.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Notes a request carrying the check-in `key` (its id and status).
    pub(crate) fn posted(&self, key: &(String, String)) {
        self.lock()
            .deliveries
            .entry(key.clone())
            .or_default()
            .attempts += 1;
    }

    /// Notes that the endpoint took the check-in `key` at `at` (the first time counts).
    pub(crate) fn took(&self, key: &(String, String), at: DateTime<Utc>) {
        let mut log = self.lock();
        let delivered = log.deliveries.entry(key.clone()).or_default();
        delivered.received = delivered.received.or(Some(at));
    }

    /// Takes everything received so far.
    pub(crate) fn take(&self) -> Log {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The endpoint the kit's schedulers post check-ins to: asks the rule, notes the request,
/// and answers.
pub(crate) struct KitEndpoint {
    pub(crate) sink: Arc<Sink>,
    pub(crate) rule: IngestRule,
}

impl MemoryEndpoint for KitEndpoint {
    fn post(&self, envelope: Vec<u8>) -> Pin<Box<dyn Future<Output = Response> + Send>> {
        let status = |status| Response {
            status,
            ..Response::default()
        };
        let check_in = check_in_payloads(&envelope)
            .first()
            .and_then(|payload| CheckIn::new((*payload).into(), self.sink.now()));
        let Some(check_in) = check_in else {
            // What Relay answers an envelope it cannot read.
            return Box::pin(std::future::ready(status(400)));
        };
        let key = (
            check_in.check_in_id().to_owned(),
            check_in.status().to_owned(),
        );
        self.sink.posted(&key);
        let sink = Arc::clone(&self.sink);
        let answer = (self.rule)(&check_in);
        Box::pin(async move {
            match answer {
                Answer::Accept => {}
                Answer::Refuse(code) if !(200..300).contains(&code) => return status(code),
                Answer::Refuse(_) => {}
                Answer::RetryAfter(pause) => {
                    let seconds = pause.as_secs() + u64::from(pause.subsec_nanos() > 0);
                    return Response {
                        status: 429,
                        retry_after: Some(seconds.to_string()),
                        rate_limits: None,
                    };
                }
                Answer::Delay(delay) => tokio::time::sleep(delay).await,
            }
            sink.took(&key, sink.now());
            status(200)
        })
    }
}

/// Records every envelope of the client: events as events, `check_in` items (a job's own,
/// sent through the client) as stray check-ins.
struct KitTransport {
    log: Arc<Mutex<Log>>,
    clock: Arc<dyn Clock>,
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
            let Some(check_in) = CheckIn::new(payload.into(), self.clock.now()) else {
                continue;
            };
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stray_check_ins
                .push(check_in);
        }
    }
}

/// The payloads of the `check_in` items of the serialized envelope `bytes`: a header line,
/// then per item a header line (`type`, `length`) and its payload.
pub(crate) fn check_in_payloads(bytes: &[u8]) -> Vec<&[u8]> {
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
