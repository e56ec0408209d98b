use sentry_schedule::scheduled;

#[scheduled(
    cron = "*/5 9-17 * * MON-FRI",
    slug = "refresh-exchange-rates",
    timezone = "Europe/Vienna",
    checkin_margin = 2,
    max_runtime = 10,
    failure_issue_threshold = 3,
    recovery_threshold = 2,
    owner = "team:6",
    monitor = true,
    run_at_startup = true,
    overlap = "replace",
    timeout = "9m",
    jitter = "90s",
    catch_up = "1h",
    crate = "sentry_schedule"
)]
async fn refresh_exchange_rates() -> anyhow::Result<()> {
    Ok(())
}

#[scheduled(every = "10s", monitor = false, overlap = "skip", timeout = "5s")]
async fn poll_queue() {}

#[scheduled(cron = "@daily", timezone = "America/New_York", run_at_startup = false)]
async fn nickname() {}

// Sentry's check-in path keeps a slug made only of digits.
#[scheduled(cron = "0 3 * * *", slug = "2024")]
async fn digits_only_slug() {}

fn main() {}
