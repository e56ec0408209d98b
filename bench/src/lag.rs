//! Fire lag and lost runs: every job records when its body started; the ticks it
//! should have fired on are the multiples of the period on the wall clock.
use crate::measure::{percentiles, wall_nanos, Percentiles, NANOS_PER_SEC};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// One started run: which job, when its body began (wall clock, ns since the epoch) and,
/// when the scheduler tells it, the instant it was scheduled for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// Index of the job, `0..jobs`.
    pub job: u32,
    /// Wall-clock start of the job's body.
    pub at: i64,
    /// The scheduled instant the scheduler handed to the run, if it does.
    pub scheduled: Option<i64>,
}

/// Collects run starts from every job without locks: each job owns a few slots, so
/// thousands of jobs starting at once never wait for one another in the recorder.
#[derive(Debug)]
pub(crate) struct Recorder {
    slots_per_job: usize,
    /// Starts recorded per job (may exceed `slots_per_job`; the excess is counted, not kept).
    counts: Vec<AtomicUsize>,
    /// `(start, scheduled or NONE)` per slot.
    slots: Vec<(AtomicI64, AtomicI64)>,
}

/// Marks a slot without a scheduler-reported instant.
const NONE: i64 = i64::MIN;

impl Recorder {
    /// A recorder for `jobs` jobs with room for `slots_per_job` starts each.
    ///
    /// Leaked, so job closures of either scheduler hold a plain reference: a shared `Arc`
    /// cloned and dropped by every run would add a contended reference count to every run
    /// of both schedulers. A measuring child process ends right after, so nothing piles up.
    pub(crate) fn new(jobs: u32, slots_per_job: usize) -> &'static Self {
        let jobs = jobs as usize;
        Box::leak(Box::new(Self {
            slots_per_job,
            counts: (0..jobs).map(|_| AtomicUsize::new(0)).collect(),
            slots: (0..jobs * slots_per_job)
                .map(|_| (AtomicI64::new(NONE), AtomicI64::new(NONE)))
                .collect(),
        }))
    }

    /// Records that `job` started now.
    pub(crate) fn record(&self, job: u32, scheduled: Option<i64>) {
        let at = wall_nanos();
        let Some(count) = self.counts.get(job as usize) else {
            return;
        };
        let nth = count.fetch_add(1, Ordering::Relaxed);
        if nth >= self.slots_per_job {
            return;
        }
        if let Some((start, sched)) = self.slots.get(job as usize * self.slots_per_job + nth) {
            sched.store(scheduled.unwrap_or(NONE), Ordering::Relaxed);
            start.store(at, Ordering::Release);
        }
    }

    /// Every start recorded so far, and how many did not fit in the slots.
    pub(crate) fn take(&self) -> (Vec<Start>, u64) {
        let mut starts = Vec::new();
        let mut overflow = 0;
        for (job, count) in self.counts.iter().enumerate() {
            let count = count.load(Ordering::Acquire);
            overflow += count.saturating_sub(self.slots_per_job) as u64;
            for nth in 0..count.min(self.slots_per_job) {
                let Some((start, sched)) = self.slots.get(job * self.slots_per_job + nth) else {
                    continue;
                };
                let at = start.load(Ordering::Acquire);
                if at == NONE {
                    continue; // being written right now
                }
                let scheduled = sched.load(Ordering::Relaxed);
                starts.push(Start {
                    job: job as u32,
                    at,
                    scheduled: (scheduled != NONE).then_some(scheduled),
                });
            }
        }
        (starts, overflow)
    }
}

/// The ticks a lag run measures: `ticks` consecutive multiples of `period` (seconds)
/// of the wall clock, the first at `first` (ns since the epoch).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Window {
    /// First measured tick, ns since the epoch.
    pub first: i64,
    /// Seconds between ticks.
    pub period_secs: u32,
    /// Number of measured ticks.
    pub ticks: u32,
}

impl Window {
    /// The first `ticks` ticks on the `period_secs` grid at or after `not_before`.
    pub(crate) fn starting_at_or_after(not_before: i64, period_secs: u32, ticks: u32) -> Self {
        let period = i64::from(period_secs) * NANOS_PER_SEC;
        let first = not_before.div_euclid(period) * period;
        let first = if first < not_before {
            first + period
        } else {
            first
        };
        Self {
            first,
            period_secs,
            ticks,
        }
    }

    fn period(&self) -> i64 {
        i64::from(self.period_secs) * NANOS_PER_SEC
    }

    /// The instant of the last measured tick.
    pub(crate) fn last(&self) -> i64 {
        self.first + self.period() * i64::from(self.ticks.saturating_sub(1))
    }

    /// Index of the measured tick `scheduled` is, if it is one.
    fn tick_index(&self, scheduled: i64) -> Option<u32> {
        let offset = scheduled - self.first;
        if offset < 0 || offset % self.period() != 0 {
            return None;
        }
        u32::try_from(offset / self.period())
            .ok()
            .filter(|i| *i < self.ticks)
    }

    /// The grid tick a run that started at `at` belongs to: the latest one not after it.
    /// Right as long as no run starts a whole period late.
    fn tick_before(&self, at: i64) -> i64 {
        at.div_euclid(self.period()) * self.period()
    }
}

