//! The claim step of the run pipeline: claiming ticks through the configured [`Coordinator`]
//! and deciding whether this replica runs them; keeping a won claim's lease while its run goes
//! on and recording the outcome; the catch-up tick at start-up; pruning.
//!
//! It decides and never starts anything: [`Claimer::claim`] answers every tick of a batch with
//! a [`Decision`], and the pipeline (`run::pipeline`) acts on it. Only used when a coordinator
//! was configured on the builder; the default scheduler has no claim path at all, so a single
//! process pays nothing per run.
//!
//! Lease renewal and outcome writing each go through one seam, [`Lease::keep`] and
//! [`Lease::finish`], so their backend calls can be batched behind them.
use super::{
    catch_up_tick, report_claim_error, Claim, ClaimToken, Coordinator, CoordinatorError, Held,
    LeaseKeeper, LeaseLost, OnCoordinatorError, RunOutcome, RunStatus,
};
use crate::job::Job;
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

/// The configured coordinator and how the scheduler claims ticks with it.
pub(crate) struct Claimer {
    pub(crate) coordinator: Arc<dyn Coordinator>,
    pub(crate) lease: Duration,
    on_error: OnCoordinatorError,
    pub(crate) prune_every: Duration,
    prepared: AtomicBool,
}

/// What the claim step decided for one tick.
#[derive(Debug)]
pub(crate) enum Decision {
    /// This replica won the tick: run it holding the lease.
    Run(Lease),
    /// The coordinator could not be reached and the policy is to fail open: run it unclaimed.
    RunUnclaimed,
    /// Do not run it: another replica runs or ran it, the claim failed (policy skip), or the
    /// scheduler is shutting down.
    Skip,
    /// Another replica holds the tick unfinished: not run now; once the holder's lease has
    /// expired, [`Claimer::take_over_when_expired`] tries to take it over.
    TakeOverLater(Held),
}

/// A won claim: the run that holds it keeps its lease ([`Lease::keep`]) and records its
/// outcome ([`Lease::finish`]).
#[derive(Debug)]
pub(crate) struct Lease {
    claimer: Arc<Claimer>,
    token: ClaimToken,
    /// The scheduler's shutdown: recording the outcome stops retrying once it fires.
    shutdown: CancellationToken,
}

/// The renewals of a [`Lease`] while its run goes on.
pub(crate) struct Kept(LeaseKeeper);

impl Claimer {
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

    /// Claims every tick of `ticks` (`(slug, tick)`, distinct) in one
    /// [`Coordinator::claim_many`] call and decides for each, in order. All `Skip` when the
    /// scheduler shuts down first.
    pub(crate) async fn claim(
        self: &Arc<Self>,
        ticks: &[(&str, DateTime<Utc>)],
        shutdown: &CancellationToken,
    ) -> Vec<Decision> {
        self.ensure_prepared().await;
        let claimed = tokio::select! {
            biased;
            () = shutdown.cancelled() => return ticks.iter().map(|_| Decision::Skip).collect(),
            claimed = self.coordinator.claim_many(ticks, self.lease) => claimed,
        };
        match claimed {
            Ok(claims) if claims.len() == ticks.len() => ticks
                .iter()
                .zip(claims)
                .map(|(&(slug, tick), claim)| self.decide(slug, tick, claim, shutdown))
                .collect(),
            Ok(claims) => {
                let error = CoordinatorError::Data(format!(
                    "claim_many answered {} claims for {} ticks",
                    claims.len(),
                    ticks.len()
                ));
                ticks
                    .iter()
                    .map(|&(slug, tick)| self.failed(slug, tick, &error))
                    .collect()
            }
            Err(error) => ticks
                .iter()
                .map(|&(slug, tick)| self.failed(slug, tick, &error))
                .collect(),
        }
    }

    /// The decision for a tick the backend answered `claim` for.
    fn decide(
        self: &Arc<Self>,
        slug: &str,
        tick: DateTime<Utc>,
        claim: Claim,
        shutdown: &CancellationToken,
    ) -> Decision {
        match claim {
            Claim::Won(token) => Decision::Run(self.lease(token, shutdown)),
            Claim::Lost(held) if held.finished => {
                tracing::debug!(slug = %slug, tick = %tick, owner = %held.owner, "tick already run by another replica");
                Decision::Skip
            }
            Claim::Lost(held) => {
                tracing::debug!(
                    slug = %slug,
                    tick = %tick,
                    owner = %held.owner,
                    "tick held by another replica; taking it over if its lease expires"
                );
                Decision::TakeOverLater(held)
            }
        }
    }

    /// The decision for a tick whose claim failed: reported, then the configured policy.
    fn failed(&self, slug: &str, tick: DateTime<Utc>, error: &CoordinatorError) -> Decision {
        report_claim_error(slug, tick, error, self.on_error);
        match self.on_error {
            OnCoordinatorError::Skip => Decision::Skip,
            OnCoordinatorError::RunAnyway => Decision::RunUnclaimed,
        }
    }

