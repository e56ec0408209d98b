use sentry_schedule::scheduled;

#[scheduled(every = "1d", timezone = "Europe/Vienna")]
async fn job() {}

fn main() {}
