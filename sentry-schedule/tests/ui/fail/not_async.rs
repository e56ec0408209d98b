use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
fn job() {}

fn main() {}
