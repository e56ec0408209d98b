use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", environments = "production")]
async fn job() {}

#[scheduled(cron = "0 12 * * *", environments = ["production", 7])]
async fn other_job() {}

fn main() {}
