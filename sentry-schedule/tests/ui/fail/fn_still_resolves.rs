use sentry_schedule::scheduled;

// With a bad attribute the fn is still emitted, so only the attribute errors appear and
// callers of the fn compile.
#[scheduled(cron = "bad")]
async fn job() {}

async fn caller() {
    job().await;
}

fn main() {
    let _ = caller();
}
