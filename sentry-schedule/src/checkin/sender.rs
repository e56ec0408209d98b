//! The scheduler's check-in sender: one thread with its own small runtime that takes
//! check-ins from the bounded [`Queue`] and posts them, [`CHECK_IN_REQUESTS_IN_FLIGHT`] at a
//! time, to the DSN of the client each was built with.
//!
//! It runs apart from the application's runtime, as sentry's own transport does: pushing
//! never waits for the network, so neither the dispatcher nor any run is held up by a slow,
//! failing or rate-limited endpoint, and the application's events (the client's transport,
//! its own queue) and the check-ins (this queue) cannot crowd each other out: the two share
//! no queue, thread, runtime or connection (this sender builds its own reqwest client from
//! the client's options), only the `Client` whose options and DSN both read.
//!
//! Outcomes: a `2xx` is sent; a `429` pauses sending for as long as Sentry asks (see
//! [`rate_limit`](super::rate_limit)) and tries again, without counting as a failure; a
//! `5xx`, `408`, network error or time-out pauses sending with a backoff
//! ([`backoff`]) and tries again, at most [`MAX_FAILURES`] times per check-in; another `4xx`
//! drops the check-in. Every drop is counted and logged at warn level with the slug.
use super::counters::{CheckInCounters, Count};
use super::envelope::envelope;
use super::http::{Answer, Endpoint};
use super::queue::{Entry, Queue};
use super::CHECK_IN_REQUESTS_IN_FLIGHT;
use sentry::Client;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Failed attempts after which a check-in is dropped. With [`backoff`] and the default
/// request time-out that is about six minutes of an endpoint that does not answer.
pub(crate) const MAX_FAILURES: u8 = 8;

/// The pause after the `n`th round of failures in a row: 1 s, 2 s, 4 s, … at most 60 s.
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// The sending side of the queue; cheap to clone.
#[derive(Clone)]
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled whenever the queue becomes empty (for [`Sender::flush`]).
    emptied: Condvar,
    /// Wakes the sender thread: a check-in was pushed, or the sender is closed.
    wake: Notify,
    started: Once,
    counters: CheckInCounters,
    /// How long one request may take.
    request_timeout: Duration,
    /// The test kit's endpoint in place of HTTP: then the sender runs as a task on the
    /// kit's runtime (its pauses and time-outs on tokio's clock, so on virtual time).
    #[cfg(feature = "testing")]
    memory: Option<Arc<dyn super::http::MemoryEndpoint>>,
    /// Notified whenever the queue becomes empty (for [`Sender::flush_on_tokio_time`]).
    #[cfg(feature = "testing")]
    emptied_task: Notify,
}

