use sentry_schedule::scheduled;

// Within Sentry's MAX_TIMEOUT, but a run that long could not report its duration.
#[scheduled(cron = "0 12 * * *", max_runtime = 40320)]
async fn job() {}

fn main() {}
