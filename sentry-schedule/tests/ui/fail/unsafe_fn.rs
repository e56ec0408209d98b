use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async unsafe fn job() {}

fn main() {}
