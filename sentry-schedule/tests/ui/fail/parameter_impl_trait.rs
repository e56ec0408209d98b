use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn job(value: impl Send) {
    let _ = value;
}

fn main() {}
