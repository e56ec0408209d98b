use sentry_schedule::{scheduled, JobContext, State};

struct Pool;

// A job takes only `State<T>` and `JobContext`: other types are errors at the type.
#[scheduled(cron = "0 12 * * *")]
async fn job(customer: u64, pool: State<Pool>, dry_run: Option<bool>, ctx: JobContext) {
    let _ = (customer, pool, dry_run, ctx);
}

fn main() {}
