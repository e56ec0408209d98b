//! Claiming ticks through the configured [`Coordinator`] before running them, keeping the
//! lease while a run goes on, recording its outcome, catch-up at start-up and pruning.
//!
//! Only used when a coordinator was configured on the builder; the default scheduler has no
//! claim path at all, so a single process pays nothing per run.
use crate::coordinator::{
    self, catch_up_tick, report_claim_error, Claim, ClaimToken, Coordinator, CoordinatorError,
    Held, LeaseKeeper, OnCoordinatorError, RunStatus,
};
use crate::job::Job;
use crate::launch::{self, LoopShared};
use crate::run::RunCancel;
use crate::run_set::RunSet;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often old claims are pruned unless set otherwise.
pub(crate) const DEFAULT_PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Shortest wait between two attempts when the backend failed.
const MIN_RETRY: Duration = Duration::from_millis(100);
/// Longest wait between two attempts when the backend failed.
const MAX_RETRY: Duration = Duration::from_secs(5);
/// Added to a holder's remaining lease before trying to take the tick over, so the lease
/// has surely expired on the backend's clock.
const TAKE_OVER_MARGIN: Duration = Duration::from_millis(50);

/// The configured coordinator and how the scheduler uses it.
pub(crate) struct Coordination {
    pub coordinator: Arc<dyn Coordinator>,
    pub lease: Duration,
    pub on_error: OnCoordinatorError,
    pub prune_every: Duration,
    prepared: AtomicBool,
}

impl Coordination {
    pub(crate) fn new(
        coordinator: Arc<dyn Coordinator>,
        lease: Duration,
        on_error: OnCoordinatorError,
        prune_every: Duration,
    ) -> Self {
        Self {
            coordinator,
            lease,
            on_error,
            prune_every,
            prepared: AtomicBool::new(false),
        }
    }

    /// Runs [`Coordinator::prepare`] unless it succeeded before; a failure is logged and the
    /// next claim tries again.
    pub(crate) async fn ensure_prepared(&self) {
        if self.prepared.load(Ordering::Acquire) {
            return;
        }
        match self.coordinator.prepare().await {
            Ok(()) => self.prepared.store(true, Ordering::Release),
            Err(error) => tracing::error!(
                %error,
                "preparing the coordinator failed; retrying before the next claim"
            ),
        }
    }

    /// A wait between attempts while the backend fails: a tenth of the lease, within bounds.
    fn retry_delay(&self) -> Duration {
        (self.lease / 10).clamp(MIN_RETRY, MAX_RETRY)
    }
}

/// A won claim: the run that holds it keeps its lease and records its outcome.
pub(crate) struct Lease {
    coordination: Arc<Coordination>,
    token: ClaimToken,
}

/// Claims `tick` of `job` (in its own task, so the job's loop never waits for the backend),
/// then starts the run if this replica won it — or took it over from a replica whose lease
/// expired, or could not reach the backend and fails open.
pub(crate) fn claim_and_start(
    coordination: &Arc<Coordination>,
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &Arc<LoopShared>,
    tick: DateTime<Utc>,
) {
    let coordination = Arc::clone(coordination);
    let job = Arc::clone(job);
    let runs = Arc::clone(runs);
    let shared = shared.clone();
    shared.tracker.clone().spawn(async move {
        let Some(lease) = claim(&coordination, &job, &shared.shutdown, tick).await else {
            return;
        };
        if shared.is_stopping() {
            // Not started: another replica still running takes the tick over after the lease.
            return;
        }
        launch::launch(&job, &runs, &shared, tick, lease);
    });
}

