//! Faults on demand: a job whose runs panic, fail, hang or are slow.
use crate::job::output::JobError;
use crate::job::registered::JobFuture;
use crate::job::{Job, RunFn};
use std::sync::Arc;
use std::time::Duration;

/// What [`with_fault`] makes every run of a job do instead of (or before) its own body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Panic with this message.
    Panic(String),
    /// Return an error with this message.
    Fail(String),
    /// Never finish (ignoring the cancel token): the run times out when the job has a
    /// `timeout`, and otherwise is cancelled by the scheduler's shutdown.
    Hang,
    /// Take this long (virtual time), then run the job's own body.
    Slow(Duration),
}

/// `job` with every run doing `fault`. The job's schedule, options, monitor and state stay
/// as they are, so the run goes through the same pipeline, timeout and check-ins.
///
/// ```
/// use sentry_schedule::testing::{with_fault, Fault, TestKit};
/// use sentry_schedule::{Job, RunStatus};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), sentry_schedule::Error> {
/// let job = Job::cron("import", "*/5 * * * *", |_| async { Ok::<(), std::io::Error>(()) })?;
/// let run = TestKit::new().run_once(with_fault(job, Fault::Panic("bug".into()))).await?;
/// assert_eq!(run.outcome.status, RunStatus::Panicked);
/// assert_eq!(run.statuses(), ["in_progress", "error"]);
/// # Ok(())
/// # }
/// ```
pub fn with_fault(mut job: Job, fault: Fault) -> Job {
    let own = job.run.clone();
    job.run = RunFn::Dynamic(Arc::new(move |context| -> JobFuture {
        match &fault {
            Fault::Panic(message) => {
                let message = message.clone();
                Box::pin(async move { panic!("{message}") })
            }
            Fault::Fail(message) => {
                let message = message.clone();
                Box::pin(async move {
                    Err(JobError {
                        type_name: "sentry_schedule::testing::Fault",
                        debug: format!("Fail({message:?})"),
                        message,
                    })
                })
            }
            Fault::Hang => Box::pin(std::future::pending()),
            Fault::Slow(delay) => {
                let (delay, own) = (*delay, own.clone());
                Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    match own {
                        RunFn::Static(start) => start(&context).await,
                        RunFn::Dynamic(start) => start(context).await,
                    }
                })
            }
        }
    }));
    job
}
