use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", checkin_margin = 40321)]
async fn job() {}

fn main() {}
