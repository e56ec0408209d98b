use sentry_schedule::scheduled;

#[scheduled(every = "30s")]
async fn job() {}

fn main() {}
