use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", max_runtime = 5, max_runtime = 10)]
async fn job() {}

fn main() {}
