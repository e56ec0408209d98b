use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", run_at_startup, overlap("skip"))]
async fn job() {}

fn main() {}
