use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
async fn job<T: Default>() {
    let _ = T::default();
}

fn main() {}