/// What a lag run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LagReport {
    /// Jobs due together on each tick.
    pub jobs: u32,
    /// Measured ticks.
    pub ticks: u32,
    /// Runs that should have started (`jobs × ticks`).
    pub expected: u64,
    /// Distinct (job, tick) runs that started.
    pub started: u64,
    /// Expected runs that never started (within a period of their tick).
    pub lost: u64,
    /// Runs that started more than once for the same tick.
    pub duplicates: u64,
    /// Runs that started before their scheduled instant.
    pub early: u64,
    /// Runs whose scheduler-reported instant is not on the grid of measured ticks
    /// (the scheduler's idea of the tick differs from the schedule).
    pub off_grid: u64,
    /// Starts the recorder had no room for (not analysed; should be 0).
    pub overflow: u64,
    /// Start − scheduled instant over the started runs.
    pub lag: Option<Percentiles>,
    /// Process CPU time (user + sys) per started run while the ticks were measured, in µs.
    pub cpu_us_per_run: Option<f64>,
}

/// Matches the recorded starts against the window's ticks.
pub(crate) fn analyze(starts: &[Start], overflow: u64, jobs: u32, window: Window) -> LagReport {
    let ticks = window.ticks;
    let mut seen = vec![0u32; jobs as usize * ticks as usize];
    let mut lags = Vec::with_capacity(seen.len());
    let (mut duplicates, mut early, mut off_grid) = (0, 0, 0);
    for start in starts {
        let scheduled = match start.scheduled {
            Some(reported) => {
                if window.tick_index(reported).is_none()
                    && reported >= window.first
                    && reported <= window.last()
                {
                    off_grid += 1;
                }
                reported
            }
            None => window.tick_before(start.at),
        };
        let Some(tick) = window.tick_index(scheduled) else {
            continue;
        };
        let slot = start.job as usize * ticks as usize + tick as usize;
        let Some(count) = seen.get_mut(slot) else {
            continue;
        };
        *count += 1;
        if *count > 1 {
            duplicates += 1;
            continue;
        }
        if start.at < scheduled {
            early += 1;
        }
        lags.push(start.at - scheduled);
    }
    let expected = seen.len() as u64;
    let started = seen.iter().filter(|c| **c > 0).count() as u64;
    LagReport {
        jobs,
        ticks,
        expected,
        started,
        lost: expected - started,
        duplicates,
        early,
        off_grid,
        overflow,
        lag: percentiles(lags),
        cpu_us_per_run: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SEC;
    const MS: i64 = 1_000_000;

    fn start(job: u32, at: i64, scheduled: Option<i64>) -> Start {
        Start { job, at, scheduled }
    }

    #[test]
    fn recorder_keeps_every_start_that_fits() {
        let recorder = Recorder::new(2, 2);
        recorder.record(0, None);
        recorder.record(1, Some(5));
        recorder.record(1, Some(6));
        recorder.record(1, Some(7)); // no room
        let (starts, overflow) = recorder.take();
        let seen: Vec<_> = starts.iter().map(|s| (s.job, s.scheduled)).collect();
        assert_eq!(seen, [(0, None), (1, Some(5)), (1, Some(6))]);
        assert_eq!(overflow, 1);
        assert!(starts.iter().all(|s| s.at > 0));
    }

    #[test]
    fn window_starts_on_the_next_grid_tick() {
        let w = Window::starting_at_or_after(100 * S + 1, 2, 3);
        assert_eq!((w.first, w.last()), (102 * S, 106 * S));
        let w = Window::starting_at_or_after(100 * S, 2, 1);
        assert_eq!((w.first, w.last()), (100 * S, 100 * S));
    }

    #[test]
    fn counts_lost_duplicate_and_lag() {
        let w = Window {
            first: 10 * S,
            period_secs: 1,
            ticks: 2,
        };
        let starts = [
            start(0, 10 * S + MS, None),      // tick 0, 1 ms
            start(0, 11 * S + 3 * MS, None),  // tick 1, 3 ms
            start(1, 10 * S + 2 * MS, None),  // tick 0, 2 ms
            start(1, 10 * S + 5 * MS, None),  // tick 0 again
            start(1, 9 * S + 999 * MS, None), // before the window
        ]; // job 1 never ran for tick 1
        let r = analyze(&starts, 0, 2, w);
        assert_eq!(
            (r.expected, r.started, r.lost, r.duplicates, r.early),
            (4, 3, 1, 1, 0)
        );
        let lag = r.lag.expect("lags");
        assert_eq!((lag.p50_us, lag.max_us), (2_000.0, 3_000.0));
    }

    #[test]
    fn reported_instants_are_trusted_and_checked() {
        let w = Window {
            first: 10 * S,
            period_secs: 1,
            ticks: 2,
        };
        let starts = [
            // Reported for tick 0 but started 1.5 s later: lag 1.5 s, not a tick-1 run.
            start(0, 11 * S + 500 * MS, Some(10 * S)),
            // Started before its reported instant.
            start(0, 11 * S - MS, Some(11 * S)),
            // A reported instant between ticks.
            start(1, 10 * S + 600 * MS, Some(10 * S + 500 * MS)),
        ];
        let r = analyze(&starts, 0, 2, w);
        assert_eq!((r.started, r.lost, r.early, r.off_grid), (2, 2, 1, 1));
        assert_eq!(r.lag.expect("lags").max_us, 1_500_000.0);
    }
}
