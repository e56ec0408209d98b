use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", slug = "Daily Report!")]
async fn job() {}

fn main() {}
