use sentry_schedule::scheduled;

#[scheduled(cron = "5-5/10 * * * *")]
async fn job() {}

fn main() {}
