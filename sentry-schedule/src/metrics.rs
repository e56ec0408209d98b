//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): the
//! names, and the recording fns the run path calls. Without the feature every recording fn
//! is an empty inline fn and nothing is recorded.
//!
//! Every per-job metric has the label `job` (the monitor slug). The handles of a job are
//! registered once, at its first run or skipped tick, and kept with the job's counters, so a
//! recorder must be installed before the scheduler runs its first tick: a job whose handles
//! were registered with no recorder keeps no-op handles. With no-op handles a run pays one
//! check of an empty handle per metric and nothing else: the values that need the wall clock
//! (start lag, last success time) are computed only by a live handle.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `sentry_schedule_runs_total` | counter | `job`, `outcome` | runs ended, by outcome: `ok`, `error`, `panicked`, `timed_out`, `cancelled`, `crashed` |
//! | `sentry_schedule_run_duration_seconds` | histogram | `job` | how long each run took |
//! | `sentry_schedule_start_lag_seconds` | histogram | `job` | actual start − scheduled tick |
//! | `sentry_schedule_ticks_skipped_total` | counter | `job`, `reason` | ticks not run, by reason: `overlap`, `missed`, `not_claimed`, `coordinator_error`, `paused` |
//! | `sentry_schedule_runs_in_progress` | gauge | `job` | runs going on now |
//! | `sentry_schedule_last_success_timestamp_seconds` | gauge | `job` | end of the last `ok` run, unix seconds |
//! | `sentry_schedule_check_ins_delivered_total` | counter | | check-ins Sentry accepted |
//! | `sentry_schedule_check_ins_retried_total` | counter | | sending attempts after the first |
//! | `sentry_schedule_check_ins_dropped_total` | counter | `reason` | check-ins given up: `queue_full`, `failed`, `rejected`, `shutdown`, `unbuildable` |
//!
//! Check-in delivery is shared by all jobs (one queue), so its counters have no `job` label;
//! they count what [`CheckInStats`](crate::CheckInStats) counts.
#![cfg_attr(not(feature = "metrics"), allow(dead_code, unreachable_pub))]

use crate::clock::Clock;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Runs ended, by outcome (counter; labels `job`, `outcome`).
pub const RUNS: &str = "sentry_schedule_runs_total";
/// How long each run took, in seconds (histogram; label `job`).
pub const RUN_DURATION: &str = "sentry_schedule_run_duration_seconds";
/// Actual start minus scheduled tick, in seconds (histogram; label `job`).
pub const START_LAG: &str = "sentry_schedule_start_lag_seconds";
/// Ticks not run, by reason (counter; labels `job`, `reason`).
pub const TICKS_SKIPPED: &str = "sentry_schedule_ticks_skipped_total";
/// Runs going on now (gauge; label `job`).
pub const RUNS_IN_PROGRESS: &str = "sentry_schedule_runs_in_progress";
/// When the last `ok` run ended, in unix seconds (gauge; label `job`).
pub const LAST_SUCCESS: &str = "sentry_schedule_last_success_timestamp_seconds";
/// Check-ins Sentry accepted (counter).
pub const CHECK_INS_DELIVERED: &str = "sentry_schedule_check_ins_delivered_total";
/// Sending attempts of check-ins after the first (counter).
pub const CHECK_INS_RETRIED: &str = "sentry_schedule_check_ins_retried_total";
/// Check-ins given up, by reason (counter; label `reason`).
pub const CHECK_INS_DROPPED: &str = "sentry_schedule_check_ins_dropped_total";

/// How a run ended: the `outcome` label of [`RUNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok = 0,
    Error = 1,
    Panicked = 2,
    TimedOut = 3,
    Cancelled = 4,
    /// The run's task died instead of ending (a bug, logged as an error).
    Crashed = 5,
}

/// The labels of [`Outcome`], in its order.
const OUTCOMES: [&str; 6] = [
    "ok",
    "error",
    "panicked",
    "timed_out",
    "cancelled",
    "crashed",
];

