//! The loop of one job: sleep until the next fire instant, start a run, repeat.
//!
//! Fire instants come from one schedule cursor per job (`schedule.upcoming(start, tz)`,
//! wall-clock instants in the job's time zone, in the order Sentry's server iterates them)
//! and are slept for on tokio's monotonic clock. On waking
//! the wall clock is read again; the loop fires only when the wall clock has reached the
//! instant — **never early** — and otherwise sleeps again. Deadlines are also recomputed
//! whenever the clock watch ([`crate::clock_watch`]) reports a wall-clock jump.
//!
//! Clock jumps — the tolerance:
//! - **Backward**: the cursor only moves forward, so only ticks strictly after the last
//!   one run can fire and no tick runs twice; the loop waits until the wall clock reaches
//!   the next tick again.
//! - **Forward** past several ticks (NTP step, suspend/resume): only the latest tick that
//!   is due runs, once, with that tick as its scheduled instant; the ticks before it are
//!   counted as missed ([`JobStats::missed`](crate::JobStats::missed)) and logged. A jump
//!   is noticed within the clock watch's check interval (5 s), so a forward jump delays
//!   the latest due tick by at most that much.
use crate::__private::Overlap;
use crate::claim::{self, Coordination, Lease};
use crate::clock::Clock;
use crate::job::Job;
use crate::run::{self, RunCancel, RunOutcome};
use crate::run_set::RunSet;
use chrono::{DateTime, TimeDelta, Utc};
use sentry_schedule_core::schedule::Upcoming;
use std::iter::Peekable;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many missed ticks are walked one by one after a forward jump before the loop
/// searches for the latest due tick directly.
const MAX_TICK_WALK: u64 = 10_000;

/// Longest single sleep (tokio cannot represent deadlines much further out).
const MAX_SLEEP: Duration = Duration::from_secs(60 * 60 * 24 * 365);

/// What every job loop shares.
#[derive(Clone)]
pub(crate) struct LoopShared {
    pub clock: Arc<dyn Clock>,
    pub shutdown: CancellationToken,
    pub jumps: watch::Receiver<u64>,
    pub tracker: TaskTracker,
    /// The configured coordinator; `None` (the default): a single process, no claims.
    pub coordination: Option<Arc<Coordination>>,
}

/// Runs the schedule of `job` until shutdown (or until the schedule has no further
/// instant). Runs are spawned on the shared tracker and registered in `runs`.
pub(crate) async fn job_loop(job: Arc<Job>, runs: Arc<RunSet>, shared: LoopShared) {
    let mut jumps = Some(shared.jumps.clone());
    let start = shared.clock.now();
    if let Some(coordination) = shared
        .coordination
        .as_ref()
        .filter(|_| job.policy.catch_up.is_some())
    {
        spawn_catch_up(coordination, &job, &runs, &shared, start);
    }
    if job.policy.run_at_startup && !shared.shutdown.is_cancelled() {
        start_run(&job, &runs, &shared, start);
    }
    // One cursor for the whole life of the job: it yields each instant once, in order,
    // exactly as Sentry's server iterates the schedule, so no tick can repeat.
    let mut ticks = job.schedule.upcoming(start, job.timezone).peekable();
    loop {
        let Some(next) = ticks.next() else {
            tracing::info!(slug = %job.slug, "schedule has no further fire instant; job stops");
            return;
        };
        if !wait_until(next, &shared, &mut jumps).await {
            return;
        }
        let now = shared.clock.now();
        let (tick, passed_over) = latest_due(&job, &mut ticks, next, now);
        if passed_over > 0 {
            job.stats.add_missed(passed_over);
            tracing::warn!(
                slug = %job.slug,
                missed = passed_over,
                running = %tick,
                "wall clock jumped past several ticks; only the latest runs"
            );
        }
        if let Some(max) = job.policy.jitter {
            let delay = jitter_delay(max);
            tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
        if shared.shutdown.is_cancelled() {
            return;
        }
        start_run(&job, &runs, &shared, tick);
    }
}

/// Sleeps until the wall clock reads `instant` or later; `false` when shut down first.
async fn wait_until(
    instant: DateTime<Utc>,
    shared: &LoopShared,
    jumps: &mut Option<watch::Receiver<u64>>,
) -> bool {
    loop {
        if shared.shutdown.is_cancelled() {
            return false;
        }
        let now = shared.clock.now();
        if now >= instant {
            return true;
        }
        let wait = instant
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        let deadline = Instant::now() + wait;
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
            () = shared.shutdown.cancelled() => return false,
            () = tokio::time::sleep_until(deadline) => {}
            () = jump => {}
        }
    }
}

