//! One replica of a service for the multi-replica tests: two jobs coordinated through
//! PostgreSQL or Redis, printing one line per run start and end so a test can count the runs
//! of all replicas.
//!
//! Environment: `COORDINATOR_URL` (`postgres://…` or `redis://…`), `NAMESPACE` (the
//! PostgreSQL schema or the Redis key prefix), `REPLICA` (its name, recorded as claim owner),
//! `LEASE_MS` (default 3000), `HEARTBEAT` (schedule of the unmonitored job, default `2s`),
//! `REPORT_MS` (how long the monitored job works, default 300), `CATCH_UP_SECS` (the
//! monitored job's catch-up window, default 120), `SENTRY_DSN`.
//!
//! ```text
//! RUN replica=a slug=replicas-heartbeat tick=2026-03-01T12:00:02+00:00
//! DONE replica=a slug=replicas-heartbeat tick=2026-03-01T12:00:02+00:00
//! ```
use sentry_schedule::coordinator::{Coordinator, Postgres, PostgresOptions, Redis, RedisOptions};
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::Arc;
use std::time::Duration;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn env_ms(name: &str, default: u64) -> anyhow::Result<Duration> {
    Ok(Duration::from_millis(
        env_or(name, &default.to_string()).parse()?,
    ))
}

fn coordinator(
    url: &str,
    namespace: String,
    replica: String,
) -> anyhow::Result<Arc<dyn Coordinator>> {
    Ok(if url.starts_with("redis://") {
        Arc::new(Redis::open(
            url,
            RedisOptions {
                prefix: namespace,
                replica_id: Some(replica),
                timeout: Duration::from_secs(2),
                ..Default::default()
            },
        )?)
    } else {
        Arc::new(Postgres::connect_lazy(
            url,
            PostgresOptions {
                schema: Some(namespace),
                replica_id: Some(replica),
                timeout: Duration::from_secs(2),
                ..Default::default()
            },
        )?)
    })
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let mut options = sentry::ClientOptions::new();
    options.release = Some(sentry_schedule_tests::RELEASE.into());
    options.environment = Some(sentry_schedule_tests::ENVIRONMENT.into());
    let _sentry = sentry::init(options);
    let url = std::env::var("COORDINATOR_URL")?;
    let replica: Arc<str> = env_or("REPLICA", "replica").into();
    let coordinator = coordinator(&url, env_or("NAMESPACE", "public"), replica.to_string())?;
    let report_work = env_ms("REPORT_MS", 300)?;
    let catch_up = Duration::from_secs(env_or("CATCH_UP_SECS", "120").parse()?);

    let heartbeat = {
        let replica = replica.clone();
        Job::builder("replicas-heartbeat", env_or("HEARTBEAT", "2s"))
            .monitor(false)
            .run(move |ctx| work(replica.clone(), ctx, Duration::ZERO))
            .build()?
    };
    let report = {
        let replica = replica.clone();
        Job::builder("replicas-report", "* * * * *")
            .catch_up(catch_up)
            .checkin_margin(1)
            .max_runtime(5)
            .run(move |ctx| work(replica.clone(), ctx, report_work))
            .build()?
    };
    Scheduler::builder()
        .registered_jobs(false)
        .jobs([heartbeat, report])
        .coordinator(coordinator)
        .lease(env_ms("LEASE_MS", 3000)?)
        .shutdown_timeout(Duration::from_secs(20))
        .build()?
        .run()
        .await?;
    Ok(())
}
