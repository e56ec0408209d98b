//! Items the `#[scheduled]` macro's generated code uses. Not public API: it changes
//! with the macro, which is why `sentry-schedule-macros` is pinned with `=`.
//!
//! THE CONTRACT between the macro and the runtime lives here.

pub use inventory;

pub use crate::job::context::JobContext;
pub use crate::job::output::{JobError, JobOutput};
pub use crate::job::param::{JobParam, StateCheck};
pub use crate::job::registered::{
    assert_job_output, assert_send_future, failed_run, into_job_future, JobFuture, ScheduleSpec,
    StaticJob, StaticOptions,
};
pub use crate::job::state::{State, StateMap};
pub use sentry_schedule_core::options::Overlap;
