//! tokio-cron-scheduler, driven the way its README shows: `JobScheduler::new()`, one
//! `Job::new_async` per job with a six-field (seconds) cron expression, `start()`.
use crate::lag::Recorder;
use anyhow::Context as _;
use tokio_cron_scheduler::{Job, JobScheduler};

/// A started tokio-cron-scheduler.
pub(crate) struct Running(JobScheduler);

impl Running {
    /// Stops its ticker.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        self.0
            .shutdown()
            .await
            .context("tokio-cron-scheduler shutdown")
    }
}

/// A scheduler with its jobs added, not started yet.
pub(crate) struct Prepared(JobScheduler);

impl Prepared {
    /// Starts its ticker.
    pub(crate) async fn launch(self) -> anyhow::Result<Running> {
        self.0.start().await.context("JobScheduler::start")?;
        Ok(Running(self.0))
    }
}

async fn prepare(
    jobs: u32,
    cron: &str,
    recorder: Option<&'static Recorder>,
) -> anyhow::Result<Prepared> {
    let scheduler = JobScheduler::new().await.context("JobScheduler::new")?;
    for index in 0..jobs {
        let job = Job::new_async(cron, move |_id, _scheduler| {
            Box::pin(async move {
                if let Some(recorder) = recorder {
                    recorder.record(index, None);
                }
            })
        })
        .with_context(|| format!("tokio-cron-scheduler rejected `{cron}`"))?;
        scheduler.add(job).await.context("JobScheduler::add")?;
    }
    Ok(Prepared(scheduler))
}

/// `jobs` jobs due together every `period_secs` seconds (on multiples of the period).
pub(crate) async fn start_every(
    jobs: u32,
    period_secs: u32,
    recorder: &'static Recorder,
) -> anyhow::Result<Running> {
    prepare(jobs, &format!("*/{period_secs} * * * * *"), Some(recorder))
        .await?
        .launch()
        .await
}

/// `jobs` jobs due once a day at `hour`:00 UTC, not started yet.
pub(crate) async fn prepare_daily(jobs: u32, hour: u32) -> anyhow::Result<Prepared> {
    prepare(jobs, &format!("0 0 {hour} * * *"), None).await
}
