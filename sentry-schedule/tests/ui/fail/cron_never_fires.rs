use sentry_schedule::scheduled;

#[scheduled(cron = "0 0 30 2 *")]
async fn job() {}

fn main() {}
