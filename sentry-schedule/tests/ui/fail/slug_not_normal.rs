use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", slug = "nightly--backup_")]
async fn job() {}

fn main() {}
