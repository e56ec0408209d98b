//! The run pipeline, composed once for every run:
//!
//! **tick → jitter → claim → overlap → execute → record**
//!
//! - *tick*: the runs due at one instant arrive as one batch ([`start_due`], from the
//!   dispatcher); start-up runs (`run_at_startup`) as one batch and catch-up ticks one by one
//!   ([`start_up`]); on-demand runs ([`run_on_demand`], `Scheduler::run_now` and `run <slug>`)
//!   enter at *execute*: they are neither claimed nor subject to the overlap policy.
//! - *jitter*: a job with `jitter` waits a random delay below it, then goes on alone.
//! - *claim* (only with a coordinator): the ticks of a batch are claimed in one call
//!   ([`Claimer::claim`]), which decides for each: run holding a lease, run unclaimed (fail
//!   open), skip, or take it over later once its holder's lease has expired.
//! - *overlap*: `skip`, `allow` or `replace` among this process's runs of the job; the run is
//!   registered in its job's [`RunSet`] until its body has ended.
//! - *execute*: [`run::execute`], the job's body with its check-ins.
//! - *record*: the job's counters, and with a lease its renewal and the outcome's record.
//!
//! The single-process hot path (no coordinator, no jitter) has no claim step at all: the
//! batch goes to start tasks that poll each run once inline ([`spawn_start_tasks`]).
use crate::checkin::Delivery;
use crate::clock::Clock;
use crate::coordinator::claimer::{Claimer, Decision, Lease};
use crate::coordinator::{self, RunStatus};
use crate::job::Job;
use crate::metrics::{self, SkipReason};
use crate::run::pauses::LocalPauses;
use crate::run::report::RunReport;
use crate::run::run_set::{RunGuard, RunSet};
use crate::run::{self, Ended, RunCancel};
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

/// How many due runs one start task starts.
const START_BATCH: usize = 64;

/// What the dispatcher and every run of a running scheduler share.
pub(crate) struct RunEnv {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) shutdown: CancellationToken,
    /// Counts wall-clock jumps (see `dispatch::clock_watch`).
    pub(crate) jumps: watch::Receiver<u64>,
    pub(crate) tracker: TaskTracker,
    /// The claim step; `None` (no coordinator, the default): a single process, no claims.
    pub(crate) claimer: Option<Arc<Claimer>>,
    /// Where the runs' check-ins go.
    pub(crate) delivery: Arc<Delivery>,
    /// The jobs paused in this process (without a coordinator; with one, the claim step
    /// answers for paused jobs).
    pub(crate) pauses: Arc<LocalPauses>,
    /// Set by [`RunEnv::stop`] with `shutdown`. Checks read it ([`RunEnv::is_stopping`])
    /// rather than the token, whose check takes a lock shared by every thread; waits use
    /// the token.
    stopping: AtomicBool,
    /// The seed of the jitter delays (the test kit); `None`: the per-thread generator.
    jitter_seed: Option<u64>,
}

impl RunEnv {
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        jumps: watch::Receiver<u64>,
        claimer: Option<Arc<Claimer>>,
        delivery: Arc<Delivery>,
        pauses: Arc<LocalPauses>,
    ) -> Self {
        Self {
            clock,
            shutdown: CancellationToken::new(),
            jumps,
            tracker: TaskTracker::new(),
            claimer,
            delivery,
            pauses,
            stopping: AtomicBool::new(false),
            jitter_seed: None,
        }
    }

    /// Draws jitter delays from `seed`, so that they repeat from one run of a test to the
    /// next; `None` keeps the per-thread generator.
    pub(crate) fn with_jitter_seed(mut self, seed: Option<u64>) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// A random delay below `max` for the jittered run of `slug` for `tick`. Seeded, the
    /// delay is a function of the seed, the slug and the tick alone: the same whatever
    /// other jobs run, in whatever order their ticks are handled, and however a
    /// simulation is split across threads.
    fn jitter_delay(&self, slug: &str, tick: DateTime<Utc>, max: Duration) -> Duration {
        match self.jitter_seed {
            None => jitter_delay(max),
            Some(seed) => delay_below(max, seeded_draw(seed, slug, tick)),
        }
    }

    /// Stops the scheduler: no new run starts, and everything waiting on `shutdown` ends.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.cancel();
    }

    /// Whether [`RunEnv::stop`] was called.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// A scheduled job with its in-flight runs.
#[derive(Clone)]
pub(crate) struct JobEntry {
    pub(crate) job: Arc<Job>,
    pub(crate) runs: Arc<RunSet>,
}

