use sentry_schedule::{scheduled, JobContext};

// The run's future outlives the call: the context is taken by value.
#[scheduled(cron = "0 12 * * *")]
async fn job(ctx: &JobContext) {
    let _ = ctx.slug();
}

fn main() {}
