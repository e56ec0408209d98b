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

// Retries: 4 attempts of at most 5 minutes and 30s + 1m + 2m of backoff fit Sentry's default
// `max_runtime` of 30 minutes.
#[scheduled(cron = "0 4 * * *", timeout = "5m", retries = 3, backoff = "30s", backoff_max = "2m")]
async fn with_retries(ctx: sentry_schedule::JobContext) -> anyhow::Result<()> {
    anyhow::ensure!(ctx.attempt() >= 1, "attempts count from 1");
    Ok(())
}

// Sentry's check-in path keeps a slug made only of digits.
#[scheduled(cron = "0 3 * * *", slug = "2024")]
async fn digits_only_slug() {}

fn main() {}