/// A run to start: the job's index in the table and the tick.
pub(crate) type DueRun = (u32, DateTime<Utc>);

// --- tick ------------------------------------------------------------------------------

/// Starts the runs of `due` (jobs of `table`) once the wall clock reads `at`: one batch from
/// the dispatcher.
///
/// Without a coordinator the dispatcher hands a batch over when it is due, so `at` has
/// passed. With one, the batch comes [`Claimer::ahead`] of `at`: it is claimed at once, and
/// the runs won wait for `at` (jittered runs wait for `at` plus their delay, then are
/// claimed).
pub(crate) fn start_due(
    table: &Arc<[JobEntry]>,
    due: &[DueRun],
    at: DateTime<Utc>,
    env: &Arc<RunEnv>,
) {
    match &env.claimer {
        // The hot path: jitter is looked at by the start tasks, run by run.
        None => {
            for batch in due.chunks(START_BATCH) {
                spawn_start_tasks(Arc::new(StartQueue::new(table, batch.to_vec())), env);
            }
        }
        Some(claimer) => {
            let mut now = Vec::with_capacity(due.len());
            for &(index, tick) in due {
                let Some(entry) = job_at(table, index) else {
                    continue;
                };
                match entry.job.policy.jitter {
                    Some(max) => spawn_jittered(entry.clone(), tick, max, Some(at), env),
                    None => now.push((index, tick)),
                }
            }
            spawn_claim(claimer, table, now, Some(at), env);
        }
    }
}

/// What happens when the scheduler starts at `now`: each job's catch-up of a tick missed
/// while no replica ran (with a coordinator), and the `run_at_startup` runs, as one batch
/// (not jittered).
pub(crate) fn start_up(table: &Arc<[JobEntry]>, env: &Arc<RunEnv>, now: DateTime<Utc>) {
    let mut at_startup = Vec::new();
    for (index, entry) in (0u32..).zip(table.iter()) {
        if let Some(claimer) = env.claimer.as_ref() {
            if entry.job.policy.catch_up.is_some() {
                spawn_catch_up(claimer, entry.clone(), now, env);
            }
        }
        if entry.job.policy.run_at_startup {
            at_startup.push((index, now));
        }
    }
    if at_startup.is_empty() || env.is_stopping() {
        return;
    }
    match &env.claimer {
        None => {
            for &(index, tick) in &at_startup {
                if let Some(entry) = job_at(table, index) {
                    spawn_run(entry, tick, None, env);
                }
            }
        }
        Some(claimer) => spawn_claim(claimer, table, at_startup, None, env),
    }
}

/// The job at `index` of `table`; a due run naming no job (a bug: the dispatcher only hands
/// over indices of the table) is logged and not run.
fn job_at(table: &[JobEntry], index: u32) -> Option<&JobEntry> {
    let entry = table.get(index as usize);
    if entry.is_none() {
        tracing::error!(index, jobs = table.len(), "a due run names no job; not run");
    }
    entry
}

/// Counts a tick of `job` not run because the job is paused (its stats and its metric).
fn count_paused(job: &Job) {
    job.stats.add_paused();
    metrics::skipped(job.stats.metrics(), &job.slug, SkipReason::Paused, 1);
}

// --- jitter ----------------------------------------------------------------------------

