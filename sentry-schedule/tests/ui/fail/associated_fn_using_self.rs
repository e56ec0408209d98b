use sentry_schedule::scheduled;

struct Reports;

impl Reports {
    async fn load() {}

    // Neither `self` nor `Self` in the signature, but `Self::` in the body.
    #[scheduled(cron = "0 12 * * *")]
    async fn refresh() {
        Self::load().await
    }
}

fn main() {}
