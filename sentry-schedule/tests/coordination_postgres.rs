//! The PostgreSQL coordinator against a real server (`SENTRY_SCHEDULE_TEST_POSTGRES_URL`,
//! started by `.ci/services`). Each test works in a schema of its own. The scenarios every
//! backend runs are in `coordination_support::scenarios`; the tests of the table, its
//! migration and privileges, pruning and an outage are PostgreSQL's own.
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
use coordination_support::scenarios::{
    self, claims_fail_while_unreachable, history_ticks, let_lease_expire, tick, won, Store, LONG,
};
use coordination_support::{server_url, socket_addr, unique_name, via, Logs, Proxy};
use postgres_support::Db;
use sentry_schedule::coordinator::{
    Claim, Coordinator, CoordinatorError, Holder, Postgres, PostgresOptions, RunOutcome, RunStatus,
};
use sentry_schedule::{Job, JobContext, Scheduler};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;
use std::time::Duration;

impl Db {
    fn options(&self) -> PostgresOptions {
        PostgresOptions {
            schema: Some(self.schema.clone()),
            ..Default::default()
        }
    }

    /// A replica: its own pool, its own coordinator, prepared.
    async fn replica(&self, name: &str) -> Postgres {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&self.url)
            .await
            .unwrap();
        let coordinator = Postgres::with_options(
            pool,
            PostgresOptions {
                replica_id: Some(name.to_owned()),
                ..self.options()
            },
        )
        .unwrap();
        coordinator.prepare().await.unwrap();
        coordinator
    }

    async fn count(&self, sql_where: &str) -> i64 {
        sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {}.sentry_schedule_claims WHERE {sql_where}",
            self.schema
        ))
        .fetch_one(&self.admin)
        .await
        .unwrap()
    }
}

