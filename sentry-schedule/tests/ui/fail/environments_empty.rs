use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", environments = [])]
async fn job() {}

fn main() {}
