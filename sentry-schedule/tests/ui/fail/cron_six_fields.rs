use sentry_schedule::scheduled;

#[scheduled(cron = "0 0 12 * * *")]
async fn job() {}

fn main() {}
