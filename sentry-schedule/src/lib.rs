//! STUB lib — the runtime implementer replaces everything except the `__private` contract.
#![warn(missing_docs)]

extern crate self as sentry_schedule;

#[doc(inline)]
pub use sentry_schedule_macros::scheduled;

pub mod job_output;
#[doc(hidden)]
pub mod __private;
