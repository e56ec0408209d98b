use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", recovery_threshold = 721)]
async fn job() {}

fn main() {}
