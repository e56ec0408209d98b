//! The shutdown signal the scheduler listens to, exported so a server in the same process
//! can stop on the same Ctrl-C or SIGTERM.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Ctrl-C (SIGINT) or SIGTERM (on unix), as a future that clones share: every clone
/// resolves once the first signal arrives. What [`Scheduler::run`](crate::Scheduler::run)
/// listens to by default.
///
/// Made with [`shutdown_signal`]. Hand one clone to the scheduler and one to your server,
/// e.g. axum's `with_graceful_shutdown`, and both stop on the same signal:
///
/// ```no_run
/// # async fn app() -> Result<(), sentry_schedule::Error> {
/// let shutdown = sentry_schedule::shutdown_signal();
/// let scheduler = sentry_schedule::Scheduler::builder()
///     .shutdown_signal(shutdown.clone())
///     .build()?;
/// // axum::serve(listener, app).with_graceful_shutdown(shutdown.clone())
/// scheduler.run().await
/// # }
/// ```
///
/// [`ShutdownSignal::trigger`] resolves every clone without a signal (a shutdown endpoint,
/// a fatal error elsewhere in the service).
pub struct ShutdownSignal {
    token: CancellationToken,
    wait: Pin<Box<WaitForCancellationFutureOwned>>,
}

/// Starts listening for Ctrl-C and SIGTERM and returns the future that resolves on the
/// first of them; clone it to share it (see [`ShutdownSignal`]).
///
/// The signal handlers are installed by this call, so a signal that arrives later, even
/// before anything polls the future, is not missed (nor does it kill the process). Call it
/// within a tokio runtime: it spawns the task that waits for the signals. A handler that
/// cannot be installed is logged as an error; if none can be, the future resolves only on
/// [`ShutdownSignal::trigger`].
pub fn shutdown_signal() -> ShutdownSignal {
    let token = CancellationToken::new();
    let signals = crate::scheduler::shutdown::default_signal();
    let fired = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = signals => fired.cancel(),
            // Triggered by hand: stop waiting for the signals.
            () = fired.cancelled() => {}
        }
    });
    ShutdownSignal::from_token(token)
}

impl ShutdownSignal {
    fn from_token(token: CancellationToken) -> Self {
        Self {
            wait: Box::pin(token.clone().cancelled_owned()),
            token,
        }
    }

    /// Resolves this future and every clone of it now, as if a signal had arrived.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether a signal arrived (or [`ShutdownSignal::trigger`] was called).
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl Clone for ShutdownSignal {
    fn clone(&self) -> Self {
        Self::from_token(self.token.clone())
    }
}

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wait.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}
