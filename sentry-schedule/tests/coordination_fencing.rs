//! Fencing tokens against real PostgreSQL and Redis, through the whole scheduler: replica A
//! wins a tick and is then stopped past its lease (its runtime's only thread is blocked, so
//! nothing of A runs: no renewal, no log, as with `SIGSTOP`); replica B's take-over sweep
//! takes the tick over and runs it with a greater fencing token, and writes; when A wakes,
//! its write, guarded by its older token, is refused by the store it writes to.
//!
//! The store is a real table in the test database (PostgreSQL) and a key updated by a
//! compare-and-set script (Redis): the guarded writes the README shows.
#![cfg(any(feature = "postgres", feature = "redis"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod coordination_support;
#[cfg(feature = "postgres")]
#[path = "coordination_support/postgres.rs"]
mod postgres_support;

#[allow(unused_imports, reason = "the PostgreSQL support module uses them")]
use coordination_support::{server_url, unique_name};

use chrono::{DateTime, Utc};
use sentry_schedule::coordinator::Coordinator;
use sentry_schedule::{Job, JobContext, Scheduler};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// The lease of both replicas; A is stopped for several of them.
const LEASE: Duration = Duration::from_secs(1);
const STOPPED: Duration = Duration::from_secs(4);

/// One guarded write of a run: who, which tick, with which token, and whether the store took it.
#[derive(Debug, Clone)]
struct Write {
    replica: &'static str,
    tick: DateTime<Utc>,
    token: u64,
    accepted: bool,
}

type Writes = Arc<Mutex<Vec<Write>>>;
type WriteFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// A backend under test: its coordinators and the store the job writes to.
trait Backend: Send + Sync + 'static {
    /// A coordinator of replica `name`, created on the calling runtime.
    fn coordinator(&self, name: &str) -> Box<dyn Fn() -> Arc<dyn Coordinator> + Send>;
    /// Writes `writer` into the store unless a write with a token `>= token` came first.
    fn write(&self, token: u64, writer: &'static str) -> WriteFuture;
}

/// The job of replica `replica`: one guarded write per run, recorded in `writes`. With
/// `stop`, its first run reports its tick and token, then stops the replica for [`STOPPED`]
/// before writing.
fn job(
    backend: &Arc<dyn Backend>,
    replica: &'static str,
    writes: &Writes,
    stop: Option<oneshot::Sender<(DateTime<Utc>, u64)>>,
) -> Job {
    let (backend, writes) = (backend.clone(), writes.clone());
    let stop = Arc::new(Mutex::new(stop));
    Job::builder("fenced-report", "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let (backend, writes, stop) = (backend.clone(), writes.clone(), stop.clone());
            async move {
                let token = ctx
                    .fencing_token()
                    .expect("a claimed run has a fencing token");
                if let Some(stopped) = stop.lock().unwrap().take() {
                    stopped.send((ctx.scheduled(), token)).unwrap();
                    // The whole replica stops: this blocks its runtime's only thread.
                    std::thread::sleep(STOPPED);
                }
                let accepted = backend.write(token, replica).await;
                writes.lock().unwrap().push(Write {
                    replica,
                    tick: ctx.scheduled(),
                    token,
                    accepted,
                });
            }
        })
        .build()
        .unwrap()
}

fn scheduler(
    coordinator: Arc<dyn Coordinator>,
    job: Job,
    stop: oneshot::Receiver<()>,
) -> Scheduler {
    Scheduler::builder()
        .registered_jobs(false)
        .coordinator(coordinator)
        .lease(LEASE)
        .shutdown_timeout(Duration::from_secs(5))
        .shutdown_signal(async move {
            let _ = stop.await;
        })
        .job(job)
        .build()
        .unwrap()
}