impl Store for Db {
    async fn replica(&self, name: &str) -> Arc<dyn Coordinator> {
        Arc::new(Db::replica(self, name).await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_claims_of_a_tick_have_exactly_one_winner() {
    let Some(db) = Db::new().await else { return };
    let winners = scenarios::concurrent_claims_of_a_tick_have_exactly_one_winner(&db).await;
    // The claim table itself names the winner of each tick, once.
    for (minute, winner) in (0..).zip(&winners) {
        let owner: String = sqlx::query_scalar(&format!(
            "SELECT owner FROM {}.sentry_schedule_claims WHERE slug = 'report' AND tick = $1",
            db.schema
        ))
        .bind(tick(minute))
        .fetch_one(&db.admin)
        .await
        .unwrap();
        assert_eq!(&owner, winner);
    }
    assert_eq!(db.count("slug = 'report'").await, 20);
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_an_expired_lease_is_taken_over_by_exactly_one_replica() {
    let Some(db) = Db::new().await else { return };
    scenarios::an_expired_lease_is_taken_over_by_exactly_one_replica(&db).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn postgres_a_running_lease_is_not_taken_over_and_renew_keeps_it() {
    let Some(db) = Db::new().await else { return };
    scenarios::a_running_lease_is_not_taken_over_and_renew_keeps_it(&db).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn postgres_finish_records_the_outcome_and_the_history() {
    let Some(db) = Db::new().await else { return };
    scenarios::finish_records_the_outcome_and_the_history(&db).await;
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_its_lease_keeps_the_claim() {
    let Some(db) = Db::new().await else { return };
    let a = db.replica("a").await;
    let b = db.replica("b").await;
    let lease = Duration::from_secs(3);
    let (started, mut first_tick) = tokio::sync::mpsc::unbounded_channel();
    let job = Job::builder("report", "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            let _ = started.send(ctx.scheduled());
            // Longer than the lease: without renewals b would take the tick over.
            tokio::time::sleep(lease + Duration::from_secs(2))
        })
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .coordinator(a)
        .lease(lease)
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .job(job)
        .build()
        .unwrap();
    let running = tokio::spawn(scheduler.run());
    let tick = first_tick.recv().await.unwrap();
    tokio::time::sleep(lease + Duration::from_secs(1)).await;
    assert!(matches!(
        b.take_over("report", tick, lease).await.unwrap(),
        Claim::Lost(Holder {
            finished: false,
            ..
        })
    ));
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    let history = b.history("report", 10).await.unwrap();
    let run = history.iter().find(|r| r.tick == tick).unwrap();
    assert_eq!((run.owner.as_str(), run.status), ("a", Some(RunStatus::Ok)));
    assert_eq!(run.takeovers, 0);
    db.drop_schema().await;
}

#[tokio::test]
async fn prune_deletes_old_finished_and_abandoned_claims_only() {
    let Some(db) = Db::new().await else { return };
    let pool = PgPool::connect(&db.url).await.unwrap();
    let c = Postgres::with_options(
        pool,
        PostgresOptions {
            retention: Duration::from_secs(3600),
            replica_id: Some("a".into()),
            ..db.options()
        },
    )
    .unwrap();
    c.prepare().await.unwrap();
    let now = Utc::now();
    let old = now - chrono::Duration::hours(2);
    let old_finished = won(c.claim("job", old, LONG).await.unwrap());
    c.finish(
        &old_finished,
        &RunOutcome::new(RunStatus::Ok, Duration::ZERO),
    )
    .await
    .unwrap();
    let _old_abandoned = won(c
        .claim("job", old - chrono::Duration::minutes(1), Duration::ZERO)
        .await
        .unwrap());
    let _old_running = won(c
        .claim("job", old - chrono::Duration::minutes(2), LONG)
        .await
        .unwrap());
    let recent = won(c.claim("job", now, LONG).await.unwrap());
    c.finish(&recent, &RunOutcome::new(RunStatus::Ok, Duration::ZERO))
        .await
        .unwrap();
    let_lease_expire().await;

    assert_eq!(c.prune().await.unwrap(), 2);
    let left = history_ticks(&c, "job").await;
    assert_eq!(left.len(), 2);
    assert!(left.contains(&now.with_nanosecond_truncated()));
    assert!(left.contains(&(old - chrono::Duration::minutes(2)).with_nanosecond_truncated()));
    assert_eq!(c.prune().await.unwrap(), 0);
    db.drop_schema().await;
}

/// PostgreSQL keeps microseconds.
trait Truncate {
    fn with_nanosecond_truncated(self) -> Self;
}
impl Truncate for DateTime<Utc> {
    fn with_nanosecond_truncated(self) -> Self {
        DateTime::from_timestamp_micros(self.timestamp_micros()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_is_idempotent_and_safe_to_race() {
    let Some(db) = Db::new().await else { return };
    let replicas: Vec<_> = (0..4).map(|_| db.url.clone()).collect();
    let mut starts = Vec::new();
    for url in replicas {
        let options = db.options();
        starts.push(tokio::spawn(async move {
            let c = Postgres::with_options(PgPool::connect(&url).await.unwrap(), options).unwrap();
            c.prepare().await
        }));
    }
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let c = db.replica("again").await;
    c.prepare().await.unwrap();
    won(c.claim("job", tick(1), LONG).await.unwrap());
    let comment: String = sqlx::query_scalar("SELECT obj_description(to_regclass($1), 'pg_class')")
        .bind(c.table())
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(comment, "sentry-schedule claims, schema version 3");
    assert_eq!(db.count("true").await, 1);
    db.drop_schema().await;
}

/// A table of schema version 1 (before the index of open claims and the fencing tokens) is
/// migrated in place: its rows are kept, the index is added, and the sweep's query uses it;
/// its rows get fencing tokens, and claims made after the migration get greater ones.
#[tokio::test]
async fn a_version_1_table_is_migrated_to_the_open_claims_index_and_fencing_tokens() {
    let Some(db) = Db::new().await else { return };
    let table = format!("{}.sentry_schedule_claims", db.schema);
    let v1 = [
        format!(
            "CREATE TABLE {table} (slug text NOT NULL, tick timestamptz NOT NULL, \
             owner text NOT NULL, token text NOT NULL, claimed_at timestamptz NOT NULL, \
             started_at timestamptz NOT NULL, lease_until timestamptz NOT NULL, \
             finished_at timestamptz, status text, duration_ms bigint, message text, \
             takeovers integer NOT NULL DEFAULT 0, PRIMARY KEY (slug, tick))"
        ),
        format!("COMMENT ON TABLE {table} IS 'sentry-schedule claims, schema version 1'"),
        format!(
            "INSERT INTO {table} (slug, tick, owner, token, claimed_at, started_at, lease_until) \
             VALUES ('job', now() - interval '1 minute', 'gone', 't', now(), now(), now())"
        ),
    ];
    for sql in &v1 {
        sqlx::query(sql).execute(&db.admin).await.unwrap();
    }
    let c = db.replica("a").await;
    let comment: String = sqlx::query_scalar("SELECT obj_description(to_regclass($1), 'pg_class')")
        .bind(c.table())
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(comment, "sentry-schedule claims, schema version 3");
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE '%_open'",
    )
    .bind(&db.schema)
    .fetch_all(&db.admin)
    .await
    .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(
        indexes[0].contains("WHERE (finished_at IS NULL)"),
        "{indexes:?}"
    );
    let since = Utc::now() - chrono::TimeDelta::hours(1);
    let expired = c.expired_claims(&["job"], since).await.unwrap();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert!(c.schema_sql().contains("WHERE finished_at IS NULL"));
    assert!(c
        .schema_sql()
        .contains("fencing_token bigint GENERATED BY DEFAULT AS IDENTITY"));
    let old = c.history("job", 1).await.unwrap()[0].fencing_token.unwrap();
    let (slug, tick) = &expired[0];
    let taken = won(c.take_over(slug, *tick, LONG).await.unwrap());
    assert!(
        taken.fencing_token > old,
        "{} after {old}",
        taken.fencing_token
    );
    let claimed = won(c.claim("job", scenarios::tick(1), LONG).await.unwrap());
    assert!(claimed.fencing_token > taken.fencing_token);
    db.drop_schema().await;
}

#[tokio::test]
async fn foreign_or_newer_tables_are_refused() {
    let Some(db) = Db::new().await else { return };
    sqlx::query(&format!("CREATE TABLE {}.theirs (id int)", db.schema))
        .execute(&db.admin)
        .await
        .unwrap();
    let theirs = Postgres::with_options(
        db.admin.clone(),
        PostgresOptions {
            table: "theirs".into(),
            ..db.options()
        },
    )
    .unwrap();
    assert!(matches!(
        theirs.prepare().await,
        Err(CoordinatorError::Data(_))
    ));

    let c = db.replica("a").await;
    sqlx::query(&format!(
        "COMMENT ON TABLE {} IS 'sentry-schedule claims, schema version 99'",
        c.table()
    ))
    .execute(&db.admin)
    .await
    .unwrap();
    let error = c.prepare().await.unwrap_err();
    assert!(error.to_string().contains("newer"), "{error}");

    let bad = PostgresOptions {
        table: "Robert'); DROP TABLE students;--".into(),
        ..Default::default()
    };
    assert!(matches!(
        Postgres::with_options(db.admin.clone(), bad),
        Err(CoordinatorError::Config(_))
    ));
    db.drop_schema().await;
}

#[tokio::test]
async fn a_role_that_owns_only_its_table_can_migrate_and_claim() {
    let Some(db) = Db::new().await else { return };
    let role = unique_name("ssrole");
    let password = "only-the-table";
    sqlx::query(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        .execute(&db.admin)
        .await
        .unwrap();
    sqlx::query(&format!("GRANT USAGE ON SCHEMA {} TO {role}", db.schema))
        .execute(&db.admin)
        .await
        .unwrap();
    // The administrator creates the table once and hands it over.
    let admin_side = db.replica("admin").await;
    sqlx::query(&format!(
        "ALTER TABLE {} OWNER TO {role}",
        admin_side.table()
    ))
    .execute(&db.admin)
    .await
    .unwrap();

    let role_url = {
        let (scheme, rest) = db.url.split_once("://").unwrap();
        let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
        format!("{scheme}://{role}:{password}@{host}")
    };
    let pool = PgPool::connect(&role_url).await.unwrap();
    // The role really is restricted: it cannot create tables in the schema.
    let denied = sqlx::query(&format!("CREATE TABLE {}.other (id int)", db.schema))
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");

    let c = Postgres::with_options(pool.clone(), db.options()).unwrap();
    c.prepare().await.unwrap();
    c.prepare().await.unwrap();
    let token = won(c.claim("job", tick(1), LONG).await.unwrap());
    assert!(c.renew(&token, LONG).await.unwrap());
    assert!(c
        .finish(
            &token,
            &RunOutcome::new(RunStatus::Ok, Duration::from_secs(1))
        )
        .await
        .unwrap());
    assert_eq!(c.history("job", 5).await.unwrap().len(), 1);
    pool.close().await;
    let admin = db.admin.clone();
    db.drop_schema().await;
    sqlx::query(&format!("DROP ROLE {role}"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_an_error_and_the_coordinator_recovers() {
    let Some(db) = Db::new().await else { return };
    // Create the table directly, then reach the server only through a proxy we can cut.
    db.replica("setup").await;
    let proxy = Proxy::start(socket_addr(&db.url)).await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(&via(&db.url, proxy.addr))
        .unwrap();
    let c = Postgres::with_options(
        pool,
        PostgresOptions {
            timeout: Duration::from_secs(5),
            replica_id: Some("a".into()),
            ..db.options()
        },
    )
    .unwrap();
    c.prepare().await.unwrap();
    won(c.claim("job", tick(1), LONG).await.unwrap());

    proxy.cut();
    claims_fail_while_unreachable(&c).await;
    assert!(c.history("job", 5).await.is_err());

    proxy.restore();
    // The same coordinator and pool: no restart.
    won(c.claim("job", tick(4), LONG).await.unwrap());
    assert_eq!(db.count("slug = 'job'").await, 2);
    db.drop_schema().await;
}

// One thread: the subscriber set for the test is the thread's.
#[tokio::test(flavor = "current_thread")]
async fn the_pool_it_creates_logs_a_slow_acquire_at_debug_not_warn() {
    let Some(db) = Db::new().await else { return };
    let logs = Logs::default();
    let _logging = logs.capture(tracing::Level::DEBUG);
    let c = Postgres::connect_lazy(&db.url, db.options()).unwrap();
    c.prepare().await.unwrap();
    // Every connection of the pool is taken: the claim waits for one longer than sqlx's
    // slow-acquire threshold (2 s).
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(c.pool().acquire().await.unwrap());
    }
    let claim = tokio::spawn({
        let c = c.clone();
        async move { c.claim("job", tick(1), LONG).await }
    });
    tokio::time::sleep(
        c.pool().options().get_acquire_slow_threshold() + Duration::from_millis(300),
    )
    .await;
    drop(held);
    won(claim.await.unwrap().unwrap());

    let lines = logs.lines();
    let slow: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("exceeded slow threshold"))
        .collect();
    assert_eq!(slow.len(), 1, "{lines:#?}");
    assert!(slow[0].contains("DEBUG"), "{}", slow[0]);
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_batches_win_each_tick_exactly_once() {
    let Some(db) = Db::new().await else { return };
    scenarios::concurrent_batches_win_each_tick_exactly_once(&db).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn postgres_batches_answer_each_tick_in_place() {
    let Some(db) = Db::new().await else { return };
    scenarios::batches_answer_each_tick_in_place(&db).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn postgres_expired_claims_are_exactly_the_expired_unfinished_ones() {
    let Some(db) = Db::new().await else { return };
    scenarios::expired_claims_are_exactly_the_expired_unfinished_ones(&db).await;
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_renewing_while_finishing_the_same_claims_never_deadlocks() {
    let Some(db) = Db::new().await else { return };
    scenarios::renewing_while_finishing_the_same_claims_never_deadlocks(&db).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn postgres_fencing_tokens_grow_with_every_claim_and_take_over() {
    let Some(db) = Db::new().await else { return };
    scenarios::fencing_tokens_grow_with_every_claim_and_take_over(&db).await;
    db.drop_schema().await;
}
