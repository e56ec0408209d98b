use sentry_schedule::scheduled;

// No `max_runtime`: Sentry's default of 30 minutes applies.
#[scheduled(cron = "0 12 * * *", timeout = "45m")]
async fn job() {}

fn main() {}
