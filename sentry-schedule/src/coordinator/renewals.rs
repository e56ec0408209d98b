//! One renewal task per replica: the leases of the claims it holds are extended in one
//! [`Coordinator::renew_many`] per renewal period (a third of the lease), whatever the number
//! of jobs (a claim younger than three quarters of a period waits for the next round, see
//! [`Renewals::renew_round`]); the runs whose lease was lost are told.
use super::{one_each, ClaimToken, Coordinator, BATCH_MAX};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How many claims a summary line names before it only counts.
const NAMED: usize = 10;

/// The claims a replica holds and renews. Cheap to clone (shared).
#[derive(Clone)]
pub(crate) struct Renewals {
    shared: Arc<Shared>,
}

struct Shared {
    coordinator: Arc<dyn Coordinator>,
    lease: Duration,
    next_id: AtomicU64,
    held: Mutex<HashMap<u64, Entry>>,
}

struct Entry {
    token: ClaimToken,
    /// When the lease was last known to be extended (registration, then each renewal sent
    /// before it succeeded), on the monotonic clock.
    renewed: Instant,
    state: Arc<LeaseState>,
}

/// Why a held claim was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaseLost {
    /// The backend says the claim is no longer ours: another replica took the tick over.
    TakenOver,
    /// No renewal succeeded for a whole lease (backend unreachable): another replica may take
    /// the tick over from now on.
    Unreachable,
}

/// Whether a claim's lease was lost, and why.
#[derive(Default)]
struct LeaseState {
    lost: CancellationToken,
    reason: OnceLock<LeaseLost>,
}

impl LeaseState {
    fn lose(&self, reason: LeaseLost) {
        let _ = self.reason.set(reason);
        self.lost.cancel();
    }
}

/// A claim this replica holds: renewed until dropped, or until its lease is lost.
pub(crate) struct HeldLease {
    id: u64,
    token: ClaimToken,
    state: Arc<LeaseState>,
    shared: Arc<Shared>,
}

impl HeldLease {
    /// The claim.
    pub(crate) fn token(&self) -> &ClaimToken {
        &self.token
    }

    /// Resolves when the lease is lost, with the reason; pending while it is held.
    pub(crate) async fn lost(&self) -> LeaseLost {
        self.watch().lost().await
    }

    /// The reason if the lease was lost already.
    pub(crate) fn is_lost(&self) -> Option<LeaseLost> {
        self.state.reason.get().copied()
    }

    /// A watch on the loss of this lease, for the run holding it.
    pub(crate) fn watch(&self) -> LeaseWatch {
        LeaseWatch(Arc::clone(&self.state))
    }
}

impl std::fmt::Debug for HeldLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLease")
            .field("token", &self.token)
            .field("lost", &self.is_lost())
            .finish()
    }
}

/// Tells a run when the lease it holds is lost.
pub(crate) struct LeaseWatch(Arc<LeaseState>);

impl LeaseWatch {
    /// Resolves when the lease is lost, with the reason; pending while it is held.
    pub(crate) async fn lost(&self) -> LeaseLost {
        self.0.lost.cancelled().await;
        self.0
            .reason
            .get()
            .copied()
            .unwrap_or(LeaseLost::Unreachable)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.shared.held().remove(&self.id);
    }
}

impl Shared {
    fn held(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        // Each update is a single insert or remove: a poisoned map is still consistent.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Renewals {
    /// Renewals of claims won for `lease` on `coordinator`; nothing runs until [`Renewals::run`].
    pub(crate) fn new(coordinator: Arc<dyn Coordinator>, lease: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                coordinator,
                lease,
                next_id: AtomicU64::new(0),
                held: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The renewal period: a third of the lease, so two renewals may fail before it expires.
    pub(crate) fn period(&self) -> Duration {
        (self.shared.lease / 3).max(Duration::from_millis(10))
    }

    /// Holds `token`, won just now: renewed from the next round on, until the returned
    /// handle is dropped.
    pub(crate) fn hold(&self, token: ClaimToken) -> HeldLease {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(LeaseState::default());
        self.shared.held().insert(
            id,
            Entry {
                token: token.clone(),
                renewed: Instant::now(),
                state: Arc::clone(&state),
            },
        );
        HeldLease {
            id,
            token,
            state,
            shared: Arc::clone(&self.shared),
        }
    }

    /// The ticks of `ticks` this replica does not hold, in order (its own expired claims are
    /// not for its sweep to take over). One pass over the held claims, however many ticks.
    pub(crate) fn not_held(
        &self,
        mut ticks: Vec<(String, DateTime<Utc>)>,
    ) -> Vec<(String, DateTime<Utc>)> {
        if ticks.is_empty() {
            return ticks;
        }
        let held = self.shared.held();
        let mine: HashSet<(&str, DateTime<Utc>)> = held
            .values()
            .map(|entry| (entry.token.slug.as_str(), entry.token.tick))
            .collect();
        ticks.retain(|(slug, tick)| !mine.contains(&(slug.as_str(), *tick)));
        ticks
    }

    /// Whether this replica holds the tick `(slug, tick)`.
    #[cfg(test)]
    pub(crate) fn holds(&self, slug: &str, tick: DateTime<Utc>) -> bool {
        self.not_held(vec![(slug.to_owned(), tick)]).is_empty()
    }

    /// How many claims are held.
    pub(crate) fn len(&self) -> usize {
        self.shared.held().len()
    }

    /// Renews every held claim once per [`Renewals::period`] until `stop`.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(self.period());
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            self.renew_round().await;
        }
    }