#[cfg_attr(not(feature = "web"), allow(dead_code))]
impl Outcome {
    const ALL: [Outcome; 6] = [
        Self::Ok,
        Self::Error,
        Self::Panicked,
        Self::TimedOut,
        Self::Cancelled,
        Self::Crashed,
    ];

    /// The outcome of `index` (`outcome as u8`).
    pub(crate) fn from_index(index: u8) -> Option<Self> {
        Self::ALL.get(usize::from(index)).copied()
    }

    /// The label: `ok`, `error`, `panicked`, `timed_out`, `cancelled`, `crashed`.
    pub(crate) fn label(self) -> &'static str {
        OUTCOMES[self as usize]
    }
}

/// Why a tick was not run: the `reason` label of [`TICKS_SKIPPED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipReason {
    /// The previous run still ran (`overlap = "skip"`).
    Overlap = 0,
    /// The wall clock jumped past it, or the process was stopped or stalled: only the
    /// latest due tick runs.
    Missed = 1,
    /// Another replica holds or ran it.
    NotClaimed = 2,
    /// The coordinator could not be reached and the policy is to skip.
    CoordinatorError = 3,
    /// The job is paused (`Scheduler::pause`).
    Paused = 4,
}

/// The labels of [`SkipReason`], in its order.
const SKIP_REASONS: [&str; 5] = [
    "overlap",
    "missed",
    "not_claimed",
    "coordinator_error",
    "paused",
];

/// A job's metric handles, registered at first use; kept with the job's counters.
#[derive(Default)]
pub(crate) struct Slot {
    // The handles are atomics a panic cannot leave half-updated: `JobStats` stays
    // unwind-safe, as without the feature.
    #[cfg(feature = "metrics")]
    handles: std::panic::AssertUnwindSafe<std::sync::OnceLock<JobMetrics>>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

/// One job's metric handles.
#[cfg(feature = "metrics")]
struct JobMetrics {
    runs: [metrics::Counter; 6],
    duration: metrics::Histogram,
    lag: metrics::Histogram,
    skipped: [metrics::Counter; 5],
    in_progress: metrics::Gauge,
    last_success: metrics::Gauge,
}

#[cfg(feature = "metrics")]
impl Slot {
    /// The handles of the job `slug`, registered with the installed recorder at first use.
    fn get(&self, slug: &Arc<str>) -> &JobMetrics {
        self.handles.get_or_init(|| {
            describe();
            let job = metrics::SharedString::from(Arc::clone(slug));
            JobMetrics {
                runs: OUTCOMES.map(|outcome| {
                    metrics::counter!(RUNS, "job" => job.clone(), "outcome" => outcome)
                }),
                duration: metrics::histogram!(RUN_DURATION, "job" => job.clone()),
                lag: metrics::histogram!(START_LAG, "job" => job.clone()),
                skipped: SKIP_REASONS.map(|reason| {
                    metrics::counter!(TICKS_SKIPPED, "job" => job.clone(), "reason" => reason)
                }),
                in_progress: metrics::gauge!(RUNS_IN_PROGRESS, "job" => job.clone()),
                last_success: metrics::gauge!(LAST_SUCCESS, "job" => job),
            }
        })
    }
}

/// Describes every metric to the recorder, once per process.
#[cfg(feature = "metrics")]
fn describe() {
    use metrics::Unit;
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(RUNS, "Runs ended, by outcome");
        metrics::describe_histogram!(RUN_DURATION, Unit::Seconds, "How long each run took");
        metrics::describe_histogram!(
            START_LAG,
            Unit::Seconds,
            "Actual start minus scheduled tick"
        );
        metrics::describe_counter!(TICKS_SKIPPED, "Ticks not run, by reason");
        metrics::describe_gauge!(RUNS_IN_PROGRESS, "Runs going on now");
        metrics::describe_gauge!(
            LAST_SUCCESS,
            Unit::Seconds,
            "When the last ok run ended, unix seconds"
        );
        metrics::describe_counter!(CHECK_INS_DELIVERED, "Check-ins Sentry accepted");
        metrics::describe_counter!(
            CHECK_INS_RETRIED,
            "Check-in sending attempts after the first"
        );
        metrics::describe_counter!(CHECK_INS_DROPPED, "Check-ins given up, by reason");
    });
}

