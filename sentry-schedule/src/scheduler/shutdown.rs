//! Shutdown: the default signal (Ctrl-C or SIGTERM) and the drain of running runs.
//!
//! Order: no new runs start; the cancellation token of every running run fires, so jobs
//! that watch it can wrap up; running runs get until the shutdown timeout to finish; the
//! rest are cancelled ("interrupted by shutdown") and their final check-ins queued; then the
//! check-in queue is drained and the Sentry client flushed, side by side and each within
//! [`FLUSH_TIMEOUT`], so nothing is lost at exit; check-ins still unsent then are counted
//! and logged at warn level.
use crate::checkin::{Delivery, FLUSH_TIMEOUT};
use crate::run::pipeline::JobEntry;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// How long cancelled runs get to report their final check-in after the deadline. A run's
/// own cancellation grace is shorter; this only bounds a run that ignores being dropped.
pub(crate) const CANCELLED_RUNS_WAIT: Duration = Duration::from_secs(30);

/// Resolves on Ctrl-C (SIGINT), or on SIGTERM on unix.
///
/// The handlers are installed when this is called, not when the future is first polled,
/// so a signal that arrives while the first jobs start is not missed (nor does it kill
/// the process). A handler that cannot be installed is logged as an error and ignored; if
/// none can be installed the future never resolves and the process must be stopped otherwise.
pub(crate) fn default_signal() -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &'static str| {
            let installed = signal(kind);
            async move {
                match installed {
                    Ok(mut s) => {
                        s.recv().await;
                        tracing::info!("{name} received; shutting down");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        let interrupt = listen(SignalKind::interrupt(), "Ctrl-C (SIGINT)");
        let terminate = listen(SignalKind::terminate(), "SIGTERM");
        Box::pin(async move {
            tokio::select! {
                () = interrupt => {}
                () = terminate => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            match tokio::signal::ctrl_c().await {
                Ok(()) => tracing::info!("Ctrl-C received; shutting down"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for Ctrl-C");
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

/// Waits for the runs on `tracker` (closed by the caller) until `timeout`, then cancels
/// what still runs and waits for the final check-ins; finally [`flush`]es.
pub(crate) async fn stop_runs(
    tracker: &TaskTracker,
    jobs: &[JobEntry],
    timeout: Duration,
    delivery: &Delivery,
) {
    tracker.close();
    for job in jobs {
        job.runs.signal_all();
    }
    if tokio::time::timeout(timeout, tracker.wait()).await.is_err() {
        let cancelled: usize = jobs
            .iter()
            .map(|job| job.runs.cancel_all("interrupted by shutdown"))
            .sum();
        tracing::warn!(
            cancelled,
            timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            "shutdown deadline passed; cancelling the runs still going"
        );
        if tokio::time::timeout(CANCELLED_RUNS_WAIT, tracker.wait())
            .await
            .is_err()
        {
            tracing::error!(
                still_running = tracker.len(),
                "cancelled runs did not finish; their final check-ins may be lost"
            );
        }
    }
    flush(delivery, FLUSH_TIMEOUT).await;
}

/// Drains the check-in queue of `delivery` and flushes the Sentry client, side by side,
/// each within `timeout` (the Sentry client within [`FLUSH_TIMEOUT`] at most); whether
/// every queued check-in was sent or settled.
pub(crate) async fn flush(delivery: &Delivery, timeout: Duration) -> bool {
    tokio::join!(delivery.flush(timeout), flush_sentry()).0
}

/// Flushes the current Sentry client, if any, off the async threads (flush blocks).
///
/// sentry 0.49's flush has no bound when the transport's queue is full and the endpoint
/// never answers, so the flush runs on a thread of its own and is waited for at most
/// [`FLUSH_TIMEOUT`] plus a second of real time; a flush still stuck then is left behind
/// (it ends with the process) and logged.
async fn flush_sentry() {
    let Some(client) = sentry::Hub::current().client() else {
        return;
    };
    // The blocking pool is the application's too; when all its threads stay busy the flush
    // never gets one, and shutdown must not wait for that.
    let flush = tokio::task::spawn_blocking(move || {
        let (done, flushed) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("sentry-schedule-flush".into())
            .spawn(move || {
                // The receiver may be gone after the bound below; nothing to tell then.
                let _ = done.send(client.flush(Some(FLUSH_TIMEOUT)));
            });
        match spawned {
            Ok(_) => flushed
                .recv_timeout(FLUSH_TIMEOUT + Duration::from_secs(1))
                .ok(),
            Err(e) => {
                tracing::error!(error = %e, "could not start a thread to flush the Sentry client");
                Some(false)
            }
        }
    });
    let Ok(waited) = tokio::time::timeout(FLUSH_TIMEOUT + Duration::from_secs(2), flush).await
    else {
        tracing::warn!(
            "no blocking thread was free to flush the Sentry client within {FLUSH_TIMEOUT:?}; giving up"
        );
        return;
    };
    match waited {
        Ok(Some(true)) => {}
        Ok(Some(false)) => tracing::warn!("Sentry client did not flush within {FLUSH_TIMEOUT:?}"),
        Ok(None) => tracing::warn!(
            "Sentry client's flush is stuck (its transport does not answer); giving up after {FLUSH_TIMEOUT:?}"
        ),
        Err(e) => tracing::error!(error = %e, "flushing the Sentry client failed"),
    }
}
