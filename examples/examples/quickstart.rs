//! The quickstart: three scheduled jobs and `run_all`.
//!
//! ```sh
//! cargo run --example quickstart            # no Sentry account: check-ins are printed
//! SENTRY_DSN=https://...@.../1 cargo run --example quickstart   # real check-ins
//! ```
//!
//! Two monitored jobs run once right away (`run_at_startup`) so their check-ins show
//! within seconds, then on their schedules; a heartbeat runs every 5 s, unmonitored.
//! Stop with Ctrl-C: running jobs finish, their final check-ins are sent, the client is flushed.

use sentry_schedule::scheduled;
use std::sync::atomic::{AtomicU32, Ordering};

/// Every minute (and once at start-up): a job that succeeds.
#[scheduled(
    cron = "* * * * *",
    run_at_startup = true,
    checkin_margin = 1,
    max_runtime = 5
)]
async fn refresh_exchange_rates() -> anyhow::Result<()> {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    println!("refresh_exchange_rates: fetched 31 rates");
    Ok(())
}

/// Every two minutes in Vienna (and once at start-up): a job that fails every other run,
/// to show an `error` check-in and the error event linked to it.
#[scheduled(
    cron = "*/2 * * * *",
    timezone = "Europe/Vienna",
    run_at_startup = true
)]
async fn send_sales_report() -> Result<(), std::io::Error> {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    if RUNS.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
        return Err(std::io::Error::other("SMTP server refused the connection"));
    }
    println!("send_sales_report: sent");
    Ok(())
}

/// Every 5 seconds, without check-ins (Sentry monitors schedules of a minute or more).
#[scheduled(every = "5s", monitor = false)]
async fn heartbeat() {
    println!("heartbeat");
}

#[tokio::main]
async fn main() -> Result<(), sentry_schedule::Error> {
    // Reads SENTRY_DSN from the environment; without it, check-ins are printed instead.
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));
    println!("sentry-schedule quickstart: press Ctrl-C to stop");
    sentry_schedule::run_all().await
}
