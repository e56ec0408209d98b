use sentry_schedule::scheduled;

#[scheduled(cron = "0 12 * * *")]
struct Job;

fn main() {}
