//! Asking a run to stop: the job-facing cancellation token and the scheduler's stop.
//!
//! One allocation per run: the token a job sees is created only when the job asks for it
//! ([`JobContext::cancellation_token`](crate::JobContext::cancellation_token)), already
//! cancelled if the run was asked to wrap up before.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Asks a running job to stop, saying why. Clones share one state.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunCancel {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    /// The token the job sees, created on first use.
    token: OnceLock<CancellationToken>,
    /// The job was asked to wrap up: the token is (or is created) cancelled.
    signalled: AtomicBool,
    /// [`RunCancel::cancel`] was called: the run is stopped and reported with the reason.
    stopped: AtomicBool,
    stop: Notify,
    reason: Mutex<Option<String>>,
}

impl RunCancel {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Cancels the run; the first reason given wins. The reason completes the sentence
    /// "job `slug` …", e.g. `"interrupted by shutdown"`, `"replaced by a newer run"`.
    pub(crate) fn cancel(&self, reason: &str) {
        if let Ok(mut r) = self.inner.reason.lock() {
            r.get_or_insert_with(|| reason.to_owned());
        }
        self.signal();
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.stop.notify_waiters();
    }

    /// Fires the job-facing token without stopping the run: the job is asked to wrap up
    /// and its own outcome still counts.
    pub(crate) fn signal(&self) {
        // SeqCst pairs with `token`: whichever of the two comes second cancels the token.
        self.inner.signalled.store(true, Ordering::SeqCst);
        if let Some(token) = self.inner.token.get() {
            token.cancel();
        }
    }

    /// The job-facing token; cancelled if the run was already asked to wrap up.
    pub(crate) fn token(&self) -> &CancellationToken {
        let token = self.inner.token.get_or_init(CancellationToken::new);
        if self.inner.signalled.load(Ordering::SeqCst) {
            token.cancel();
        }
        token
    }

    /// Whether the job was asked to wrap up (by the scheduler or through its token).
    pub(crate) fn is_signalled(&self) -> bool {
        self.inner.signalled.load(Ordering::SeqCst)
            || self
                .inner
                .token
                .get()
                .is_some_and(CancellationToken::is_cancelled)
    }

    /// Completes once [`RunCancel::cancel`] was called.
    pub(crate) async fn stopped(&self) {
        loop {
            let notified = self.inner.stop.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.inner.stopped.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn reason(&self) -> Option<String> {
        self.inner.reason.lock().ok().and_then(|r| r.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_token_created_after_the_signal_is_already_cancelled() {
        let cancel = RunCancel::new();
        assert!(!cancel.is_signalled());
        cancel.signal();
        assert!(cancel.is_signalled());
        assert!(cancel.token().is_cancelled());
    }

    #[test]
    fn a_token_created_before_the_signal_is_cancelled_by_it() {
        let cancel = RunCancel::new();
        let token = cancel.token().clone();
        assert!(!token.is_cancelled());
        cancel.signal();
        assert!(token.is_cancelled());
    }

    #[test]
    fn the_job_cancelling_its_own_token_counts_as_signalled() {
        let cancel = RunCancel::new();
        cancel.token().cancel();
        assert!(cancel.is_signalled());
    }

    #[tokio::test(start_paused = true)]
    async fn stopped_completes_on_cancel_only_and_the_first_reason_wins() {
        let cancel = RunCancel::new();
        cancel.signal();
        let waited = tokio::time::timeout(Duration::from_secs(1), cancel.stopped()).await;
        assert!(waited.is_err(), "a signal alone must not stop the run");
        let waiter = tokio::spawn({
            let cancel = cancel.clone();
            async move { cancel.stopped().await }
        });
        tokio::task::yield_now().await;
        cancel.cancel("replaced by a newer run");
        cancel.cancel("interrupted by shutdown");
        waiter.await.expect("the waiter ends");
        cancel.stopped().await; // also completes once stopped
        assert_eq!(cancel.reason().as_deref(), Some("replaced by a newer run"));
        assert!(cancel.token().is_cancelled());
    }
}
