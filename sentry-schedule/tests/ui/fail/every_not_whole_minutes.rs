use sentry_schedule::scheduled;

#[scheduled(every = "90s")]
async fn job() {}

fn main() {}
