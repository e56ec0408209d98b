//! The default coordinator: one process, always the winner of new ticks.
use super::{
    new_token, Claim, ClaimToken, Coordinator, CoordinatorFuture, Holder, Pause, RunOutcome,
    RunRecord, RunStatus,
};
use crate::clock::{Clock, SystemClock};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The coordinator of a single process: no backend, claims kept in memory.
///
/// It follows the same protocol as the distributed backends (a tick is won once, a take-over
/// needs an expired lease), so the scheduler has one code path; with one process it simply wins
/// every new tick. It keeps the last [`InProcess::DEFAULT_HISTORY`] ticks of each job as
/// history. Claims do not survive the process, so catch-up is not available with it.
pub struct InProcess {
    replica_id: String,
    clock: Arc<dyn Clock>,
    keep: usize,
    jobs: Mutex<HashMap<String, BTreeMap<DateTime<Utc>, RunRecord>>>,
    tokens: Mutex<HashMap<(String, DateTime<Utc>), String>>,
    /// The last fencing token handed out.
    fencing: AtomicU64,
    pauses: Mutex<HashMap<String, Pause>>,
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("replica_id", &self.replica_id)
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// Ticks of history kept per job.
    pub const DEFAULT_HISTORY: usize = 100;

    /// An in-process coordinator on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An in-process coordinator whose leases and timestamps follow `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            replica_id: super::default_replica_id(),
            clock,
            keep: Self::DEFAULT_HISTORY,
            jobs: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            fencing: AtomicU64::new(0),
            pauses: Mutex::new(HashMap::new()),
        }
    }

    /// Keeps the last `ticks` ticks of each job (at least 1).
    pub fn history_len(mut self, ticks: usize) -> Self {
        self.keep = ticks.max(1);
        self
    }

    fn jobs(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<DateTime<Utc>, RunRecord>>> {
        // A panic while holding the lock cannot leave a record half-written (each update is a
        // single assignment), so a poisoned lock is still consistent.
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tokens(&self) -> MutexGuard<'_, HashMap<(String, DateTime<Utc>), String>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pause_book(&self) -> MutexGuard<'_, HashMap<String, Pause>> {
        self.pauses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `slug` is paused at `now`.
    fn is_paused(&self, slug: &str, now: DateTime<Utc>) -> bool {
        self.pause_book()
            .get(slug)
            .is_some_and(|pause| pause.is_active(now))
    }

    fn lease_end(&self, lease: Duration) -> DateTime<Utc> {
        let now = self.clock.now();
        chrono::Duration::from_std(lease)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn held(&self, record: &RunRecord) -> Holder {
        let now = self.clock.now();
        Holder {
            owner: record.owner.clone(),
            lease_until: record.lease_until,
            retry_in: (record.lease_until - now)
                .to_std()
                .unwrap_or(Duration::ZERO),
            finished: record.finished_at.is_some(),
        }
    }

    /// A fencing token greater than every one handed out before.
    fn next_fencing_token(&self) -> u64 {
        self.fencing.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn win(
        &self,
        slug: &str,
        tick: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        fencing_token: u64,
    ) -> ClaimToken {
        let token = new_token();
        self.tokens().insert((slug.to_owned(), tick), token.clone());
        ClaimToken {
            slug: slug.to_owned(),
            tick,
            token,
            lease_until,
            fencing_token,
        }
    }

    fn owns(&self, token: &ClaimToken) -> bool {
        self.tokens()
            .get(&(token.slug.clone(), token.tick))
            .is_some_and(|t| *t == token.token)
    }

    fn claim_now(&self, slug: &str, tick: DateTime<Utc>, lease: Duration) -> Claim {
        let now = self.clock.now();
        let lease_until = self.lease_end(lease);
        let mut jobs = self.jobs();
        let ticks = jobs.entry(slug.to_owned()).or_default();
        if let Some(record) = ticks.get(&tick) {
            if record.status == Some(RunStatus::Paused) {
                return Claim::Paused;
            }
            return Claim::Lost(self.held(record));
        }
        if self.is_paused(slug, now) {
            ticks.insert(
                tick,
                RunRecord {
                    slug: slug.to_owned(),
                    tick,
                    owner: self.replica_id.clone(),
                    claimed_at: now,
                    started_at: now,
                    lease_until: now,
                    finished_at: Some(now),
                    status: Some(RunStatus::Paused),
                    duration: None,
                    message: None,
                    takeovers: 0,
                    fencing_token: None,
                },
            );
            self.trim(slug, ticks);
            return Claim::Paused;
        }
        let fencing_token = self.next_fencing_token();
        ticks.insert(
            tick,
            RunRecord {
                slug: slug.to_owned(),
                tick,
                owner: self.replica_id.clone(),
                claimed_at: now,
                started_at: now.max(tick),
                lease_until,
                finished_at: None,
                status: None,
                duration: None,
                message: None,
                takeovers: 0,
                fencing_token: Some(fencing_token),
            },
        );
        self.trim(slug, ticks);
        drop(jobs);
        Claim::Won(self.win(slug, tick, lease_until, fencing_token))
    }

    /// Keeps the newest `keep` ticks of `slug`.
    fn trim(&self, slug: &str, ticks: &mut BTreeMap<DateTime<Utc>, RunRecord>) {
        while ticks.len() > self.keep {
            if let Some((oldest, _)) = ticks.pop_first() {
                self.tokens().remove(&(slug.to_owned(), oldest));
            }
        }
    }

    fn take_over_now(&self, slug: &str, tick: DateTime<Utc>, lease: Duration) -> Claim {
        let now = self.clock.now();
        let lease_until = self.lease_end(lease);
        let mut jobs = self.jobs();
        let Some(record) = jobs.get_mut(slug).and_then(|ticks| ticks.get_mut(&tick)) else {
            drop(jobs);
            return self.claim_now(slug, tick, lease);
        };
        if record.finished_at.is_some() || record.lease_until >= now {
            return Claim::Lost(self.held(record));
        }
        record.owner = self.replica_id.clone();
        record.started_at = now;
        record.lease_until = lease_until;
        record.takeovers = record.takeovers.saturating_add(1);
        let fencing_token = self.next_fencing_token();
        record.fencing_token = Some(fencing_token);
        drop(jobs);
        Claim::Won(self.win(slug, tick, lease_until, fencing_token))
    }

    fn renew_now(&self, token: &ClaimToken, lease: Duration) -> bool {
        if !self.owns(token) {
            return false;
        }
        let lease_until = self.lease_end(lease);
        let mut jobs = self.jobs();
        match jobs
            .get_mut(&token.slug)
            .and_then(|ticks| ticks.get_mut(&token.tick))
        {
            Some(record) if record.finished_at.is_none() => {
                record.lease_until = lease_until;
                true
            }
            _ => false,
        }
    }

    fn finish_now(&self, token: &ClaimToken, outcome: &RunOutcome) -> bool {
        if !self.owns(token) {
            return false;
        }
        let now = self.clock.now();
        let mut jobs = self.jobs();
        match jobs
            .get_mut(&token.slug)
            .and_then(|ticks| ticks.get_mut(&token.tick))
        {
            Some(record) if record.finished_at.is_none() => {
                record.finished_at = Some(now);
                record.lease_until = now;
                record.status = Some(outcome.status);
                record.duration = Some(outcome.duration);
                record.message = outcome.stored_message().map(str::to_owned);
                true
            }
            _ => false,
        }
    }
}

impl Coordinator for InProcess {
    fn replica_id(&self) -> &str {
        &self.replica_id
    }

    fn is_persistent(&self) -> bool {
        false
    }

    fn pause<'a>(
        &'a self,
        slug: &'a str,
        until: Option<DateTime<Utc>>,
        by: &'a str,
    ) -> CoordinatorFuture<'a, ()> {
        Box::pin(async move {
            let pause = Pause::new(slug, by, self.clock.now(), until);
            self.pause_book().insert(slug.to_owned(), pause);
            Ok(())
        })
    }

    fn resume<'a>(&'a self, slug: &'a str) -> CoordinatorFuture<'a, bool> {
        Box::pin(async move {
            let now = self.clock.now();
            Ok(self
                .pause_book()
                .remove(slug)
                .is_some_and(|pause| pause.is_active(now)))
        })
    }

    fn pauses<'a>(&'a self, slugs: &'a [&'a str]) -> CoordinatorFuture<'a, Vec<Pause>> {
        Box::pin(async move {
            let now = self.clock.now();
            let book = self.pause_book();
            Ok(slugs
                .iter()
                .filter_map(|slug| book.get(*slug))
                .filter(|pause| pause.is_active(now))
                .cloned()
                .collect())
        })
    }

    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        Box::pin(async move { Ok(self.claim_now(slug, tick, lease)) })
    }

    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        Box::pin(async move { Ok(self.take_over_now(slug, tick, lease)) })
    }

    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool> {
        Box::pin(async move { Ok(self.renew_now(token, lease)) })
    }

    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool> {
        Box::pin(async move { Ok(self.finish_now(token, outcome)) })
    }

    fn expired_claims<'a>(
        &'a self,
        slugs: &'a [&'a str],
        since: DateTime<Utc>,
    ) -> CoordinatorFuture<'a, Vec<(String, DateTime<Utc>)>> {
        Box::pin(async move {
            let now = self.clock.now();
            let jobs = self.jobs();
            Ok(slugs
                .iter()
                .filter_map(|slug| jobs.get(*slug))
                .flat_map(|ticks| ticks.range(since..).map(|(_, record)| record))
                .filter(|record| record.finished_at.is_none() && record.lease_until < now)
                .map(|record| (record.slug.clone(), record.tick))
                .collect())
        })
    }

    fn last_claimed_tick<'a>(
        &'a self,
        slug: &'a str,
    ) -> CoordinatorFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(async move {
            Ok(self
                .jobs()
                .get(slug)
                .and_then(|ticks| ticks.last_key_value().map(|(tick, _)| *tick)))
        })
    }

    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>> {
        Box::pin(async move {
            Ok(self
                .jobs()
                .get(slug)
                .map(|ticks| ticks.values().rev().take(limit).cloned().collect())
                .unwrap_or_default())
        })
    }

    fn prune(&self) -> CoordinatorFuture<'_, u64> {
        // History is bounded by `history_len` as claims are made.
        Box::pin(async { Ok(0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::RunStatus;
    use chrono::TimeZone;

    struct ManualClock(Mutex<DateTime<Utc>>);
    impl Clock for ManualClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }
    impl ManualClock {
        fn advance(&self, secs: i64) {
            *self.0.lock().unwrap() += chrono::Duration::seconds(secs);
        }
    }

    fn setup() -> (Arc<ManualClock>, InProcess) {
        let clock = Arc::new(ManualClock(Mutex::new(
            Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        )));
        let coordinator = InProcess::with_clock(clock.clone());
        (clock, coordinator)
    }

    use crate::coordinator::test_support::{tick, LEASE};

    #[tokio::test]
    async fn fencing_tokens_grow_with_every_claim_and_take_over() {
        let (clock, c) = setup();
        let token = |claim: Claim| match claim {
            Claim::Won(token) => token.fencing_token,
            Claim::Lost(held) => panic!("lost to {held:?}"),
            Claim::Paused => panic!("paused"),
        };
        let first = token(c.claim("job", tick(1), LEASE).await.unwrap());
        let second = token(c.claim("job", tick(2), LEASE).await.unwrap());
        clock.advance(LEASE.as_secs() as i64 + 1);
        let taken = token(c.take_over("job", tick(1), LEASE).await.unwrap());
        let third = token(c.claim("job", tick(3), LEASE).await.unwrap());
        assert!(first < second && second < taken && taken < third);
        let history = c.history("job", 3).await.unwrap();
        assert_eq!(history[2].fencing_token, Some(taken));
    }

    #[tokio::test]
    async fn a_tick_is_won_once() {
        let (_, c) = setup();
        assert!(matches!(
            c.claim("job", tick(1), LEASE).await.unwrap(),
            Claim::Won(_)
        ));
        let Claim::Lost(held) = c.claim("job", tick(1), LEASE).await.unwrap() else {
            panic!("second claim won");
        };
        assert_eq!(held.retry_in, LEASE);
        assert!(!held.finished);
        assert!(matches!(
            c.claim("other", tick(1), LEASE).await.unwrap(),
            Claim::Won(_)
        ));
    }

    #[tokio::test]
    async fn take_over_needs_an_expired_lease_and_invalidates_the_old_token() {
        let (clock, c) = setup();
        let Claim::Won(old) = c.claim("job", tick(1), LEASE).await.unwrap() else {
            panic!()
        };
        clock.advance(29);
        assert!(matches!(
            c.take_over("job", tick(1), LEASE).await.unwrap(),
            Claim::Lost(_)
        ));
        clock.advance(2);
        let Claim::Won(new) = c.take_over("job", tick(1), LEASE).await.unwrap() else {
            panic!("expired lease not taken over")
        };
        assert_ne!(old.token, new.token);
        assert!(!c.renew(&old, LEASE).await.unwrap());
        let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_secs(3));
        assert!(!c.finish(&old, &outcome).await.unwrap());
        assert!(c.finish(&new, &outcome).await.unwrap());
        let history = c.history("job", 10).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].takeovers, 1);
        assert_eq!(history[0].status, Some(RunStatus::Ok));
        assert_eq!(history[0].duration, Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn renew_keeps_the_tick() {
        let (clock, c) = setup();
        let Claim::Won(token) = c.claim("job", tick(1), LEASE).await.unwrap() else {
            panic!()
        };
        clock.advance(20);
        assert!(c.renew(&token, LEASE).await.unwrap());
        clock.advance(20);
        assert!(matches!(
            c.take_over("job", tick(1), LEASE).await.unwrap(),
            Claim::Lost(_)
        ));
    }

    #[tokio::test]
    async fn batches_answer_per_item_in_order() {
        let (clock, c) = setup();
        let Claim::Won(first) = c.claim("a", tick(1), LEASE).await.unwrap() else {
            panic!()
        };
        let ticks = [("b", tick(1)), ("a", tick(1)), ("a", tick(2))];
        let claims = c.claim_many(&ticks, LEASE).await.unwrap();
        assert!(matches!(claims[0], Claim::Won(_)));
        assert!(matches!(claims[1], Claim::Lost(_)));
        assert!(matches!(claims[2], Claim::Won(_)));
        let [Claim::Won(b1), _, Claim::Won(a2)] = &claims[..] else {
            panic!()
        };
        assert_eq!((b1.slug.as_str(), b1.tick), ("b", tick(1)));
        assert_eq!((a2.slug.as_str(), a2.tick), ("a", tick(2)));
        let mut stale = first.clone();
        stale.token = new_token();
        let tokens = [first.clone(), stale.clone(), a2.clone()];
        assert_eq!(
            c.renew_many(&tokens, LEASE).await.unwrap(),
            [true, false, true]
        );
        let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_secs(1));
        let runs = [(stale, outcome.clone()), (first, outcome.clone())];
        assert_eq!(c.finish_many(&runs).await.unwrap(), [false, true]);
        assert_eq!(c.finish_many(&runs).await.unwrap(), [false, false]);
        // b1 and a2 stay unfinished: expired once their lease has passed, not before.
        clock.advance(29);
        assert!(c
            .expired_claims(&["a", "b"], tick(0))
            .await
            .unwrap()
            .is_empty());
        clock.advance(2);
        let mut expired = c.expired_claims(&["a", "b", "c"], tick(0)).await.unwrap();
        expired.sort();
        assert_eq!(
            expired,
            [("a".to_owned(), tick(2)), ("b".to_owned(), tick(1))]
        );
        assert_eq!(
            c.expired_claims(&["a", "b"], tick(2)).await.unwrap(),
            [("a".to_owned(), tick(2))]
        );
        assert!(c.expired_claims(&["b"], tick(2)).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn history_is_bounded_newest_first() {
        let (_, c) = setup();
        let c = c.history_len(2);
        for minute in 1..=3 {
            let _ = c.claim("job", tick(minute), LEASE).await.unwrap();
        }
        let ticks: Vec<_> = c
            .history("job", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.tick)
            .collect();
        assert_eq!(ticks, [tick(3), tick(2)]);
        assert_eq!(c.last_claimed_tick("job").await.unwrap(), Some(tick(3)));
        let held = |minute| ticks.contains(&tick(minute));
        assert!(!held(1));
        assert!(held(2));
    }
}
