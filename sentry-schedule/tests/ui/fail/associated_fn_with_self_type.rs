use sentry_schedule::scheduled;

struct Reports;

impl Reports {
    // No `self`, but `Self` in the signature: an associated fn of the `impl` block.
    #[scheduled(cron = "0 12 * * *")]
    async fn send() -> Result<(), Self> {
        Ok(())
    }
}

fn main() {}
