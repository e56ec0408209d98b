use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", timeout = "10 minutes")]
async fn job() {}

fn main() {}
