//! The scheduler: builder, `run_all`, start-up validation. (Owner: scheduler side.)
use crate::error::Error;

/// Runs every job registered with `#[scheduled]` until Ctrl-C or SIGTERM.
pub async fn run_all() -> Result<(), Error> {
    Scheduler::builder().build()?.run().await
}

/// The scheduler.
pub struct Scheduler {}

/// Options of a [`Scheduler`].
#[derive(Default)]
pub struct SchedulerBuilder {}

impl Scheduler {
    /// A builder with default options.
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }
    /// Runs until shutdown.
    pub async fn run(self) -> Result<(), Error> {
        Ok(())
    }
}

impl SchedulerBuilder {
    /// Collects the registered jobs and validates them.
    pub fn build(self) -> Result<Scheduler, Error> {
        Ok(Scheduler {})
    }
}
