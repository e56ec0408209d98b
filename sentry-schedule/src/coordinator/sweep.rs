//! The take-over sweep: each replica asks the backend once per sweep period for the
//! unfinished claims of its jobs whose lease has expired (their holder died or stalled) and
//! tries to take each over; exactly one replica wins each. A replica that lost a tick does
//! not watch it: the sweep costs one query per period, whatever the number of jobs.
use super::renewals::Renewals;
use super::{Claim, ClaimToken, Coordinator};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// The sweep of one replica.
pub(crate) struct Sweep {
    /// The backend.
    pub(crate) coordinator: Arc<dyn Coordinator>,
    /// The claims this replica holds: never its own to take over.
    pub(crate) renewals: Renewals,
    /// The jobs it runs.
    pub(crate) slugs: Vec<String>,
    /// Claims of earlier ticks are left alone (see [`Coordinator::expired_claims`]).
    pub(crate) since: DateTime<Utc>,
    /// The lease a take-over is won for.
    pub(crate) lease: Duration,
}

impl Sweep {
    /// Sweeps every `every` until `stop`, handing each tick taken over to `run`.
    pub(crate) async fn run(
        self,
        every: Duration,
        stop: CancellationToken,
        run: impl Fn(ClaimToken) + Send,
    ) {
        let mut period = tokio::time::interval(every);
        period.set_missed_tick_behavior(MissedTickBehavior::Delay);
        period.tick().await;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                _ = period.tick() => {}
            }
            for token in self.once().await {
                if stop.is_cancelled() {
                    // Won but not started: another replica takes it over after the lease.
                    return;
                }
                run(token);
            }
        }
    }

    /// One sweep: the expired claims taken over, each a claim this replica now holds.
    pub(crate) async fn once(&self) -> Vec<ClaimToken> {
        let slugs: Vec<&str> = self.slugs.iter().map(String::as_str).collect();
        let expired = match self.coordinator.expired_claims(&slugs, self.since).await {
            Ok(expired) => expired,
            Err(error) => {
                tracing::warn!(%error, "looking for expired claims to take over failed; retrying at the next sweep");
                return Vec::new();
            }
        };
        let mut won = Vec::new();
        for (slug, tick) in self.renewals.not_held(expired) {
            match self.coordinator.take_over(&slug, tick, self.lease).await {
                Ok(Claim::Won(token)) => {
                    tracing::warn!(
                        slug = %slug,
                        tick = %tick,
                        "took the tick over: its holder's lease expired"
                    );
                    won.push(token);
                }
                // Another replica was faster, or the holder renewed or finished it.
                Ok(Claim::Lost(_) | Claim::Paused) => {}
                Err(error) => {
                    tracing::warn!(slug = %slug, tick = %tick, %error, "take-over attempt failed; retrying at the next sweep");
                }
            }
        }
        won
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::test_support::{tick, LEASE};
    use crate::coordinator::{InProcess, RunOutcome, RunStatus};

    #[tokio::test(start_paused = true)]
    async fn the_sweep_takes_over_expired_claims_of_its_jobs_once() {
        let clock = Arc::new(crate::clock::TestClock::new(tick(20)));
        let coordinator = Arc::new(InProcess::with_clock(clock));
        let renewals = Renewals::new(coordinator.clone(), LEASE);
        let claim = |slug: &'static str, minute: u32| {
            let coordinator = coordinator.clone();
            async move {
                match coordinator.claim(slug, tick(minute), LEASE).await.unwrap() {
                    Claim::Won(token) => token,
                    Claim::Lost(_) | Claim::Paused => panic!(),
                }
            }
        };
        // Expired once the lease has passed: a's and b's crashed claims, one of a's before
        // `since`, one of a job this replica does not run, one held by this replica itself,
        // one finished.
        claim("a", 10).await;
        claim("b", 11).await;
        claim("a", 1).await;
        claim("other", 10).await;
        let own = renewals.hold(claim("a", 12).await);
        let done = claim("b", 12).await;
        let ok = RunOutcome::new(RunStatus::Ok, Duration::ZERO);
        assert!(coordinator.finish(&done, &ok).await.unwrap());
        let sweep = Sweep {
            coordinator: coordinator.clone(),
            renewals: renewals.clone(),
            slugs: vec!["a".into(), "b".into()],
            since: tick(5),
            lease: LEASE,
        };
        assert!(sweep.once().await.is_empty(), "took over a running lease");
        tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
        let mut taken: Vec<_> = sweep
            .once()
            .await
            .into_iter()
            .map(|t| (t.slug, t.tick))
            .collect();
        taken.sort();
        assert_eq!(
            taken,
            [("a".to_owned(), tick(10)), ("b".to_owned(), tick(11))]
        );
        // Taken over: running again under the new lease, nothing more to take.
        assert!(sweep.once().await.is_empty());
        drop(own);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_hands_each_taken_tick_to_the_runner_and_stops() {
        let clock = Arc::new(crate::clock::TestClock::new(tick(20)));
        let coordinator = Arc::new(InProcess::with_clock(clock));
        let Claim::Won(_) = coordinator.claim("a", tick(10), LEASE).await.unwrap() else {
            panic!()
        };
        let sweep = Sweep {
            coordinator: coordinator.clone(),
            renewals: Renewals::new(coordinator.clone(), LEASE),
            slugs: vec!["a".into()],
            since: tick(0),
            lease: LEASE,
        };
        let (sent, mut started) = tokio::sync::mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let task = tokio::spawn(sweep.run(LEASE / 3, stop.clone(), move |token| {
            let _ = sent.send(token);
        }));
        let begun = tokio::time::Instant::now();
        let token = started.recv().await.unwrap();
        assert_eq!((token.slug.as_str(), token.tick), ("a", tick(10)));
        // Within a sweep period after the lease expired.
        assert!(begun.elapsed() <= LEASE + LEASE / 3);
        stop.cancel();
        task.await.unwrap();
        assert!(started.recv().await.is_none());
    }
}
