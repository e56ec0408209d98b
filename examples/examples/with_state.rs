//! A job using a database-pool-like value through `State<T>`, and its `JobContext`.
//!
//! ```sh
//! cargo run --example with_state              # run the scheduler (Ctrl-C to stop)
//! cargo run --example with_state -- list      # the jobs and their next runs
//! cargo run --example with_state -- run purge-expired-sessions
//! ```
//!
//! `SessionStore` stands in for a database pool (with `sqlx`, register the `PgPool` the
//! same way: `.state(pool)` and take `db: State<PgPool>`). It is registered once with
//! `Scheduler::builder().state(...)`; every run gets the same value through an `Arc`. A
//! job asking for a type that was never registered makes `build()` fail before any job
//! runs, naming the job and the type.

use sentry_schedule::{scheduled, JobContext, Scheduler, State};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A session table behind a lock: what a connection pool gives a job.
struct SessionStore {
    sessions: Mutex<HashMap<u64, SystemTime>>,
}

impl SessionStore {
    fn with_sessions(n: u64) -> Self {
        let now = SystemTime::now();
        let sessions = (0..n)
            .map(|id| (id, now + Duration::from_secs(id * 20)))
            .collect();
        Self {
            sessions: Mutex::new(sessions),
        }
    }

    /// `DELETE FROM sessions WHERE expires_at < now()`.
    async fn delete_expired(&self) -> anyhow::Result<usize> {
        let now = SystemTime::now();
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| anyhow::anyhow!("session store lock poisoned"))?;
        let before = sessions.len();
        sessions.retain(|_, expires| *expires > now);
        Ok(before - sessions.len())
    }
}

/// Settings read once at start-up.
struct Retention {
    warn_above: usize,
}

/// Every minute: deletes expired sessions. Takes the store, the settings and the run's
/// context, in any order.
#[scheduled(
    cron = "* * * * *",
    slug = "purge-expired-sessions",
    run_at_startup = true,
    max_runtime = 5
)]
async fn purge_expired_sessions(
    db: State<SessionStore>,
    ctx: JobContext,
    retention: State<Retention>,
) -> anyhow::Result<()> {
    // Stop early when the run is cancelled (timeout, shutdown).
    let deleted = tokio::select! {
        deleted = db.delete_expired() => deleted?,
        () = ctx.cancelled() => return Ok(()),
    };
    println!(
        "{} (tick {}, check-in {}): deleted {deleted} expired sessions",
        ctx.slug(),
        ctx.scheduled(),
        ctx.check_in_id()
    );
    if deleted > retention.warn_above {
        anyhow::bail!(
            "{deleted} sessions expired at once (more than {})",
            retention.warn_above
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    // Reads SENTRY_DSN from the environment; without it, check-ins are printed instead.
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    let scheduler = Scheduler::builder()
        .state(SessionStore::with_sessions(100))
        .state(Retention { warn_above: 50 })
        .build();
    match scheduler {
        Ok(scheduler) => scheduler.run_or_command(std::env::args().skip(1)).await,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
