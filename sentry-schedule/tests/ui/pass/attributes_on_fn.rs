use sentry_schedule::scheduled;

/// Doc comments and other attributes stay on the fn.
#[scheduled(cron = "0 12 * * *")]
#[cfg(any())]
async fn compiled_out() {
    this_does_not_exist();
}

#[scheduled(cron = "0 13 * * *")]
#[cfg(all())]
#[deprecated = "use the new report"]
#[allow(clippy::unused_async)]
async fn old_report() {}

#[scheduled(cron = "0 14 * * *")]
#[must_use = "a job result"]
async fn r#type() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
