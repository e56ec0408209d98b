//! Where each check-in goes: the scheduler's own queue and sender (over HTTP to the
//! client's DSN), the client's transport, or a printed line when Sentry is not set up.
use super::counters::{CheckInCounters, Count};
use super::payload::{CheckIn, CheckInStatus};
use crate::ids::HexId;
use sentry::{Client, Envelope};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the scheduler sends check-ins to Sentry ([`SchedulerBuilder::check_in_sender`](crate::SchedulerBuilder::check_in_sender)).
///
/// Whether a client's transport is sentry's default HTTP transport or one the application
/// configured (`ClientOptions::transport`) cannot be told from the client: sentry 0.49 keeps
/// only an `Arc<dyn TransportFactory>`, filled with `DefaultTransportFactory` by
/// `apply_defaults` when unset, and a factory cannot be inspected. So the choice is this
/// setting's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckInSender {
    /// The default (with the `http` feature, on by default): the scheduler's own bounded
    /// queue and sender post every check-in to the client's DSN (its `http_proxy`,
    /// `https_proxy`, `accept_invalid_certs` and `user_agent` options apply), learn the
    /// outcome of every request, retry, honour rate limits and count everything
    /// ([`Scheduler::check_ins`](crate::Scheduler::check_ins)). Without the `http` feature
    /// this behaves as [`ClientTransport`](Self::ClientTransport), and so it does for a
    /// client whose DSN names a host under `.invalid` (which never resolves) with no proxy
    /// set: `sentry::test`'s clients, so tests written with sentry's test kit keep seeing
    /// the check-ins in its `TestTransport`.
    #[default]
    Http,
    /// Each check-in is handed to the client's own transport as an envelope, as an event
    /// would be: for a custom `TransportFactory` or `sentry::test::TestTransport`. sentry's
    /// default HTTP transport queues at most 30 envelopes and drops the rest silently, so
    /// with it many check-ins due together are lost.
    ClientTransport,
}

/// The default capacity of the check-in queue, in check-ins (waiting plus in flight).
pub const DEFAULT_CHECK_IN_QUEUE_CAPACITY: usize = 20_000;

/// The shortest time between two empty envelopes sent to carry client reports: one per
/// burst of final check-ins is enough, as the client attaches all pending reports to it,
/// and more would fill the client's own queue (30 envelopes) and crowd out events.
const REPORT_CARRIER_EVERY: Duration = Duration::from_secs(1);

/// When the last empty envelope carrying client reports was sent (real time), and the
/// client owed one since.
#[derive(Default)]
struct ReportCarrier {
    last: Option<Instant>,
    owed: Option<Arc<Client>>,
}

/// The scheduler's check-in delivery: its route, queue and counters.
pub(crate) struct Delivery {
    counters: CheckInCounters,
    /// Empty envelopes that carry client reports.
    report_carrier: Mutex<ReportCarrier>,
    #[cfg(feature = "http")]
    sender: Option<super::sender::Sender>,
    /// The test kit's client and run log (`testing`), when a kit drives this scheduler.
    #[cfg(feature = "testing")]
    pub(crate) sink: Option<Arc<crate::testing::Sink>>,
}

impl Delivery {
    /// Delivery by `route`, queueing at most `capacity` check-ins, giving up on a request
    /// after `request_timeout` (default 30 s).
    pub(crate) fn new(
        route: CheckInSender,
        capacity: usize,
        request_timeout: Option<Duration>,
    ) -> Self {
        let counters = CheckInCounters::default();
        #[cfg(not(feature = "http"))]
        let _ = (route, capacity, request_timeout);
        Self {
            #[cfg(feature = "http")]
            sender: (route == CheckInSender::Http).then(|| {
                let timeout = request_timeout.unwrap_or(super::http::REQUEST_TIMEOUT);
                super::sender::Sender::new(capacity, counters.clone(), timeout)
            }),
            counters,
            report_carrier: Mutex::default(),
            #[cfg(feature = "testing")]
            sink: None,
        }
    }

    /// Hands this scheduler's runs and check-ins to the test kit's `sink`. With an ingest
    /// rule, the kit has an endpoint, and check-ins go through a sender of the scheduler's
    /// own kind (queue, retries, rate limits, counters) posting to it; without one, the
    /// kit takes each check-in where it is handed over.
    #[cfg(feature = "testing")]
    pub(crate) fn attach_kit(
        &mut self,
        sink: Option<Arc<crate::testing::Sink>>,
        capacity: usize,
        request_timeout: Option<Duration>,
    ) {
        if let Some(endpoint) = sink.as_ref().and_then(|sink| sink.endpoint()) {
            let timeout = request_timeout.unwrap_or(super::http::REQUEST_TIMEOUT);
            self.sender = Some(super::sender::Sender::in_memory(
                capacity,
                self.counters.clone(),
                timeout,
                endpoint,
            ));
        }
        self.sink = sink;
    }

