use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", owner = "team:ops")]
async fn job() {}

fn main() {}
