use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn send_daily_sales_report() {}

#[scheduled(every = "15m")]
async fn refresh_exchange_rates() {}

fn main() {
    // The fn is emitted unchanged and can still be called directly.
    let _ = send_daily_sales_report();
    let _ = refresh_exchange_rates();
}
