//! `State<T>` and `JobContext` parameters, in any order, with patterns.
#![deny(warnings)]

use sentry_schedule::{scheduled, JobContext, State};
use std::sync::{Arc, Mutex};

struct Pool {
    connections: Mutex<Vec<u32>>,
}

#[scheduled(cron = "0 12 * * *")]
async fn only_state(pool: State<Pool>) -> Result<(), String> {
    let taken = pool.connections.lock().map_err(|e| e.to_string())?.pop();
    let _ = taken;
    Ok(())
}

#[scheduled(every = "15m")]
async fn only_context(ctx: JobContext) {
    tokio::select! {
        () = ctx.cancelled() => {}
        () = std::future::ready(()) => {}
    }
}

#[scheduled(cron = "0 3 * * *", slug = "both")]
async fn context_then_state(ctx: JobContext, State(pool): State<Pool>, mut config: State<String>) {
    let _: Arc<Pool> = pool;
    config = config.clone();
    let _ = (ctx.slug(), config.len());
}

mod nested {
    #[sentry_schedule::scheduled(cron = "0 4 * * *")]
    pub async fn fully_qualified(
        _ctx: sentry_schedule::JobContext,
        _pool: sentry_schedule::State<super::Pool>,
    ) {
    }
}

fn main() {}