/// A run going on, counted in [`RUNS_IN_PROGRESS`] until [`InProgress::ended`] or its drop
/// (a run whose future is dropped, or whose task panics, is no longer in progress). One
/// reference: all it keeps across the run's awaits.
pub(crate) struct InProgress<'a> {
    #[cfg(feature = "metrics")]
    handles: &'a JobMetrics,
    #[cfg(not(feature = "metrics"))]
    _slot: std::marker::PhantomData<&'a Slot>,
}

/// Counts the start of a run of the job `slug` for the tick `scheduled`: its start lag and
/// the run in progress. The lag reads `clock` only when the histogram is live (see
/// [`SecondsSince`]): with no recorder, no clock read and no date arithmetic.
#[inline]
pub(crate) fn started<'a>(
    slot: &'a Slot,
    slug: &Arc<str>,
    scheduled: DateTime<Utc>,
    clock: &dyn Clock,
) -> InProgress<'a> {
    #[cfg(feature = "metrics")]
    {
        let handles = slot.get(slug);
        handles.lag.record(SecondsSince {
            since: scheduled,
            clock,
        });
        handles.in_progress.increment(1.0);
        InProgress { handles }
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = (slot, slug, scheduled, clock);
        InProgress {
            _slot: std::marker::PhantomData,
        }
    }
}

impl InProgress<'_> {
    /// Counts the run's end: its outcome and duration, and when it was `ok` the time of the
    /// last success, read from `clock` only when that gauge is live.
    #[inline]
    pub(crate) fn ended(self, outcome: Outcome, duration: Duration, clock: &dyn Clock) {
        #[cfg(feature = "metrics")]
        {
            self.handles.runs[outcome as usize].increment(1);
            // `Duration` converts (`as_secs_f64`) only when the histogram is live.
            self.handles.duration.record(duration);
            if outcome == Outcome::Ok {
                self.handles.last_success.set(SecondsSince {
                    since: DateTime::UNIX_EPOCH,
                    clock,
                });
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (outcome, duration, clock);
    }
}

#[cfg(feature = "metrics")]
impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.handles.in_progress.decrement(1.0);
    }
}

/// Seconds from `since` to the clock's now, computed only when a metric takes the value.
///
/// The facade's handles convert what they are given (`IntoF64::into_f64`) only when they hold
/// a recorder's handle; a no-op handle (no recorder installed) drops the value unread: see
/// `Counter`, `Gauge` and `Histogram` in metrics 0.24's `src/handles.rs`
/// (`if let Some(inner) = &self.inner { inner.record(value.into_f64()) }`). So the wall-clock
/// read and the date arithmetic happen only when something records them.
#[cfg(feature = "metrics")]
struct SecondsSince<'c> {
    since: DateTime<Utc>,
    clock: &'c dyn Clock,
}

#[cfg(feature = "metrics")]
impl metrics::IntoF64 for SecondsSince<'_> {
    fn into_f64(self) -> f64 {
        seconds(self.clock.now().signed_duration_since(self.since))
    }
}

/// Seconds, with microseconds, of a signed time span.
#[cfg(feature = "metrics")]
fn seconds(span: chrono::TimeDelta) -> f64 {
    span.num_microseconds()
        .map_or(span.num_seconds() as f64, |us| us as f64 / 1e6)
}

/// Counts a run of the job `slug` whose task died instead of ending (outcome `crashed`).
#[inline]
pub(crate) fn crashed(slot: &Slot, slug: &Arc<str>) {
    #[cfg(feature = "metrics")]
    slot.get(slug).runs[Outcome::Crashed as usize].increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (slot, slug);
}

/// Counts `n` ticks of the job `slug` not run, for `reason`.
#[inline]
pub(crate) fn skipped(slot: &Slot, slug: &Arc<str>, reason: SkipReason, n: u64) {
    #[cfg(feature = "metrics")]
    slot.get(slug).skipped[reason as usize].increment(n);
    #[cfg(not(feature = "metrics"))]
    let _ = (slot, slug, reason, n);
}

