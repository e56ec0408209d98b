use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", environments = ["production", "eu/staging"])]
async fn job() {}

fn main() {}