/// The latest tick at or before `now`, starting from the due tick `next` and advancing
/// `ticks` past it, and how many ticks after `next` were passed over to reach it.
fn latest_due(
    job: &Job,
    ticks: &mut Peekable<Upcoming>,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, u64) {
    let mut tick = next;
    let mut passed = 0;
    while let Some(t) = ticks.next_if(|t| *t <= now) {
        tick = t;
        passed += 1;
        if passed >= MAX_TICK_WALK {
            // A very long jump over a frequent schedule: search back from `now` for a
            // recent start, then walk the few ticks from there.
            let mut back = TimeDelta::seconds(1);
            while back < now.signed_duration_since(tick) {
                let from = now - back;
                if job
                    .schedule
                    .next_after(from, job.timezone)
                    .is_some_and(|t| t <= now)
                {
                    *ticks = job.schedule.upcoming(from, job.timezone).peekable();
                    break;
                }
                back = back * 2;
            }
            while let Some(t) = ticks.next_if(|t| *t <= now) {
                tick = t;
            }
            return (tick, passed);
        }
    }
    (tick, passed)
}

/// A random delay below `max` (from the same per-thread generator as the run ids).
fn jitter_delay(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::random::<u64>() % nanos)
}

/// Looks for a tick missed within the catch-up window and claims and runs it once.
fn spawn_catch_up(
    coordination: &Arc<Coordination>,
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &LoopShared,
    now: DateTime<Utc>,
) {
    let coordination = Arc::clone(coordination);
    let job = Arc::clone(job);
    let runs = Arc::clone(runs);
    let shared = shared.clone();
    shared.tracker.clone().spawn(async move {
        if let Some(tick) = claim::catch_up(&coordination, &job, now).await {
            if !shared.shutdown.is_cancelled() {
                claim::claim_and_start(&coordination, &job, &runs, &shared, tick);
            }
        }
    });
}

/// Starts one run of `job` for `scheduled`: right away with the default single-process
/// scheduler, after winning the tick's claim with a coordinator.
fn start_run(job: &Arc<Job>, runs: &Arc<RunSet>, shared: &LoopShared, scheduled: DateTime<Utc>) {
    match &shared.coordination {
        None => launch(job, runs, shared, scheduled, None),
        Some(coordination) => claim::claim_and_start(coordination, job, runs, shared, scheduled),
    }
}

/// Starts one run of `job` for `scheduled`, applying the overlap policy; `lease` is the
/// claim this replica won for the tick, if a coordinator is configured.
pub(crate) fn launch(
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &LoopShared,
    scheduled: DateTime<Utc>,
    lease: Option<Lease>,
) {
    match job.policy.overlap {
        Overlap::Skip if runs.len() > 0 => {
            job.stats.add_skipped();
            if let Some(lease) = lease {
                // Won but not run: record it, so no other replica takes the tick over.
                let shutdown = shared.shutdown.clone();
                shared
                    .tracker
                    .spawn(async move { lease.finish_skipped(&shutdown).await });
            }
            tracing::warn!(
                slug = %job.slug,
                scheduled = %scheduled,
                "previous run still running; tick skipped (overlap = skip)"
            );
            return;
        }
        Overlap::Replace => {
            let replaced = runs.cancel_all("replaced by a newer run");
            job.stats.add_replaced(replaced as u64);
            if replaced > 0 {
                tracing::warn!(
                    slug = %job.slug,
                    scheduled = %scheduled,
                    replaced,
                    "previous run still running; cancelled and replaced (overlap = replace)"
                );
            }
        }
        Overlap::Skip | Overlap::Allow => {}
    }
    let cancel = RunCancel::new();
    let guard = runs.insert(cancel.clone());
    job.stats.add_started();
    let job = Arc::clone(job);
    let clock = Arc::clone(&shared.clock);
    let shutdown = lease.as_ref().map(|_| shared.shutdown.clone());
    shared.tracker.spawn(async move {
        let _registered = guard;
        let ended = match lease {
            // The run in this very task: one task per run. `execute_caught` contains a bug
            // in the run path itself (the job's own panics never leave `execute`).
            None => run::execute_caught(Arc::clone(&job), scheduled, cancel, clock).await,
            Some(lease) => {
                // Always `Some` with a lease; cloned only then, as cloning a token locks it.
                let shutdown = shutdown.unwrap_or_default();
                let run = run::execute(Arc::clone(&job), scheduled, cancel.clone(), clock);
                lease
                    .hold(tokio::spawn(run), &cancel, &shutdown)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        match ended {
            Ok(RunOutcome::Ok { .. }) => job.stats.add_succeeded(),
            Ok(_) => job.stats.add_failed(),
            Err(e) => {
                job.stats.add_crashed();
                tracing::error!(slug = %job.slug, scheduled = %scheduled, error = %e, "run task died");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_below_its_bound_and_varies() {
        let max = Duration::from_millis(500);
        let delays: Vec<_> = (0..200).map(|_| jitter_delay(max)).collect();
        assert!(delays.iter().all(|d| *d < max));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct delays",
            distinct.len()
        );
        assert_eq!(jitter_delay(Duration::ZERO), Duration::ZERO);
    }
}
