//! The wall clock, injectable so schedules, DST and clock jumps can be tested.
//!
//! The scheduler computes fire instants on the wall clock ([`Clock::now`]) and sleeps on
//! tokio's monotonic clock. Production code uses [`SystemClock`]; tests use [`TestClock`],
//! whose wall time advances with tokio's (pausable) clock and can be stepped forward or
//! backward to simulate NTP steps or a suspend/resume.
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> DateTime<Utc>;

    // Whether this clock is the real time of the machine, so the scheduler may sleep the
    // last `PRECISE_WINDOW` before a fire instant on a blocking thread (accurate to tens of
    // microseconds) instead of on tokio's timer, which has a granularity of one millisecond.
    // `false` unless overridden: a clock driven by tokio's time, such as `TestClock` under a
    // paused runtime, must leave all waiting to tokio. `SystemClock` says `true`. Hidden: only
    // the scheduler asks it.
    #[doc(hidden)]
    fn precise_wake(&self) -> bool {
        false
    }
}

/// The last stretch before a fire instant that a `Clock::precise_wake` clock sleeps on
/// a blocking thread.
pub(crate) const PRECISE_WINDOW: std::time::Duration = std::time::Duration::from_millis(2);

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn precise_wake(&self) -> bool {
        true
    }
}

/// A wall clock for tests: `start` plus the time tokio's clock has advanced since the
/// clock was created, plus every [`jump`](TestClock::jump) made so far.
///
/// Under `#[tokio::test(start_paused = true)]` tokio's clock only moves when every task
/// is idle (auto-advance) or through `tokio::time::advance`, so wall time moves
/// deterministically together with the scheduler's timers. Clones share one clock.
///
/// ```
/// use sentry_schedule::clock::{Clock, TestClock};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = "2026-03-01T12:03:30Z".parse().unwrap();
/// let clock = TestClock::new(start);
/// tokio::time::advance(std::time::Duration::from_secs(30)).await;
/// assert_eq!(clock.now(), "2026-03-01T12:04:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap());
/// clock.jump(chrono::TimeDelta::hours(-1)); // an NTP step backward
/// assert_eq!(clock.now(), "2026-03-01T11:04:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TestClock {
    inner: Arc<TestClockInner>,
}

#[derive(Debug)]
struct TestClockInner {
    start: DateTime<Utc>,
    created: Instant,
    offset: Mutex<TimeDelta>,
}

impl TestClock {
    /// A clock that reads `start` now and then advances with tokio's clock.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            inner: Arc::new(TestClockInner {
                start,
                created: Instant::now(),
                offset: Mutex::new(TimeDelta::zero()),
            }),
        }
    }

    /// Steps the wall clock by `delta` (negative: backward) without moving tokio's clock,
    /// as an NTP step or a resume from suspend does. Saturates instead of overflowing.
    pub fn jump(&self, delta: TimeDelta) {
        let mut offset = self.inner.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = offset
            .checked_add(&delta)
            .unwrap_or(if delta < TimeDelta::zero() {
                TimeDelta::MIN
            } else {
                TimeDelta::MAX
            });
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.inner.created);
        let elapsed = TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX);
        let offset = *self.inner.offset.lock().unwrap_or_else(|e| e.into_inner());
        self.inner
            .start
            .checked_add_signed(elapsed)
            .and_then(|t| t.checked_add_signed(offset))
            .unwrap_or(if offset < TimeDelta::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            })
    }
}
