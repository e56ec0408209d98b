//! A slow outcome write must not cost a tick. With `overlap = "skip"`, whether a tick
//! overlaps is decided by whether the job's previous run is still going, never by the
//! bookkeeping after it: while the outcome of a finished run is still being written (the
//! database slow, or briefly down and retried), the next tick runs.
//!
//! Against real PostgreSQL the outcome write is held by a trigger on the claim table that
//! waits for an advisory lock the test holds; with Redis and the in-process coordinator (on
//! tokio's paused clock) the coordinator's `finish` waits for a gate the test opens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
mod coordination_support;
#[cfg(feature = "postgres")]
#[path = "coordination_support/postgres.rs"]
mod postgres_support;

use chrono::{DateTime, TimeDelta, Utc};
use coordination_support::{recording_job, run_coordinated, Runs};
// `server_url` and `unique_name` also serve `postgres_support`, which reaches them through `super`.
#[cfg(any(feature = "postgres", feature = "redis"))]
use coordination_support::{server_url, unique_name};
use sentry_schedule::coordinator::{
    Claim, ClaimToken, Coordinator, CoordinatorFuture, RunOutcome, RunRecord, RunStatus,
};
use sentry_schedule::{Job, Overlap, Scheduler};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// Bounds a failing wait; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(15);

/// How many runs the real-time tests wait for while every outcome write is held.
const RUNS: usize = 3;

/// Runs a job every second (`overlap = "skip"`) on `coordinator`, whose outcome writes are
/// held, until the job ran [`RUNS`] ticks, skipped one, or [`LIMIT`] passed; then awaits
/// `release` (which lets the writes through) and stops. No tick may have been skipped: the
/// ticks ran are consecutive seconds, each recorded `ok`.
async fn every_second_while_outcomes_are_held(
    coordinator: impl Coordinator + Clone,
    release: impl Future<Output = ()> + Send + 'static,
) {
    let runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let job = recording_job(
        Job::builder("every-second", "1s").overlap(Overlap::Skip),
        &runs,
        &ran,
    );
    let stats = job.stats();
    let signal = {
        let (runs, stats) = (runs.clone(), stats.clone());
        async move {
            let deadline = tokio::time::Instant::now() + LIMIT;
            while runs.lock().unwrap().len() < RUNS && stats.skipped() == 0 {
                if tokio::time::timeout_at(deadline, ran.notified())
                    .await
                    .is_err()
                {
                    break;
                }
            }
            release.await;
        }
    };
    run_coordinated(Scheduler::builder(), coordinator.clone(), job, signal).await;

    let ran = runs.lock().unwrap().clone();
    assert_eq!(
        stats.skipped(),
        0,
        "ticks skipped as overlapping while the previous outcome was being written; ran {ran:?}"
    );
    assert!(ran.len() >= RUNS, "ran only {ran:?}");
    for pair in ran.windows(2) {
        assert_eq!(pair[1] - pair[0], TimeDelta::seconds(1), "ran {ran:?}");
    }
    let history = coordinator.history("every-second", 100).await.unwrap();
    assert_history(&history, &ran);
}

/// Every tick ran is recorded `ok`; no tick is recorded as skipped.
fn assert_history(history: &[RunRecord], ran: &[DateTime<Utc>]) {
    for tick in ran {
        let record = history.iter().find(|r| r.tick == *tick);
        assert_eq!(
            record.and_then(|r| r.status),
            Some(RunStatus::Ok),
            "{tick}: {record:?}"
        );
    }
    assert!(
        history
            .iter()
            .all(|r| r.status != Some(RunStatus::Cancelled)),
        "{history:#?}"
    );
}

/// A coordinator whose `finish` of a run that ended `ok` waits until [`SlowFinish::open`]:
/// an outcome write as slow as the test wants. Everything else goes straight through.
struct SlowFinish<C> {
    inner: C,
    gate: Semaphore,
}

impl<C: Coordinator> SlowFinish<C> {
    fn new(inner: C) -> Arc<Self> {
        Arc::new(Self {
            inner,
            gate: Semaphore::new(0),
        })
    }

    /// Lets every held and later outcome write through.
    fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

impl<C: Coordinator> Coordinator for SlowFinish<C> {
    fn replica_id(&self) -> &str {
        self.inner.replica_id()
    }
    fn is_persistent(&self) -> bool {
        self.inner.is_persistent()
    }
    fn prepare(&self) -> CoordinatorFuture<'_, ()> {
        self.inner.prepare()
    }
    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        self.inner.claim(slug, tick, lease)
    }
    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        self.inner.take_over(slug, tick, lease)
    }
    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool> {
        self.inner.renew(token, lease)
    }
    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool> {
        Box::pin(async move {
            if outcome.status == RunStatus::Ok {
                let _pass = self.gate.acquire().await;
            }
            self.inner.finish(token, outcome).await
        })
    }
    fn last_claimed_tick<'a>(
        &'a self,
        slug: &'a str,
    ) -> CoordinatorFuture<'a, Option<DateTime<Utc>>> {
        self.inner.last_claimed_tick(slug)
    }
    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>> {
        self.inner.history(slug, limit)
    }
    fn prune(&self) -> CoordinatorFuture<'_, u64> {
        self.inner.prune()
    }
}

