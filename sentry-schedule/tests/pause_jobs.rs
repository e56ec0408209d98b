//! Pausing and resuming a job: in one process without a coordinator (tokio's paused clock and
//! the `TestClock`), and with three replicas against real PostgreSQL and Redis, where the pause
//! is set by a fourth scheduler that never runs (what the `pause` command of any replica does).
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

use chrono::{DateTime, TimeDelta, Utc};
use sentry_schedule::clock::TestClock;
use sentry_schedule::coordinator::{Coordinator, RunStatus};
use sentry_schedule::{Job, JobContext, JobStats, Scheduler};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

const SLUG: &str = "paused-report";

/// The runs of every replica: replica name, tick and the run's fencing token.
type Runs = Arc<Mutex<Vec<(String, DateTime<Utc>, Option<u64>)>>>;

fn job(replica: &str, runs: &Runs) -> Job {
    let (replica, runs) = (replica.to_owned(), runs.clone());
    Job::builder(SLUG, "1s")
        .monitor(false)
        .run(move |ctx: JobContext| {
            runs.lock()
                .unwrap()
                .push((replica.clone(), ctx.scheduled(), ctx.fencing_token()));
            async {}
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn without_a_coordinator_a_pause_holds_in_the_process_until_it_expires() {
    let start: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = TestClock::new(start);
    let runs: Runs = Arc::default();
    let job = job("one", &runs);
    let stats = job.stats();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .shutdown_signal(tokio::time::sleep(Duration::from_millis(8_500)))
        .job(job)
        .build()
        .unwrap();
    let until = start + TimeDelta::seconds(5);
    scheduler.pause(SLUG, Some(until)).await.unwrap();
    let pauses = scheduler.pauses().await.unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!(pauses[0].until, Some(until));
    assert!(scheduler
        .list()
        .await
        .contains("paused by this process until"));
    assert!(matches!(
        scheduler.pause("no-such-job", None).await,
        Err(sentry_schedule::Error::UnknownSlug { .. })
    ));
    scheduler.run().await.unwrap();

    let ticks: Vec<i64> = runs
        .lock()
        .unwrap()
        .iter()
        .map(|(_, tick, _)| (*tick - start).num_seconds())
        .collect();
    // 12:00:01 … 12:00:04 paused; from 12:00:05, the pause's end, it runs again.
    assert_eq!(ticks, [5, 6, 7, 8]);
    assert_eq!(stats.paused(), 4);
    // No coordinator, no claim: no fencing token.
    assert!(runs
        .lock()
        .unwrap()
        .iter()
        .all(|(_, _, token)| token.is_none()));
}

/// Starts a replica running [`job`] with `coordinator`; stops when the sender is used or
/// dropped.
#[cfg_attr(
    not(any(feature = "postgres", feature = "redis")),
    allow(dead_code, reason = "used by the PostgreSQL and Redis tests")
)]
fn replica(
    name: &str,
    coordinator: Arc<dyn Coordinator>,
    runs: &Runs,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>, JobStats) {
    let (stop, stopped) = oneshot::channel::<()>();
    let job = job(name, runs);
    let stats = job.stats();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .coordinator(coordinator)
        .lease(Duration::from_secs(5))
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .job(job)
        .build()
        .unwrap();
    let running = tokio::spawn(async move { scheduler.run().await.unwrap() });
    (stop, running, stats)
}

/// The ticks run in `(from, to)`, by any replica.
#[cfg_attr(
    not(any(feature = "postgres", feature = "redis")),
    allow(dead_code, reason = "used by the PostgreSQL and Redis tests")
)]
fn ran_between(
    runs: &Runs,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>, Option<u64>)> {
    let runs = runs.lock().unwrap();
    runs.iter()
        .filter(|(_, tick, _)| *tick > from && *tick < to)
        .cloned()
        .collect()
}

