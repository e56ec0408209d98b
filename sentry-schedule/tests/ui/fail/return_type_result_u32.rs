use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn job() -> Result<u32, u8> {
    Ok(42)
}

fn main() {}
