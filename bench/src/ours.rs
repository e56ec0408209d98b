//! sentry-schedule, driven through its public API: dynamic jobs (`Job::builder`) with
//! monitoring off, on a `Scheduler` without the `#[scheduled]` registry.
use crate::lag::Recorder;
use anyhow::Context as _;
use sentry_schedule::{Job, JobContext, Scheduler, SchedulerBuilder};
use std::future::Future;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A started sentry-schedule scheduler.
pub(crate) struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), sentry_schedule::Error>>,
}

impl Running {
    /// Shuts it down and waits until `Scheduler::run` returns.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        // An error means the scheduler already ended; the join below reports how.
        let _ = self.stop.send(());
        self.task
            .await
            .context("the scheduler task died")?
            .context("Scheduler::run")
    }
}

/// A built scheduler, not started yet.
pub(crate) struct Prepared {
    scheduler: Scheduler,
    stop: oneshot::Sender<()>,
}

impl Prepared {
    /// Builds a scheduler with `count` unmonitored jobs on `schedule`, job `i` running
    /// `body(i, ctx)`, added one by one as a service would; stopped by [`Running::stop`].
    pub(crate) fn new<F, Fut>(count: u32, schedule: &str, body: F) -> anyhow::Result<Self>
    where
        F: Fn(u32, JobContext) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::on(Scheduler::builder(), count, schedule, body)
    }

    /// [`Prepared::new`] on `builder` (e.g. with a coordinator set).
    pub(crate) fn on<F, Fut>(
        builder: SchedulerBuilder,
        count: u32,
        schedule: &str,
        body: F,
    ) -> anyhow::Result<Self>
    where
        F: Fn(u32, JobContext) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let mut builder = builder
            .registered_jobs(false)
            .shutdown_timeout(Duration::from_secs(5))
            .shutdown_signal(async move {
                let _ = stopped.await;
            });
        for index in 0..count {
            let body = body.clone();
            let job = Job::builder(format!("bench-{index}"), schedule)
                .monitor(false)
                .run(move |ctx| body(index, ctx))
                .build()
                .with_context(|| format!("sentry-schedule rejected job `{schedule}`"))?;
            builder = builder.job(job);
        }
        let scheduler = builder.build().context("Scheduler::build")?;
        Ok(Self { scheduler, stop })
    }

    /// Starts it.
    pub(crate) fn launch(self) -> Running {
        Running {
            stop: self.stop,
            task: tokio::spawn(self.scheduler.run()),
        }
    }
}

/// `jobs` jobs due together every `period_secs` seconds (intervals are aligned to the
/// Unix epoch, so all of them are due on the same multiples of the period).
pub(crate) async fn start_every(
    jobs: u32,
    period_secs: u32,
    recorder: &'static Recorder,
) -> anyhow::Result<Running> {
    let prepared = Prepared::new(
        jobs,
        &format!("{period_secs}s"),
        move |index, ctx| async move { recorder.record(index, ctx.scheduled().timestamp_nanos_opt()) },
    )?;
    Ok(prepared.launch())
}

/// `jobs` jobs due once a day at `hour`:00 UTC, not started yet.
pub(crate) async fn prepare_daily(jobs: u32, hour: u32) -> anyhow::Result<Prepared> {
    Prepared::new(jobs, &format!("0 {hour} * * *"), |_, _| async {})
}
