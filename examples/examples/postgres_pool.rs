//! A job that uses the service's PostgreSQL pool through `State<T>`.
//!
//! ```sh
//! DATABASE_URL=postgres://user:pass@127.0.0.1/db cargo run --example postgres_pool --features postgres
//! ```
//!
//! The pool is registered once with `Scheduler::builder().state(pool)`; the job takes
//! `State<PgPool>` and every run gets the same pool. The same pool can also coordinate
//! replicas (`.coordinator(Postgres::new(pool.clone()))`, see `replicas.rs`).

use sentry_schedule::coordinator::sqlx::{self, PgPool};
use sentry_schedule::{scheduled, JobContext, Scheduler, State};
use std::process::ExitCode;

/// Every minute (and once at start-up): counts the database's sessions.
#[scheduled(cron = "* * * * *", run_at_startup = true)]
async fn count_sessions(db: State<PgPool>, ctx: JobContext) -> Result<(), sqlx::Error> {
    let (sessions,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity")
        .fetch_one(&*db)
        .await?;
    println!(
        "{} at {}: {sessions} database sessions",
        ctx.slug(),
        ctx.scheduled()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("set DATABASE_URL=postgres://user:password@host/database");
        return ExitCode::from(2);
    };
    let pool = match PgPool::connect(&url).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match Scheduler::builder().state(pool).build() {
        Ok(scheduler) => scheduler.run_or_command(std::env::args().skip(1)).await,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