struct State {
    queue: Queue,
    /// Set when the scheduler is gone: the thread ends.
    closed: bool,
    /// In-flight check-ins already counted as dropped by a flush that timed out; their
    /// outcomes are no longer counted.
    abandoned: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sender {
    /// A sender holding at most `capacity` check-ins, counting into `counters`, giving up
    /// on a request after `request_timeout`. Its thread starts with the first check-in.
    pub(crate) fn new(
        capacity: usize,
        counters: CheckInCounters,
        request_timeout: Duration,
    ) -> Self {
        Self::posting_to(capacity, counters, request_timeout, None)
    }

    /// A sender as [`new`](Self::new) that posts to `endpoint` instead of over HTTP, as a
    /// task of the runtime where the first check-in is queued (the test kit's).
    #[cfg(feature = "testing")]
    pub(crate) fn in_memory(
        capacity: usize,
        counters: CheckInCounters,
        request_timeout: Duration,
        endpoint: Arc<dyn super::http::MemoryEndpoint>,
    ) -> Self {
        Self::posting_to(capacity, counters, request_timeout, Some(endpoint))
    }

    fn posting_to(
        capacity: usize,
        counters: CheckInCounters,
        request_timeout: Duration,
        #[cfg(feature = "testing")] memory: Option<Arc<dyn super::http::MemoryEndpoint>>,
        #[cfg(not(feature = "testing"))] _memory: Option<std::convert::Infallible>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: Queue::new(capacity),
                    closed: false,
                    abandoned: 0,
                }),
                emptied: Condvar::new(),
                wake: Notify::new(),
                started: Once::new(),
                counters,
                request_timeout,
                #[cfg(feature = "testing")]
                memory,
                #[cfg(feature = "testing")]
                emptied_task: Notify::new(),
            }),
        }
    }

    /// Whether it posts to the test kit's endpoint (and runs on the kit's runtime).
    fn in_memory_mode(&self) -> bool {
        #[cfg(feature = "testing")]
        return self.shared.memory.is_some();
        #[cfg(not(feature = "testing"))]
        false
    }

    /// Queues `entry`; never blocks on the network. At capacity a check-in is dropped (see
    /// [`Queue::push`]).
    pub(crate) fn push(&self, entry: Entry) {
        self.shared.started.call_once(|| self.start_thread());
        let dropped = self.shared.lock().queue.push(entry);
        self.shared.counters.add(Count::Queued, 1);
        if let Some(dropped) = dropped {
            self.shared.counters.add(Count::QueueFull, 1);
            tracing::warn!(
                monitor = %dropped.slug,
                status = dropped.status.as_str(),
                "check-in queue full; dropped the oldest waiting check-in"
            );
        }
        self.shared.wake.notify_one();
    }

    fn start_thread(&self) {
        let shared = Arc::clone(&self.shared);
        if self.in_memory_mode() {
            // Pushed from a run, so inside the kit's runtime.
            tokio::spawn(send_loop(shared));
            return;
        }
        // Its logs go where the scheduler's go (the subscriber where the first check-in
        // was queued).
        let logs = tracing::dispatcher::get_default(|logs| logs.clone());
        let spawned = std::thread::Builder::new()
            .name("sentry-schedule-check-ins".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&logs, || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(send_loop(shared)),
                        Err(e) => tracing::error!(
                            error = %e,
                            "cannot start the check-in sender's runtime; check-ins stay queued"
                        ),
                    }
                })
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the check-in sender; check-ins stay queued");
        }
    }

    /// Waits (blocking, real time) until every queued check-in was sent or dropped, at most
    /// `timeout`; what is left then is counted as dropped (`shutdown`) and logged at warn
    /// level per monitor. Returns whether the queue was drained.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.queue.len() > state.abandoned {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .emptied
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(state);
        self.give_up_on_the_rest()
    }

    /// [`flush`](Self::flush) waiting on tokio's clock, in the caller's task: for the
    /// test kit's sender, a task of the same runtime, whose clock may be paused.
    #[cfg(feature = "testing")]
    pub(crate) async fn flush_on_tokio_time(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let emptied = self.shared.emptied_task.notified();
            let mut emptied = std::pin::pin!(emptied);
            emptied.as_mut().enable();
            let drained = {
                let state = self.shared.lock();
                state.queue.len() <= state.abandoned
            };
            if drained || tokio::time::timeout_at(deadline, emptied).await.is_err() {
                break;
            }
        }
        self.give_up_on_the_rest()
    }

    /// Counts what is still queued as dropped (`shutdown`) and logs it at warn level per
    /// monitor; returns whether nothing was.
    fn give_up_on_the_rest(&self) -> bool {
        let mut state = self.shared.lock();
        let waiting = state.queue.take_waiting();
        let abandoned_before = state.abandoned;
        let in_flight: Vec<Arc<str>> = state
            .queue
            .in_flight_slugs()
            .into_iter()
            .skip(abandoned_before)
            .collect();
        state.abandoned += in_flight.len();
        drop(state);
        let left = waiting.len() + in_flight.len();
        if left == 0 {
            return true;
        }
        self.shared.counters.add(Count::Shutdown, left as u64);
        let mut per_monitor = BTreeMap::<&str, usize>::new();
        for entry in &waiting {
            *per_monitor.entry(&entry.slug).or_default() += 1;
        }
        for (monitor, unsent) in per_monitor {
            tracing::warn!(
                monitor,
                unsent,
                "check-ins not sent within the flush bound; dropped"
            );
        }
        if !in_flight.is_empty() {
            tracing::warn!(
                in_flight = in_flight.len(),
                monitors = %slug_list(&in_flight),
                "check-ins still in flight at the end of the flush bound; counted as dropped"
            );
        }
        false
    }

    /// Ends the sender thread once what is queued was sent, or after `bound` (real time):
    /// what is left then is counted and logged as by [`flush`](Self::flush). Returns at
    /// once; the draining happens on a thread of its own (if that thread cannot start, what
    /// is queued is counted and logged now).
    pub(crate) fn close_after(&self, bound: Duration) {
        if self.in_memory_mode() {
            // The kit flushed on its own clock; a thread cannot wait on that clock.
            self.flush(Duration::ZERO);
            self.close();
            return;
        }
        let sender = self.clone();
        // Its warnings go where the scheduler's went (the subscriber where it was dropped).
        let logs = tracing::dispatcher::get_default(|logs| logs.clone());
        let spawned = std::thread::Builder::new()
            .name("sentry-schedule-check-in-drain".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&logs, || {
                    sender.flush(bound);
                    sender.close();
                });
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start a thread to drain the check-in queue");
            self.flush(Duration::ZERO);
            self.close();
        }
    }

    /// Ends the sender thread (check-ins still queued stay unsent).
    fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// How many slugs a warning lists at most.
