use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", slug = "---")]
async fn job() {}

fn main() {}