    /// The hub each run's own hub is made from: the current one, or the test kit's.
    pub(crate) fn parent_hub(&self) -> Arc<sentry::Hub> {
        #[cfg(feature = "testing")]
        if let Some(sink) = &self.sink {
            return Arc::clone(&sink.hub);
        }
        sentry::Hub::current()
    }

    /// The live counters.
    pub(crate) fn counters(&self) -> CheckInCounters {
        self.counters.clone()
    }

    /// Sends `check_in` (of the run `run`) with `client`.
    ///
    /// Without a client, or with one that has no DSN (`sentry::init` with no DSN), the
    /// check-in is printed as one line on stdout instead, so a first run without a Sentry
    /// account shows what would have been sent; `failure` (why an `error` run failed, which
    /// would otherwise be in the linked event) is appended to that line. Never blocks on
    /// the network.
    pub(crate) fn deliver(
        &self,
        client: Option<&Arc<Client>>,
        check_in: &CheckIn<'_>,
        run: HexId,
        failure: Option<&str>,
    ) {
        let client = match client {
            Some(client) if client.is_enabled() => client,
            _ => return print(&line(check_in, failure)),
        };
        let options = client.options();
        let item = || check_in.to_json(options.environment.as_deref(), options.release.as_deref());
        // The client attaches pending client reports (counts of dropped data) to the next
        // envelope it sends, and cannot add them to a check-in: where the run itself caused
        // one (a transaction not sampled), an empty envelope takes them; with nothing
        // pending, the transport discards it unsent. At most one a second: each takes a
        // place in the client's queue (30 envelopes), and a burst of them crowded out the
        // events captured at the same time.
        if check_in.status != CheckInStatus::InProgress
            && tracing_enabled(client)
            && self.report_carrier_due(client)
        {
            client.send_envelope(Envelope::new());
        }
        // A kit-driven scheduler: its check-ins go to the kit, which records them (and
        // builds their JSON only if it keeps them), and with an ingest rule on to the
        // sender, which posts them to the kit's endpoint.
        #[cfg(feature = "testing")]
        let (item, to_kit_endpoint) = match &self.sink {
            Some(sink) if sink.endpoint_set() => {
                let item = item();
                sink.check_in(run, check_in.status, || item.clone());
                (item, true)
            }
            Some(sink) => return sink.check_in(run, check_in.status, item),
            None => (item(), false),
        };
        #[cfg(not(feature = "testing"))]
        let item = item();
        #[cfg(all(feature = "http", not(feature = "testing")))]
        let to_kit_endpoint = false;
        #[cfg(feature = "http")]
        if let Some(sender) = self
            .sender
            .as_ref()
            .filter(|_| to_kit_endpoint || reachable_over_http(client))
        {
            sender.push(super::queue::Entry::new(
                Arc::clone(client),
                check_in.monitor_slug.into(),
                run,
                check_in.status,
                item.into_boxed_slice(),
            ));
            return;
        }
        #[cfg(not(feature = "http"))]
        let _ = run;
        let bytes = super::envelope::envelope(&item);
        match Envelope::from_bytes_raw(bytes) {
            Ok(envelope) => {
                self.counters.add(Count::ToTransport, 1);
                client.send_envelope(envelope);
            }
            Err(error) => {
                self.counters.add(Count::Unbuildable, 1);
                tracing::error!(
                    monitor = check_in.monitor_slug,
                    status = check_in.status.as_str(),
                    %error,
                    "sentry-schedule could not build the check-in envelope; dropped"
                );
            }
        }
    }

    /// Whether an empty envelope may carry `client`'s reports now (none was sent in the
    /// last [`REPORT_CARRIER_EVERY`]); if so, counts it as sent, if not, owes `client` one
    /// (sent by the next [`flush`](Self::flush) unless a later check-in sends it).
    fn report_carrier_due(&self, client: &Arc<Client>) -> bool {
        let mut carrier = self
            .report_carrier
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if carrier
            .last
            .is_some_and(|at| now.duration_since(at) < REPORT_CARRIER_EVERY)
        {
            carrier.owed = Some(Arc::clone(client));
            return false;
        }
        *carrier = ReportCarrier {
            last: Some(now),
            owed: None,
        };
        true
    }