/// On tokio's paused clock with the in-process coordinator: no outcome is written during
/// the first 35 s, in which three ticks of a job every 10 s come and go.
async fn three_ticks_while_no_outcome_is_written(overlap: Overlap) {
    use sentry_schedule::clock::TestClock;
    use sentry_schedule::coordinator::InProcess;
    let start: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = TestClock::new(start);
    let coordinator = SlowFinish::new(InProcess::with_clock(Arc::new(clock.clone())));
    let runs: Runs = Arc::default();
    let ran = Arc::new(Notify::new());
    let job = recording_job(
        Job::builder("every-10s", "10s").overlap(overlap),
        &runs,
        &ran,
    );
    let stats = job.stats();
    let signal = {
        let coordinator = coordinator.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(35)).await;
            coordinator.open();
        }
    };
    let builder = Scheduler::builder().clock(clock.clone());
    run_coordinated(builder, coordinator.clone(), job, signal).await;

    let ran = runs.lock().unwrap().clone();
    let expected: Vec<_> = (1..=3)
        .map(|i| start + TimeDelta::seconds(10 * i))
        .collect();
    assert_eq!(ran, expected, "{overlap:?}: skipped {}", stats.skipped());
    // Nothing was running when a tick came: nothing to skip, nothing to replace.
    assert_eq!((stats.skipped(), stats.replaced()), (0, 0), "{overlap:?}");
    let history = coordinator.history("every-10s", 10).await.unwrap();
    assert_history(&history, &ran);
    assert_eq!(history.len(), 3, "{history:#?}");
}

#[tokio::test(start_paused = true)]
async fn in_process_a_slow_outcome_write_does_not_skip_the_next_tick() {
    three_ticks_while_no_outcome_is_written(Overlap::Skip).await;
}

#[tokio::test(start_paused = true)]
async fn in_process_a_slow_outcome_write_does_not_count_as_a_replaced_run() {
    three_ticks_while_no_outcome_is_written(Overlap::Replace).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_slow_outcome_write_does_not_skip_the_next_tick() {
    use sentry_schedule::coordinator::{Redis, RedisOptions};
    let Some(url) = server_url("SENTRY_SCHEDULE_TEST_REDIS_URL") else {
        return;
    };
    let redis = Redis::open(
        &url,
        RedisOptions {
            prefix: unique_name("sstest"),
            ..Default::default()
        },
    )
    .unwrap();
    let coordinator = SlowFinish::new(redis);
    let release = {
        let coordinator = coordinator.clone();
        async move { coordinator.open() }
    };
    every_second_while_outcomes_are_held(coordinator, release).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_slow_outcome_write_does_not_skip_the_next_tick() {
    use postgres_support::Db;
    use sentry_schedule::coordinator::sqlx::{self, postgres::PgPool};
    use sentry_schedule::coordinator::{Postgres, PostgresOptions};

    let Some(db) = Db::new().await else { return };
    let coordinator = Postgres::with_options(
        PgPool::connect(&db.url).await.unwrap(),
        PostgresOptions {
            schema: Some(db.schema.clone()),
            // Longer than the test: the held writes wait, they do not time out and retry.
            timeout: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .unwrap();
    coordinator.prepare().await.unwrap();
    // Recording an `ok` outcome waits for an advisory lock of this schema, which the test
    // holds: the database is slow exactly where the outcome is written. Renewals and a
    // skipped tick's record (`cancelled`) are not held.
    let key = format!("hashtext('{}')::bigint", db.schema);
    for statement in [
        format!(
            "CREATE FUNCTION {}.slow_finish() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_advisory_xact_lock({key}); RETURN NEW; END $$",
            db.schema
        ),
        format!(
            "CREATE TRIGGER slow_finish BEFORE UPDATE ON {} FOR EACH ROW \
             WHEN (OLD.finished_at IS NULL AND NEW.status = 'ok') \
             EXECUTE FUNCTION {}.slow_finish()",
            coordinator.table(),
            db.schema
        ),
    ] {
        sqlx::query(&statement).execute(&db.admin).await.unwrap();
    }
    let mut lock = db.admin.acquire().await.unwrap();
    sqlx::query(&format!("SELECT pg_advisory_lock({key})"))
        .execute(&mut *lock)
        .await
        .unwrap();

    let table = coordinator.table().to_owned();
    let written = Arc::new(std::sync::Mutex::new(None));
    let release = {
        let written = written.clone();
        async move {
            // Until now no outcome could be written: the runs all came while every earlier
            // outcome was still being written.
            let count: i64 =
                sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE status = 'ok'"))
                    .fetch_one(&mut *lock)
                    .await
                    .unwrap();
            *written.lock().unwrap() = Some(count);
            sqlx::query(&format!("SELECT pg_advisory_unlock({key})"))
                .execute(&mut *lock)
                .await
                .unwrap();
        }
    };
    every_second_while_outcomes_are_held(coordinator, release).await;
    assert_eq!(
        *written.lock().unwrap(),
        Some(0),
        "outcomes were written while the lock was held"
    );
    db.drop_schema().await;
}
