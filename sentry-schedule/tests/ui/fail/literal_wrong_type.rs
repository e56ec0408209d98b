use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", checkin_margin = "2", monitor = "no", timezone = UTC)]
async fn job() {}

fn main() {}
