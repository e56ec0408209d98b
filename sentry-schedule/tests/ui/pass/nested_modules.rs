pub mod billing {
    pub mod invoices {
        use sentry_schedule::scheduled;

        #[scheduled(cron = "0 3 1 * *")]
        pub async fn close_month() {}

        #[scheduled(cron = "0 4 * * *")]
        pub(crate) async fn remind() {}

        #[scheduled(cron = "0 5 * * *")]
        async fn private_job() {}

        pub fn use_private() {
            let _ = private_job();
        }
    }
}

fn main() {
    let _ = billing::invoices::close_month();
    let _ = billing::invoices::remind();
    billing::invoices::use_private();
}
