//! The operations commands in one line: `list` and `run <slug>`.
//!
//! ```sh
//! cargo run --example ops_commands                  # run the scheduler (Ctrl-C to stop)
//! cargo run --example ops_commands -- list          # jobs, schedules, next 3 runs, source
//! cargo run --example ops_commands -- run nightly-export ; echo "exit code $?"   # 0
//! cargo run --example ops_commands -- run sync-exchange-rates ; echo "exit code $?"  # 1
//! cargo run --example ops_commands -- run nightly-exprot   # unknown: did you mean ...?
//! ```
//!
//! `run <slug>` runs the job now with its check-ins (so Sentry sees the manual run),
//! flushes the Sentry client and exits with 0 when the run is `ok`, 1 when it is `error`.

use sentry_schedule::scheduled;
use std::process::ExitCode;

/// Nightly at 02:30 Vienna time.
#[scheduled(
    cron = "30 2 * * *",
    timezone = "Europe/Vienna",
    slug = "nightly-export"
)]
async fn nightly_export() -> anyhow::Result<()> {
    println!("nightly-export: wrote 1,204 rows");
    Ok(())
}

/// Every 15 minutes; fails, to show the exit code of a failed run.
#[scheduled(every = "15m", slug = "sync-exchange-rates")]
async fn sync_exchange_rates() -> anyhow::Result<()> {
    anyhow::bail!("rates service answered 503")
}

/// Weekdays at 09:00 New York time.
#[scheduled(cron = "0 9 * * MON-FRI", timezone = "America/New_York")]
async fn send_standup_digest() {}

#[tokio::main]
async fn main() -> ExitCode {
    // Reads SENTRY_DSN from the environment; without it, check-ins are printed instead.
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    sentry_schedule::cli::run_all_or_command().await
}
