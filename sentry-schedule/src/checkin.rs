//! Sentry check-ins: the payload we build ourselves and its delivery through the
//! client's own transport (or a printed line when there is no DSN).
//!
//! The sentry crate's `MonitorCheckIn` lacks `release`, `contexts` and the monitor
//! `owner`, so the payload is our own JSON, sent as a raw `check_in` envelope item.
mod deliver;
mod payload;

pub(crate) use deliver::deliver;
pub(crate) use payload::{CheckIn, CheckInStatus, MonitorUpsert};