/// What became of check-ins, counted in the delivery counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckInFate {
    /// Sentry accepted it: [`CHECK_INS_DELIVERED`].
    Delivered,
    /// Another sending attempt: [`CHECK_INS_RETRIED`].
    Retried,
    /// Given up, for the reason named (the `reason` label): [`CHECK_INS_DROPPED`].
    Dropped(&'static str),
}

/// Counts `n` check-ins in the delivery counter of `fate`.
#[inline]
pub(crate) fn check_ins(fate: CheckInFate, n: u64) {
    #[cfg(feature = "metrics")]
    {
        describe();
        match fate {
            CheckInFate::Delivered => metrics::counter!(CHECK_INS_DELIVERED).increment(n),
            CheckInFate::Retried => metrics::counter!(CHECK_INS_RETRIED).increment(n),
            CheckInFate::Dropped(reason) => {
                metrics::counter!(CHECK_INS_DROPPED, "reason" => reason).increment(n);
            }
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (fate, n);
}

#[cfg(test)]
#[cfg(feature = "metrics")]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A wall clock standing at one instant that counts how often it is read.
    struct CountingClock {
        at: DateTime<Utc>,
        reads: AtomicUsize,
    }

    impl CountingClock {
        fn at(at: &str) -> Self {
            Self {
                at: at.parse().expect("test instant"),
                reads: AtomicUsize::new(0),
            }
        }

        fn reads(&self) -> usize {
            self.reads.load(Ordering::Relaxed)
        }
    }

    impl Clock for CountingClock {
        fn now(&self) -> DateTime<Utc> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.at
        }
    }

    /// One run of `slug` scheduled at 12:00:00 that starts and ends at 12:00:03.5 on `clock`,
    /// `ok` after 2 s.
    fn one_run(slot: &Slot, slug: &Arc<str>, clock: &CountingClock) {
        let scheduled = "2026-03-02T12:00:00Z".parse().expect("test instant");
        let run = started(slot, slug, scheduled, clock);
        run.ended(Outcome::Ok, Duration::from_secs(2), clock);
    }

    /// With no recorder the handles are no-ops and a run reads no clock for its metrics: the
    /// start lag and the last success time are never computed.
    #[test]
    fn without_a_recorder_a_run_reads_no_clock() {
        let clock = CountingClock::at("2026-03-02T12:00:03.500Z");
        let (slot, slug) = (Slot::default(), Arc::from("no-recorder"));
        one_run(&slot, &slug, &clock);
        one_run(&slot, &slug, &clock);
        assert_eq!(clock.reads(), 0);
    }

    /// With a recorder the same run reads the clock once at its start (the lag) and once at
    /// its end (the last success time), and records both.
    #[test]
    fn with_a_recorder_the_lag_and_last_success_are_read_from_the_clock() {
        let clock = CountingClock::at("2026-03-02T12:00:03.500Z");
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let (slot, slug) = (Slot::default(), Arc::from("recorded"));
            one_run(&slot, &slug, &clock);
        });
        assert_eq!(clock.reads(), 2);
        let got: std::collections::BTreeMap<String, Vec<f64>> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, _, _, _)| key.key().labels().all(|l| l.key() == "job"))
            .map(|(key, _, _, value)| {
                let values = match value {
                    DebugValue::Counter(n) => vec![n as f64],
                    DebugValue::Gauge(g) => vec![g.0],
                    DebugValue::Histogram(samples) => samples.into_iter().map(|s| s.0).collect(),
                };
                (key.key().name().to_owned(), values)
            })
            .collect();
        let expected = [
            (RUN_DURATION, vec![2.0]),
            (START_LAG, vec![3.5]),
            (RUNS_IN_PROGRESS, vec![0.0]),
            // 2026-03-02T12:00:03.5Z (`date -u -d 2026-03-02T12:00:03Z +%s` is 1772452803).
            (LAST_SUCCESS, vec![1_772_452_803.5]),
        ]
        .map(|(name, values)| (name.to_owned(), values))
        .into_iter()
        .collect();
        assert_eq!(got, expected);
    }
}
