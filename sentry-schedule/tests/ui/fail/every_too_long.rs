use sentry_schedule::scheduled;

#[scheduled(every = "3000000d")]
async fn job() {}

fn main() {}