    /// One round: every held claim that needs it, in one `renew_many` per [`BATCH_MAX`] of
    /// them.
    ///
    /// A claim won or renewed less than three quarters of a period ago is left to the next
    /// round: it is renewed in that round, with more than a period and a quarter of its lease
    /// left, so a failed round still leaves a quarter of a period before the following one
    /// (a claim held longer has two rounds to spare, as before). A run shorter than three
    /// quarters of a period is therefore never renewed at all (its outcome ends the claim
    /// first), which is most runs. A claim is made up to half a second before its tick
    /// ([`Claimer::ahead`](super::claimer::Claimer::ahead)): with half a period instead, a
    /// round just after a tick renewed the whole instant's claims whenever the lease was
    /// short.
    pub(crate) async fn renew_round(&self) {
        let fresh = self.period() * 3 / 4;
        let (ids, tokens): (Vec<u64>, Vec<ClaimToken>) = self
            .shared
            .held()
            .iter()
            .filter(|(_, entry)| entry.renewed.elapsed() >= fresh)
            .map(|(id, entry)| (*id, entry.token.clone()))
            .unzip();
        for (ids, tokens) in ids.chunks(BATCH_MAX).zip(tokens.chunks(BATCH_MAX)) {
            if !self.renew_batch(ids, tokens).await {
                // The backend failed: the rest waits for the next round.
                return;
            }
        }
    }

    /// Renews `tokens` (held as `ids`) in one `renew_many`; `false` when the backend failed.
    async fn renew_batch(&self, ids: &[u64], tokens: &[ClaimToken]) -> bool {
        let sent = Instant::now();
        let answers = self
            .shared
            .coordinator
            .renew_many(tokens, self.shared.lease)
            .await
            .and_then(|answers| {
                one_each(
                    format_args!("renewing {} claims", tokens.len()),
                    tokens.len(),
                    answers,
                )
            });
        let mut held = self.shared.held();
        match answers {
            Ok(answers) => {
                let mut lost = Vec::new();
                for (id, renewed) in ids.iter().zip(answers) {
                    if renewed {
                        if let Some(entry) = held.get_mut(id) {
                            entry.renewed = sent;
                        }
                    } else if let Some(entry) = held.remove(id) {
                        entry.state.lose(LeaseLost::TakenOver);
                        lost.push(entry.token);
                    }
                }
                drop(held);
                if !lost.is_empty() {
                    tracing::warn!(
                        lost = lost.len(),
                        ticks = %name_some(&lost),
                        "lease lost: another replica took the tick over"
                    );
                }
                true
            }
            Err(error) => {
                let lease = self.shared.lease;
                let expired: Vec<u64> = held
                    .iter()
                    .filter(|(_, entry)| entry.renewed.elapsed() >= lease)
                    .map(|(id, _)| *id)
                    .collect();
                let expired: Vec<ClaimToken> = expired
                    .into_iter()
                    .filter_map(|id| held.remove(&id))
                    .map(|entry| {
                        entry.state.lose(LeaseLost::Unreachable);
                        entry.token
                    })
                    .collect();
                let retrying = held.len();
                drop(held);
                if !expired.is_empty() {
                    tracing::error!(
                        expired = expired.len(),
                        ticks = %name_some(&expired),
                        %error,
                        "lease expired: the coordinator was unreachable for a whole lease"
                    );
                }
                if retrying > 0 {
                    tracing::warn!(claims = retrying, %error, "lease renewal failed, retrying");
                }
                false
            }
        }
    }
}

