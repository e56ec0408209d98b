//! Keeping a won claim: renew its lease while the run goes on.
use super::{ClaimToken, Coordinator};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why a [`LeaseKeeper`] gave up a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseLost {
    /// The backend says the claim is no longer ours: another replica took the tick over.
    TakenOver,
    /// No renewal succeeded for a whole lease (backend unreachable): another replica may take
    /// the tick over from now on.
    Unreachable,
}

/// Renews a won claim every `lease / 3` in a background task until stopped or lost.
///
/// ```
/// # async fn demo() -> Result<(), sentry_schedule::coordinator::CoordinatorError> {
/// use sentry_schedule::coordinator::{Claim, Coordinator, InProcess, LeaseKeeper, RunOutcome, RunStatus};
/// use std::{sync::Arc, time::Duration};
/// let coordinator: Arc<dyn Coordinator> = Arc::new(InProcess::new());
/// let lease = Duration::from_secs(30);
/// let tick = chrono::Utc::now();
/// if let Claim::Won(token) = coordinator.claim("nightly-export", tick, lease).await? {
///     let keeper = LeaseKeeper::start(coordinator.clone(), token.clone(), lease);
///     tokio::select! {
///         () = tokio::time::sleep(Duration::from_secs(1)) => {
///             keeper.stop();
///             let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_secs(1));
///             coordinator.finish(&token, &outcome).await?;
///         }
///         lost = keeper.lost() => { /* another replica has the tick: cancel the run */ }
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaseKeeper {
    lost: CancellationToken,
    reason: Arc<OnceLock<LeaseLost>>,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Starts renewing `token` for `lease` every `lease / 3`. Needs a tokio runtime.
    pub fn start(
        coordinator: Arc<dyn Coordinator>,
        token: ClaimToken,
        lease: Duration,
    ) -> LeaseKeeper {
        let lost = CancellationToken::new();
        let reason = Arc::new(OnceLock::new());
        let task = tokio::spawn(renew_loop(
            coordinator,
            token,
            lease,
            lost.clone(),
            reason.clone(),
        ));
        LeaseKeeper { lost, reason, task }
    }

    /// Resolves when the claim is lost, with the reason; pending forever while it is held.
    pub async fn lost(&self) -> LeaseLost {
        self.lost.cancelled().await;
        self.reason.get().copied().unwrap_or(LeaseLost::Unreachable)
    }

    /// The reason if the claim was lost already.
    pub fn is_lost(&self) -> Option<LeaseLost> {
        self.reason.get().copied()
    }

    /// Stops renewing (the run is over; finish the claim next).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn renew_loop(
    coordinator: Arc<dyn Coordinator>,
    token: ClaimToken,
    lease: Duration,
    lost: CancellationToken,
    reason: Arc<OnceLock<LeaseLost>>,
) {
    let every = (lease / 3).max(Duration::from_millis(10));
    // The lease was granted no later than now; measured locally (monotonic), a whole lease
    // without a successful renewal means it may have expired on the backend.
    let mut held_since = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let attempt = Instant::now();
        match coordinator.renew(&token, lease).await {
            Ok(true) => held_since = attempt,
            Ok(false) => {
                tracing::warn!(
                    monitor.slug = %token.slug,
                    tick = %token.tick,
                    "lease lost: another replica took the tick over"
                );
                let _ = reason.set(LeaseLost::TakenOver);
                lost.cancel();
                return;
            }
            Err(error) => {
                if held_since.elapsed() >= lease {
                    tracing::error!(
                        monitor.slug = %token.slug,
                        tick = %token.tick,
                        %error,
                        "lease expired: the coordinator was unreachable for a whole lease"
                    );
                    let _ = reason.set(LeaseLost::Unreachable);
                    lost.cancel();
                    return;
                }
                tracing::warn!(
                    monitor.slug = %token.slug,
                    tick = %token.tick,
                    %error,
                    "lease renewal failed, retrying"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::{Claim, InProcess};
    use chrono::TimeZone;

    #[tokio::test(start_paused = true)]
    async fn keeps_the_claim_until_taken_over() {
        let coordinator = Arc::new(InProcess::new());
        let tick = chrono::Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
        let lease = Duration::from_secs(30);
        let Claim::Won(token) = coordinator.claim("job", tick, lease).await.unwrap() else {
            panic!()
        };
        let keeper = LeaseKeeper::start(coordinator.clone(), token.clone(), lease);
        tokio::time::sleep(Duration::from_secs(95)).await;
        assert_eq!(keeper.is_lost(), None);
        // Another process of the same replica id cannot exist; simulate a take-over by finishing
        // under the token: the next renewal reports the claim gone.
        let outcome = crate::coordinator::RunOutcome::new(
            crate::coordinator::RunStatus::Ok,
            Duration::from_secs(1),
        );
        assert!(coordinator.finish(&token, &outcome).await.unwrap());
        let started = Instant::now();
        assert_eq!(keeper.lost().await, LeaseLost::TakenOver);
        assert!(started.elapsed() <= lease / 3);
    }
}