/// `Some(Some(lease))`: run holding the claim; `Some(None)`: run without a claim (fail open);
/// `None`: do not run.
async fn claim(
    coordination: &Arc<Coordination>,
    job: &Job,
    shutdown: &CancellationToken,
    tick: DateTime<Utc>,
) -> Option<Option<Lease>> {
    coordination.ensure_prepared().await;
    let coordinator = &coordination.coordinator;
    let claimed = tokio::select! {
        biased;
        () = shutdown.cancelled() => return None,
        claimed = coordinator.claim(&job.slug, tick, coordination.lease) => claimed,
    };
    let won = |token| {
        Some(Some(Lease {
            coordination: Arc::clone(coordination),
            token,
        }))
    };
    match claimed {
        Ok(Claim::Won(token)) => won(token),
        Ok(Claim::Lost(held)) if held.finished => {
            tracing::debug!(slug = %job.slug, tick = %tick, owner = %held.owner, "tick already run by another replica");
            None
        }
        Ok(Claim::Lost(held)) => {
            tracing::debug!(
                slug = %job.slug,
                tick = %tick,
                owner = %held.owner,
                "tick held by another replica; taking it over if its lease expires"
            );
            take_over_when_expired(coordination, job, shutdown, tick, held)
                .await
                .and_then(won)
        }
        Err(error) => {
            report_claim_error(&job.slug, tick, &error, coordination.on_error);
            match coordination.on_error {
                OnCoordinatorError::Skip => None,
                OnCoordinatorError::RunAnyway => Some(None),
            }
        }
    }
}

/// Waits out the holder's lease and tries to take the tick over, until this replica wins it,
/// the tick is finished by someone, or the scheduler shuts down. This wait is not a run: the
/// overlap policy does not see it.
async fn take_over_when_expired(
    coordination: &Coordination,
    job: &Job,
    shutdown: &CancellationToken,
    tick: DateTime<Utc>,
    mut held: Held,
) -> Option<ClaimToken> {
    let mut wait = held.retry_in + TAKE_OVER_MARGIN;
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(wait) => {}
        }
        match coordination
            .coordinator
            .take_over(&job.slug, tick, coordination.lease)
            .await
        {
            Ok(Claim::Won(token)) => {
                tracing::warn!(
                    slug = %job.slug,
                    tick = %tick,
                    previous_owner = %held.owner,
                    "took the tick over: its holder's lease expired"
                );
                return Some(token);
            }
            Ok(Claim::Lost(now)) if now.finished => return None,
            Ok(Claim::Lost(now)) => {
                wait = now.retry_in + TAKE_OVER_MARGIN;
                held = now;
            }
            Err(error) => {
                tracing::warn!(slug = %job.slug, tick = %tick, %error, "take-over attempt failed; retrying");
                wait = coordination.retry_delay();
            }
        }
    }
}

impl Lease {
    /// Awaits the run `task`, renewing the lease meanwhile; cancels the run when the lease is
    /// lost. Then records the outcome, retrying while the backend fails and the lease holds.
    pub(crate) async fn hold(
        self,
        task: tokio::task::JoinHandle<crate::run::RunOutcome>,
        cancel: &RunCancel,
        shutdown: &CancellationToken,
    ) -> Result<crate::run::RunOutcome, tokio::task::JoinError> {
        let keeper = LeaseKeeper::start(
            Arc::clone(&self.coordination.coordinator),
            self.token.clone(),
            self.coordination.lease,
        );
        tokio::pin!(task);
        let ended = tokio::select! {
            ended = &mut task => ended,
            lost = keeper.lost() => {
                cancel.cancel(&format!(
                    "stopped: lease lost ({lost:?}), another replica may run the tick"
                ));
                task.await
            }
        };
        let outcome = match &ended {
            Ok(outcome) => coordinator::RunOutcome::from(outcome),
            Err(error) => coordinator::RunOutcome {
                status: RunStatus::Error,
                duration: Duration::ZERO,
                message: Some(format!("run task died: {error}")),
            },
        };
        self.finish(&keeper, &outcome, shutdown).await;
        keeper.stop();
        ended
    }

    /// Records the outcome of a tick this replica won but did not run (overlap = skip).
    pub(crate) async fn finish_skipped(self, shutdown: &CancellationToken) {
        let keeper = LeaseKeeper::start(
            Arc::clone(&self.coordination.coordinator),
            self.token.clone(),
            self.coordination.lease,
        );
        let outcome = coordinator::RunOutcome {
            status: RunStatus::Cancelled,
            duration: Duration::ZERO,
            message: Some("skipped: the previous run was still running (overlap = skip)".into()),
        };
        self.finish(&keeper, &outcome, shutdown).await;
        keeper.stop();
    }

