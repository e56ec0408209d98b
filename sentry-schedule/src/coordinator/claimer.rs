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
//! [`Lease::finish`], behind which the replica's coordination tasks
//! ([`Replica`](super::replica::Replica)) batch them: one renewal of every held claim per
//! renewal period, outcomes written in batches. A tick another replica holds is not watched:
//! the replica's take-over sweep runs it if its holder's lease expires.
use super::renewals::{HeldLease, LeaseLost, LeaseWatch};
use super::replica::Replica;
use super::{
    catch_up_tick, report_claim_error, Claim, Coordinator, CoordinatorError, OnCoordinatorError,
    RunOutcome, RunStatus,
};
use crate::job::Job;
use crate::metrics::SkipReason;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often old claims are pruned unless set otherwise.
pub(crate) const DEFAULT_PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Shortest wait between two attempts when the backend failed.
const MIN_RETRY: Duration = Duration::from_millis(100);
/// Longest wait between two attempts when the backend failed.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// How long before a tick its claim is made, at most (see [`Claimer::ahead`]).
const CLAIM_AHEAD: Duration = Duration::from_millis(500);

/// The configured coordinator and how the scheduler claims ticks with it.
pub(crate) struct Claimer {
    pub(crate) coordinator: Arc<dyn Coordinator>,
    pub(crate) lease: Duration,
    on_error: OnCoordinatorError,
    pub(crate) prune_every: Duration,
    prepared: AtomicBool,
    /// The coordination tasks while the scheduler runs ([`Claimer::start`]).
    replica: OnceLock<Replica>,
}

/// What the claim step decided for one tick.
#[derive(Debug)]
pub(crate) enum Decision {
    /// This replica won the tick: run it holding the lease.
    Run(Lease),
    /// The coordinator could not be reached and the policy is to fail open: run it unclaimed.
    RunUnclaimed,
    /// Do not run it, for the reason given: another replica runs or ran it (if that replica
    /// dies, the take-over sweep runs it once its lease expires), or the claim failed
    /// (policy skip); `None`: the scheduler is shutting down.
    Skip(Option<SkipReason>),
    /// Do not run it: the job is paused (the backend recorded the tick as paused).
    Paused,
}

/// A won claim, renewed by the replica's renewals from the moment it was won: the run that
/// holds it watches its lease ([`Lease::keep`]) and leaves its outcome to the replica's
/// outcome writer ([`Lease::finish`]).
#[derive(Debug)]
pub(crate) struct Lease {
    claimer: Arc<Claimer>,
    held: HeldLease,
}

