//! What the threads of a split simulation (`TestKit::threads`) log reaches the caller's
//! subscriber. Its own test binary: a subscriber set for one thread misses events when
//! other tests of the process hit the same call sites first without one (`tracing` caches
//! each call site's interest process-wide).
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::testing::{with_fault, Fault, TestKit};

mod log_capture;
use log_capture::Logged;

mod kit_support;
use kit_support::{at, every_five};

#[tokio::test(start_paused = true)]
async fn what_each_thread_logs_reaches_the_callers_subscriber() {
    let (logged, _guard) = Logged::capture(tracing::Level::WARN);
    let jobs = vec![
        with_fault(every_five("a-fails"), Fault::Fail("a broke".into())),
        with_fault(every_five("b-fails"), Fault::Fail("b broke".into())),
    ];
    let simulation = TestKit::new()
        .threads(2)
        .simulate(jobs, at("2027-06-01T10:00:00Z"), at("2027-06-01T10:06:00Z"))
        .await
        .expect("simulated");
    assert_eq!(simulation.runs.len(), 2);
    let text = logged.text();
    assert!(text.contains("a broke"), "{text}");
    assert!(text.contains("b broke"), "{text}");
}
