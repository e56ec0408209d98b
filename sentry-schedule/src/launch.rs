//! Starting runs: the overlap policy, jitter, the claim with a coordinator, the start tasks
//! that begin the runs due at one instant ([`drain`]), and the run's own task once it has
//! to wait; every run is registered in its job's run set and on the scheduler's tracker.
use crate::checkin::Delivery;
use crate::claim::{self, Coordination, Lease};
use crate::clock::Clock;
use crate::dispatcher::DueRun;
use crate::job::Job;
use crate::run::{self, RunCancel, RunOutcome};
use crate::run_set::RunSet;
use chrono::{DateTime, Utc};
use sentry_schedule_core::options::Overlap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the dispatcher and every run share.
pub(crate) struct LoopShared {
    pub clock: Arc<dyn Clock>,
    pub shutdown: CancellationToken,
    pub jumps: watch::Receiver<u64>,
    pub tracker: TaskTracker,
    /// The configured coordinator; `None` (the default): a single process, no claims.
    pub coordination: Option<Arc<Coordination>>,
    /// Where the runs' check-ins go.
    pub delivery: Arc<Delivery>,
    /// Set by [`LoopShared::stop`] with `shutdown`. Checks read it ([`LoopShared::is_stopping`])
    /// rather than the token, whose check takes a lock shared by every thread; waits use
    /// the token.
    pub stopping: AtomicBool,
}

impl LoopShared {
    /// Stops the scheduler: no new run starts, and everything waiting on `shutdown` ends.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
    }

    /// Whether [`LoopShared::stop`] was called.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// What happens for `job` when the scheduler starts at `now`: the catch-up of a tick
/// missed while no replica ran (with a coordinator) and the `run_at_startup` run.
pub(crate) fn on_start(
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &Arc<LoopShared>,
    now: DateTime<Utc>,
) {
    if let Some(coordination) = shared
        .coordination
        .as_ref()
        .filter(|_| job.policy.catch_up.is_some())
    {
        spawn_catch_up(coordination, job, runs, shared, now);
    }
    if job.policy.run_at_startup && !shared.is_stopping() {
        start_run(job, runs, shared, now);
    }
}

/// A job the dispatcher schedules, with its in-flight runs.
pub(crate) struct Scheduled {
    pub job: Arc<Job>,
    pub runs: Arc<RunSet>,
}

/// Starts the runs of `batch` (jobs of `table`), all due now, from a start task (see
/// [`drain`]).
pub(crate) fn spawn_starts(table: &Arc<[Scheduled]>, batch: Vec<DueRun>, shared: &Arc<LoopShared>) {
    spawn_drain(Arc::new(StartQueue::new(Arc::clone(table), batch)), shared);
}

/// Runs due at the same instant, taken one at a time by whichever start task is free.
struct StartQueue {
    table: Arc<[Scheduled]>,
    runs: Vec<DueRun>,
    /// Index of the next run to take; taking is one atomic add, no lock.
    next: AtomicUsize,
}

impl StartQueue {
    fn new(table: Arc<[Scheduled]>, runs: Vec<DueRun>) -> Self {
        Self {
            table,
            runs,
            next: AtomicUsize::new(0),
        }
    }

    /// The next run not taken yet by any start task: its job and tick.
    fn take(&self) -> Option<(&Scheduled, DateTime<Utc>)> {
        loop {
            let &(index, tick) = self.runs.get(self.next.fetch_add(1, Ordering::Relaxed))?;
            if let Some(entry) = self.table.get(index as usize) {
                return Some((entry, tick));
            }
        }
    }

    /// Whether runs are left to take.
    fn has_more(&self) -> bool {
        self.next.load(Ordering::Relaxed) < self.runs.len()
    }
}

fn spawn_drain(queue: Arc<StartQueue>, shared: &Arc<LoopShared>) {
    shared.tracker.spawn(drain(queue, Arc::clone(shared)));
}