/// Three replicas; a pause set by an operator's scheduler: no replica runs the job, a
/// replica restarted meanwhile does not either, `list` shows it; after `resume` it runs
/// again; a pause with an end resumes by itself. Each tick ran at most once.
#[cfg_attr(
    not(any(feature = "postgres", feature = "redis")),
    allow(dead_code, reason = "used by the PostgreSQL and Redis tests")
)]
async fn three_replicas_honour_a_pause(coordinator: impl Fn(&str) -> Arc<dyn Coordinator>) {
    let runs: Runs = Arc::default();
    let mut replicas: Vec<_> = ["r1", "r2", "r3"]
        .into_iter()
        .map(|name| replica(name, coordinator(name), &runs))
        .collect();
    let ops = Scheduler::builder()
        .registered_jobs(false)
        .coordinator(coordinator("ops"))
        .job(job("ops", &runs))
        .build()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while runs.lock().unwrap().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replicas never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    ops.pause(SLUG, None).await.unwrap();
    let paused_at = Utc::now();
    assert!(
        ops.list().await.contains("paused by ops until resumed"),
        "{}",
        ops.list().await
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // A replica restarted while the job is paused: a new process, a new coordinator.
    let (stop, running, _) = replicas.remove(0);
    stop.send(()).unwrap();
    running.await.unwrap();
    replicas.push(replica("r1-restarted", coordinator("r1-restarted"), &runs));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    ops.resume(SLUG).await.unwrap();
    let resumed_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let until = Utc::now() + TimeDelta::milliseconds(2_500);
    ops.pause(SLUG, Some(until)).await.unwrap();
    let paused_again_at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    let end = Utc::now();
    let mut stats = Vec::new();
    for (stop, running, replica_stats) in replicas {
        stop.send(()).unwrap();
        running.await.unwrap();
        stats.push(replica_stats);
    }

    // Claims made before the pause (or resume) was written may still run; allow 200 ms.
    // A tick is claimed up to half a second before it is due, so one due within that much
    // after a pause may have been claimed before the pause and still run.
    let margin = TimeDelta::milliseconds(200);
    let claimed_ahead = TimeDelta::milliseconds(500);
    let while_paused = ran_between(&runs, paused_at + claimed_ahead, resumed_at - margin);
    assert!(
        while_paused.is_empty(),
        "ran while paused: {while_paused:?}"
    );
    let after_resume = ran_between(&runs, resumed_at, paused_again_at - margin);
    assert!(
        after_resume.len() >= 2,
        "not run after resume: {:?}",
        runs.lock().unwrap()
    );
    let while_paused_again = ran_between(&runs, paused_again_at + claimed_ahead, until - margin);
    assert!(
        while_paused_again.is_empty(),
        "ran while paused: {while_paused_again:?}"
    );
    let after_expiry = ran_between(&runs, until, end);
    assert!(
        after_expiry.len() >= 2,
        "not run after the pause ended: {:?}",
        runs.lock().unwrap()
    );

    // Every claimed run has a fencing token, greater for each later tick.
    let mut tokens: Vec<(DateTime<Utc>, u64)> = runs
        .lock()
        .unwrap()
        .iter()
        .map(|(_, tick, token)| (*tick, token.expect("a claimed run has a fencing token")))
        .collect();
    tokens.sort_unstable();
    assert!(tokens.windows(2).all(|w| w[0].1 < w[1].1), "{tokens:?}");
    // Each tick once, on one replica.
    let mut ticks: Vec<DateTime<Utc>> = runs.lock().unwrap().iter().map(|(_, t, _)| *t).collect();
    let all = ticks.len();
    ticks.sort_unstable();
    ticks.dedup();
    assert_eq!(
        ticks.len(),
        all,
        "a tick ran twice: {:?}",
        runs.lock().unwrap()
    );
    // The paused ticks are in the history as paused, and the replicas counted them.
    let history = ops.history(SLUG, 100).await.unwrap();
    let paused: Vec<_> = history
        .iter()
        .filter(|r| r.status == Some(RunStatus::Paused))
        .collect();
    assert!(paused.len() >= 6, "{history:#?}");
    assert!(paused.iter().all(|r| r.tick > paused_at));
    let counted: u64 = stats.iter().map(JobStats::paused).sum();
    assert!(
        counted >= paused.len() as u64,
        "{counted} counted, {} recorded",
        paused.len()
    );
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_three_replicas_honour_a_pause() {
    use sentry_schedule::coordinator::{Postgres, PostgresOptions};
    let Some(db) = postgres_support::Db::new().await else {
        return;
    };
    let (url, schema) = (db.url.clone(), db.schema.clone());
    three_replicas_honour_a_pause(|name| {
        let options = PostgresOptions {
            schema: Some(schema.clone()),
            replica_id: Some(name.to_owned()),
            ..Default::default()
        };
        Arc::new(Postgres::connect_lazy(&url, options).unwrap())
    })
    .await;
    db.drop_schema().await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_three_replicas_honour_a_pause() {
    use sentry_schedule::coordinator::{Redis, RedisOptions};
    let Some(url) = server_url("SENTRY_SCHEDULE_TEST_REDIS_URL") else {
        return;
    };
    let prefix = unique_name("pause");
    three_replicas_honour_a_pause(|name| {
        let options = RedisOptions {
            prefix: prefix.clone(),
            replica_id: Some(name.to_owned()),
            ..Default::default()
        };
        Arc::new(Redis::open(&url, options).unwrap())
    })
    .await;
}
