//! Schedule parsing and Sentry monitor rules shared by `sentry-schedule` and its
//! `#[scheduled]` macro, so the macro validates with exactly the code the runtime uses.
//!
//! Users depend on `sentry-schedule`, which re-exports what is public here.
#![warn(missing_docs)]

mod cron;
pub mod describe;
pub mod duration;
pub mod environment;
mod error;
pub mod forecast;
pub mod hash;
mod interval;
pub mod limits;
pub mod options;
pub mod retry;
pub mod schedule;
pub mod slug;
pub mod suggest;
pub mod timezone;

pub use schedule::{Schedule, ScheduleError, SentrySchedule, Upcoming};
