//! Process-level measurements: CPU time, resident memory, wall-clock time and percentiles.
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// User + system CPU time this process has used so far (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`).
pub(crate) fn cpu_time() -> anyhow::Result<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let secs = u64::try_from(t.tv_sec).context("negative process CPU time")?;
    let nanos = u32::try_from(t.tv_nsec).context("negative process CPU time")?;
    Ok(Duration::new(secs, nanos))
}

/// Resident set size of this process in bytes (`/proc/self/statm`, second field, times the page size).
pub(crate) fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .context("/proc/self/statm has no resident field")?
        .parse()
        .context("/proc/self/statm resident field is not a number")?;
    let page = u64::try_from(rustix::param::page_size()).context("page size beyond u64")?;
    Ok(pages * page)
}

/// The wall clock as nanoseconds since the Unix epoch.
pub(crate) fn wall_nanos() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Nanoseconds per second.
pub(crate) const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Percentiles {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest value.
    pub max_us: f64,
}

/// Nearest-rank percentiles of `samples` (nanoseconds); `None` when there are none.
pub(crate) fn percentiles(mut samples: Vec<i64>) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| -> Option<i64> {
        let n = samples.len();
        // Nearest rank: the smallest value with at least p of the samples at or below it.
        let idx = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        samples.get(idx).copied()
    };
    let micros = |ns: i64| ns as f64 / 1_000.0;
    Some(Percentiles {
        p50_us: micros(rank(0.50)?),
        p99_us: micros(rank(0.99)?),
        max_us: micros(*samples.last()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=100 µs: p50 is the 50th value, p99 the 99th, max the 100th.
        let samples: Vec<i64> = (1..=100).rev().map(|us| us * 1_000).collect();
        let p = percentiles(samples).expect("non-empty");
        assert_eq!(
            p,
            Percentiles {
                p50_us: 50.0,
                p99_us: 99.0,
                max_us: 100.0
            }
        );
    }

    #[test]
    fn single_sample_is_every_percentile() {
        let p = percentiles(vec![7_000]).expect("non-empty");
        assert_eq!(
            p,
            Percentiles {
                p50_us: 7.0,
                p99_us: 7.0,
                max_us: 7.0
            }
        );
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(percentiles(Vec::new()), None);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        // Busy-loop until 20 ms of CPU show up; a clock that does not move fails after 10 s.
        let before = cpu_time().expect("getrusage");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let mut used = Duration::ZERO;
        while used < Duration::from_millis(20) && start.elapsed() < Duration::from_secs(10) {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            used = cpu_time().expect("getrusage") - before;
        }
        assert!(
            used >= Duration::from_millis(20),
            "10 s of busy loop used {used:?} CPU"
        );
        assert!(
            used <= start.elapsed() * 2,
            "{used:?} CPU in {:?} on one thread",
            start.elapsed()
        );
    }

    #[test]
    fn rss_grows_when_memory_is_touched() {
        let before = rss_bytes().expect("statm");
        let block = vec![1u8; 64 << 20];
        let after = rss_bytes().expect("statm");
        std::hint::black_box(&block);
        assert!(
            after >= before + (48 << 20),
            "64 MiB touched: rss {before} -> {after}"
        );
    }
}
