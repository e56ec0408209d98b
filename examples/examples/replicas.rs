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
//! Every line on stdout is one run, easy to count across replicas:
//!
//! ```text
//! RUN replica=a slug=replicas-report tick=2026-01-01T12:00:00+00:00
//! DONE replica=a slug=replicas-report tick=2026-01-01T12:00:00+00:00
//! ```
//!
//! The scheduler claims each tick before running it (`Scheduler::builder().coordinator(…)`):
//! one replica wins and runs it and sends its check-ins, the others skip it; a replica that
//! sees the tick held waits out the holder's lease and takes the tick over if the holder
//! died. The claim table (PostgreSQL) or the claim hashes (Redis) hold the runs as history,
//! printed at shutdown. `SENTRY_DSN` sends the monitored job's check-ins to Sentry.

use sentry_schedule::coordinator::{Coordinator, Postgres, PostgresOptions, Redis, RedisOptions};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::Arc;
use std::time::Duration;

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn coordinator(url: &str, replica: String) -> anyhow::Result<Arc<dyn Coordinator>> {
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

/// Prints the run's start, works for `work`, prints its end.
async fn work(replica: Arc<str>, ctx: JobContext, work: Duration) {
    let line = format!(
        "replica={replica} slug={} tick={}",
        ctx.slug(),
        ctx.scheduled().to_rfc3339()
    );
    println!("RUN {line}");
    tokio::time::sleep(work).await;
    println!("DONE {line}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    let url = std::env::var("COORDINATOR_URL")
        .map_err(|_| anyhow::anyhow!("set COORDINATOR_URL to a postgres:// or redis:// URL"))?;
    let replica: Arc<str> = std::env::var("REPLICA")
        .unwrap_or_else(|_| std::process::id().to_string())
        .into();
    let report_work = env_secs("REPORT_SECONDS", 2);
    let coordinator = coordinator(&url, replica.to_string())?;

    let heartbeat = {
        let replica = replica.clone();
        Job::builder("replicas-heartbeat", "5s")
            .monitor(false)
            .run(move |ctx| work(replica.clone(), ctx, Duration::ZERO))
            .build()?
    };
    let report = {
        let replica = replica.clone();
        Job::builder("replicas-report", "* * * * *")
            .checkin_margin(1)
            .max_runtime(5)
            // A tick missed while every replica was down (within 10 minutes) runs once at start.
            .catch_up(Duration::from_secs(600))
            .run(move |ctx| work(replica.clone(), ctx, report_work))
            .build()?
    };

    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .jobs([heartbeat, report])
        .coordinator(coordinator.clone())
        .lease(env_secs("LEASE_SECONDS", 10))
        .build()?;
    scheduler.run().await?;
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
