use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", max_runtime = 10, timeout = "15m")]
async fn job() {}

fn main() {}
