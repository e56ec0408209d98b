//! Retries inside one run: how long a run waits after a failed attempt, and the longest a run
//! with retries can take, which the option schema holds against Sentry's `max_runtime`.
//!
//! The wait after the `k`-th failed attempt (1-based) is `backoff × 2^(k−1)`, capped at
//! `backoff_max`; there is no jitter, so the schedule of attempts is exact and the worst
//! case below is a bound, not an estimate.
use std::time::Duration;

/// The most retries a job may ask for (`retries = 10`: 11 attempts in one run).
pub const MAX_RETRIES: u64 = 10;
/// The wait before the first retry when `backoff` is not given.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait between two attempts when `backoff_max` is not given.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(10 * 60);
/// How much longer each wait is than the one before it.
pub const BACKOFF_FACTOR: u32 = 2;

/// How a failed attempt is retried within the same run (and the same check-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts after the first, `1..=`[`MAX_RETRIES`].
    pub retries: u32,
    /// The wait after the first failed attempt.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
}

impl Retry {
    /// The wait after the failed attempt `attempt` (1-based) before the next one:
    /// `backoff × 2^(attempt−1)`, at most `backoff_max`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = BACKOFF_FACTOR.saturating_pow(attempt.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(self.backoff_max)
    }

    /// Every wait of a run whose attempts all fail, added up.
    pub fn total_backoff(&self) -> Duration {
        (1..=self.retries).fold(Duration::ZERO, |sum, attempt| {
            sum.saturating_add(self.delay_after(attempt))
        })
    }

    /// The longest a run can take when each attempt may run for `timeout`: every attempt
    /// times out and every wait is taken.
    pub fn worst_case(&self, timeout: Duration) -> Duration {
        timeout
            .saturating_mul(self.retries.saturating_add(1))
            .saturating_add(self.total_backoff())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let retry = Retry {
            retries: 5,
            backoff: Duration::from_secs(30),
            backoff_max: Duration::from_secs(150),
        };
        let waits: Vec<u64> = (1..=5).map(|k| retry.delay_after(k).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 150, 150]);
        assert_eq!(retry.total_backoff(), Duration::from_secs(510));
        // 6 attempts of 2 minutes and 510 s of waiting.
        assert_eq!(
            retry.worst_case(Duration::from_secs(120)),
            Duration::from_secs(720 + 510)
        );
    }

    #[test]
    fn large_attempt_numbers_saturate_at_the_cap() {
        let retry = Retry {
            retries: 10,
            backoff: Duration::from_secs(u64::MAX / 2),
            backoff_max: Duration::from_secs(60),
        };
        assert_eq!(retry.delay_after(64), Duration::from_secs(60));
        assert_eq!(retry.total_backoff(), Duration::from_secs(600));
    }
}