const LISTED_SLUGS: usize = 10;

/// `a, b, c` for the first [`LISTED_SLUGS`] of `slugs` (each once, in order), then
/// `and N more` when there are more.
fn slug_list(slugs: &[Arc<str>]) -> String {
    let mut distinct: Vec<&str> = Vec::new();
    for slug in slugs {
        if !distinct.contains(&&**slug) {
            distinct.push(slug);
        }
    }
    let mut list = distinct
        .iter()
        .take(LISTED_SLUGS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if distinct.len() > LISTED_SLUGS {
        list.push_str(&format!(" and {} more", distinct.len() - LISTED_SLUGS));
    }
    list
}

/// A client's endpoint, or why it has none.
type ClientEndpoint = Result<Arc<Endpoint>, String>;

/// Where one client's check-ins go, built once per client.
#[derive(Default)]
struct Endpoints(Vec<(Arc<Client>, ClientEndpoint)>);

impl Endpoints {
    fn of(&mut self, client: &Arc<Client>, timeout: Duration) -> ClientEndpoint {
        if let Some((_, endpoint)) = self.0.iter().find(|(c, _)| Arc::ptr_eq(c, client)) {
            return endpoint.clone();
        }
        let endpoint = Endpoint::of(client, timeout).map(Arc::new);
        self.0.push((Arc::clone(client), endpoint.clone()));
        endpoint
    }
}

/// When sending may resume, and how many rounds of failures came in a row.
#[derive(Default)]
struct Pause {
    until: Option<tokio::time::Instant>,
    failed_rounds: u32,
}

impl Pause {
    fn active(&self) -> Option<tokio::time::Instant> {
        self.until
            .filter(|until| *until > tokio::time::Instant::now())
    }

    fn extend(&mut self, by: Duration) {
        let until = tokio::time::Instant::now() + by;
        self.until = Some(self.until.map_or(until, |old| old.max(until)));
    }

    /// A failed attempt: backs off, once per round (failures of requests sent together
    /// count once).
    fn failed(&mut self) {
        if self.active().is_none() {
            self.failed_rounds += 1;
            self.extend(backoff(self.failed_rounds));
        }
    }
}

async fn send_loop(shared: Arc<Shared>) {
    let mut endpoints = Endpoints::default();
    let mut in_flight = JoinSet::new();
    let mut pause = Pause::default();
    loop {
        if shared.lock().closed {
            return;
        }
        if pause.active().is_none() {
            while in_flight.len() < CHECK_IN_REQUESTS_IN_FLIGHT {
                let Some(entry) = shared.lock().queue.start() else {
                    break;
                };
                #[cfg(feature = "testing")]
                if let Some(memory) = shared.memory.clone() {
                    let timeout = shared.request_timeout;
                    in_flight.spawn(async move {
                        let envelope = envelope(&entry.payload);
                        let answer = super::http::post_in_memory(&*memory, envelope, timeout).await;
                        (entry, answer)
                    });
                    continue;
                }
                match endpoints.of(&entry.client, shared.request_timeout) {
                    Ok(endpoint) => {
                        in_flight.spawn(async move {
                            let answer = endpoint.post(envelope(&entry.payload)).await;
                            (entry, answer)
                        });
                    }
                    Err(reason) => {
                        let reason = Answer::Failed { reason };
                        settle(&shared, &mut pause, entry, reason, MAX_FAILURES);
                    }
                }
            }
        }
        let resume = pause.active();
        tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => match done {
                Ok((entry, answer)) => settle(&shared, &mut pause, entry, answer, 1),
                Err(e) => tracing::error!(error = %e, "a check-in request task died"),
            },
            () = shared.wake.notified() => {}
            () = sleep_until(resume), if resume.is_some() => {}
        }
    }
}

