use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", monitor = false, timeout = "25d")]
async fn job() {}

fn main() {}
