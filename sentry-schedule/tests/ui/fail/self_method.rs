use sentry_schedule::scheduled;

struct Reports;

impl Reports {
    #[scheduled(cron = "0 12 * * *")]
    async fn send(&self) {}
}

fn main() {}
