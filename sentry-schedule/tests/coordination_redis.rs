//! The Redis coordinator against a real server (`SENTRY_SCHEDULE_TEST_REDIS_URL`, started by
//! `.ci/services`). Each test uses a key prefix of its own.
#![cfg(feature = "redis")]

mod coordination_support;

use chrono::{DateTime, TimeZone, Utc};
use coordination_support::{server_url, socket_addr, unique_name, via, Proxy};
use sentry_schedule::coordinator::{
    Claim, ClaimToken, Coordinator, CoordinatorError, Held, Redis, RedisOptions, RunOutcome,
    RunStatus,
};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(600);

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

/// Ticks of the last hour: the claim script drops index entries older than the retention.
fn tick(minute: u32) -> DateTime<Utc> {
    static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let hour_ago = Utc::now().timestamp() - 3600;
        Utc.timestamp_opt(hour_ago - hour_ago % 3600, 0).unwrap()
    });
    base + chrono::Duration::minutes(minute.into())
}

fn won(claim: Claim) -> ClaimToken {
    match claim {
        Claim::Won(token) => token,
        Claim::Lost(held) => panic!("claim lost to {held:?}"),
    }
}

/// Lets the server clock pass a zero-length lease (its timestamps have millisecond resolution).
async fn let_lease_expire() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_of_a_tick_have_exactly_one_winner() {
    let Some(server) = Server::new() else { return };
    let replicas: Vec<_> = (0..6)
        .map(|i| Arc::new(server.replica(&format!("replica-{i}"))))
        .collect();
    for minute in 0..20 {
        let claims: Vec<_> = replicas
            .iter()
            .map(|replica| {
                let replica = replica.clone();
                tokio::spawn(async move { replica.claim("report", tick(minute), LONG).await })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, claim) in claims.into_iter().enumerate() {
            match claim.await.unwrap().unwrap() {
                Claim::Won(_) => winners.push(format!("replica-{i}")),
                Claim::Lost(held) => {
                    assert!(!held.finished);
                    assert!(held.retry_in > LONG - Duration::from_secs(60));
                }
            }
        }
        assert_eq!(winners.len(), 1, "tick {minute}: winners {winners:?}");
        let history = replicas[0].history("report", 1).await.unwrap();
        assert_eq!(history[0].tick, tick(minute));
        assert_eq!(history[0].owner, winners[0]);
    }
    assert_eq!(replicas[0].history("report", 100).await.unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lease_is_taken_over_by_exactly_one_replica() {
    let Some(server) = Server::new() else { return };
    let crashed = server.replica("crashed");
    let old = won(crashed
        .claim("report", tick(1), Duration::ZERO)
        .await
        .unwrap());
    let_lease_expire().await;
    let replicas: Vec<_> = (0..6)
        .map(|i| Arc::new(server.replica(&format!("replica-{i}"))))
        .collect();
    let attempts: Vec<_> = replicas
        .iter()
        .map(|replica| {
            let replica = replica.clone();
            tokio::spawn(async move { replica.take_over("report", tick(1), LONG).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for (i, attempt) in attempts.into_iter().enumerate() {
        if let Claim::Won(token) = attempt.await.unwrap().unwrap() {
            tokens.push((i, token));
        }
    }
    assert_eq!(tokens.len(), 1);
    let (winner, token) = tokens.remove(0);
    assert_ne!(token.token, old.token);
    assert!(!crashed.renew(&old, LONG).await.unwrap());
    let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_millis(1500));
    assert!(!crashed.finish(&old, &outcome).await.unwrap());
    assert!(replicas[winner].finish(&token, &outcome).await.unwrap());
    let history = crashed.history("report", 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].takeovers, 1);
    assert_eq!(history[0].owner, format!("replica-{winner}"));
    assert_eq!(history[0].status, Some(RunStatus::Ok));
}

#[tokio::test]
async fn a_running_lease_is_not_taken_over_and_renew_keeps_it() {
    let Some(server) = Server::new() else { return };
    let a = server.replica("a");
    let b = server.replica("b");
    let running = won(a.claim("report", tick(1), LONG).await.unwrap());
    let Claim::Lost(held) = b.take_over("report", tick(1), LONG).await.unwrap() else {
        panic!("took over a running lease")
    };
    assert_eq!(held.owner, "a");
    assert!(held.retry_in <= LONG && held.retry_in > LONG - Duration::from_secs(60));
    assert!(a.renew(&running, LONG).await.unwrap());

    let token = won(a.claim("report", tick(2), Duration::ZERO).await.unwrap());
    let_lease_expire().await;
    assert!(a.renew(&token, LONG).await.unwrap());
    assert!(matches!(
        b.take_over("report", tick(2), LONG).await.unwrap(),
        Claim::Lost(_)
    ));
}

#[tokio::test]
async fn finish_records_the_outcome_and_the_history() {
    let Some(server) = Server::new() else { return };
    let a = server.replica("a");
    let b = server.replica("b");
    let first = won(a.claim("report", tick(1), LONG).await.unwrap());
    let second = won(b.claim("report", tick(2), LONG).await.unwrap());
    let _third = won(a.claim("report", tick(3), LONG).await.unwrap());
    assert!(a
        .finish(
            &first,
            &RunOutcome::new(RunStatus::Ok, Duration::from_millis(1234))
        )
        .await
        .unwrap());
    let failed = RunOutcome {
        status: RunStatus::Error,
        duration: Duration::from_millis(42),
        message: Some("SMTP server refused the connection".into()),
    };
    assert!(b.finish(&second, &failed).await.unwrap());
    assert!(!b.finish(&second, &failed).await.unwrap());

    let history = b.history("report", 10).await.unwrap();
    let ticks: Vec<_> = history.iter().map(|r| r.tick).collect();
    assert_eq!(ticks, [tick(3), tick(2), tick(1)]);
    let [running, error, ok] = &history[..] else {
        panic!()
    };
    assert_eq!((running.status, running.finished_at), (None, None));
    assert_eq!(error.status, Some(RunStatus::Error));
    assert_eq!(error.duration, Some(Duration::from_millis(42)));
    assert_eq!(
        error.message.as_deref(),
        Some("SMTP server refused the connection")
    );
    assert_eq!(error.owner, "b");
    assert_eq!(ok.status, Some(RunStatus::Ok));
    assert_eq!(ok.message, None);
    assert!(ok.finished_at.unwrap() >= ok.started_at);

    let Claim::Lost(held) = b.claim("report", tick(1), LONG).await.unwrap() else {
        panic!()
    };
    assert!(held.finished);
    assert!(matches!(
        b.take_over("report", tick(1), LONG).await.unwrap(),
        Claim::Lost(Held { finished: true, .. })
    ));
    assert_eq!(a.last_claimed_tick("report").await.unwrap(), Some(tick(3)));
    assert_eq!(a.last_claimed_tick("nothing").await.unwrap(), None);
    assert!(a.has_claim("report", tick(2)).await.unwrap());
    assert!(!a.has_claim("report", tick(5)).await.unwrap());
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
    for minute in 2..4 {
        let error = c.claim("job", tick(minute), LONG).await.unwrap_err();
        assert!(
            matches!(
                error,
                CoordinatorError::Backend(_) | CoordinatorError::Timeout(_)
            ),
            "{error:?}"
        );
    }
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
    let ticks: Vec<_> = c
        .history("job", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.tick)
        .collect();
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
    let ticks: Vec<_> = c
        .history("job", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.tick)
        .collect();
    assert_eq!(ticks, [tick(0)]);
    assert_eq!(c.last_claimed_tick("job").await.unwrap(), Some(tick(0)));
}
