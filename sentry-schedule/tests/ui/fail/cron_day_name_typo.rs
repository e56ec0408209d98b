use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * MOM")]
async fn job() {}

fn main() {}
