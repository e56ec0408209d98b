use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *", failure_issue_threshold = 0)]
async fn job() {}

fn main() {}