    /// Finishes the claim; while the backend fails, retries as long as the lease is held (the
    /// keeper still renews it) and the scheduler is not shutting down.
    async fn finish(
        &self,
        keeper: &LeaseKeeper,
        outcome: &coordinator::RunOutcome,
        shutdown: &CancellationToken,
    ) {
        let token = &self.token;
        loop {
            let error: CoordinatorError =
                match self.coordination.coordinator.finish(token, outcome).await {
                    Ok(true) => return,
                    Ok(false) => {
                        tracing::warn!(
                            slug = %token.slug,
                            tick = %token.tick,
                            "outcome not recorded: another replica took the tick over"
                        );
                        return;
                    }
                    Err(error) => error,
                };
            if keeper.is_lost().is_some() || shutdown.is_cancelled() {
                tracing::error!(
                    slug = %token.slug,
                    tick = %token.tick,
                    %error,
                    "outcome not recorded: the coordinator is unreachable; another replica may run the tick again once the lease expires"
                );
                return;
            }
            tracing::warn!(slug = %token.slug, tick = %token.tick, %error, "recording the outcome failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(self.coordination.retry_delay()) => {}
                _ = keeper.lost() => {}
                () = shutdown.cancelled() => {}
            }
        }
    }
}

/// The tick to catch up at start-up for `job`, if it has a catch-up window, the coordinator
/// keeps claims across restarts and a tick within the window has no claim.
pub(crate) async fn catch_up(
    coordination: &Coordination,
    job: &Job,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let window = job.policy.catch_up?;
    if !coordination.coordinator.is_persistent() {
        tracing::warn!(slug = %job.slug, "catch-up needs a persistent coordinator; skipped");
        return None;
    }
    coordination.ensure_prepared().await;
    let last = match coordination.coordinator.last_claimed_tick(&job.slug).await {
        Ok(last) => last,
        Err(error) => {
            tracing::error!(slug = %job.slug, %error, "catch-up skipped: the coordinator is unreachable");
            return None;
        }
    };
    let window_start = TimeDelta::from_std(window)
        .ok()
        .and_then(|w| now.checked_sub_signed(w))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // Only ticks after the last claimed one count; start there when it is inside the window.
    let from = last.map_or(window_start, |last| last.max(window_start));
    let due = job
        .schedule
        .upcoming(from, job.timezone)
        .take_while(|tick| *tick <= now);
    if let Some(tick) = catch_up_tick(last, due) {
        tracing::info!(slug = %job.slug, tick = %tick, last_claimed = ?last, "catching up a missed tick");
        return Some(tick);
    }
    // The last claimed tick may be unfinished: its replica may have died (perhaps this
    // process, restarting). Claim it like the others did: once its lease has expired, one
    // replica takes it over.
    let last = last.filter(|last| *last > window_start)?;
    match coordination.coordinator.history(&job.slug, 1).await {
        Ok(records) => records
            .into_iter()
            .find(|record| record.tick == last && record.finished_at.is_none())
            .map(|record| {
                tracing::info!(slug = %job.slug, tick = %record.tick, owner = %record.owner, "the last claimed tick is unfinished; taking it over once its lease expires");
                record.tick
            }),
        Err(error) => {
            tracing::error!(slug = %job.slug, %error, "catch-up skipped: the coordinator is unreachable");
            None
        }
    }
}

/// Prunes old claims now and then every `prune_every` until shutdown.
pub(crate) async fn prune_loop(coordination: Arc<Coordination>, shutdown: CancellationToken) {
    loop {
        coordination.ensure_prepared().await;
        match coordination.coordinator.prune().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old claims pruned"),
            Err(error) => tracing::warn!(%error, "pruning old claims failed"),
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(coordination.prune_every) => {}
        }
    }
}
