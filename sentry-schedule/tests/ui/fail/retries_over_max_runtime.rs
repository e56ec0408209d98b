use sentry_schedule::scheduled;

// 4 attempts of 7 minutes and 3m30s of backoff: 31m30s, past Sentry's default 30 minutes.
#[scheduled(cron = "0 12 * * *", timeout = "7m", retries = 3)]
async fn default_max_runtime() {}

// 3 attempts of 4 minutes and 1m + 2m of backoff: 15 minutes, past `max_runtime = 14`.
#[scheduled(cron = "0 12 * * *", max_runtime = 14, timeout = "4m", retries = 2, backoff = "1m")]
async fn explicit_max_runtime() {}

// One check-in covers every attempt: without a timeout, no bound.
#[scheduled(cron = "0 12 * * *", retries = 1)]
async fn no_timeout() {}

// Waits without retries do nothing.
#[scheduled(cron = "0 12 * * *", backoff = "30s")]
async fn backoff_alone() {}

fn main() {}
