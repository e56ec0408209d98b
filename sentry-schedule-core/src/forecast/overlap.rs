//! Runs that may still be going when the next tick comes: `max_runtime` against the gaps
//! between consecutive ticks.
use super::PlannedJob;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How many consecutive ticks are compared at most (a minutely job has 525,600 a year;
/// 5,000 cover 208 days of an hourly job).
const MAX_TICKS: usize = 5_000;

/// The gaps between a job's ticks in `[from, to)` that are shorter than its `max_runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlap {
    /// The job's `max_runtime`.
    pub max_runtime: Duration,
    /// The shortest and the longest gap between two consecutive ticks.
    pub shortest: Duration,
    /// The longest gap.
    pub longest: Duration,
    /// The first tick followed by a tick sooner than `max_runtime`.
    pub first: DateTime<Utc>,
}

impl Overlap {
    /// Every gap is shorter than `max_runtime`: a run that takes as long as allowed always
    /// meets the next tick.
    pub(crate) fn always(&self) -> bool {
        self.longest < self.max_runtime
    }
}

/// The overlap of `job` in `[from, to)`, if its `max_runtime` is longer than some gap.
pub(crate) fn overlap(
    job: &PlannedJob<'_>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Option<Overlap> {
    let max_runtime = job.max_runtime?;
    let mut ticks = job.starts(from, to, MAX_TICKS);
    let mut previous = ticks.next()?;
    let (mut shortest, mut longest) = (Duration::MAX, Duration::ZERO);
    let mut first = None;
    for tick in ticks {
        let gap = (tick - previous).to_std().unwrap_or_default();
        shortest = shortest.min(gap);
        longest = longest.max(gap);
        if gap < max_runtime && first.is_none() {
            first = Some(previous);
        }
        previous = tick;
    }
    first.map(|first| Overlap {
        max_runtime,
        shortest,
        longest,
        first,
    })
}
