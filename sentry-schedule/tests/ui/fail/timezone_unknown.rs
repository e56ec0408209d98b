use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", timezone = "Europe/Viena")]
async fn job() {}

fn main() {}