/// Goes on with the run of `entry` for `tick` after a random delay below `max` (counted from
/// when the wall clock reads `at`, if given): alone, claimed on its own with a coordinator.
fn spawn_jittered(
    entry: JobEntry,
    tick: DateTime<Utc>,
    max: Duration,
    at: Option<DateTime<Utc>>,
    env: &Arc<RunEnv>,
) {
    let delay = env.jitter_delay(&entry.job.slug, tick, max);
    let env = Arc::clone(env);
    env.tracker.clone().spawn(async move {
        if at.is_some() && !env.wait_until(at, &mut Some(env.jumps.clone())).await {
            return;
        }
        tokio::select! {
            biased;
            () = env.shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        match env.claimer.clone() {
            None => spawn_run(&entry, tick, None, &env),
            Some(claimer) => {
                let decided = claimer
                    .claim(&[(&entry.job.slug, tick)], &env.shutdown)
                    .await;
                for decision in decided {
                    act_on(&entry, tick, decision, &env);
                }
            }
        }
    });
}

/// A random delay below `max`, from the per-thread generator of the run ids.
fn jitter_delay(max: Duration) -> Duration {
    delay_below(max, run::random::<u64>())
}

/// The draw for the run of `slug` for `tick` under `seed`: SplitMix64's finalizer over
/// the seed, an FNV-1a hash of the slug and the tick's nanoseconds, each step mixed.
fn seeded_draw(seed: u64, slug: &str, tick: DateTime<Utc>) -> u64 {
    fn mix(z: u64) -> u64 {
        let z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let slug = slug.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let tick = tick.timestamp_nanos_opt().unwrap_or(tick.timestamp());
    mix(seed ^ mix(slug ^ mix(tick as u64)))
}

/// The delay below `max` that the random number `draw` picks.
fn delay_below(max: Duration, draw: u64) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(draw % nanos)
}

// --- claim -----------------------------------------------------------------------------

/// Claims the ticks of `due` (in a task of its own, so the dispatcher never waits for the
/// backend), one call per [`coordinator::BATCH_MAX`] of them, and acts on each chunk's decisions as
/// soon as they are in and the wall clock reads `at` (at once when `None`).
///
/// The chunks of a batch are claimed one after the other: a replica has one claim of a
/// batch in flight, however many jobs are due, and each call stays well within the
/// coordinator's time-out.
fn spawn_claim(
    claimer: &Arc<Claimer>,
    table: &Arc<[JobEntry]>,
    due: Vec<DueRun>,
    at: Option<DateTime<Utc>>,
    env: &Arc<RunEnv>,
) {
    if due.is_empty() {
        return;
    }
    let claimer = Arc::clone(claimer);
    let table = Arc::clone(table);
    let env = Arc::clone(env);
    env.tracker.clone().spawn(async move {
        let mut jumps = at.map(|_| env.jumps.clone());
        let mut waited = at.is_none();
        for chunk in due.chunks(coordinator::BATCH_MAX) {
            let entries: Vec<(&JobEntry, DateTime<Utc>)> = chunk
                .iter()
                .filter_map(|&(index, tick)| Some((job_at(&table, index)?, tick)))
                .collect();
            let ticks: Vec<(&str, DateTime<Utc>)> = entries
                .iter()
                .map(|(entry, tick)| (&*entry.job.slug, *tick))
                .collect();
            let decided = claimer.claim(&ticks, &env.shutdown).await;
            // Never before the tick: a won claim not started by shutdown is taken over by
            // another replica once its lease runs out (it is no longer renewed).
            if !waited {
                if !env.wait_until(at, &mut jumps).await {
                    let won = decided
                        .iter()
                        .filter(|decision| matches!(decision, Decision::Run(_)))
                        .count();
                    if won > 0 {
                        tracing::warn!(
                            won,
                            tick = ?at,
                            "the scheduler stopped between claiming ticks and their instant: \
                             not run here; another replica takes them over once their lease \
                             expires"
                        );
                    }
                    return;
                }
                waited = true;
            }
            for ((entry, tick), decision) in entries.into_iter().zip(decided) {
                act_on(entry, tick, decision, &env);
            }
        }
    });
}

/// Looks for a tick missed within the catch-up window, then claims it and acts on that.
fn spawn_catch_up(claimer: &Arc<Claimer>, entry: JobEntry, now: DateTime<Utc>, env: &Arc<RunEnv>) {
    let claimer = Arc::clone(claimer);
    let env = Arc::clone(env);
    env.tracker.clone().spawn(async move {
        let Some(tick) = claimer.catch_up(&entry.job, now).await else {
            return;
        };
        if env.is_stopping() {
            return;
        }
        let decided = claimer
            .claim(&[(&entry.job.slug, tick)], &env.shutdown)
            .await;
        for decision in decided {
            act_on(&entry, tick, decision, &env);
        }
    });
}

/// Starts the run of `entry` for `tick` as the claim step decided. Nothing starts once the
/// scheduler is stopping: a won tick not started is taken over by another replica after its
/// lease.
fn act_on(entry: &JobEntry, tick: DateTime<Utc>, decision: Decision, env: &Arc<RunEnv>) {
    if env.is_stopping() {
        return;
    }
    match decision {
        Decision::Run(lease) => spawn_run(entry, tick, Some(lease), env),
        Decision::RunUnclaimed => spawn_run(entry, tick, None, env),
        Decision::Paused => count_paused(&entry.job),
        Decision::Skip(None) => {}
        Decision::Skip(Some(reason)) => {
            let job = &entry.job;
            metrics::skipped(job.stats.metrics(), &job.slug, reason, 1);
        }
    }
}

/// Starts the run of a tick the replica's take-over sweep took over from a replica whose
/// lease expired.
pub(crate) fn start_taken_over(entry: &JobEntry, lease: Lease, env: &Arc<RunEnv>) {
    if env.is_stopping() {
        // Not started: another replica still running takes it over after the lease.
        return;
    }
    let tick = lease.tick();
    spawn_run(entry, tick, Some(lease), env);
}

// --- overlap ---------------------------------------------------------------------------

/// Starts the run of `entry` for `tick` in a task of its own, unless the overlap policy
/// skips it; `lease` is the claim this replica holds for the tick, if any.
fn spawn_run(entry: &JobEntry, tick: DateTime<Utc>, lease: Option<Lease>, env: &Arc<RunEnv>) {
    if let Some(run) = overlap(entry, tick, lease, env) {
        env.tracker.spawn(run);
    }
}

/// Applies the overlap policy and registers the run; the run's future (execute → record),
/// `None` when the tick is skipped. A tick of a job paused in this process (no coordinator)
/// is not run either: one atomic load while no job is paused.
fn overlap(
    entry: &JobEntry,
    tick: DateTime<Utc>,
    lease: Option<Lease>,
    env: &RunEnv,
) -> Option<impl Future<Output = ()> + Send + 'static> {
    let JobEntry { job, runs } = entry;
    if env.pauses.is_paused(&job.slug, || env.clock.now()) {
        count_paused(job);
        tracing::debug!(slug = %job.slug, scheduled = %tick, "tick not run: the job is paused");
        return None;
    }
    match job.policy.overlap {
        Overlap::Skip if runs.len() > 0 => {
            job.stats.add_skipped();
            metrics::skipped(job.stats.metrics(), &job.slug, SkipReason::Overlap, 1);
            if let Some(lease) = lease {
                // Won but not run: record it, so no other replica takes the tick over.
                lease.finish_unrun();
            }
            tracing::warn!(
                slug = %job.slug,
                scheduled = %tick,
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
                    scheduled = %tick,
                    replaced,
                    "previous run still running; cancelled and replaced (overlap = replace)"
                );
            }
        }
        Overlap::Skip | Overlap::Allow => {}
    }
    let cancel = RunCancel::new();
    let registered = runs.insert(cancel.clone());
    job.stats.add_started();
    let job = Arc::clone(job);
    let (clock, delivery) = (Arc::clone(&env.clock), Arc::clone(&env.delivery));
    Some(async move {
        let outcome = match lease {
            // The run in this very task: one task per run. It stays registered while
            // `execute` goes on (the job's body and its check-ins) and not a moment longer:
            // what the overlap policy of the next tick sees is whether the job still runs.
            None => {
                let _registered = registered;
                run::execute_caught(Arc::clone(&job), tick, cancel, clock, delivery).await
            }
            // Boxed, so the lease keeping (rare) does not enlarge every run's future.
            Some(lease) => {
                let run = Execute {
                    job: Arc::clone(&job),
                    tick,
                    cancel,
                    clock,
                    delivery,
                };
                Box::pin(run.holding(lease, registered)).await
            }
        };
        record(&job, tick, &outcome);
    })
}

