use std::rc::Rc;

use sentry_schedule::scheduled;

async fn fetch() {}

#[scheduled(cron = "0 12 * * *")]
async fn job() {
    let counter = Rc::new(1);
    fetch().await;
    drop(counter);
}

fn main() {}
