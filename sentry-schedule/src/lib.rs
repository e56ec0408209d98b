//! STUB lib — see module docs. Crate docs are written at integration time.
#![warn(missing_docs)]

extern crate self as sentry_schedule;

#[doc(inline)]
pub use sentry_schedule_macros::scheduled;

pub use sentry_schedule_core::{Schedule, ScheduleError};

#[doc(hidden)]
pub mod __private;
mod checkin;
pub mod clock;
mod context;
mod error;
mod job;
mod job_loop;
pub mod job_output;
mod registry;
mod run;
mod scheduler;
mod shutdown;

pub use context::JobContext;
pub use error::Error;
pub use job::{Job, MonitorConfig};
pub use scheduler::{run_all, Scheduler, SchedulerBuilder};
