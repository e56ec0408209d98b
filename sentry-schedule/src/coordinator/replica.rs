//! The coordination tasks of one running replica: the renewals of held claims, the outcome
//! writer and the take-over sweep. Each costs one statement per renewal period or write,
//! whatever the number of jobs (the claims of an instant are one batch of the claim step).
use super::outcomes::Outcomes;
use super::renewals::{HeldLease, Renewals};
use super::sweep::Sweep;
use super::{ClaimToken, Coordinator, RunOutcome};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The tasks of a running replica and the handles its runs use.
pub(crate) struct Replica {
    renewals: Renewals,
    outcomes: Outcomes,
    coordinator: Arc<dyn Coordinator>,
    lease: Duration,
    /// Stops the sweep (the scheduler stops: no new take-overs).
    stop_claiming: CancellationToken,
    /// Closes the outcome writer (after the last run ended).
    close: CancellationToken,
    /// Stops the renewals, once the writer has closed.
    stop_renewals: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Replica {
    /// Starts the renewals and the outcome writer (needs a tokio runtime);
    /// failed outcome writes are retried every `retry`.
    pub(crate) fn start(
        coordinator: Arc<dyn Coordinator>,
        lease: Duration,
        retry: Duration,
    ) -> Self {
        let renewals = Renewals::new(Arc::clone(&coordinator), lease);
        let (outcomes, writer) = Outcomes::start(Arc::clone(&coordinator), retry);
        let stop_claiming = CancellationToken::new();
        let close = CancellationToken::new();
        let stop_renewals = CancellationToken::new();
        let tasks = vec![tokio::spawn(renewals.clone().run(stop_renewals.clone()))];
        let writer = tokio::spawn(writer.run(close.clone()));
        Self {
            renewals,
            outcomes,
            coordinator,
            lease,
            stop_claiming,
            close,
            stop_renewals,
            tasks: Mutex::new(tasks),
            writer: Mutex::new(Some(writer)),
        }
    }

    /// Starts the take-over sweep of `slugs` (claims of ticks from `since` on), every renewal
    /// period, handing each tick taken over to `run`.
    pub(crate) fn sweep(
        &self,
        slugs: Vec<String>,
        since: DateTime<Utc>,
        run: impl Fn(HeldLease) + Send + 'static,
    ) {
        let sweep = Sweep {
            coordinator: Arc::clone(&self.coordinator),
            renewals: self.renewals.clone(),
            slugs,
            since,
            lease: self.lease,
        };
        let renewals = self.renewals.clone();
        let task = tokio::spawn(sweep.run(
            self.renewals.period(),
            self.stop_claiming.clone(),
            move |token: ClaimToken| run(renewals.hold(token)),
        ));
        self.tasks().push(task);
    }

    /// Holds a claim won just now: its lease is renewed until the handle is dropped.
    pub(crate) fn hold(&self, token: ClaimToken) -> HeldLease {
        self.renewals.hold(token)
    }

    /// Queues the outcome of the run that held `lease`.
    pub(crate) fn record(&self, lease: HeldLease, outcome: RunOutcome) {
        self.outcomes.record(lease, outcome);
    }

    /// No new take-overs (the scheduler is stopping); runs still going keep their leases
    /// until [`Replica::close`].
    pub(crate) fn stop_claiming(&self) {
        self.stop_claiming.cancel();
    }

    /// After the last run: writes the outcomes still queued (retrying a failing backend for
    /// at most [`CLOSE_DEADLINE`](super::outcomes::CLOSE_DEADLINE)), then stops every task.
    pub(crate) async fn close(&self) {
        self.stop_claiming.cancel();
        self.close.cancel();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            if let Err(error) = writer.await {
                tracing::error!(%error, "the outcome writer died");
            }
        }
        self.stop_renewals.cancel();
        let tasks = std::mem::take(&mut *self.tasks());
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a coordination task died");
            }
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}
