use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", checkin_margin = 99999999999999999999999)]
async fn job() {}

fn main() {}
