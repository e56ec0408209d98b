use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", timzone = "Europe/Vienna")]
async fn job() {}

fn main() {}
