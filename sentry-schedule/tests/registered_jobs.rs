//! `#[scheduled]` fns are collected at start-up and run on their schedule.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::{scheduled, Overlap, Scheduler};
use std::sync::{Mutex, OnceLock};
use tokio::sync::mpsc;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// The wall clock the job reads and the channel it reports on (a `#[scheduled]` fn
/// captures nothing, so they are statics).
static CLOCK: OnceLock<TestClock> = OnceLock::new();
static RUNS: Mutex<Option<mpsc::UnboundedSender<DateTime<Utc>>>> = Mutex::new(None);

const TICK_LINE: u32 = line!() + 2;
#[scheduled(cron = "*/5 * * * *", timezone = "Europe/Vienna", monitor = false)]
async fn tick() {
    let now = CLOCK.get().expect("clock set").now();
    if let Some(tx) = RUNS.lock().unwrap().as_ref() {
        let _ = tx.send(now);
    }
}

/// A `pub` job.
#[scheduled(cron = "0 3 * * *", overlap = "allow")]
pub async fn nightly() -> Result<(), String> {
    Ok(())
}

#[test]
fn registered_jobs_are_listed_with_their_settings() {
    let scheduler = Scheduler::builder().build().unwrap();
    let names: Vec<_> = scheduler.jobs().map(|j| j.name()).collect();
    assert_eq!(names, ["registered_jobs::nightly", "registered_jobs::tick"]);

    let tick = scheduler
        .jobs()
        .find(|j| j.name() == "registered_jobs::tick")
        .unwrap();
    assert_eq!(tick.timezone(), chrono_tz::Europe::Vienna);
    assert!(tick.monitor_config().is_none());
    let location = tick.location().unwrap();
    assert_eq!((location.file, location.line), (file!(), TICK_LINE));
    assert_eq!(location.module_path, "registered_jobs");

    let nightly = scheduler
        .jobs()
        .find(|j| j.name() == "registered_jobs::nightly")
        .unwrap();
    assert_eq!(nightly.overlap(), Overlap::Allow);
    assert!(nightly.monitor_config().is_some());
    assert_eq!(
        nightly.upcoming(at("2026-03-02T12:00:00Z")).next(),
        Some(at("2026-03-03T03:00:00Z"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_registered_job_runs_on_its_schedule() {
    let clock = CLOCK.get_or_init(|| TestClock::new(at("2026-03-02T12:03:30Z")));
    let (tx, mut rx) = mpsc::unbounded_channel();
    *RUNS.lock().unwrap() = Some(tx);
    let scheduler = Scheduler::builder()
        .clock(clock.clone())
        .shutdown_signal(std::future::pending())
        .build()
        .unwrap();
    let handle = tokio::spawn(scheduler.run());
    assert_eq!(rx.recv().await, Some(at("2026-03-02T12:05:00Z")));
    assert_eq!(rx.recv().await, Some(at("2026-03-02T12:10:00Z")));
    handle.abort();
}