    fn lease(self: &Arc<Self>, token: ClaimToken, shutdown: &CancellationToken) -> Lease {
        Lease {
            claimer: Arc::clone(self),
            token,
            shutdown: shutdown.clone(),
        }
    }

    /// Waits out the holder's lease and tries to take the tick over, until this replica wins it
    /// (`Some`), the tick is finished by someone, or the scheduler shuts down. This wait is not
    /// a run: the overlap policy does not see it.
    pub(crate) async fn take_over_when_expired(
        self: &Arc<Self>,
        slug: &str,
        tick: DateTime<Utc>,
        mut held: Held,
        shutdown: &CancellationToken,
    ) -> Option<Lease> {
        let mut wait = held.retry_in + TAKE_OVER_MARGIN;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(wait) => {}
            }
            match self.coordinator.take_over(slug, tick, self.lease).await {
                Ok(Claim::Won(token)) => {
                    tracing::warn!(
                        slug = %slug,
                        tick = %tick,
                        previous_owner = %held.owner,
                        "took the tick over: its holder's lease expired"
                    );
                    return Some(self.lease(token, shutdown));
                }
                Ok(Claim::Lost(now)) if now.finished => return None,
                Ok(Claim::Lost(now)) => {
                    wait = now.retry_in + TAKE_OVER_MARGIN;
                    held = now;
                }
                Err(error) => {
                    tracing::warn!(slug = %slug, tick = %tick, %error, "take-over attempt failed; retrying");
                    wait = self.retry_delay();
                }
            }
        }
    }

    /// The tick to catch up at start-up for `job`, if it has a catch-up window, the
    /// coordinator keeps claims across restarts and a tick within the window has no claim.
    pub(crate) async fn catch_up(&self, job: &Job, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let window = job.policy.catch_up?;
        if !self.coordinator.is_persistent() {
            tracing::warn!(slug = %job.slug, "catch-up needs a persistent coordinator; skipped");
            return None;
        }
        self.ensure_prepared().await;
        let last = match self.coordinator.last_claimed_tick(&job.slug).await {
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
        match self.coordinator.history(&job.slug, 1).await {
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
    pub(crate) async fn prune_loop(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            self.ensure_prepared().await;
            match self.coordinator.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "old claims pruned"),
                Err(error) => tracing::warn!(%error, "pruning old claims failed"),
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.prune_every) => {}
            }
        }
    }
}

impl std::fmt::Debug for Claimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimer")
            .field("replica", &self.coordinator.replica_id())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Starts renewing the lease while the run goes on (the renewal seam).
    pub(crate) fn keep(&self) -> Kept {
        Kept(LeaseKeeper::start(
            Arc::clone(&self.claimer.coordinator),
            self.token.clone(),
            self.claimer.lease,
        ))
    }

    /// Records `outcome` and stops the renewals (the outcome seam). While the backend fails it
    /// retries as long as the lease is held (still renewed) and the scheduler is not shutting
    /// down.
    pub(crate) async fn finish(self, kept: Kept, outcome: &RunOutcome) {
        let Kept(keeper) = kept;
        let token = &self.token;
        loop {
            let error = match self.claimer.coordinator.finish(token, outcome).await {
                Ok(true) => break,
                Ok(false) => {
                    tracing::warn!(
                        slug = %token.slug,
                        tick = %token.tick,
                        "outcome not recorded: another replica took the tick over"
                    );
                    break;
                }
                Err(error) => error,
            };
            if keeper.is_lost().is_some() || self.shutdown.is_cancelled() {
                tracing::error!(
                    slug = %token.slug,
                    tick = %token.tick,
                    %error,
                    "outcome not recorded: the coordinator is unreachable; another replica may run the tick again once the lease expires"
                );
                break;
            }
            tracing::warn!(slug = %token.slug, tick = %token.tick, %error, "recording the outcome failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(self.claimer.retry_delay()) => {}
                _ = keeper.lost() => {}
                () = self.shutdown.cancelled() => {}
            }
        }
        keeper.stop();
    }

    /// Records a tick this replica won but did not run (overlap = skip) as `cancelled`, so no
    /// other replica takes it over.
    pub(crate) async fn finish_unrun(self) {
        let kept = self.keep();
        let outcome = RunOutcome {
            status: RunStatus::Cancelled,
            duration: Duration::ZERO,
            message: Some("skipped: the previous run was still running (overlap = skip)".into()),
        };
        self.finish(kept, &outcome).await;
    }
}

impl Kept {
    /// Resolves when the lease is lost, with the reason; pending while it is held.
    pub(crate) async fn lost(&self) -> LeaseLost {
        self.0.lost().await
    }
}