/// The watch on a [`Lease`] while its run goes on.
pub(crate) struct Kept(LeaseWatch);

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
            replica: OnceLock::new(),
        }
    }

    /// Starts the replica's coordination tasks (needs a tokio runtime): the renewals of held
    /// claims, the outcome writer, and the take-over sweep of `slugs`, which hands each tick
    /// it takes over to `run`. The sweep looks at ticks from `now` minus the lease and the
    /// longest catch-up window `catch_up` on: what this replica could have lost while
    /// starting (catch-up claims ticks of that window).
    pub(crate) fn start(
        self: &Arc<Self>,
        slugs: Vec<String>,
        now: DateTime<Utc>,
        catch_up: Duration,
        run: impl Fn(Lease) + Send + 'static,
    ) {
        let replica = self.replica.get_or_init(|| {
            Replica::start(
                Arc::clone(&self.coordinator),
                self.lease,
                self.retry_delay(),
            )
        });
        let since = TimeDelta::from_std(catch_up.saturating_add(self.lease))
            .ok()
            .and_then(|back| now.checked_sub_signed(back))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let claimer = Arc::clone(self);
        replica.sweep(slugs, since, move |held| {
            run(Lease {
                claimer: Arc::clone(&claimer),
                held,
            });
        });
    }

    /// No new take-overs: the scheduler is stopping.
    pub(crate) fn stop_claiming(&self) {
        if let Some(replica) = self.replica.get() {
            replica.stop_claiming();
        }
    }

    /// After the last run: writes the outcomes still queued, then stops the coordination
    /// tasks.
    pub(crate) async fn close(&self) {
        if let Some(replica) = self.replica.get() {
            replica.close().await;
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

    /// How long before an instant the dispatcher hands its runs to the claim step: the
    /// claim's round trip is then made while the tick is still ahead, and the runs won start
    /// on their tick instead of a round trip after it. Half a second, or a quarter of the
    /// lease if that is shorter, so that a claim made ahead is renewed (every third of the
    /// lease) long before it could expire. Below one second, the shortest spacing of two
    /// ticks: one wake-up claims one instant.
    pub(crate) fn ahead(&self) -> Duration {
        CLAIM_AHEAD.min(self.lease / 4)
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
            () = shutdown.cancelled() => return ticks.iter().map(|_| Decision::Skip(None)).collect(),
            claimed = self.coordinator.claim_many(ticks, self.lease) => claimed,
        };
        match claimed {
            Ok(claims) if claims.len() == ticks.len() => ticks
                .iter()
                .zip(claims)
                .map(|(&(slug, tick), claim)| self.decide(slug, tick, claim))
                .collect(),
            Ok(claims) => {
                let error = CoordinatorError::Data(format!(
                    "claim_many answered {} claims for {} ticks",
                    claims.len(),
                    ticks.len()
                ));
                self.failed(ticks, &error)
            }
            Err(error) => self.failed(ticks, &error),
        }
    }

    /// The decision for a tick the backend answered `claim` for.
    fn decide(self: &Arc<Self>, slug: &str, tick: DateTime<Utc>, claim: Claim) -> Decision {
        match claim {
            Claim::Won(token) => match self.replica.get() {
                Some(replica) => Decision::Run(Lease {
                    claimer: Arc::clone(self),
                    held: replica.hold(token),
                }),
                None => {
                    // Claims come from the dispatcher, which starts after `start`.
                    tracing::error!(slug = %slug, tick = %tick, "a tick was won before the coordination tasks started; not run (another replica takes it over after the lease)");
                    Decision::Skip(Some(SkipReason::CoordinatorError))
                }
            },
            Claim::Lost(held) if held.finished => {
                tracing::debug!(slug = %slug, tick = %tick, owner = %held.owner, "tick already run by another replica");
                Decision::Skip(Some(SkipReason::NotClaimed))
            }
            Claim::Lost(held) => {
                tracing::debug!(
                    slug = %slug,
                    tick = %tick,
                    owner = %held.owner,
                    "tick held by another replica; the take-over sweep runs it if its lease expires"
                );
                Decision::Skip(Some(SkipReason::NotClaimed))
            }
            Claim::Paused => {
                tracing::debug!(slug = %slug, tick = %tick, "tick not run: the job is paused");
                Decision::Paused
            }
        }
    }

    /// The decisions for ticks whose claim failed: reported (one log line for the batch),
    /// then the configured policy.
    fn failed(&self, ticks: &[(&str, DateTime<Utc>)], error: &CoordinatorError) -> Vec<Decision> {
        report_claim_error(ticks, error, self.on_error);
        ticks
            .iter()
            .map(|_| match self.on_error {
                OnCoordinatorError::Skip => Decision::Skip(Some(SkipReason::CoordinatorError)),
                OnCoordinatorError::RunAnyway => Decision::RunUnclaimed,
            })
            .collect()
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
        // process, restarting). Claim it like the others did; once its lease has expired, the
        // take-over sweep of one replica runs it.
        let last = last.filter(|last| *last > window_start)?;
        match self.coordinator.history(&job.slug, 1).await {
            Ok(records) => records
                .into_iter()
                .find(|record| record.tick == last && record.finished_at.is_none())
                .map(|record| {
                    tracing::info!(slug = %job.slug, tick = %record.tick, owner = %record.owner, "the last claimed tick is unfinished; the take-over sweep runs it once its lease expires");
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
    /// The job's slug of the tick this lease holds.
    pub(crate) fn slug(&self) -> &str {
        &self.held.token().slug
    }

    /// The tick this lease holds.
    pub(crate) fn tick(&self) -> DateTime<Utc> {
        self.held.token().tick
    }

    /// The fencing token of the claim, for the run's `JobContext`.
    pub(crate) fn fencing_token(&self) -> u64 {
        self.held.token().fencing_token
    }

    /// Watches the lease while the run goes on (the renewal seam: the replica's renewals
    /// renew it with every other held claim).
    pub(crate) fn keep(&self) -> Kept {
        Kept(self.held.watch())
    }

    /// Leaves `outcome` to the replica's outcome writer (the outcome seam): the run is over
    /// now; the claim stays held and renewed until the outcome is written, retried while the
    /// backend fails, counted and logged if it never can be.
    pub(crate) fn finish(self, kept: Kept, outcome: &RunOutcome) {
        drop(kept);
        match self.claimer.replica.get() {
            Some(replica) => replica.record(self.held, outcome.clone()),
            None => tracing::error!(
                slug = %self.held.token().slug,
                tick = %self.held.token().tick,
                "outcome not recorded: the coordination tasks are not running"
            ),
        }
    }

    /// Records a tick this replica won but did not run (overlap = skip) as `cancelled`, so no
    /// other replica takes it over.
    pub(crate) fn finish_unrun(self) {
        let kept = self.keep();
        let outcome = RunOutcome {
            status: RunStatus::Cancelled,
            duration: Duration::ZERO,
            message: Some("skipped: the previous run was still running (overlap = skip)".into()),
        };
        self.finish(kept, &outcome);
    }
}

impl Kept {
    /// Resolves when the lease is lost, with the reason; pending while it is held.
    pub(crate) async fn lost(&self) -> LeaseLost {
        self.0.lost().await
    }
}
