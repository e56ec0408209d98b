//! Catch-up at start-up against a real PostgreSQL (`SENTRY_SCHEDULE_TEST_POSTGRES_URL`,
//! started by `.ci/services`), the wall clock injected: a tick missed within the window runs
//! once — several missed ticks coalesced into the latest — and one missed outside it does not.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod coordination_support;
#[path = "coordination_support/postgres.rs"]
mod postgres_support;

use chrono::{DateTime, Utc};
// `server_url` and `unique_name` serve `postgres_support`, which reaches them through `super`.
use coordination_support::{recording_job, server_url, unique_name, when_notified, Runs};
use postgres_support::Db;
use sentry_schedule::clock::TestClock;
use sentry_schedule::coordinator::{
    Claim, Coordinator, Postgres, PostgresOptions, RunOutcome, RunStatus,
};
use sentry_schedule::{Job, Scheduler};
use sqlx::postgres::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Bounds a failing wait; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(30);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A prepared coordinator of its own pool in the schema of `db`.
async fn coordinator(db: &Db) -> Postgres {
    let pool = PgPool::connect(&db.url).await.unwrap();
    let coordinator = Postgres::with_options(
        pool,
        PostgresOptions {
            schema: Some(db.schema.clone()),
            // The injected wall clock is in the past of the database's: keep its history.
            retention: Duration::from_secs(10 * 365 * 24 * 60 * 60),
            ..Default::default()
        },
    )
    .unwrap();
    coordinator.prepare().await.unwrap();
    coordinator
}

/// Records `tick` of `slug` as run and finished, as an earlier process would have.
async fn ran_before(coordinator: &Postgres, slug: &str, tick: DateTime<Utc>) {
    let Claim::Won(token) = coordinator
        .claim(slug, tick, Duration::from_secs(60))
        .await
        .unwrap()
    else {
        panic!("fresh tick not won")
    };
    let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_secs(1));
    assert!(coordinator.finish(&token, &outcome).await.unwrap());
}

/// A job of `slug` catching up `window`, recording the ticks it ran and notifying `ran`.
fn job(slug: &str, schedule: &str, window: Duration, runs: &Runs, ran: &Arc<Notify>) -> Job {
    recording_job(Job::builder(slug, schedule).catch_up(window), runs, ran)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_missed_within_the_window_runs_once_and_one_outside_does_not() {
    let Some(db) = Db::new().await else { return };
    let coordinator = coordinator(&db).await;
    // Within: every minute, last run 11:50; the service comes back at 12:00:30 with a 5 min
    // window: 11:56 … 12:00 were missed within it; only 12:00 runs, once.
    ran_before(&coordinator, "within", at("2026-03-01T11:50:00Z")).await;
    // Outside: hourly, last run 10:00; back at 12:00:30 with a 10 s window: 11:00 and 12:00
    // were missed, both before the window.
    ran_before(&coordinator, "outside", at("2026-03-01T10:00:00Z")).await;

    let runs: Runs = Arc::default();
    let outside_runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let unused = Arc::new(Notify::new());
    let signal = when_notified(&ran, LIMIT);
    Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new(at("2026-03-01T12:00:30Z")))
        .coordinator(coordinator.clone())
        .shutdown_signal(signal)
        // Checked in the same start-up as `within`, which has more work to do (claim, run).
        .job(job(
            "outside",
            "0 * * * *",
            Duration::from_secs(10),
            &outside_runs,
            &unused,
        ))
        .job(job(
            "within",
            "* * * * *",
            Duration::from_secs(300),
            &runs,
            &ran,
        ))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();

    assert_eq!(*runs.lock().unwrap(), vec![at("2026-03-01T12:00:00Z")]);
    let history = coordinator.history("within", 10).await.unwrap();
    let ticks: Vec<_> = history.iter().map(|r| r.tick).collect();
    assert_eq!(
        ticks,
        vec![at("2026-03-01T12:00:00Z"), at("2026-03-01T11:50:00Z")],
        "only the latest missed tick is claimed"
    );
    assert_eq!(history[0].status, Some(RunStatus::Ok));

    assert!(outside_runs.lock().unwrap().is_empty());
    let outside: Vec<_> = coordinator
        .history("outside", 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.tick)
        .collect();
    assert_eq!(outside, vec![at("2026-03-01T10:00:00Z")]);

    db.drop_schema().await;
}
