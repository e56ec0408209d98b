//! Shared helpers for the end-to-end tests: a local Sentry ingest endpoint that stores the
//! envelopes the real sentry client posts to it, and a client wired to it.
#![warn(missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod envelope;
mod http;

pub use envelope::{parse_envelope, Envelope, Item};

use sentry::{Client, ClientOptions, Hub, HubSwitchGuard, Scope};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The release the test clients report.
pub const RELEASE: &str = "e2e-app@1.2.3";
/// The environment the test clients report.
pub const ENVIRONMENT: &str = "e2e";

/// How the ingest endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `200 OK`, storing the envelope.
    Accept,
    /// The given status (e.g. 500), storing nothing.
    Status(u16),
    /// `429 Too Many Requests` with these `Retry-After` and `X-Sentry-Rate-Limits` headers,
    /// storing nothing.
    RateLimited {
        /// `Retry-After`, when sent.
        retry_after: Option<&'static str>,
        /// `X-Sentry-Rate-Limits`, when sent.
        rate_limits: Option<&'static str>,
    },
    /// Holds requests unanswered until the test answers one ([`Ingest::release`]: `200`,
    /// stored) or changes the mode (then each is answered in the new mode): every request
    /// with `None`, or with `Some(ty)` only those carrying an item of type `ty` (the others
    /// are accepted). A request held until the client gives up is recorded as
    /// [`Request::abandoned_after`].
    Hold(Option<&'static str>),
    /// Reads the request and does not answer; when the mode changes, closes the connection
    /// unanswered (as a server that recovers drops the connections it hung on). A client
    /// that gives up first is recorded as [`Request::abandoned_after`].
    Hang,
}

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it arrived (real time).
    pub at: Instant,
    /// The mode it arrived in.
    pub mode: Mode,
    /// The check-ins it carried, in order.
    pub check_ins: Vec<CheckInSeen>,
    /// How many events it carried.
    pub events: usize,
    /// How long it was left unanswered before the client closed the connection (gave up
    /// on it), if the client did.
    pub abandoned_after: Option<Duration>,
}

/// A call of Sentry's web API the endpoint received (anything under `/api/0/` but the
/// envelope endpoint), answered like the envelopes (200 in [`Mode::Accept`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// `PUT`, `GET`, …
    pub method: String,
    /// The path, e.g. `/api/0/organizations/acme/monitors/report/`.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: serde_json::Value,
}

/// What identifies one check-in a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInSeen {
    /// `monitor_slug`.
    pub monitor_slug: String,
    /// `status`.
    pub status: String,
    /// `check_in_id`: the run's.
    pub check_in_id: String,
}

impl Request {
    /// Whether it carried the check-in of `slug` with `status`.
    pub fn has_check_in(&self, slug: &str, status: &str) -> bool {
        self.check_ins
            .iter()
            .any(|c| c.monitor_slug == slug && c.status == status)
    }
}

