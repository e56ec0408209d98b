//! The scheduler's claim path on tokio's paused clock, with the in-process coordinator shared
//! by two schedulers in one process (two "replicas"): each tick runs once, and the claims are
//! the run history.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::coordinator::{Coordinator, InProcess, RunStatus};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Runs = Arc<Mutex<Vec<(String, DateTime<Utc>)>>>;
/// `(tick, wall-clock start)` of each run.
type Starts = Arc<Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>>;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn job(replica: &str, work: Duration, runs: &Runs) -> Job {
    let (replica, runs) = (replica.to_owned(), runs.clone());
    Job::builder("every-10s", "10s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let (replica, runs) = (replica.clone(), runs.clone());
            async move {
                runs.lock().unwrap().push((replica, ctx.scheduled()));
                tokio::time::sleep(work).await;
            }
        })
        .build()
        .unwrap()
}

fn scheduler(clock: &TestClock, coordinator: &Arc<InProcess>, job: Job) -> Scheduler {
    Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .coordinator(coordinator.clone())
        .lease(Duration::from_secs(30))
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(65)))
        .job(job)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn two_schedulers_sharing_a_coordinator_run_each_tick_once() {
    let clock = TestClock::new(at("2026-03-01T12:00:00Z"));
    let coordinator = Arc::new(InProcess::with_clock(Arc::new(clock.clone())));
    let runs: Runs = Arc::default();
    let a = scheduler(
        &clock,
        &coordinator,
        job("a", Duration::from_secs(1), &runs),
    );
    let b = scheduler(
        &clock,
        &coordinator,
        job("b", Duration::from_secs(1), &runs),
    );
    let (ra, rb) = tokio::join!(a.run(), b.run());
    ra.unwrap();
    rb.unwrap();

    let mut ticks: Vec<_> = runs.lock().unwrap().iter().map(|(_, t)| *t).collect();
    ticks.sort();
    let expected: Vec<_> = (1..=6)
        .map(|i| at("2026-03-01T12:00:00Z") + chrono::TimeDelta::seconds(10 * i))
        .collect();
    assert_eq!(ticks, expected, "each tick once across both schedulers");

    let history = coordinator.history("every-10s", 100).await.unwrap();
    let mut recorded: Vec<_> = history.iter().map(|r| r.tick).collect();
    recorded.sort();
    assert_eq!(recorded, expected);
    assert!(history
        .iter()
        .all(|r| r.status == Some(RunStatus::Ok) && r.duration == Some(Duration::from_secs(1))));
}

