use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn send_daily_sales_report() {}

#[scheduled(every = "15m")]
async fn refresh_exchange_rates() {}

// `H` places the minute by a stable hash of the job's slug.
#[scheduled(cron = "H 3 * * *")]
async fn hashed_nightly() {}

#[scheduled(cron = "@hourly")]
async fn nickname() {}

fn main() {
    // The fn is emitted unchanged and can still be called directly.
    let _ = send_daily_sales_report();
    let _ = refresh_exchange_rates();
}
