//! The Redis coordinator against a real server (`SENTRY_SCHEDULE_TEST_REDIS_URL`, started by
//! `.ci/services`). Each test uses a key prefix of its own. The scenarios every backend runs
//! are in `coordination_support::scenarios`; the tests of key expiry, prefixes, an outage
//! and the index are Redis's own.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

mod coordination_support;

use chrono::Utc;
use coordination_support::scenarios::{
    self, claims_fail_while_unreachable, history_ticks, tick, won, Store, LONG,
};
use coordination_support::{server_url, socket_addr, unique_name, via, Proxy};
use sentry_schedule::coordinator::{
    Coordinator, CoordinatorError, Redis, RedisOptions, RunOutcome, RunStatus,
};
use std::sync::Arc;
use std::time::Duration;

struct Server {
    url: String,
    prefix: String,
}

impl Server {
    fn new() -> Option<Server> {
        Some(Server {
            url: server_url("SENTRY_SCHEDULE_TEST_REDIS_URL")?,
            prefix: unique_name("sstest"),
        })
    }

    fn replica(&self, name: &str) -> Redis {
        Redis::open(
            &self.url,
            RedisOptions {
                prefix: self.prefix.clone(),
                replica_id: Some(name.to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    async fn raw(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Store for Server {
    async fn replica(&self, name: &str) -> Arc<dyn Coordinator> {
        Arc::new(Server::replica(self, name))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_concurrent_claims_of_a_tick_have_exactly_one_winner() {
    let Some(server) = Server::new() else { return };
    scenarios::concurrent_claims_of_a_tick_have_exactly_one_winner(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_an_expired_lease_is_taken_over_by_exactly_one_replica() {
    let Some(server) = Server::new() else { return };
    scenarios::an_expired_lease_is_taken_over_by_exactly_one_replica(&server).await;
}

#[tokio::test]
async fn redis_a_running_lease_is_not_taken_over_and_renew_keeps_it() {
    let Some(server) = Server::new() else { return };
    scenarios::a_running_lease_is_not_taken_over_and_renew_keeps_it(&server).await;
}

#[tokio::test]
async fn redis_finish_records_the_outcome_and_the_history() {
    let Some(server) = Server::new() else { return };
    scenarios::finish_records_the_outcome_and_the_history(&server).await;
}

#[tokio::test]
async fn claims_expire_after_the_retention() {
    let Some(server) = Server::new() else { return };
    let retention = Duration::from_secs(3600);
    let c = Redis::open(
        &server.url,
        RedisOptions {
            prefix: server.prefix.clone(),
            retention,
            ..Default::default()
        },
    )
    .unwrap();
    let lease = Duration::from_secs(60);
    let token = won(c.claim("job", tick(1), lease).await.unwrap());
    let key = format!(
        "{}:{{job}}:tick:{}",
        server.prefix,
        tick(1).timestamp_millis()
    );
    let mut raw = server.raw().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    let expected = (retention + lease).as_millis() as i64;
    assert!(ttl <= expected && ttl > expected - 60_000, "{ttl}");
    c.finish(&token, &RunOutcome::new(RunStatus::Ok, Duration::ZERO))
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut raw)
        .await
        .unwrap();
    let expected = retention.as_millis() as i64;
    assert!(ttl <= expected && ttl > expected - 60_000, "{ttl}");
    assert_eq!(c.prune().await.unwrap(), 0);
}

#[tokio::test]
async fn bad_prefixes_are_refused() {
    for prefix in ["", "a{b", "a b", "x}"] {
        let options = RedisOptions {
            prefix: prefix.into(),
            ..Default::default()
        };
        assert!(matches!(
            Redis::open("redis://127.0.0.1/", options),
            Err(CoordinatorError::Config(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_an_error_and_the_coordinator_recovers() {
    let Some(server) = Server::new() else { return };
    let proxy = Proxy::start(socket_addr(&server.url)).await;
    let c = Redis::open(
        &via(&server.url, proxy.addr),
        RedisOptions {
            prefix: server.prefix.clone(),
            timeout: Duration::from_secs(2),
            ..Default::default()
        },
    )
    .unwrap();
    c.prepare().await.unwrap();
    won(c.claim("job", tick(1), LONG).await.unwrap());

    proxy.cut();
    claims_fail_while_unreachable(&c).await;
    proxy.restore();
    // The same coordinator: the connection manager reconnects by itself.
    let mut recovered = None;
    for _ in 0..50 {
        match c.claim("job", tick(4), LONG).await {
            Ok(claim) => {
                recovered = Some(claim);
                break;
            }
            // The connection manager reconnects in the background after the first failure.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    won(recovered.expect("no recovery within 5 s"));
    let ticks = history_ticks(&c, "job").await;
    assert_eq!(ticks, [tick(4), tick(1)]);
}

#[tokio::test]
async fn the_index_forgets_ticks_older_than_the_retention() {
    let Some(server) = Server::new() else { return };
    let c = Redis::open(
        &server.url,
        RedisOptions {
            prefix: server.prefix.clone(),
            retention: Duration::from_secs(2 * 3600),
            ..Default::default()
        },
    )
    .unwrap();
    let old = Utc::now() - chrono::Duration::hours(3);
    won(c.claim("job", old, LONG).await.unwrap());
    won(c.claim("job", tick(0), LONG).await.unwrap());
    let ticks = history_ticks(&c, "job").await;
    assert_eq!(ticks, [tick(0)]);
    assert_eq!(c.last_claimed_tick("job").await.unwrap(), Some(tick(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_concurrent_batches_win_each_tick_exactly_once() {
    let Some(server) = Server::new() else { return };
    scenarios::concurrent_batches_win_each_tick_exactly_once(&server).await;
}

#[tokio::test]
async fn redis_batches_answer_each_tick_in_place() {
    let Some(server) = Server::new() else { return };
    scenarios::batches_answer_each_tick_in_place(&server).await;
}

#[tokio::test]
async fn redis_expired_claims_are_exactly_the_expired_unfinished_ones() {
    let Some(server) = Server::new() else { return };
    scenarios::expired_claims_are_exactly_the_expired_unfinished_ones(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_renewing_while_finishing_the_same_claims_never_deadlocks() {
    let Some(server) = Server::new() else { return };
    scenarios::renewing_while_finishing_the_same_claims_never_deadlocks(&server).await;
}

/// `NOSCRIPT` errors the server has answered so far (`INFO errorstats`).
async fn noscript_errors(raw: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("errorstats")
        .query_async(raw)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("errorstat_NOSCRIPT:count="))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// A server that lost its scripts (restarted, failed over) gets them in the same round trip
/// as every batch, before the first call: no call is ever refused for want of its script, so
/// no batch can run in part and be retried (a retried claim batch would lose the ticks its
/// first part had won).
#[tokio::test]
async fn a_server_that_lost_its_scripts_gets_them_before_any_call() {
    let Some(server) = Server::new() else { return };
    let a = server.replica("a");
    let mut raw = server.raw().await;
    let flush = || redis::cmd("SCRIPT").arg("FLUSH").to_owned();
    let slugs: Vec<String> = (0..50).map(|j| format!("job-{j}")).collect();
    let ticks: Vec<(&str, _)> = slugs.iter().map(|s| (s.as_str(), tick(1))).collect();
    let _: () = flush().query_async(&mut raw).await.unwrap();
    let before = noscript_errors(&mut raw).await;
    let tokens: Vec<_> = a
        .claim_many(&ticks, LONG)
        .await
        .unwrap()
        .into_iter()
        .map(won)
        .collect();
    let _: () = flush().query_async(&mut raw).await.unwrap();
    assert!(a
        .renew_many(&tokens, LONG)
        .await
        .unwrap()
        .iter()
        .all(|r| *r));
    let _: () = flush().query_async(&mut raw).await.unwrap();
    let runs: Vec<_> = tokens
        .iter()
        .map(|t| (t.clone(), RunOutcome::new(RunStatus::Ok, Duration::ZERO)))
        .collect();
    assert!(a.finish_many(&runs).await.unwrap().iter().all(|f| *f));
    let _: () = flush().query_async(&mut raw).await.unwrap();
    won(a.claim("job-0", tick(2), LONG).await.unwrap());
    assert_eq!(noscript_errors(&mut raw).await, before);
}

#[tokio::test]
async fn redis_fencing_tokens_grow_with_every_claim_and_take_over() {
    let Some(server) = Server::new() else { return };
    scenarios::fencing_tokens_grow_with_every_claim_and_take_over(&server).await;
}
