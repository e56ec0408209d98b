use sentry_schedule::scheduled;

#[scheduled(cron = "61 12 * * *")]
async fn job() {}

fn main() {}
