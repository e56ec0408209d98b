//! The scheduler while its PostgreSQL coordinator is unreachable (a TCP proxy in front of the
//! real server, `SENTRY_SCHEDULE_TEST_POSTGRES_URL`, is cut): by default ticks are skipped and
//! scheduling resumes by itself when the database is back; `fail_open` runs them anyway.
#![cfg(feature = "postgres")]

mod coordination_support;

use chrono::{DateTime, Utc};
use coordination_support::{server_url, socket_addr, unique_name, via, Proxy};
use sentry_schedule::coordinator::{Coordinator, Postgres, PostgresOptions};
use sentry_schedule::{Job, JobContext, Scheduler};
use sqlx::postgres::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Bounds a failing wait; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(30);

struct Setup {
    admin: PgPool,
    schema: String,
    proxy: Arc<Proxy>,
    coordinator: Postgres,
}

async fn setup() -> Option<Setup> {
    let url = server_url("SENTRY_SCHEDULE_TEST_POSTGRES_URL")?;
    let admin = PgPool::connect(&url).await.unwrap();
    let schema = unique_name("ssoutage");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let proxy = Arc::new(Proxy::start(socket_addr(&url)).await);
    let coordinator = Postgres::connect_lazy(
        &via(&url, proxy.addr),
        PostgresOptions {
            schema: Some(schema.clone()),
            timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    Some(Setup {
        admin,
        schema,
        proxy,
        coordinator,
    })
}

type Runs = Arc<Mutex<Vec<DateTime<Utc>>>>;

fn every_second(runs: &Runs, ran: &Arc<Notify>) -> Job {
    let (runs, ran) = (runs.clone(), ran.clone());
    Job::builder("every-second", "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let (runs, ran) = (runs.clone(), ran.clone());
            async move {
                runs.lock().unwrap().push(ctx.scheduled());
                ran.notify_one();
            }
        })
        .build()
        .unwrap()
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
    Scheduler::builder()
        .registered_jobs(false)
        .coordinator(s.coordinator.clone())
        .shutdown_signal(signal)
        .job(every_second(&runs, &ran))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();

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
    s.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_runs_ticks_while_the_database_is_unreachable() {
    let Some(s) = setup().await else { return };
    s.proxy.cut();
    let runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let signal = {
        let ran = ran.clone();
        async move {
            let _ = tokio::time::timeout(LIMIT, ran.notified()).await;
        }
    };
    Scheduler::builder()
        .registered_jobs(false)
        .coordinator(s.coordinator.clone())
        .fail_open()
        .shutdown_signal(signal)
        .job(every_second(&runs, &ran))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();

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
    s.drop_schema().await;
}

impl Setup {
    async fn drop_schema(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}