/// A local ingest endpoint on 127.0.0.1, served from its own thread and runtime so that
/// a test's paused tokio clock does not affect it.
#[derive(Debug, Clone)]
pub struct Ingest {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    mode: tokio::sync::watch::Sender<Mode>,
    /// Bumped by each [`Ingest::release`].
    releases: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    envelopes: Vec<Envelope>,
    requests: Vec<Request>,
    api_calls: Vec<ApiCall>,
    errors: Vec<String>,
    /// Held requests the test answered, by arrival index.
    released: std::collections::HashSet<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ingest {
    /// Starts an endpoint answering in `mode`.
    pub fn start(mode: Mode) -> Self {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            changed: Condvar::new(),
            mode: tokio::sync::watch::Sender::new(mode),
            releases: tokio::sync::watch::Sender::new(0),
        });
        let server = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("ingest-{}", addr.port()))
            .spawn(move || http::serve(listener, server))
            .expect("spawn the ingest thread");
        Self { addr, shared }
    }

    /// Answers from now on in `mode` (a recovery, an outage); connections hanging in
    /// [`Mode::Hang`] are closed unanswered, requests held in [`Mode::Hold`] are answered
    /// in `mode`.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.send_replace(mode);
    }

    /// Answers the held request number `request` (0-based, in arrival order) with `200`
    /// and stores it; the others stay held.
    pub fn release(&self, request: usize) {
        self.shared.lock().released.insert(request);
        self.shared.releases.send_modify(|n| *n += 1);
    }

    /// This endpoint's base URL, `http://127.0.0.1:<port>` (e.g. to use it as a proxy).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A DSN for this endpoint, project 1.
    pub fn dsn(&self) -> String {
        format!("http://public@{}/1", self.addr)
    }

    /// Every envelope stored so far, in arrival order.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.shared.lock().envelopes.clone()
    }

    /// Every item stored so far, in arrival order.
    pub fn items(&self) -> Vec<Item> {
        self.envelopes().into_iter().flat_map(|e| e.items).collect()
    }

    /// The payloads of the `check_in` items, in arrival order.
    pub fn check_ins(&self) -> Vec<serde_json::Value> {
        self.payloads("check_in")
    }

    /// The payloads of the `event` items, in arrival order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.payloads("event")
    }

    /// The JSON payloads of the items of type `ty`, in arrival order.
    pub fn payloads(&self, ty: &str) -> Vec<serde_json::Value> {
        self.items()
            .into_iter()
            .filter(|item| item.ty == ty)
            .map(|item| item.json().expect("item payload is JSON"))
            .collect()
    }

    /// How many HTTP requests arrived (also those answered with an error).
    pub fn requests(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// The calls of Sentry's web API so far, in arrival order.
    pub fn api_calls(&self) -> Vec<ApiCall> {
        self.shared.lock().api_calls.clone()
    }

    /// Every request so far, in arrival order.
    pub fn request_log(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Requests the endpoint could not understand.
    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }

    /// Blocks until at least `n` requests arrived, or `limit` has passed (real time).
    /// Returns whether they did.
    pub fn wait_for_requests(&self, n: usize, limit: Duration) -> bool {
        self.wait(limit, |state| state.requests.len() >= n)
    }

    /// Blocks until `done` holds for the requests so far (it must not call back into this
    /// endpoint), or `limit` has passed (real time). Returns whether it holds.
    pub fn wait_for_log(&self, limit: Duration, done: impl Fn(&[Request]) -> bool) -> bool {
        self.wait(limit, |state| done(&state.requests))
    }

    /// Blocks until `done` holds (it must not call back into this endpoint) for the stored envelopes, or `limit` has passed (real
    /// time). Returns whether it holds. The limit only bounds a failing test.
    pub fn wait_until(&self, limit: Duration, done: impl Fn(&[Envelope]) -> bool) -> bool {
        self.wait(limit, |state| done(&state.envelopes))
    }

    fn wait(&self, limit: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            if done(&state) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Three ticks of a job on every minute: the scheduler starts at [`START`](three_ticks::START)
/// and runs for [`RUN_FOR`](three_ticks::RUN_FOR), through 12:00, 12:01 and 12:02.
pub mod three_ticks {
    use std::time::Duration;

    /// 30 s before the 12:00 tick.
    pub const START: &str = "2026-03-01T11:59:30Z";
    /// Through the 12:02 tick.
    pub const RUN_FOR: Duration = Duration::from_secs(170);
    /// When each tick is due, measured from the start on tokio's clock.
    pub const DUE: [Duration; 3] = [
        Duration::from_secs(30),
        Duration::from_secs(90),
        Duration::from_secs(150),
    ];
}

/// A DSN on 127.0.0.1 where nothing listens: an ingest endpoint that is down.
pub fn down_dsn() -> String {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://public@{addr}/1")
}

/// A real sentry client with its default (reqwest) transport, posting to `dsn`, with
/// [`RELEASE`] and [`ENVIRONMENT`]. `panic_integration` chooses whether sentry's panic
/// integration (which captures panics from a panic hook) is installed.
pub fn client(dsn: &str, panic_integration: bool) -> Arc<Client> {
    client_with(dsn, panic_integration, |options| options)
}

/// Like [`client`], with further options.
pub fn client_with(
    dsn: &str,
    panic_integration: bool,
    configure: impl FnOnce(ClientOptions) -> ClientOptions,
) -> Arc<Client> {
    let mut options = ClientOptions::new();
    options.dsn = Some(dsn.parse().expect("valid DSN"));
    options.release = Some(RELEASE.into());
    options.environment = Some(ENVIRONMENT.into());
    options.default_integrations = panic_integration;
    Arc::new(Client::from(sentry::apply_defaults(configure(options))))
}

/// Makes a fresh hub with `client` the current hub of this thread until the guard drops.
/// Under a current-thread tokio runtime every task of the test runs on this thread, so the
/// scheduler and its runs use this client while other tests keep theirs.
pub fn bind(client: Arc<Client>) -> HubSwitchGuard {
    HubSwitchGuard::new(Arc::new(Hub::new(Some(client), Arc::new(Scope::default()))))
}

/// How long [`run_scheduler`] lets running runs finish after its shutdown signal.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `jobs` on a [`Scheduler`](sentry_schedule::Scheduler) whose wall clock starts at
/// `start` (RFC 3339) and follows tokio's clock, until `run_for` has passed on tokio's
/// clock; then the scheduler shuts down (runs get [`SHUTDOWN_TIMEOUT`] to finish, the
/// client is flushed) and returns.
/// Meant for `#[tokio::test(start_paused = true)]`, where this takes no real time beyond
/// the network.
pub async fn run_scheduler(
    start: &str,
    run_for: Duration,
    jobs: Vec<sentry_schedule::Job>,
) -> sentry_schedule::clock::TestClock {
    run_scheduler_with(start, run_for, jobs, |builder| builder)
        .await
        .0
}

/// [`run_scheduler`] with further builder settings; also returns the scheduler's
/// check-in counters.
pub async fn run_scheduler_with(
    start: &str,
    run_for: Duration,
    jobs: Vec<sentry_schedule::Job>,
    configure: impl FnOnce(sentry_schedule::SchedulerBuilder) -> sentry_schedule::SchedulerBuilder,
) -> (
    sentry_schedule::clock::TestClock,
    sentry_schedule::CheckInCounters,
) {
    let clock = sentry_schedule::clock::TestClock::new(start.parse().expect("RFC 3339 start"));
    let builder = sentry_schedule::Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .shutdown_signal(tokio::time::sleep(run_for))
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .jobs(jobs);
    let scheduler = configure(builder).build().expect("valid scheduler");
    let check_ins = scheduler.check_ins();
    scheduler.run().await.expect("scheduler ran");
    (clock, check_ins)
}

/// `contexts.trace.trace_id` of an event or check-in.
pub fn trace_id(payload: &serde_json::Value) -> &str {
    payload["contexts"]["trace"]["trace_id"]
        .as_str()
        .expect("contexts.trace.trace_id")
}

/// Whether `s` is 32 lowercase hex digits.
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How many items of type `ty` the envelopes hold.
pub fn count(envelopes: &[Envelope], ty: &str) -> usize {
    envelopes
        .iter()
        .flat_map(|e| &e.items)
        .filter(|i| i.ty == ty)
        .count()
}