/// `slug@tick` of the first [`NAMED`] claims, then how many more.
pub(crate) fn name_some(tokens: &[ClaimToken]) -> String {
    let mut names: Vec<String> = tokens
        .iter()
        .take(NAMED)
        .map(|t| format!("{}@{}", t.slug, t.tick.to_rfc3339()))
        .collect();
    if tokens.len() > NAMED {
        names.push(format!("and {} more", tokens.len() - NAMED));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::test_support::{tick, LEASE};
    use crate::coordinator::{Claim, InProcess, RunOutcome, RunStatus};

    async fn won(c: &InProcess, slug: &str, minute: u32) -> ClaimToken {
        match c.claim(slug, tick(minute), LEASE).await.unwrap() {
            Claim::Won(token) => token,
            Claim::Lost(held) => panic!("lost to {held:?}"),
            Claim::Paused => panic!("paused"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn held_claims_are_renewed_until_one_is_taken_over() {
        // Leases on a wall clock that follows tokio's paused clock.
        let clock = Arc::new(crate::clock::TestClock::new(tick(0)));
        let coordinator = Arc::new(InProcess::with_clock(clock));
        let renewals = Renewals::new(coordinator.clone(), LEASE);
        let a = renewals.hold(won(&coordinator, "a", 1).await);
        let b = renewals.hold(won(&coordinator, "b", 1).await);
        let unheld = won(&coordinator, "c", 1).await;
        let stop = CancellationToken::new();
        let task = tokio::spawn(renewals.clone().run(stop.clone()));
        tokio::time::sleep(LEASE * 3).await;
        assert_eq!((a.is_lost(), b.is_lost()), (None, None));
        assert!(renewals.holds("a", tick(1)));
        // Three leases later the held claims still run; the one nobody renewed expired.
        for slug in ["a", "b"] {
            let claim = coordinator.take_over(slug, tick(1), LEASE).await.unwrap();
            assert!(matches!(claim, Claim::Lost(_)), "{slug} was not renewed");
        }
        let claim = coordinator.take_over("c", tick(1), LEASE).await.unwrap();
        assert!(matches!(claim, Claim::Won(_)), "{unheld:?} was renewed");
        // b's claim ends under it (as after a take-over): the next round tells b, not a.
        let outcome = RunOutcome::new(RunStatus::Ok, Duration::ZERO);
        assert!(coordinator.finish(b.token(), &outcome).await.unwrap());
        let started = Instant::now();
        assert_eq!(b.lost().await, LeaseLost::TakenOver);
        assert!(started.elapsed() <= renewals.period());
        assert_eq!(a.is_lost(), None);
        assert_eq!(renewals.len(), 1);
        drop(a);
        assert_eq!(renewals.len(), 0);
        assert!(!renewals.holds("a", tick(1)));
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_younger_than_three_quarters_of_a_period_waits_for_the_next_round() {
        let clock = Arc::new(crate::clock::TestClock::new(tick(0)));
        let coordinator = Arc::new(InProcess::with_clock(clock));
        let renewals = Renewals::new(coordinator.clone(), LEASE);
        let held = renewals.hold(won(&coordinator, "a", 1).await);
        let lease_until = || async { coordinator.history("a", 1).await.unwrap()[0].lease_until };
        let won_until = lease_until().await;
        assert_eq!(won_until, tick(0) + chrono::TimeDelta::seconds(30));
        // Half a period (5 s) after the claim: too fresh to renew.
        tokio::time::sleep(Duration::from_secs(5)).await;
        renewals.renew_round().await;
        assert_eq!(lease_until().await, won_until, "renewed while fresh");
        // Three quarters of a period (7.5 s) after it: renewed for a whole lease from now.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        renewals.renew_round().await;
        assert_eq!(
            lease_until().await,
            tick(0) + chrono::TimeDelta::milliseconds(37_500),
            "not renewed at three quarters of a period"
        );
        assert_eq!(held.is_lost(), None);
    }

    #[cfg(feature = "postgres")]
    #[tokio::test(start_paused = true)]
    async fn an_unreachable_backend_loses_the_lease_after_a_whole_lease_only() {
        // A real PostgreSQL client against a port nobody listens on: every call fails.
        let unreachable = crate::coordinator::Postgres::connect_lazy(
            "postgres://nobody@127.0.0.1:9/none",
            crate::coordinator::PostgresOptions::default(),
        )
        .unwrap();
        let renewals = Renewals::new(Arc::new(unreachable), LEASE);
        let token = won(&InProcess::new(), "a", 1).await;
        let held = renewals.hold(token);
        let started = Instant::now();
        for _ in 0..2 {
            renewals.renew_round().await;
            assert_eq!(held.is_lost(), None, "lost before a whole lease");
            tokio::time::sleep(renewals.period()).await;
        }
        while held.is_lost().is_none() {
            renewals.renew_round().await;
            tokio::time::sleep(renewals.period()).await;
        }
        assert_eq!(held.is_lost(), Some(LeaseLost::Unreachable));
        assert!(started.elapsed() >= LEASE);
        assert!(started.elapsed() <= LEASE + renewals.period() * 2);
        assert_eq!(renewals.len(), 0);
    }
}