    /// Sends what is queued, waiting at most `timeout` (real time, on a thread of its own:
    /// the blocking pool is the application's and may be taken); what is left then is
    /// counted (`dropped.shutdown`) and logged at warn level. First sends the empty
    /// envelope a client is owed for its client reports. Returns whether everything queued
    /// was sent or settled.
    pub(crate) async fn flush(&self, timeout: Duration) -> bool {
        let owed = self
            .report_carrier
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .owed
            .take();
        if let Some(client) = owed {
            client.send_envelope(Envelope::new());
        }
        #[cfg(feature = "testing")]
        if let Some(sender) = self.sender.as_ref().filter(|_| self.sink.is_some()) {
            return sender.flush_on_tokio_time(timeout).await;
        }
        #[cfg(feature = "http")]
        if let Some(sender) = self.sender.clone() {
            let (done, flushed) = tokio::sync::oneshot::channel();
            let flusher = sender.clone();
            // Its warnings go where the caller's go.
            let logs = tracing::dispatcher::get_default(|logs| logs.clone());
            let spawned = std::thread::Builder::new()
                .name("sentry-schedule-check-in-flush".into())
                .spawn(move || {
                    let flushed =
                        tracing::dispatcher::with_default(&logs, || flusher.flush(timeout));
                    // The receiver is gone only if the flush's caller was dropped.
                    let _ = done.send(flushed);
                });
            return match spawned {
                // A thread that died before answering drained nothing that is known.
                Ok(_) => flushed.await.unwrap_or(false),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "could not start a thread to flush the check-in queue; what is queued is dropped"
                    );
                    // Without waiting: counts and logs what is left.
                    sender.flush(Duration::ZERO)
                }
            };
        }
        #[cfg(not(feature = "http"))]
        let _ = timeout;
        true
    }
}

/// Dropped without a flush (a cancelled [`Scheduler::run`](crate::Scheduler::run) future,
/// a scheduler used only for [`Scheduler::run_now`](crate::Scheduler::run_now)), the sender
/// keeps sending what is queued for at most [`FLUSH_TIMEOUT`](super::FLUSH_TIMEOUT)
/// on its own thread, then counts and logs what is left, per monitor. A process that exits
/// sooner loses it uncounted: call [`Scheduler::flush`](crate::Scheduler::flush) first.
impl Drop for Delivery {
    fn drop(&mut self) {
        #[cfg(feature = "http")]
        if let Some(sender) = &self.sender {
            sender.close_after(super::FLUSH_TIMEOUT);
        }
    }
}

/// Whether the client's DSN can be reached over HTTP at all. A host under the `.invalid`
/// top-level domain never resolves (RFC 6761, section 6.4), and a request to it can only
/// fail, unless a proxy forwards it; `sentry::test`'s clients use one
/// (`https://public@sentry.invalid/1`) with an in-memory transport. Such a client's
/// check-ins go to its own transport, so tests written with sentry's test kit see them.
#[cfg(feature = "http")]
fn reachable_over_http(client: &Client) -> bool {
    let options = client.options();
    let proxied = options.http_proxy.is_some() || options.https_proxy.is_some();
    let invalid = client.dsn().is_some_and(|dsn| {
        let host = dsn.host().trim_end_matches('.').to_ascii_lowercase();
        host == "invalid" || host.ends_with(".invalid")
    });
    proxied || !invalid
}

/// Whether the client samples transactions, so that an unsampled run's transaction is
/// counted in a client report.
fn tracing_enabled(client: &sentry::Client) -> bool {
    !matches!(
        client.options().traces_sampling_strategy,
        sentry::TracesSamplingStrategy::Disabled
    )
}

/// The no-DSN line: `[sentry-schedule] check-in  monitor=…  status=…  check_in_id=…`, then
/// `  duration=…s` on final check-ins and `  failure=…` on failed ones.
fn line(check_in: &CheckIn<'_>, failure: Option<&str>) -> String {
    let mut line = format!(
        "[sentry-schedule] check-in  monitor={}  status={}  check_in_id={}",
        check_in.monitor_slug,
        check_in.status.as_str(),
        check_in.check_in_id
    );
    if check_in.status != CheckInStatus::InProgress {
        if let Some(duration) = check_in.duration {
            line.push_str(&format!("  duration={:.2}s", duration.as_secs_f64()));
        }
    }
    if let Some(failure) = failure {
        line.push_str("  failure=");
        // One line per check-in, also for multi-line panic messages.
        line.extend(failure.chars().map(|c| if c == '\n' { ' ' } else { c }));
    }
    line
}

fn print(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}") {
        tracing::debug!(%error, "could not print the check-in line");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_lines() {
        let mut check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "nightly",
            status: CheckInStatus::InProgress,
            duration: None,
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: None,
        };
        assert_eq!(
            line(&check_in, None),
            "[sentry-schedule] check-in  monitor=nightly  status=in_progress  \
             check_in_id=0123456789abcdef0123456789abcdef"
        );
        check_in.status = CheckInStatus::Error;
        check_in.duration = Some(std::time::Duration::from_millis(1234));
        assert_eq!(
            line(&check_in, Some("disk full\non /var")),
            "[sentry-schedule] check-in  monitor=nightly  status=error  \
             check_in_id=0123456789abcdef0123456789abcdef  duration=1.23s  failure=disk full on /var"
        );
    }
}
