// The crate's front page on docs.rs is the README (`README.md` here links to the workspace's, so
// the packaged crate has it too); its examples are compiled and run as doctests.
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

extern crate self as sentry_schedule;

#[doc(inline)]
pub use sentry_schedule_macros::scheduled;

pub use sentry_schedule_core::schedule::{SentrySchedule, Upcoming};
pub use sentry_schedule_core::{Schedule, ScheduleError};

/// The date-time crate of [`Schedule`]'s API (`DateTime<Utc>`), re-exported so versions match.
pub use chrono;
/// The IANA time zone database of [`Schedule`]'s API (`Tz`), re-exported so versions match.
pub use chrono_tz;

/// Links the `#[scheduled]` jobs of library crates into this binary: one line in the
/// binary, naming each crate.
///
/// A `#[scheduled]` fn registers itself in a linker section. The linker only includes a
/// crate the binary uses, so the jobs of a crate that the binary depends on but never
/// calls (a `jobs` crate of a workspace, say) are silently left out, and the scheduler
/// would have none of them. This macro uses each named crate (`use jobs as _;`), which is
/// all it takes: every job of a linked crate is registered.
///
/// ```ignore
/// // src/main.rs of the service, whose jobs live in the crates `billing_jobs` and `reports`
/// sentry_schedule::link_jobs!(billing_jobs, reports);
///
/// #[tokio::main]
/// async fn main() -> Result<(), sentry_schedule::Error> {
///     let _sentry = sentry::init(sentry::ClientOptions::new());
///     sentry_schedule::run_all().await
/// }
/// ```
///
/// It works at module level and inside a fn. When it is forgotten and no job is left,
/// [`Scheduler::run`] fails with [`Error::NoJobs`], which names this macro.
#[macro_export]
macro_rules! link_jobs {
    ($($krate:ident),+ $(,)?) => {
        $(
            #[allow(unused_imports)]
            use ::$krate as _;
        )+
    };
}

#[doc(hidden)]
pub mod __private;
mod checkin;
pub mod clock;
pub mod coordinator;
mod dispatch;
mod error;
mod ids;
mod job;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
mod metrics;
mod run;
mod scheduler;
#[cfg(feature = "web")]
pub mod web;

#[doc(inline)]
pub use job::output as job_output;
#[doc(inline)]
pub use scheduler::{cli, forecast, off};

pub use checkin::{
    CheckInCounters, CheckInSender, CheckInStats, DroppedCheckIns, MonitorConfig,
    CHECK_IN_REQUESTS_IN_FLIGHT, DEFAULT_CHECK_IN_QUEUE_CAPACITY,
};
pub use clock::{Clock, SystemClock, TestClock};
pub use coordinator::RunStatus;
pub use error::Error;
pub use job::context::JobContext;
pub use job::state::{State, DEFAULT_CANCEL_GRACE};
pub use job::{Job, JobBuilder, JobStats, SourceLocation};
pub use run::report::RunReport;
pub use scheduler::handle::SchedulerHandle;
pub use scheduler::signal::{shutdown_signal, ShutdownSignal};
pub use scheduler::{run_all, Scheduler, SchedulerBuilder, DEFAULT_SHUTDOWN_TIMEOUT};
pub use sentry_schedule_core::options::Overlap;