/// The scenario; returns the write the store must hold: the accepted one with the greatest
/// token.
async fn a_stopped_replica_s_write_is_refused_after_a_take_over(
    backend: Arc<dyn Backend>,
) -> Write {
    let writes: Writes = Arc::default();
    // Replica A, alone at first, on a runtime with one thread.
    let (stopped_tx, stopped) = oneshot::channel();
    let (stop_a, a_stops) = oneshot::channel();
    let a_job = job(&backend, "a", &writes, Some(stopped_tx));
    let a_coordinator = backend.coordinator("a");
    let a = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            scheduler(a_coordinator(), a_job, a_stops)
                .run()
                .await
                .unwrap();
        });
    });
    let (tick, a_token) = tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("replica A ran the job")
        .unwrap();

    // Replica B starts while A is stopped: its sweep takes A's tick over once the lease ends.
    let (stop_b, b_stops) = oneshot::channel();
    let b = tokio::spawn(
        scheduler(
            backend.coordinator("b")(),
            job(&backend, "b", &writes, None),
            b_stops,
        )
        .run(),
    );

    // A wakes after STOPPED and writes with its old token.
    let deadline = tokio::time::Instant::now() + STOPPED + Duration::from_secs(10);
    while !writes
        .lock()
        .unwrap()
        .iter()
        .any(|w| w.replica == "a" && w.tick == tick)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "A never wrote: {:?}",
            writes.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    b.await.unwrap().unwrap();
    a.join().unwrap();

    let writes = writes.lock().unwrap().clone();
    let of_tick: Vec<&Write> = writes.iter().filter(|w| w.tick == tick).collect();
    let taken_over = of_tick
        .iter()
        .find(|w| w.replica == "b")
        .unwrap_or_else(|| panic!("B did not take tick {tick} over: {writes:#?}"));
    assert!(
        taken_over.token > a_token,
        "take-over token {} not above A's {a_token}",
        taken_over.token
    );
    assert!(taken_over.accepted, "{writes:#?}");
    let stale = of_tick.iter().find(|w| w.replica == "a").unwrap();
    assert_eq!(stale.token, a_token);
    assert!(
        !stale.accepted,
        "the stopped replica's write was accepted: {writes:#?}"
    );
    writes
        .into_iter()
        .filter(|w| w.accepted)
        .max_by_key(|w| w.token)
        .unwrap()
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::postgres_support;
    use sentry_schedule::coordinator::sqlx::{self, Connection, PgConnection};
    use sentry_schedule::coordinator::{Postgres, PostgresOptions};

    struct Pg {
        url: String,
        schema: String,
    }

    impl Backend for Pg {
        fn coordinator(&self, name: &str) -> Box<dyn Fn() -> Arc<dyn Coordinator> + Send> {
            let (url, schema, name) = (self.url.clone(), self.schema.clone(), name.to_owned());
            Box::new(move || {
                let options = PostgresOptions {
                    schema: Some(schema.clone()),
                    replica_id: Some(name.clone()),
                    ..Default::default()
                };
                Arc::new(Postgres::connect_lazy(&url, options).unwrap())
            })
        }

        fn write(&self, token: u64, writer: &'static str) -> WriteFuture {
            let (url, schema) = (self.url.clone(), self.schema.clone());
            Box::pin(async move {
                let mut db = PgConnection::connect(&url).await.unwrap();
                let written = sqlx::query(&format!(
                    "UPDATE {schema}.report_state SET writer = $2, fencing_token = $1 \
                     WHERE name = 'daily' AND fencing_token < $1"
                ))
                .bind(i64::try_from(token).unwrap())
                .bind(writer)
                .execute(&mut db)
                .await
                .unwrap();
                written.rows_affected() == 1
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_stopped_replica_s_write_is_refused_after_a_take_over() {
        let Some(db) = postgres_support::Db::new().await else {
            return;
        };
        sqlx::query(&format!(
            "CREATE TABLE {}.report_state (name text PRIMARY KEY, writer text NOT NULL, \
             fencing_token bigint NOT NULL)",
            db.schema
        ))
        .execute(&db.admin)
        .await
        .unwrap();
        sqlx::query(&format!(
            "INSERT INTO {}.report_state VALUES ('daily', 'nobody', 0)",
            db.schema
        ))
        .execute(&db.admin)
        .await
        .unwrap();
        let backend = Arc::new(Pg {
            url: db.url.clone(),
            schema: db.schema.clone(),
        });
        let last = a_stopped_replica_s_write_is_refused_after_a_take_over(backend).await;
        // The table holds the accepted write with the greatest token.
        let (writer, token): (String, i64) = sqlx::query_as(&format!(
            "SELECT writer, fencing_token FROM {}.report_state",
            db.schema
        ))
        .fetch_one(&db.admin)
        .await
        .unwrap();
        assert_eq!((writer.as_str(), token), (last.replica, last.token as i64));
        db.drop_schema().await;
    }
}

#[cfg(feature = "redis")]
mod redis_backend {
    use super::*;
    use sentry_schedule::coordinator::{Redis, RedisOptions};

    /// Sets the key to `writer` and the token unless its token is `>=` the given one.
    const GUARDED_SET: &str = r#"
local current = tonumber(redis.call('HGET', KEYS[1], 'fencing_token') or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'fencing_token', ARGV[1], 'writer', ARGV[2])
return 1
"#;

    struct Server {
        url: String,
        prefix: String,
    }

    impl Backend for Server {
        fn coordinator(&self, name: &str) -> Box<dyn Fn() -> Arc<dyn Coordinator> + Send> {
            let (url, prefix, name) = (self.url.clone(), self.prefix.clone(), name.to_owned());
            Box::new(move || {
                let options = RedisOptions {
                    prefix: prefix.clone(),
                    replica_id: Some(name.clone()),
                    ..Default::default()
                };
                Arc::new(Redis::open(&url, options).unwrap())
            })
        }

        fn write(&self, token: u64, writer: &'static str) -> WriteFuture {
            let (url, key) = (self.url.clone(), format!("{}:report-state", self.prefix));
            Box::pin(async move {
                let mut connection = redis::Client::open(url.as_str())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                    .unwrap();
                let written: i64 = redis::Script::new(GUARDED_SET)
                    .key(key)
                    .arg(token)
                    .arg(writer)
                    .invoke_async(&mut connection)
                    .await
                    .unwrap();
                written == 1
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_a_stopped_replica_s_write_is_refused_after_a_take_over() {
        let Some(url) = server_url("SENTRY_SCHEDULE_TEST_REDIS_URL") else {
            return;
        };
        let prefix = unique_name("sstest");
        let backend = Arc::new(Server {
            url: url.clone(),
            prefix: prefix.clone(),
        });
        let last = a_stopped_replica_s_write_is_refused_after_a_take_over(backend).await;
        let mut connection = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let (writer, token): (String, u64) = redis::cmd("HMGET")
            .arg(format!("{prefix}:report-state"))
            .arg("writer")
            .arg("fencing_token")
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!((writer.as_str(), token), (last.replica, last.token));
    }
}
