//! Several replicas of one service, each tick run once: start this binary three times against
//! one PostgreSQL (or Redis) and every tick of every job runs on exactly one of them.
//!
//! ```sh
//! export COORDINATOR_URL=postgres://user:password@127.0.0.1/db   # or redis://127.0.0.1/
//! REPLICA=a cargo run -p sentry-schedule-examples --features postgres,redis --example replicas &
//! REPLICA=b cargo run -p sentry-schedule-examples --features postgres,redis --example replicas &
//! REPLICA=c cargo run -p sentry-schedule-examples --features postgres,redis --example replicas &
//! ```
//!
//! Two jobs: `replicas-heartbeat` every 5 s without check-ins (sub-minute jobs cannot be
//! monitored), and `replicas-report` every minute, monitored, working `REPORT_SECONDS` (default
//! 2) — make it long and `kill -9` the replica running it to see another take the tick over
//! once the lease (`LEASE_SECONDS`, default 10) has expired.
//!
//! Every line on stdout is one event, easy to count across replicas:
//!
//! ```text
//! RUN replica=a slug=replicas-report tick=2026-01-01T12:00:00+00:00 takeover=false
//! DONE replica=a slug=replicas-report tick=2026-01-01T12:00:00+00:00 status=ok recorded=true
//! SKIP replica=b slug=replicas-report tick=2026-01-01T12:00:00+00:00 owner=a finished=false
//! ERROR replica=c slug=replicas-report tick=… error=…   (coordinator unreachable: tick skipped)
//! ```
//!
//! The claim table (PostgreSQL) or the claim hashes (Redis) hold the same runs as history.
//! `SENTRY_DSN` sends the monitored job's check-ins to Sentry (or a local ingest endpoint).
//!
//! Until the scheduler claims ticks by itself (`Scheduler::builder().coordinator(…)`), each job
//! claims its tick at its start through [`claimed`]; the protocol is the one the scheduler
//! follows: claim, wait out a held lease and take over, renew while running, finish.

use sentry_schedule::coordinator::{
    Claim, ClaimToken, Coordinator, CoordinatorError, LeaseKeeper, Postgres, PostgresOptions,
    Redis, RedisOptions, RunOutcome, RunStatus,
};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn coordinator(url: &str, replica: String) -> Result<Arc<dyn Coordinator>, CoordinatorError> {
    Ok(
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            Arc::new(Redis::open(
                url,
                RedisOptions {
                    replica_id: Some(replica),
                    ..Default::default()
                },
            )?)
        } else {
            Arc::new(Postgres::connect_lazy(
                url,
                PostgresOptions {
                    replica_id: Some(replica),
                    ..Default::default()
                },
            )?)
        },
    )
}

/// Runs `work` for the tick of `ctx` only if this replica wins it; prints what happened.
async fn claimed<F, Fut>(
    coordinator: Arc<dyn Coordinator>,
    lease: Duration,
    ctx: JobContext,
    work: F,
) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let replica = coordinator.replica_id().to_owned();
    let (slug, tick) = (ctx.slug().to_owned(), ctx.scheduled());
    let mut takeover = false;
    let token: ClaimToken = loop {
        let claim = if takeover {
            coordinator.take_over(&slug, tick, lease).await
        } else {
            coordinator.claim(&slug, tick, lease).await
        };
        match claim {
            Ok(Claim::Won(token)) => break token,
            Ok(Claim::Lost(held)) if held.finished => {
                println!(
                    "SKIP replica={replica} slug={slug} tick={} owner={} finished=true",
                    tick.to_rfc3339(),
                    held.owner
                );
                return Ok(());
            }
            Ok(Claim::Lost(held)) => {
                if !takeover {
                    println!(
                        "SKIP replica={replica} slug={slug} tick={} owner={} finished=false",
                        tick.to_rfc3339(),
                        held.owner
                    );
                }
                // Wait out the holder's lease, then try to take the tick over.
                tokio::time::sleep(held.retry_in + Duration::from_millis(100)).await;
                takeover = true;
            }
            Err(error) => {
                // Default policy: nobody can prove they won, so skip the tick (and report).
                println!(
                    "ERROR replica={replica} slug={slug} tick={} error={error}",
                    tick.to_rfc3339()
                );
                return Err(error.into());
            }
        }
    };
    println!(
        "RUN replica={replica} slug={slug} tick={} takeover={takeover}",
        tick.to_rfc3339()
    );
    let keeper = LeaseKeeper::start(coordinator.clone(), token.clone(), lease);
    let started = Instant::now();
    let result = tokio::select! {
        result = work() => result,
        lost = keeper.lost() => Err(anyhow::anyhow!("lease lost ({lost:?}): another replica has the tick")),
    };
    keeper.stop();
    let status = if result.is_ok() {
        RunStatus::Ok
    } else {
        RunStatus::Error
    };
    let outcome = RunOutcome {
        status,
        duration: started.elapsed(),
        message: result.as_ref().err().map(|e| e.to_string()),
    };
    let recorded = coordinator.finish(&token, &outcome).await;
    println!(
        "DONE replica={replica} slug={slug} tick={} status={status} recorded={}",
        tick.to_rfc3339(),
        match &recorded {
            Ok(recorded) => recorded.to_string(),
            Err(error) => format!("error({error})"),
        }
    );
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    let url = std::env::var("COORDINATOR_URL")
        .map_err(|_| anyhow::anyhow!("set COORDINATOR_URL to a postgres:// or redis:// URL"))?;
    let replica = std::env::var("REPLICA").unwrap_or_else(|_| std::process::id().to_string());
    let lease = env_secs("LEASE_SECONDS", 10);
    let work = env_secs("REPORT_SECONDS", 2);
    let coordinator = coordinator(&url, replica)?;
    coordinator.prepare().await?;

    let heartbeat = {
        let coordinator = coordinator.clone();
        Job::builder("replicas-heartbeat", "5s")
            .monitor(false)
            .run(move |ctx| claimed(coordinator.clone(), lease, ctx, || async { Ok(()) }))
            .build()?
    };
    let report = {
        let coordinator = coordinator.clone();
        Job::builder("replicas-report", "* * * * *")
            .checkin_margin(1)
            .max_runtime(5)
            .run(move |ctx| {
                claimed(coordinator.clone(), lease, ctx, move || async move {
                    tokio::time::sleep(work).await;
                    Ok(())
                })
            })
            .build()?
    };

    Scheduler::builder()
        .registered_jobs(false)
        .jobs([heartbeat, report])
        .build()?
        .run()
        .await?;
    if let Ok(history) = coordinator.history("replicas-report", 5).await {
        for run in history {
            eprintln!(
                "history: {} by {} status={:?} duration={:?} takeovers={}",
                run.tick, run.owner, run.status, run.duration, run.takeovers
            );
        }
    }
    Ok(())
}
