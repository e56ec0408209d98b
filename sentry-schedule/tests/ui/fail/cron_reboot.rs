use sentry_schedule::scheduled;

#[scheduled(cron = "@reboot")]
async fn job() {}

fn main() {}
