//! One task that notices wall-clock jumps (NTP steps, suspend/resume) so the dispatcher,
//! which sleeps on the monotonic clock, recompute their deadlines.
//!
//! Every [`CHECK_INTERVAL`] it compares how far the wall clock and the monotonic clock moved
//! since the last baseline; when they disagree by more than [`JUMP_THRESHOLD`] it bumps a
//! `watch` channel the dispatcher listens to and takes a new baseline. Slow drift therefore
//! also triggers a recompute once it adds up to the threshold. This is the only periodic
//! wake-up of the scheduler, whatever the number of jobs.
use crate::clock::Clock;
use chrono::TimeDelta;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// How often the wall clock is compared with the monotonic clock.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// A disagreement larger than this counts as a jump.
pub(crate) const JUMP_THRESHOLD: TimeDelta = TimeDelta::seconds(1);

/// Watches `clock` until `shutdown`, bumping `jumps` on every detected jump.
pub(crate) async fn watch_clock(
    clock: Arc<dyn Clock>,
    jumps: watch::Sender<u64>,
    shutdown: CancellationToken,
) {
    let mut wall0 = clock.now();
    let mut mono0 = Instant::now();
    let mut ticker = tokio::time::interval_at(Instant::now() + CHECK_INTERVAL, CHECK_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let wall = clock.now();
        let mono = Instant::now();
        let mono_elapsed =
            TimeDelta::from_std(mono.saturating_duration_since(mono0)).unwrap_or(TimeDelta::MAX);
        let drift = wall
            .signed_duration_since(wall0)
            .checked_sub(&mono_elapsed)
            .unwrap_or(TimeDelta::MIN);
        if drift.abs() > JUMP_THRESHOLD {
            tracing::info!(
                drift_ms = drift.num_milliseconds(),
                "wall clock jumped; job deadlines are recomputed"
            );
            jumps.send_modify(|n| *n = n.wrapping_add(1));
            wall0 = wall;
            mono0 = mono;
        }
    }
}