// --- execute ---------------------------------------------------------------------------

/// What a run executes with.
struct Execute {
    job: Arc<Job>,
    tick: DateTime<Utc>,
    cancel: RunCancel,
    clock: Arc<dyn Clock>,
    delivery: Arc<Delivery>,
}

impl Execute {
    /// Executes in a task of its own while keeping `lease`, cancelling the run when the lease
    /// is lost; then records the outcome with the coordinator (`Err`: a bug in the run path
    /// itself, not the job's, whose panics never leave `execute`). The run is unregistered as
    /// soon as its body has ended: recording the outcome (slow, or retried while the backend
    /// is down) comes after, and the next tick's overlap policy never sees it.
    async fn holding(self, lease: Lease, registered: RunGuard) -> Result<Ended, String> {
        let kept = lease.keep();
        let cancel = self.cancel.clone();
        let run = run::execute(
            self.job,
            self.tick,
            Some(lease.fencing_token()),
            self.cancel,
            self.clock,
            self.delivery,
        );
        let mut task = tokio::spawn(async move {
            let _registered = registered;
            run.await
        });
        let ended = tokio::select! {
            ended = &mut task => ended,
            lost = kept.lost() => {
                cancel.cancel(&format!(
                    "stopped: lease lost ({lost:?}), another replica may run the tick"
                ));
                task.await
            }
        };
        let outcome = ended.map_err(|e| e.to_string());
        lease.finish(kept, &recorded(&outcome));
        outcome
    }
}

