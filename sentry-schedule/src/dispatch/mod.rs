//! The scheduler loop: one task holding the next fire instant of every job
//! ([`Timers`], grouped by instant). It sleeps until the earliest, hands the runs that are
//! due to start tasks, and files each job's following instant.
//!
//! Fire instants come from one schedule cursor per job (`schedule.upcoming(start, tz)`,
//! wall-clock instants in the job's time zone, in the order Sentry's server iterates them)
//! and are slept for on tokio's monotonic clock. On waking the wall clock is read again; a
//! job fires only when the wall clock has reached its instant — **never early** — and
//! otherwise the dispatcher sleeps again. The deadline is also recomputed whenever the
//! clock watch ([`crate::dispatch::clock_watch`]) reports a wall-clock jump.
//!
//! One timer and one task whatever the number of jobs: an idle scheduler holds a timer
//! entry and a cursor per job and wakes for nothing but the earliest instant. The runs due at
//! one instant are handed to the run pipeline from one wake-up as one batch
//! ([`pipeline::start_due`]), whose start tasks share the starting among the worker threads.
//!
//! The wait itself (`RunEnv::wait_until`, in `run::wake`) is accurate to tens of
//! microseconds with the system clock.
//!
//! With a coordinator the dispatcher wakes [`Claimer::ahead`] before each instant and hands
//! the instant's runs to the claim step then: the claim's round trip to the backend is made
//! while the tick is still ahead, and the claimed runs wait for their tick to start (never
//! before it). Without a coordinator there is nothing to do ahead, and it wakes at the
//! instant.
//!
//! Clock jumps — the tolerance:
//! - **Backward**: the cursor only moves forward, so only ticks strictly after the last
//!   one run can fire and no tick runs twice; the job waits until the wall clock reaches
//!   its next tick again.
//! - **Forward** past several ticks (NTP step, suspend/resume): only the latest tick that
//!   is due runs, once, with that tick as its scheduled instant; the ticks before it are
//!   counted as missed ([`JobStats::missed`](crate::JobStats::missed)) and logged in one
//!   line for all jobs (also when the process was stopped or stalled). A jump
//!   is noticed within the clock watch's check interval (5 s), so a forward jump delays
//!   the latest due tick by at most that much.
pub(crate) mod clock_watch;
mod timers;
#[cfg(doc)]
use crate::coordinator::claimer::Claimer;
use crate::dispatch::timers::Timers;
use crate::job::Job;
use crate::metrics::{self, SkipReason};
use crate::run::pipeline::{self, DueRun, JobEntry, RunEnv};
use chrono::{DateTime, TimeDelta, Utc};
use sentry_schedule_core::schedule::Upcoming;
use std::sync::Arc;
use std::time::Duration;

/// How many missed ticks are walked one by one after a forward jump before the
/// dispatcher searches for the latest due tick directly.
const MAX_TICK_WALK: u64 = 10_000;

/// Consecutive fire instants of any schedule are at least this far apart: crontab instants
/// are whole minutes, intervals whole seconds.
const MIN_SPACING: TimeDelta = TimeDelta::seconds(1);

/// Runs the schedules of `table`'s jobs until shutdown. Runs are spawned on the shared
/// tracker and registered in their job's run set.
///
/// On time, the runs of all jobs due at an instant are handed to start tasks first and the
/// jobs' cursors advanced afterwards, so the starting is never behind the bookkeeping.
pub(crate) async fn dispatch(table: Arc<[JobEntry]>, env: Arc<RunEnv>) {
    let mut jumps = Some(env.jumps.clone());
    let start = env.clock.now();
    if u32::try_from(table.len()).is_err() {
        tracing::error!(jobs = table.len(), "more than 2^32 jobs; none is scheduled");
        return;
    }
    // One cursor per job for its whole life: it yields each instant once, in order,
    // exactly as Sentry's server iterates the schedule, so no tick can repeat.
    let mut cursors = Vec::with_capacity(table.len());
    let mut timers = Timers::default();
    pipeline::start_up(&table, &env, start);
    for (index, entry) in (0u32..).zip(table.iter()) {
        let mut ticks = entry.job.schedule.upcoming(start, entry.job.timezone);
        if let Some(next) = next_tick(&entry.job, ticks.next()) {
            timers.add(next, index);
        }
        cursors.push(ticks);
    }
    timers.flush();
    // Less than `MIN_SPACING`: one wake-up hands over one instant's runs ahead of it.
    let ahead = env.claimer.as_ref().map_or(TimeDelta::zero(), |claimer| {
        TimeDelta::from_std(claimer.ahead()).unwrap_or_default()
    });
    loop {
        let wake_at = timers
            .earliest()
            .map(|instant| instant.checked_sub_signed(ahead).unwrap_or(instant));
        if !env.wait_until(wake_at, &mut jumps).await {
            return;
        }
        let now = env.clock.now();
        let horizon = now.checked_add_signed(ahead).unwrap_or(now);
        let mut passed_over = PassedOver::default();
        while let Some((instant, due)) = timers.take_due(horizon) {
            // On time (the usual case) no later tick of these jobs can be due yet, so each
            // runs for `instant`: start them all before advancing any cursor. Woken late (a
            // clock jump, a stalled runtime), find each job's latest due tick first.
            let late = now >= instant + MIN_SPACING;
            let mut runs: Vec<DueRun> = Vec::with_capacity(due.len());
            if !late {
                runs.extend(due.iter().map(|&index| (index, instant)));
                pipeline::start_due(&table, &runs, instant, &env);
            }
            for &index in &due {
                let (Some(entry), Some(ticks)) =
                    (table.get(index as usize), cursors.get_mut(index as usize))
                else {
                    // Timers only hold indices of the table: a bug, reported, not skipped quietly.
                    tracing::error!(index, "a timer names no job; it is dropped");
                    continue;
                };
                let following = if late {
                    let (tick, following) =
                        due_tick(&entry.job, ticks, instant, now, &mut passed_over);
                    runs.push((index, tick));
                    following
                } else {
                    ticks.next()
                };
                if let Some(following) = next_tick(&entry.job, following) {
                    timers.add(following, index);
                }
            }
            if late {
                pipeline::start_due(&table, &runs, now, &env);
            }
        }
        passed_over.log(now);
        timers.flush();
    }
}