#[tokio::test(start_paused = true)]
async fn a_won_tick_skipped_for_overlap_is_recorded_not_left_to_take_over() {
    let clock = TestClock::new(at("2026-03-01T12:00:00Z"));
    let coordinator = Arc::new(InProcess::with_clock(Arc::new(clock.clone())));
    let runs: Runs = Arc::default();
    // Each run takes 25 s: the two ticks after a run's start come while it still runs.
    let scheduler = scheduler(
        &clock,
        &coordinator,
        job("a", Duration::from_secs(25), &runs),
    );
    assert!(scheduler.history("every-10s", 10).await.unwrap().is_empty());
    scheduler.run().await.unwrap();

    let ran: Vec<_> = runs.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(
        ran,
        vec![at("2026-03-01T12:00:10Z"), at("2026-03-01T12:00:40Z")]
    );
    let history = coordinator.history("every-10s", 100).await.unwrap();
    for record in &history {
        if ran.contains(&record.tick) {
            assert_eq!(record.status, Some(RunStatus::Ok), "{record:?}");
        } else {
            assert_eq!(record.status, Some(RunStatus::Cancelled), "{record:?}");
            assert!(record.message.as_deref().unwrap().contains("overlap"));
            assert_eq!(record.takeovers, 0);
        }
    }
    assert_eq!(history.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn without_a_coordinator_there_is_no_history() {
    let scheduler = Scheduler::builder().registered_jobs(false).build().unwrap();
    assert!(scheduler.coordinator().is_none());
    assert!(scheduler.history("anything", 10).await.unwrap().is_empty());
}

/// A run with retries spans four 15 s leases (attempts at 0, 20 and 60 s): the replica that
/// won the tick keeps its lease through the attempts and the waits, the other replica never
/// takes the tick over, and one outcome is recorded for the whole run.
#[tokio::test(start_paused = true)]
async fn retries_stay_inside_the_one_claimed_run() {
    let clock = TestClock::new(at("2026-03-01T11:59:55Z"));
    let coordinator = Arc::new(InProcess::with_clock(Arc::new(clock.clone())));
    let attempts: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let replica = |name: &str| {
        let (name, attempts) = (name.to_owned(), attempts.clone());
        let job = Job::builder("ledger", "0 12 * * *")
            .monitor(false)
            .timeout(Duration::from_secs(10))
            .retries(2)
            .backoff(Duration::from_secs(20))
            .run(move |ctx: JobContext| {
                attempts.lock().unwrap().push((name.clone(), ctx.attempt()));
                let attempt = ctx.attempt();
                async move {
                    match attempt {
                        3 => Ok(()),
                        _ => Err("ledger locked"),
                    }
                }
            })
            .build()
            .unwrap();
        Scheduler::builder()
            .registered_jobs(false)
            .clock(clock.clone())
            .coordinator(coordinator.clone())
            .lease(Duration::from_secs(15))
            .shutdown_signal(tokio::time::sleep(Duration::from_secs(90)))
            .job(job)
            .build()
            .unwrap()
    };
    let (a, b) = (replica("a"), replica("b"));
    let (ra, rb) = tokio::join!(a.run(), b.run());
    ra.unwrap();
    rb.unwrap();

    let attempts = attempts.lock().unwrap().clone();
    let winner = attempts[0].0.clone();
    assert_eq!(
        attempts,
        [
            (winner.clone(), 1),
            (winner.clone(), 2),
            (winner.clone(), 3)
        ]
    );
    let history = coordinator.history("ledger", 10).await.unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    let run = &history[0];
    assert_eq!(run.tick, at("2026-03-01T12:00:00Z"));
    assert_eq!(
        (run.status, run.duration, run.takeovers),
        (Some(RunStatus::Ok), Some(Duration::from_secs(60)), 0)
    );
}

/// With a coordinator each instant's ticks are claimed half a second before they are due, so
/// the claim's round trip is not part of the start lag; the runs still start exactly on
/// their tick, never at the claim.
#[tokio::test(start_paused = true)]
async fn ticks_are_claimed_half_a_second_ahead_and_run_on_the_tick() {
    let clock = TestClock::new(at("2026-03-01T12:00:00Z"));
    let coordinator = Arc::new(InProcess::with_clock(Arc::new(clock.clone())));
    let started: Starts = Arc::default();
    let job = {
        let (clock, started) = (clock.clone(), started.clone());
        Job::builder("every-10s", "10s")
            .monitor(false)
            .run(move |ctx: JobContext| {
                started.lock().unwrap().push((ctx.scheduled(), clock.now()));
                async {}
            })
            .build()
            .unwrap()
    };
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .coordinator(coordinator.clone())
        .lease(Duration::from_secs(30))
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(35)))
        .job(job)
        .build()
        .unwrap();
    scheduler.run().await.unwrap();

    let ticks = [
        at("2026-03-01T12:00:10Z"),
        at("2026-03-01T12:00:20Z"),
        at("2026-03-01T12:00:30Z"),
    ];
    let started = started.lock().unwrap().clone();
    assert_eq!(
        started,
        ticks.iter().map(|t| (*t, *t)).collect::<Vec<_>>(),
        "each run starts exactly on its tick"
    );
    let mut history = coordinator.history("every-10s", 10).await.unwrap();
    history.sort_by_key(|record| record.tick);
    let claimed: Vec<_> = history
        .iter()
        .map(|r| (r.tick, r.claimed_at, r.started_at))
        .collect();
    assert_eq!(
        claimed,
        vec![
            (ticks[0], at("2026-03-01T12:00:09.5Z"), ticks[0]),
            (ticks[1], at("2026-03-01T12:00:19.5Z"), ticks[1]),
            (ticks[2], at("2026-03-01T12:00:29.5Z"), ticks[2]),
        ],
        "claimed 500 ms before the tick; started at the tick"
    );
}