// --- record ----------------------------------------------------------------------------

/// Counts the run's end in its job's stats; a run task that died is logged.
fn record(job: &Job, tick: DateTime<Utc>, outcome: &Result<Ended, String>) {
    match outcome {
        Ok(ended) => job
            .stats
            .set_last_run(metrics::Outcome::from(ended), ended.duration(), tick),
        Err(_) => job
            .stats
            .set_last_run(metrics::Outcome::Crashed, Duration::ZERO, tick),
    }
    match outcome {
        Ok(Ended::Ok { .. }) => job.stats.add_succeeded(),
        Ok(_) => job.stats.add_failed(),
        Err(e) => {
            job.stats.add_crashed();
            metrics::crashed(job.stats.metrics(), &job.slug);
            tracing::error!(slug = %job.slug, scheduled = %tick, error = %e, "run task died");
        }
    }
}

/// What the coordinator records for `outcome`.
fn recorded(outcome: &Result<Ended, String>) -> coordinator::RunOutcome {
    match outcome {
        Ok(outcome) => coordinator::RunOutcome::from(outcome),
        Err(error) => coordinator::RunOutcome {
            status: RunStatus::Error,
            duration: Duration::ZERO,
            message: Some(format!("run task died: {error}")),
        },
    }
}

// --- on demand -------------------------------------------------------------------------

/// Runs `job` once now (execute → record, no claim, no overlap), counting it in the job's
/// stats like a scheduled run.
pub(crate) async fn run_on_demand(
    job: Arc<Job>,
    clock: Arc<dyn Clock>,
    delivery: Arc<Delivery>,
) -> RunReport {
    let tick = clock.now();
    job.stats.add_started();
    // Its own task, as for scheduled runs: a bug in `execute` cannot take the caller down.
    let run = run::execute(
        Arc::clone(&job),
        tick,
        None,
        RunCancel::new(),
        clock,
        delivery,
    );
    let outcome = tokio::spawn(run).await.map_err(|e| e.to_string());
    record(&job, tick, &outcome);
    let (status, duration, message) = match &outcome {
        Ok(ended) => {
            let recorded = coordinator::RunOutcome::from(ended);
            (recorded.status, ended.duration(), recorded.message)
        }
        Err(e) => (
            RunStatus::Error,
            Duration::ZERO,
            Some(format!("the run task died: {e}")),
        ),
    };
    RunReport {
        slug: job.slug.to_string(),
        scheduled: tick,
        status,
        duration,
        message,
    }
}

// --- start tasks (the hot path) --------------------------------------------------------

/// Runs due at the same instant, taken one at a time by whichever start task is free.
struct StartQueue {
    table: Arc<[JobEntry]>,
    runs: Vec<DueRun>,
    /// Index of the next run to take; taking is one atomic add, no lock.
    next: AtomicUsize,
}

impl StartQueue {
    fn new(table: &Arc<[JobEntry]>, runs: Vec<DueRun>) -> Self {
        Self {
            table: Arc::clone(table),
            runs,
            next: AtomicUsize::new(0),
        }
    }

    /// The next run not taken yet by any start task: its job and tick.
    fn take(&self) -> Option<(&JobEntry, DateTime<Utc>)> {
        loop {
            let &(index, tick) = self.runs.get(self.next.fetch_add(1, Ordering::Relaxed))?;
            if let Some(entry) = job_at(&self.table, index) {
                return Some((entry, tick));
            }
        }
    }

    /// Whether runs are left to take.
    fn has_more(&self) -> bool {
        self.next.load(Ordering::Relaxed) < self.runs.len()
    }
}

fn spawn_start_tasks(queue: Arc<StartQueue>, env: &Arc<RunEnv>) {
    env.tracker.spawn(start_task(queue, Arc::clone(env)));
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
async fn start_task(queue: Arc<StartQueue>, env: Arc<RunEnv>) {
    if queue.has_more() {
        spawn_start_tasks(Arc::clone(&queue), &env);
        spawn_start_tasks(Arc::clone(&queue), &env);
    }
    while let Some((entry, tick)) = queue.take() {
        if env.is_stopping() {
            return;
        }
        if let Some(max) = entry.job.policy.jitter {
            spawn_jittered(entry.clone(), tick, max, None, &env);
            continue;
        }
        let Some(run) = overlap(entry, tick, None, &env) else {
            continue;
        };
        let mut run = Box::pin(run);
        let first = std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await;
        if first.is_pending() {
            env.tracker.spawn(run);
        }
    }
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
