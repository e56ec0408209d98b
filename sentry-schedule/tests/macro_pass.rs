//! `#[scheduled]` jobs register themselves: what the runtime collects is what the
//! attribute says, and a job's runner reports what the job returned.
// The generated code must not add warnings to the user's crate.
#![deny(warnings)]

use std::time::Duration;

use sentry_schedule::__private::{inventory, Overlap, ScheduleSpec, StaticJob, StaticOptions};
use sentry_schedule::{scheduled, JobContext, State};

/// The line of `async fn plain_job` below.
const PLAIN_JOB_LINE: u32 = line!() + 3;

#[scheduled(cron = "0 12 * * *")]
async fn plain_job() {}

#[derive(Debug)]
struct ReportError;

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("warehouse unreachable")
    }
}

#[scheduled(every = "15m", overlap = "allow")]
async fn failing_job() -> Result<(), ReportError> {
    Err(ReportError)
}

#[scheduled(cron = "0 3 * * *")]
async fn anyhow_job() -> anyhow::Result<()> {
    Err(anyhow::anyhow!("disk full").context("nightly export failed"))
}

mod billing {
    use sentry_schedule::scheduled;

    #[scheduled(
        cron = "*/5 9-17 * * MON-FRI",
        slug = "close-invoices",
        timezone = "Europe/Vienna",
        checkin_margin = 2,
        max_runtime = 10,
        failure_issue_threshold = 3,
        recovery_threshold = 4,
        owner = "team:6",
        run_at_startup = true,
        overlap = "replace",
        timeout = "9m",
        jitter = "90s",
        catch_up = "1h",
        environments = ["production", "eu-staging"]
    )]
    #[allow(unreachable_pub, reason = "the attribute on a `pub` fn")]
    pub async fn close_invoices() -> Result<(), String> {
        Ok(())
    }

    #[scheduled(every = "10s", monitor = false)]
    pub(super) async fn poll_queue() {}
}

#[scheduled(cron = "0 4 * * *")]
#[deprecated = "kept for the old dashboard"]
async fn deprecated_job() {}

#[scheduled(cron = "0 5 * * *")]
async fn r#type() {}

#[scheduled(cron = "0 6 * * *")]
#[cfg(any())]
async fn compiled_out() {}

fn job(name: &str) -> &'static StaticJob {
    let found: Vec<&StaticJob> = inventory::iter::<StaticJob>
        .into_iter()
        .filter(|job| job.name == name && job.file.ends_with("macro_pass.rs"))
        .collect();
    assert_eq!(found.len(), 1, "exactly one registered job named {name}");
    found[0]
}

#[test]
fn plain_job_registers_with_defaults() {
    let job = job("plain_job");
    assert_eq!(job.module_path, "macro_pass");
    assert_eq!(job.schedule, ScheduleSpec::Cron("0 12 * * *"));
    assert!(job.file.ends_with("tests/macro_pass.rs"), "{}", job.file);
    // `line!()` is taken at the fn's name, so it is the line of `async fn plain_job`.
    assert_eq!(job.line, PLAIN_JOB_LINE);
    let defaults = StaticOptions::DEFAULT;
    assert_eq!(job.options.slug, defaults.slug);
    assert!(job.options.monitor);
    assert_eq!(job.options.overlap, Overlap::Skip);
    assert_eq!(job.options.timeout, None);
    assert_eq!(job.options.environments, None);
}

#[test]
fn every_option_is_registered_as_written() {
    let job = job("close_invoices");
    assert_eq!(job.module_path, "macro_pass::billing");
    assert_eq!(job.schedule, ScheduleSpec::Cron("*/5 9-17 * * MON-FRI"));
    let o = &job.options;
    assert_eq!(o.slug, Some("close-invoices"));
    assert_eq!(o.timezone, Some("Europe/Vienna"));
    assert!(o.monitor);
    assert_eq!(o.checkin_margin, Some(2));
    assert_eq!(o.max_runtime, Some(10));
    assert_eq!(o.failure_issue_threshold, Some(3));
    assert_eq!(o.recovery_threshold, Some(4));
    assert_eq!(o.owner, Some("team:6"));
    assert!(o.run_at_startup);
    assert_eq!(o.overlap, Overlap::Replace);
    assert_eq!(o.timeout, Some(Duration::from_secs(9 * 60)));
    assert_eq!(o.jitter, Some(Duration::from_secs(90)));
    assert_eq!(o.catch_up, Some(Duration::from_secs(3600)));
    assert_eq!(o.environments, Some(&["production", "eu-staging"][..]));
}

