use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 1 JNU *")]
async fn job() {}

fn main() {}
