use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", every = "15m")]
async fn job() {}

fn main() {}
