use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", max_runtime = 40321)]
async fn job() {}

fn main() {}
