use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn job() -> u32 {
    42
}

fn main() {}
