//! Waiting for a wall-clock instant: the dispatcher waits for each fire instant, and with a
//! coordinator each claimed batch waits for its tick (the claim is made ahead of it).
//!
//! tokio's timer has a granularity of one millisecond and fires up to a millisecond after
//! its deadline. With the system clock ([`Clock::precise_wake`](crate::clock::Clock::precise_wake))
//! the wait is therefore on tokio until [`PRECISE_WINDOW`] before the instant and the rest
//! on a blocking thread, whose sleep is accurate to tens of microseconds. The wall clock is
//! read again on every wake-up and on every jump the clock watch reports
//! ([`crate::dispatch::clock_watch`]): nothing waiting here goes on before the wall clock
//! reads its instant.
use super::pipeline::RunEnv;
use crate::clock::PRECISE_WINDOW;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Longest single sleep (tokio cannot represent deadlines much further out).
const MAX_SLEEP: Duration = Duration::from_secs(60 * 60 * 24 * 365);

impl RunEnv {
    /// Sleeps until the wall clock reads `instant` or later (forever when `None`); `false`
    /// when shut down first.
    pub(crate) async fn wait_until(
        &self,
        instant: Option<DateTime<Utc>>,
        jumps: &mut Option<watch::Receiver<u64>>,
    ) -> bool {
        let env = self;
        let precise = env.clock.precise_wake();
        loop {
            if env.is_stopping() {
                return false;
            }
            let wait = match instant {
                Some(instant) => {
                    let now = env.clock.now();
                    if now >= instant {
                        return true;
                    }
                    instant
                        .signed_duration_since(now)
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(MAX_SLEEP)
                }
                None => MAX_SLEEP,
            };
            if precise && wait <= PRECISE_WINDOW && sleep_on_thread(wait).await {
                continue;
            }
            let coarse = if precise {
                wait.saturating_sub(PRECISE_WINDOW)
            } else {
                wait
            };
            let deadline = Instant::now() + coarse;
            let jump = async {
                match jumps.as_mut() {
                    Some(rx) => {
                        if rx.changed().await.is_err() {
                            // The clock watch is gone: keep sleeping on the monotonic clock alone.
                            *jumps = None;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = env.shutdown.cancelled() => return false,
                () = tokio::time::sleep_until(deadline) => {}
                () = jump => {}
            }
        }
    }
}

/// Sleeps `wait` (at most [`PRECISE_WINDOW`]) on a blocking thread; `false` when the
/// runtime refused the blocking task (it is shutting down), so the caller sleeps on tokio's
/// timer instead.
///
/// The runtime's blocking pool is the application's too: when all its threads are busy the
/// task waits in a queue, so tokio's timer bounds the sleep as well, and the instant is
/// then at most a couple of milliseconds late rather than as late as the pool is busy.
async fn sleep_on_thread(wait: Duration) -> bool {
    let thread = tokio::task::spawn_blocking(move || std::thread::sleep(wait));
    tokio::select! {
        biased;
        joined = thread => match joined {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "no blocking thread for the last millisecond; using tokio's timer");
                false
            }
        },
        () = tokio::time::sleep(wait + PRECISE_WINDOW) => true,
    }
}
