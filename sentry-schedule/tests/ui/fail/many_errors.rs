use sentry_schedule::scheduled;

// Every problem of one item is reported in the same compile.
#[scheduled(cron = "0 25 * * *", timezone = "Mars/Olympus", checkin_margin = 0, colour = "red")]
fn job(retries: impl Into<u8>) {
    let _: u8 = retries.into();
}

fn main() {}