/// Starts the runs of `queue` one after the other, each polled for the first time right
/// here; a run that is not finished by then continues in a task of its own.
///
/// Starting a run inline saves the task spawn (an aligned allocation and two locks) for
/// every run that ends in its first poll, and starts every run sooner. So that a job whose
/// first poll blocks its thread cannot hold up the jobs behind it, each start task first
/// spawns two stand-ins that take from the same queue: one lands in this worker's
/// LIFO slot, which other workers cannot steal, the other in its queue, which they can.
/// Stand-ins that find the queue empty end at once.
async fn drain(queue: Arc<StartQueue>, shared: Arc<LoopShared>) {
    if queue.has_more() {
        spawn_drain(Arc::clone(&queue), &shared);
        spawn_drain(Arc::clone(&queue), &shared);
    }
    while let Some((Scheduled { job, runs }, tick)) = queue.take() {
        if shared.is_stopping() {
            return;
        }
        if job.policy.jitter.is_some() || shared.coordination.is_some() {
            start_due(Arc::clone(job), Arc::clone(runs), &shared, tick);
            continue;
        }
        let Some(run) = prepare(job, runs, &shared, tick, None) else {
            continue;
        };
        let mut run = Box::pin(run);
        let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
        if first.is_pending() {
            shared.tracker.spawn(run);
        }
    }
}

/// Starts the run of `job` for `tick`, after its jitter if it has one.
fn start_due(job: Arc<Job>, runs: Arc<RunSet>, shared: &Arc<LoopShared>, tick: DateTime<Utc>) {
    let Some(max) = job.policy.jitter else {
        start_run(&job, &runs, shared, tick);
        return;
    };
    let delay = jitter_delay(max);
    let shared_run = shared.clone();
    shared.tracker.spawn(async move {
        tokio::select! {
            biased;
            () = shared_run.shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        start_run(&job, &runs, &shared_run, tick);
    });
}

/// A random delay below `max`, from the per-thread generator of the run ids.
fn jitter_delay(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(run::random::<u64>() % nanos)
}

/// Looks for a tick missed within the catch-up window and claims and runs it once.
fn spawn_catch_up(
    coordination: &Arc<Coordination>,
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &Arc<LoopShared>,
    now: DateTime<Utc>,
) {
    let coordination = Arc::clone(coordination);
    let job = Arc::clone(job);
    let runs = Arc::clone(runs);
    let shared = shared.clone();
    shared.tracker.clone().spawn(async move {
        if let Some(tick) = claim::catch_up(&coordination, &job, now).await {
            if !shared.is_stopping() {
                claim::claim_and_start(&coordination, &job, &runs, &shared, tick);
            }
        }
    });
}

/// Starts one run of `job` for `scheduled`: right away with the default single-process
/// scheduler, after winning the tick's claim with a coordinator.
fn start_run(
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &Arc<LoopShared>,
    scheduled: DateTime<Utc>,
) {
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
    shared: &Arc<LoopShared>,
    scheduled: DateTime<Utc>,
    lease: Option<Lease>,
) {
    if let Some(run) = prepare(job, runs, shared, scheduled, lease) {
        shared.tracker.spawn(run);
    }
}

/// Applies the overlap policy and registers the run; the run's future, `None` when the
/// tick is skipped.
fn prepare(
    job: &Arc<Job>,
    runs: &Arc<RunSet>,
    shared: &Arc<LoopShared>,
    scheduled: DateTime<Utc>,
    lease: Option<Lease>,
) -> Option<impl Future<Output = ()> + Send + 'static> {
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
            return None;
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
    let delivery = Arc::clone(&shared.delivery);
    let shutdown = lease.as_ref().map(|_| shared.shutdown.clone());
    Some(async move {
        // The run stays registered while `execute` goes on (the job's body and its
        // check-ins) and not a moment longer: what the overlap policy of the next tick sees
        // is whether the job still runs, never the bookkeeping after it. With a coordinator,
        // recording the outcome (slow, or retried while the backend is down) comes after.
        let ended = match lease {
            // The run in this very task: one task per run. `execute_caught` contains a bug
            // in the run path itself (the job's own panics never leave `execute`).
            None => {
                let _registered = guard;
                run::execute_caught(Arc::clone(&job), scheduled, cancel, clock, delivery).await
            }
            // Boxed, so the lease keeping (rare) does not enlarge every run's future.
            Some(lease) => {
                Box::pin({
                    let job = Arc::clone(&job);
                    async move {
                        // Always `Some` with a lease; cloned only then, as cloning a token locks it.
                        let shutdown = shutdown.unwrap_or_default();
                        let run = run::execute(job, scheduled, cancel.clone(), clock, delivery);
                        let run = tokio::spawn(async move {
                            let _registered = guard;
                            run.await
                        });
                        lease
                            .hold(run, &cancel, &shutdown)
                            .await
                            .map_err(|e| e.to_string())
                    }
                })
                .await
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
    })
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
