//! A service binary for the shutdown test: one long job started at start-up, a scheduler
//! with a short shutdown timeout, the Sentry client from `SENTRY_DSN` (none: check-ins are
//! printed). `PROBE_JOB=macro` runs the `#[scheduled]` job, which ignores cancellation;
//! `PROBE_JOB=cooperative` runs a builder job that stops when its token fires.
use sentry_schedule::{scheduled, Job, JobContext, Scheduler};
use std::time::Duration;

/// Runs for an hour and ignores its cancellation token.
#[scheduled(cron = "0 0 1 1 *", slug = "long-export", run_at_startup = true)]
async fn long_export() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

async fn cooperative(ctx: JobContext) {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        () = ctx.cancelled() => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut options = sentry::ClientOptions::new();
    options.release = Some(sentry_schedule_tests::RELEASE.into());
    options.environment = Some(sentry_schedule_tests::ENVIRONMENT.into());
    let _sentry = sentry::init(options);
    let builder = Scheduler::builder().shutdown_timeout(Duration::from_millis(500));
    let builder = match std::env::var("PROBE_JOB").as_deref() {
        Ok("cooperative") => builder.registered_jobs(false).job(
            Job::builder("long-export", "0 0 1 1 *")
                .run_at_startup(true)
                .run(cooperative)
                .build()?,
        ),
        _ => builder,
    };
    builder.build()?.run().await?;
    Ok(())
}
