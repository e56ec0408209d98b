use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", overlap = "queue")]
async fn job() {}

fn main() {}
