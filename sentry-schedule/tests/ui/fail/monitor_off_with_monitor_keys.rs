use sentry_schedule::scheduled;

#[scheduled(every = "10s", monitor = false, max_runtime = 5, owner = "team:6")]
async fn job() {}

fn main() {}
