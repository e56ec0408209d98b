use sentry_schedule::scheduled;

#[scheduled(every = "15x")]
async fn job() {}

fn main() {}
