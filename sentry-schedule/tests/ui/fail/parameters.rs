use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn job(customer: u64, dry_run: bool) {
    let _ = (customer, dry_run);
}

fn main() {}
