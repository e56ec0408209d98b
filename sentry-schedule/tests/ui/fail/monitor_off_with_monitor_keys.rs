use sentry_schedule::scheduled;

#[scheduled(every = "10s", monitor = false, max_runtime = 5, owner = "team:ops")]
async fn job() {}

fn main() {}