async fn sleep_until(until: Option<tokio::time::Instant>) {
    if let Some(until) = until {
        tokio::time::sleep_until(until).await;
    }
}

/// Acts on the answer to one in-flight check-in; `failures` is what a failure counts for.
fn settle(shared: &Shared, pause: &mut Pause, mut entry: Entry, answer: Answer, failures: u8) {
    let counters = &shared.counters;
    let mut state = shared.lock();
    if state.abandoned > 0 {
        // A flush already counted it as dropped.
        state.abandoned -= 1;
        state.queue.finish(&entry);
        return;
    }
    match answer {
        Answer::Accepted { pause: limit } => {
            state.queue.finish(&entry);
            counters.add(Count::Sent, 1);
            pause.failed_rounds = 0;
            if let Some(limit) = limit {
                pause.extend(limit);
            }
        }
        Answer::RateLimited { pause: limit } => {
            counters.add(Count::RateLimited, 1);
            counters.add(Count::Retried, 1);
            match limit {
                Some(limit) => pause.extend(limit),
                // A 429 whose header limits only other categories: back off all the same.
                None => pause.failed(),
            }
            tracing::debug!(monitor = %entry.slug, "check-in rate limited; sending it again later");
            state.queue.put_back(vec![entry]);
        }
        Answer::Refused { status } => {
            state.queue.finish(&entry);
            counters.add(Count::Rejected, 1);
            tracing::warn!(
                monitor = %entry.slug,
                status = entry.status.as_str(),
                http_status = status,
                "Sentry refused the check-in; dropped"
            );
        }
        Answer::Failed { reason } => {
            entry.failures = entry.failures.saturating_add(failures);
            if entry.failures >= MAX_FAILURES {
                state.queue.finish(&entry);
                counters.add(Count::Failed, 1);
                tracing::warn!(
                    monitor = %entry.slug,
                    status = entry.status.as_str(),
                    attempts = entry.failures,
                    %reason,
                    "check-in could not be sent; dropped"
                );
            } else {
                counters.add(Count::Retried, 1);
                pause.failed();
                tracing::debug!(monitor = %entry.slug, %reason, "check-in not sent; trying again later");
                state.queue.put_back(vec![entry]);
            }
        }
    }
    if state.queue.len() <= state.abandoned {
        shared.emptied.notify_all();
        #[cfg(feature = "testing")]
        shared.emptied_task.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_lists_name_ten_monitors_then_the_count() {
        let slugs = |names: &[&str]| names.iter().map(|n| Arc::from(*n)).collect::<Vec<_>>();
        assert_eq!(slug_list(&slugs(&["a", "b", "a"])), "a, b");
        let many: Vec<String> = (0..13).map(|n| format!("job-{n:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            slug_list(&slugs(&many)),
            "job-00, job-01, job-02, job-03, job-04, job-05, job-06, job-07, job-08, job-09 and 3 more"
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(60));
    }
}
