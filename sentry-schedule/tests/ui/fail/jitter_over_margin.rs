use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", jitter = "90s")]
async fn default_margin() {}

#[scheduled(cron = "0 12 * * *", checkin_margin = 5, jitter = "6m")]
async fn explicit_margin() {}

fn main() {}
