use sentry_schedule::scheduled;

#[scheduled(timezone = "Europe/Vienna")]
async fn job() {}

fn main() {}