/// `next`, the next instant of `job`'s cursor; logs when there is none.
fn next_tick(job: &Job, next: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    if next.is_none() {
        tracing::info!(slug = %job.slug, "schedule has no further fire instant; job stops");
    }
    next
}

/// The ticks passed over in one late wake-up of the dispatcher, over all its jobs: a
/// replica stopped for a while (`SIGSTOP`, a long stall) or a forward wall-clock jump wakes
/// with every job late at once, and that is one log line, not one per job.
#[derive(Debug, Default)]
struct PassedOver {
    /// Jobs that passed over at least one tick.
    jobs: u64,
    /// Ticks passed over, summed over those jobs.
    ticks: u64,
    /// The earliest due instant among them: how late the dispatcher woke is measured from it.
    earliest: Option<DateTime<Utc>>,
}

impl PassedOver {
    /// Counts `ticks` of `job` passed over, the first of them due at `due`.
    fn add(&mut self, job: &Job, ticks: u64, due: DateTime<Utc>) {
        job.stats.add_missed(ticks);
        metrics::skipped(job.stats.metrics(), &job.slug, SkipReason::Missed, ticks);
        tracing::debug!(slug = %job.slug, missed = ticks, "ticks passed over; only the latest runs");
        self.jobs += 1;
        self.ticks = self.ticks.saturating_add(ticks);
        self.earliest = Some(self.earliest.map_or(due, |e| e.min(due)));
    }

    /// Logs the summary of the wake-up at `now`, if any tick was passed over.
    fn log(self, now: DateTime<Utc>) {
        let Some(earliest) = self.earliest else {
            return;
        };
        let late = now.signed_duration_since(earliest);
        // Whole seconds from a minute on: `2h5m3s`, not `7503.25s`.
        let shown = match late.to_std().unwrap_or_default() {
            d if d >= Duration::from_secs(60) => Duration::from_secs(d.as_secs()),
            d => d,
        };
        tracing::warn!(
            jobs = self.jobs,
            missed = self.ticks,
            late_ms = late.num_milliseconds(),
            "woke {} after a due tick (the wall clock jumped, or the process was stopped or \
             stalled): {} jobs passed over {} ticks in all; each runs only its latest due tick",
            crate::run::human_duration(shown),
            self.jobs,
            self.ticks,
        );
    }
}

/// The tick to run for the due instant `next` — or, when the wall clock jumped past
/// several ticks, the latest one due at `now`, counting the others in `passed_over` — and
/// the cursor's following instant, the first after `now`.
fn due_tick(
    job: &Job,
    ticks: &mut Upcoming,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
    passed_over: &mut PassedOver,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    let (tick, passed, following) = latest_due(job, ticks, next, now);
    if passed > 0 {
        passed_over.add(job, passed, next);
    }
    (tick, following)
}

/// The latest tick at or before `now`, starting from the due tick `next` and advancing
/// `ticks` past it; how many ticks after `next` were passed over to reach it; and the
/// first instant after `now` (the cursor has yielded it).
fn latest_due(
    job: &Job,
    ticks: &mut Upcoming,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, u64, Option<DateTime<Utc>>) {
    let mut tick = next;
    let mut passed = 0;
    loop {
        let following = ticks.next();
        match following {
            Some(t) if t <= now => {
                tick = t;
                passed += 1;
            }
            _ => return (tick, passed, following),
        }
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
                    *ticks = job.schedule.upcoming(from, job.timezone);
                    break;
                }
                back = back * 2;
            }
            loop {
                let following = ticks.next();
                match following {
                    Some(t) if t <= now => tick = t,
                    _ => return (tick, passed, following),
                }
            }
        }
    }
}