#[test]
fn interval_and_unmonitored_jobs_register() {
    let failing = job("failing_job");
    assert_eq!(failing.schedule, ScheduleSpec::Every("15m"));
    assert_eq!(failing.options.overlap, Overlap::Allow);

    let poll = job("poll_queue");
    assert_eq!(poll.module_path, "macro_pass::billing");
    assert_eq!(poll.schedule, ScheduleSpec::Every("10s"));
    assert!(!poll.options.monitor);
}

fn ctx() -> JobContext {
    JobContext::new("test", chrono::Utc::now())
}

#[tokio::test]
async fn runner_reports_what_the_job_returned() {
    assert!((job("plain_job").run)(&ctx()).await.is_ok());
    assert!((job("close_invoices").run)(&ctx()).await.is_ok());

    let error = (job("failing_job").run)(&ctx())
        .await
        .expect_err("failing_job returns Err");
    assert_eq!(error.message(), "warehouse unreachable");
    assert_eq!(error.debug(), "ReportError");
    assert!(
        error.type_name().ends_with("ReportError"),
        "{}",
        error.type_name()
    );

    let error = (job("anyhow_job").run)(&ctx())
        .await
        .expect_err("anyhow_job returns Err");
    assert_eq!(error.message(), "nightly export failed: disk full");
}

#[test]
fn raw_deprecated_and_cfg_jobs() {
    assert_eq!(job("type").schedule, ScheduleSpec::Cron("0 5 * * *"));
    assert_eq!(
        job("deprecated_job").schedule,
        ScheduleSpec::Cron("0 4 * * *")
    );
    let compiled_out = inventory::iter::<StaticJob>
        .into_iter()
        .filter(|job| job.name == "compiled_out")
        .count();
    assert_eq!(compiled_out, 0, "a job removed by #[cfg] must not register");
}

/// A database-pool-like value handed to jobs through `State<T>`.
struct Pool {
    name: &'static str,
}

#[scheduled(cron = "0 7 * * *")]
async fn with_params(pool: State<Pool>, ctx: JobContext) -> Result<(), String> {
    Err(format!("{} {}", pool.name, ctx.slug()))
}

#[scheduled(cron = "0 8 * * *")]
async fn with_params_reversed(
    ctx: JobContext,
    State(pool): State<Pool>,
    again: State<Pool>,
) -> Result<(), String> {
    assert!(std::sync::Arc::ptr_eq(&pool, &again.0));
    Err(format!("{} {}", ctx.slug(), pool.name))
}

#[tokio::test]
async fn runner_takes_state_and_context_by_type_in_any_order() {
    let ctx = JobContext::new("reports", chrono::Utc::now()).with_state(Pool { name: "main" });
    let error = (job("with_params").run)(&ctx)
        .await
        .expect_err("returns Err");
    assert_eq!(error.message(), "main reports");
    let error = (job("with_params_reversed").run)(&ctx)
        .await
        .expect_err("returns Err");
    assert_eq!(error.message(), "reports main");

    // One start-up check per parameter (the scheduler's build runs them).
    assert_eq!(job("with_params_reversed").requires.len(), 3);
    assert_eq!(job("plain_job").requires.len(), 0);

    // Without the state the run fails with an error naming the type; it does not panic.
    let error = (job("with_params").run)(&JobContext::new("reports", chrono::Utc::now()))
        .await
        .expect_err("state missing");
    assert_eq!(
        error.message(),
        "no value of type `macro_pass::Pool` was registered with `Scheduler::builder().state(...)`"
    );
}

#[test]
fn the_fn_is_left_callable() {
    // The attribute leaves the fn as written: it can still be called (e.g. from tests).
    let future = failing_job();
    let result = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future);
    assert!(result.is_err());
}
