//! A claim whose stored numbers are out of range (a hand-edited row, a corrupted key) is a
//! `CoordinatorError::Data` naming the value when read back, never a silent 0, against real
//! PostgreSQL and Redis (`SENTRY_SCHEDULE_TEST_POSTGRES_URL`, `SENTRY_SCHEDULE_TEST_REDIS_URL`,
//! started by `.ci/services`).
#![cfg(all(feature = "postgres", feature = "redis"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod coordination_support;
#[path = "coordination_support/postgres.rs"]
mod postgres_support;

use chrono::{DateTime, Utc};
use coordination_support::{server_url, unique_name};
use postgres_support::Db;
use sentry_schedule::coordinator::{
    Claim, Coordinator, CoordinatorError, Postgres, PostgresOptions, Redis, RedisOptions,
    RunOutcome, RunStatus,
};
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

/// The tick claimed: a recent whole second, so no retention or key expiry removes it.
fn tick() -> DateTime<Utc> {
    static TICK: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *TICK.get_or_init(|| {
        DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now is in range")
    })
}

/// Claims and finishes the tick of `slug`, so its record is complete.
async fn finished(coordinator: &dyn Coordinator, slug: &str) {
    let Claim::Won(token) = coordinator.claim(slug, tick(), LEASE).await.unwrap() else {
        panic!("the first claim wins");
    };
    let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_millis(120));
    assert!(coordinator.finish(&token, &outcome).await.unwrap());
}

/// The history of `slug` fails with a data error whose message contains `names`.
async fn assert_data_error(coordinator: &dyn Coordinator, slug: &str, names: &str) {
    match coordinator.history(slug, 10).await {
        Err(CoordinatorError::Data(message)) => {
            assert!(message.contains(names), "{message}");
        }
        other => panic!("expected a data error naming `{names}`, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_a_negative_take_over_count_is_a_data_error() {
    let Some(db) = Db::new().await else { return };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let coordinator = Postgres::with_options(
        pool,
        PostgresOptions {
            schema: Some(db.schema.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    coordinator.prepare().await.unwrap();
    finished(&coordinator, "ledger").await;
    assert_eq!(
        coordinator.history("ledger", 10).await.unwrap()[0].takeovers,
        0
    );
    sqlx::query(&format!(
        "UPDATE {}.sentry_schedule_claims SET takeovers = -3",
        db.schema
    ))
    .execute(&db.admin)
    .await
    .unwrap();
    assert_data_error(&coordinator, "ledger", "-3").await;
    db.drop_schema().await;
}

#[tokio::test]
async fn redis_a_negative_take_over_count_or_duration_is_a_data_error() {
    let Some(url) = server_url("SENTRY_SCHEDULE_TEST_REDIS_URL") else {
        return;
    };
    let prefix = unique_name("sstest");
    let coordinator = Redis::open(
        &url,
        RedisOptions {
            prefix: prefix.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    coordinator.prepare().await.unwrap();
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = |slug: &str| format!("{prefix}:{{{slug}}}:tick:{}", tick().timestamp_millis());

    finished(&coordinator, "ledger").await;
    let record = &coordinator.history("ledger", 10).await.unwrap()[0];
    assert_eq!(
        (record.takeovers, record.duration),
        (0, Some(Duration::from_millis(120)))
    );
    hset(&mut raw, &key("ledger"), "takeovers", -3).await;
    assert_data_error(&coordinator, "ledger", "-3").await;

    finished(&coordinator, "rollup").await;
    hset(&mut raw, &key("rollup"), "duration_ms", -120).await;
    assert_data_error(&coordinator, "rollup", "-120").await;
}

/// Overwrites `field` of the hash at `key`, as a corrupted entry would have it.
async fn hset(raw: &mut redis::aio::MultiplexedConnection, key: &str, field: &str, value: i64) {
    let _: i64 = redis::cmd("HSET")
        .arg(key)
        .arg(field)
        .arg(value)
        .query_async(raw)
        .await
        .unwrap();
}
