//! What a `#[scheduled]` fn registers (its descriptor, collected with `inventory`) and the
//! glue its expansion calls; the macro reaches them through `__private`.
use super::output::{JobError, JobOutput};
use super::param::StateCheck;
use crate::job::context::JobContext;
use sentry_schedule_core::options::Overlap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The boxed future of one run.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'static>>;

/// How the schedule was written in the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleSpec {
    /// `cron = "..."`
    Cron(&'static str),
    /// `every = "..."`
    Every(&'static str),
}

/// Options of a job as written in the attribute. The macro fills the keys the user
/// wrote and takes the rest from [`StaticOptions::DEFAULT`] with struct-update syntax,
/// so new options never break generated code.
#[derive(Debug, Clone, Copy)]
pub struct StaticOptions {
    /// `slug = "..."`
    pub slug: Option<&'static str>,
    /// `timezone = "..."` (IANA)
    pub timezone: Option<&'static str>,
    /// `monitor = false` turns check-ins off.
    pub monitor: bool,
    /// `checkin_margin` (minutes)
    pub checkin_margin: Option<u32>,
    /// `max_runtime` (minutes)
    pub max_runtime: Option<u32>,
    /// `failure_issue_threshold`
    pub failure_issue_threshold: Option<u32>,
    /// `recovery_threshold`
    pub recovery_threshold: Option<u32>,
    /// `owner = "user:..." | "team:..."`
    pub owner: Option<&'static str>,
    /// `run_at_startup = true`: one extra run as soon as the scheduler starts.
    pub run_at_startup: bool,
    /// `overlap = "..."`
    pub overlap: Overlap,
    /// `timeout = "10m"`
    pub timeout: Option<Duration>,
    /// `jitter = "30s"`
    pub jitter: Option<Duration>,
    /// `catch_up = "1h"`
    pub catch_up: Option<Duration>,
    /// `environments = ["production", ...]`
    pub environments: Option<&'static [&'static str]>,
}

impl StaticOptions {
    /// Every option at its default.
    pub const DEFAULT: Self = Self {
        slug: None,
        timezone: None,
        monitor: true,
        checkin_margin: None,
        max_runtime: None,
        failure_issue_threshold: None,
        recovery_threshold: None,
        owner: None,
        run_at_startup: false,
        overlap: Overlap::Skip,
        timeout: None,
        jitter: None,
        catch_up: None,
        environments: None,
    };
}

/// A job registered by `#[scheduled]`, collected with `inventory`.
#[derive(Debug)]
pub struct StaticJob {
    /// The fn's name.
    pub name: &'static str,
    /// `module_path!()` at the fn.
    pub module_path: &'static str,
    /// `file!()` at the fn.
    pub file: &'static str,
    /// `line!()` at the fn.
    pub line: u32,
    /// The schedule as written.
    pub schedule: ScheduleSpec,
    /// The options as written.
    pub options: StaticOptions,
    /// Starts one run: takes the job's parameters from the context and calls the fn.
    pub run: fn(&JobContext) -> JobFuture,
    /// One check per parameter (`<T as JobParam>::check`): the scheduler runs them at
    /// start-up so a missing `State<T>` fails before any job runs.
    pub requires: &'static [StateCheck],
}

/// The run of a job whose parameters could not be taken from the context: it fails with
/// `error` (start-up checks make this unreachable for jobs run by a scheduler).
pub fn failed_run(error: JobError) -> JobFuture {
    Box::pin(async move { Err(error) })
}

inventory::collect!(StaticJob);

/// Boxes the user's future; its bounds give the compile errors for non-`Send`
/// futures and unsupported return types.
pub fn into_job_future<F>(fut: F) -> JobFuture
where
    F: Future + Send + 'static,
    F::Output: JobOutput,
{
    Box::pin(async move { fut.await.into_job_result() })
}

/// Bound check spanned at the user's fn name: the job's future must be `Send + 'static`.
pub fn assert_send_future<F: Future + Send + 'static>(_: &F) {}

/// Bound check spanned at the user's return type.
pub fn assert_job_output<T: JobOutput>() {}
