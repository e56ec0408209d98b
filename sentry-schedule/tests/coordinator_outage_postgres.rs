//! The scheduler while its PostgreSQL coordinator is unreachable (a TCP proxy in front of the
//! real server, `SENTRY_SCHEDULE_TEST_POSTGRES_URL`, is cut): by default ticks are skipped and
//! scheduling resumes by itself when the database is back; `fail_open` runs them anyway.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod coordination_support;
#[path = "coordination_support/postgres.rs"]
mod postgres_support;

use chrono::Utc;
// `server_url` and `unique_name` serve `postgres_support`, which reaches them through `super`.
use coordination_support::{
    recording_job, run_coordinated, server_url, socket_addr, unique_name, via, when_notified,
    Proxy, Runs,
};
use postgres_support::Db;
use sentry_schedule::coordinator::{Coordinator, Postgres, PostgresOptions};
use sentry_schedule::{Job, Scheduler, SchedulerBuilder};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Bounds a failing wait; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(30);

struct Setup {
    db: Db,
    proxy: Arc<Proxy>,
    coordinator: Postgres,
}

async fn setup() -> Option<Setup> {
    let db = Db::new().await?;
    let proxy = Arc::new(Proxy::start(socket_addr(&db.url)).await);
    let coordinator = Postgres::connect_lazy(
        &via(&db.url, proxy.addr),
        PostgresOptions {
            schema: Some(db.schema.clone()),
            timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    Some(Setup {
        db,
        proxy,
        coordinator,
    })
}

fn every_second(runs: &Runs, ran: &Arc<Notify>) -> Job {
    recording_job(Job::builder("every-second", "1s"), runs, ran)
}

/// Runs `job` on `builder` with the setup's coordinator until `signal`.
async fn run_until(
    builder: SchedulerBuilder,
    s: &Setup,
    job: Job,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) {
    run_coordinated(builder, s.coordinator.clone(), job, signal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_skips_ticks_and_scheduling_resumes_when_it_is_back() {
    let Some(s) = setup().await else { return };
    s.proxy.cut();
    let runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let restored = Arc::new(Mutex::new(None));
    let signal = {
        let (ran, restored, proxy) = (ran.clone(), restored.clone(), s.proxy.clone());
        async move {
            // Three ticks pass while the database is unreachable, then it comes back.
            tokio::time::sleep(Duration::from_secs(3)).await;
            *restored.lock().unwrap() = Some(Utc::now());
            proxy.restore();
            let _ = tokio::time::timeout(LIMIT, ran.notified()).await;
        }
    };
    run_until(Scheduler::builder(), &s, every_second(&runs, &ran), signal).await;

    let restored = restored.lock().unwrap().unwrap();
    let runs = runs.lock().unwrap().clone();
    assert!(!runs.is_empty(), "scheduling did not resume");
    // No tick whose claim failed ran: every run is of a tick claimed once the database was
    // back (a tick is claimed at its instant, so allow the claim of the tick just before).
    assert!(
        runs.iter()
            .all(|t| *t > restored - chrono::TimeDelta::seconds(1)),
        "ran {runs:?}, database back at {restored}"
    );
    let history = s.coordinator.history("every-second", 100).await.unwrap();
    assert!(history
        .iter()
        .all(|r| r.tick > restored - chrono::TimeDelta::seconds(1)));
    assert!(runs.iter().all(|t| history.iter().any(|r| r.tick == *t)));
    s.db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_runs_ticks_while_the_database_is_unreachable() {
    let Some(s) = setup().await else { return };
    s.proxy.cut();
    let runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let signal = when_notified(&ran, LIMIT);
    run_until(
        Scheduler::builder().fail_open(),
        &s,
        every_second(&runs, &ran),
        signal,
    )
    .await;

    assert!(
        !runs.lock().unwrap().is_empty(),
        "fail open did not run the tick"
    );
    s.proxy.restore();
    // Nothing could be recorded while the database was unreachable (not even the table).
    s.coordinator.prepare().await.unwrap();
    assert!(s
        .coordinator
        .history("every-second", 100)
        .await
        .unwrap()
        .is_empty());
    s.db.drop_schema().await;
}
