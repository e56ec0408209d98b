//! The outcomes of a replica's runs, written in batches: one [`Coordinator::finish_many`] for
//! everything that ended since the last write (at most [`BATCH_MAX`] at a time), retried while the backend fails. A claim stays
//! held (its lease renewed) until its outcome is written, so no other replica takes a finished
//! tick over meanwhile; an outcome that cannot be written is counted and logged, never
//! dropped silently.
use super::renewals::{name_some, HeldLease};
use super::{one_each, ClaimToken, Coordinator, CoordinatorError, RunOutcome, BATCH_MAX};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the writer keeps retrying after it was told to close (the scheduler stops).
pub(crate) const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

/// Where runs leave their outcome. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Outcomes {
    queue: mpsc::UnboundedSender<Pending>,
    counts: Arc<Counts>,
}

/// What happened to the outcomes so far.
#[derive(Default)]
pub(crate) struct Counts {
    /// Written.
    pub(crate) recorded: AtomicU64,
    /// Not written because another replica had taken the tick over.
    pub(crate) taken_over: AtomicU64,
    /// Not written because the backend failed until the lease was lost or the writer closed.
    pub(crate) failed: AtomicU64,
}

/// An outcome waiting to be written, with the claim it finishes.
struct Pending {
    lease: HeldLease,
    outcome: RunOutcome,
}

/// The task that writes the outcomes; see [`Outcomes::start`].
pub(crate) struct Writer {
    queue: mpsc::UnboundedReceiver<Pending>,
    coordinator: Arc<dyn Coordinator>,
    retry: Duration,
    counts: Arc<Counts>,
}

impl Outcomes {
    /// The queue and its writer (to be run with [`Writer::run`]); failed writes are retried
    /// every `retry`.
    pub(crate) fn start(coordinator: Arc<dyn Coordinator>, retry: Duration) -> (Self, Writer) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let writer = Writer {
            queue: receiver,
            coordinator,
            retry,
            counts: Arc::clone(&counts),
        };
        (Self { queue, counts }, writer)
    }

    /// Queues the outcome of the run holding `lease`; the lease is renewed until it is
    /// written.
    pub(crate) fn record(&self, lease: HeldLease, outcome: RunOutcome) {
        if let Err(mpsc::error::SendError(pending)) = self.queue.send(Pending { lease, outcome }) {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                slug = %pending.lease.token().slug,
                tick = %pending.lease.token().tick,
                "outcome not recorded: the scheduler has stopped; another replica may run the tick again once the lease expires"
            );
        }
    }

    /// What happened to the outcomes so far.
    pub(crate) fn counts(&self) -> &Counts {
        &self.counts
    }
}

impl Writer {
    /// Writes queued outcomes in batches until `close` and the queue is empty; after `close`
    /// it retries a failing backend for at most [`CLOSE_DEADLINE`], then gives up (counted).
    pub(crate) async fn run(mut self, close: CancellationToken) {
        let mut pending: Vec<Pending> = Vec::new();
        let mut closed_at: Option<Instant> = None;
        loop {
            if pending.is_empty() {
                tokio::select! {
                    biased;
                    next = self.queue.recv() => match next {
                        Some(next) => pending.push(next),
                        None => return,
                    },
                    () = close.cancelled(), if closed_at.is_none() => {
                        closed_at = Some(Instant::now());
                        continue;
                    }
                    () = std::future::ready(()), if closed_at.is_some() => return,
                }
            }
            while let Ok(next) = self.queue.try_recv() {
                pending.push(next);
            }
            self.drop_lost(&mut pending);
            if pending.is_empty() {
                continue;
            }
            let batch = pending.len().min(BATCH_MAX);
            match self.write(&pending[..batch]).await {
                Ok(()) => {
                    pending.drain(..batch);
                }
                Err(error) => {
                    if close.is_cancelled() {
                        let closed = *closed_at.get_or_insert_with(Instant::now);
                        if closed.elapsed() >= CLOSE_DEADLINE {
                            self.give_up(&mut pending, &error, "the scheduler stopped");
                            continue;
                        }
                    }
                    tracing::warn!(outcomes = pending.len(), %error, "recording outcomes failed; retrying");
                    tokio::time::sleep(self.retry).await;
                }
            }
        }
    }

    /// One `finish_many` for `pending`; counts what it recorded and what another replica had
    /// taken over.
    async fn write(&self, pending: &[Pending]) -> Result<(), CoordinatorError> {
        let runs: Vec<(ClaimToken, RunOutcome)> = pending
            .iter()
            .map(|p| (p.lease.token().clone(), p.outcome.clone()))
            .collect();
        let answers = self.coordinator.finish_many(&runs).await?;
        let answers = one_each(
            format_args!("finishing {} claims", runs.len()),
            runs.len(),
            answers,
        )?;
        let taken: Vec<ClaimToken> = runs
            .into_iter()
            .zip(answers)
            .filter(|(_, recorded)| !recorded)
            .map(|(run, _)| run.0)
            .collect();
        let recorded = pending.len() - taken.len();
        self.counts
            .recorded
            .fetch_add(recorded as u64, Ordering::Relaxed);
        if !taken.is_empty() {
            self.counts
                .taken_over
                .fetch_add(taken.len() as u64, Ordering::Relaxed);
            tracing::warn!(
                outcomes = taken.len(),
                ticks = %name_some(&taken),
                "outcome not recorded: another replica took the tick over"
            );
        }
        Ok(())
    }

    /// Gives up the outcomes whose lease was lost while they waited (the renewals could not
    /// reach the backend for a whole lease): another replica may run those ticks again.
    fn drop_lost(&self, pending: &mut Vec<Pending>) {
        let (lost, kept): (Vec<Pending>, Vec<Pending>) = std::mem::take(pending)
            .into_iter()
            .partition(|p| p.lease.is_lost().is_some());
        *pending = kept;
        if !lost.is_empty() {
            let tokens: Vec<ClaimToken> = lost.iter().map(|p| p.lease.token().clone()).collect();
            self.counts
                .failed
                .fetch_add(lost.len() as u64, Ordering::Relaxed);
            tracing::error!(
                outcomes = lost.len(),
                ticks = %name_some(&tokens),
                "outcome not recorded: the lease was lost while the coordinator was unreachable; another replica may run the tick again"
            );
        }
    }

    fn give_up(&self, pending: &mut Vec<Pending>, error: &CoordinatorError, why: &str) {
        let tokens: Vec<ClaimToken> = pending.iter().map(|p| p.lease.token().clone()).collect();
        self.counts
            .failed
            .fetch_add(pending.len() as u64, Ordering::Relaxed);
        tracing::error!(
            outcomes = pending.len(),
            ticks = %name_some(&tokens),
            %error,
            "outcome not recorded: {why} while the coordinator was unreachable; another replica may run the tick again once the lease expires"
        );
        pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::renewals::Renewals;
    use crate::coordinator::test_support::{tick, LEASE};
    use crate::coordinator::{Claim, InProcess, RunStatus};

    #[tokio::test(start_paused = true)]
    async fn outcomes_are_recorded_and_the_claims_released() {
        let coordinator = Arc::new(InProcess::new());
        let renewals = Renewals::new(coordinator.clone(), LEASE);
        let (outcomes, writer) = Outcomes::start(coordinator.clone(), Duration::from_millis(100));
        let close = CancellationToken::new();
        let task = tokio::spawn(writer.run(close.clone()));
        let mut held = Vec::new();
        for slug in ["a", "b", "c"] {
            let Claim::Won(token) = coordinator.claim(slug, tick(1), LEASE).await.unwrap() else {
                panic!()
            };
            held.push(renewals.hold(token));
        }
        // c's tick is taken over (here: finished under its token) before its outcome is written.
        let c = held.pop().unwrap();
        let ok = RunOutcome::new(RunStatus::Ok, Duration::from_millis(5));
        assert!(coordinator.finish(c.token(), &ok).await.unwrap());
        outcomes.record(c, ok.clone());
        let failed = RunOutcome {
            status: RunStatus::Error,
            duration: Duration::from_millis(7),
            message: Some("no route".into()),
        };
        outcomes.record(held.pop().unwrap(), failed);
        outcomes.record(held.pop().unwrap(), ok);
        close.cancel();
        task.await.unwrap();
        let counts = outcomes.counts();
        assert_eq!(counts.recorded.load(Ordering::Relaxed), 2);
        assert_eq!(counts.taken_over.load(Ordering::Relaxed), 1);
        assert_eq!(counts.failed.load(Ordering::Relaxed), 0);
        let status = |slug: &'static str| {
            let coordinator = coordinator.clone();
            async move { coordinator.history(slug, 1).await.unwrap()[0].clone() }
        };
        assert_eq!(status("a").await.status, Some(RunStatus::Ok));
        let b = status("b").await;
        assert_eq!(b.status, Some(RunStatus::Error));
        assert_eq!(b.message.as_deref(), Some("no route"));
        // Written: the claims are no longer held (nor renewed).
        assert_eq!(renewals.len(), 0);
    }

    #[cfg(feature = "postgres")]
    #[tokio::test(start_paused = true)]
    async fn outcomes_that_cannot_be_written_are_counted_when_the_writer_closes() {
        // A real PostgreSQL client against a port nobody listens on: every call fails.
        let unreachable = Arc::new(
            crate::coordinator::Postgres::connect_lazy(
                "postgres://nobody@127.0.0.1:9/none",
                crate::coordinator::PostgresOptions::default(),
            )
            .unwrap(),
        );
        let store = Arc::new(InProcess::new());
        let renewals = Renewals::new(store.clone(), LEASE);
        let (outcomes, writer) = Outcomes::start(unreachable, Duration::from_millis(100));
        let close = CancellationToken::new();
        let task = tokio::spawn(writer.run(close.clone()));
        for slug in ["a", "b"] {
            let Claim::Won(token) = store.claim(slug, tick(1), LEASE).await.unwrap() else {
                panic!()
            };
            outcomes.record(
                renewals.hold(token),
                RunOutcome::new(RunStatus::Ok, Duration::ZERO),
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Still retrying, the claims still held.
        assert_eq!(renewals.len(), 2);
        let closed = Instant::now();
        close.cancel();
        task.await.unwrap();
        assert!(closed.elapsed() >= CLOSE_DEADLINE);
        let counts = outcomes.counts();
        assert_eq!(counts.failed.load(Ordering::Relaxed), 2);
        assert_eq!(counts.recorded.load(Ordering::Relaxed), 0);
        assert_eq!(renewals.len(), 0);
    }
}
