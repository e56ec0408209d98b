//! What a run tells Sentry and the logs about how it ended.
use super::wait::BodyEnded;
use super::Ended;
use crate::ids::HexId;
use sentry::protocol::{Context, Event, Exception, Level, Mechanism, Value};
use sentry::Hub;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The tag naming the run's monitor on every event of the run.
pub(super) const MONITOR_TAG: &str = "monitor.slug";

/// `contexts.monitor` on every event of the run, as the other Sentry SDKs set it.
pub(super) fn monitor_context(slug: &str, check_in_id: HexId) -> Context {
    let mut map = sentry::protocol::Map::new();
    map.insert("slug".into(), Value::from(slug));
    map.insert("check_in_id".into(), Value::from(check_in_id.as_str()));
    Context::Other(map)
}

/// Marks `event` as the run's: the [`MONITOR_TAG`] tag and the `monitor` context, as the
/// run's scope would set them (and over what the event had, as a scope's would).
pub(super) fn mark(mut event: Event<'static>, slug: &str, check_in_id: HexId) -> Event<'static> {
    event.tags.insert(MONITOR_TAG.into(), slug.into());
    let context = monitor_context(slug, check_in_id);
    event.contexts.insert("monitor".into(), context);
    event
}

/// How a run (or one attempt of it) ended, captured on `hub` when the run has one.
pub(super) fn ended(hub: Option<&Hub>, slug: &str, ended: BodyEnded, duration: Duration) -> Ended {
    match hub {
        Some(hub) => capture(hub, slug, ended, duration),
        None => outcome(ended, duration),
    }
}

/// Captures an event for a run that did not end well, and says how it ended.
fn capture(hub: &Hub, slug: &str, ended: BodyEnded, duration: Duration) -> Ended {
    match &ended {
        BodyEnded::Returned(Ok(())) => {}
        BodyEnded::Returned(Err(error)) => {
            hub.capture_event(exception_event(
                &exception_type(error.type_name),
                &error.message,
                Level::Error,
                Mechanism {
                    ty: "sentry_schedule.job_error".into(),
                    handled: Some(true),
                    ..Default::default()
                },
            ));
        }
        BodyEnded::Panicked(message) => {
            // sentry's panic integration already captured it from its panic hook, through
            // the hub current while the body was polled: the run's hub. Capture only when
            // it is not there. (That hook also flushes the client synchronously, for up to
            // the client's `shutdown_timeout`, on the thread that panicked.)
            if !has_panic_integration(hub) {
                hub.capture_event(exception_event(
                    "panic",
                    message,
                    Level::Fatal,
                    Mechanism {
                        ty: "panic".into(),
                        handled: Some(false),
                        ..Default::default()
                    },
                ));
            }
        }
        BodyEnded::TimedOut(after) => {
            hub.capture_message(
                &format!("job `{slug}` timed out after {}", human_duration(*after)),
                Level::Error,
            );
        }
        BodyEnded::Cancelled(reason) => {
            hub.capture_message(&format!("job `{slug}` {reason}"), Level::Error);
        }
    }
    outcome(ended, duration)
}

/// How a run ended, without telling Sentry (no client is bound).
fn outcome(ended: BodyEnded, duration: Duration) -> Ended {
    match ended {
        BodyEnded::Returned(Ok(())) => Ended::Ok { duration },
        BodyEnded::Returned(Err(error)) => Ended::Failed {
            duration,
            message: error.message,
        },
        BodyEnded::Panicked(message) => Ended::Panicked { duration, message },
        BodyEnded::TimedOut(after) => Ended::TimedOut { duration, after },
        BodyEnded::Cancelled(reason) => Ended::Cancelled { duration, reason },
    }
}

/// Logs the outcome inside the run's span; a failed run at `error`.
///
/// The run already captured its own event, linked to its check-in. sentry-tracing would turn
/// an `error!` into a second event (through the current hub, not linked): the failure is
/// therefore logged while a hub without a client is current, which Sentry's layers skip,
/// and every other subscriber sees as usual.
pub(super) fn log(slug: &str, outcome: &Ended) {
    let secs = outcome.duration().as_secs_f64();
    match outcome.failure() {
        None => tracing::info!(duration_s = secs, "scheduled job `{slug}` succeeded"),
        Some(failure) => Hub::run(hub_without_client(), || {
            tracing::error!(
                duration_s = secs,
                "scheduled job `{slug}` failed: {failure}"
            )
        }),
    }
}

/// A hub that sends nothing: logs made while it is current do not reach Sentry twice.
fn hub_without_client() -> Arc<Hub> {
    static HUB: OnceLock<Arc<Hub>> = OnceLock::new();
    Arc::clone(HUB.get_or_init(|| Arc::new(Hub::new(None, Arc::default()))))
}

fn exception_event(ty: &str, value: &str, level: Level, mechanism: Mechanism) -> Event<'static> {
    Event {
        level,
        exception: vec![Exception {
            ty: ty.to_owned(),
            value: Some(value.to_owned()),
            mechanism: Some(mechanism),
            ..Default::default()
        }]
        .into(),
        ..Default::default()
    }
}

/// Whether the client has sentry's panic integration (its [`sentry::Integration::name`] is
/// `"panic"`), whose hook captures panics itself. Checked by name so that this crate does
/// not have to pull in `sentry-panic` and its backtrace dependencies.
fn has_panic_integration(hub: &Hub) -> bool {
    hub.client().is_some_and(|client| {
        client
            .options()
            .integrations
            .iter()
            .any(|integration| integration.name() == "panic")
    })
}

/// The event's exception type for an error of type `type_name` (`std::any::type_name`): the
/// type's own path when it is a plain path (`std::io::error::Error`, `anyhow::Error`,
/// `my_app::ReportError`): most crates name their error `Error`, and `Error` alone says
/// nothing. A generic or `dyn` type is shortened ([`short_type_name`]).
pub(super) fn exception_type(type_name: &str) -> String {
    if type_name.contains(['<', '&', '(', '[', ' ']) {
        short_type_name(type_name)
    } else {
        type_name.to_owned()
    }
}

/// `std::any::type_name` without module paths: `anyhow::Error` → `Error`,
/// `alloc::boxed::Box<dyn core::error::Error + Send>` → `Box<dyn Error + Send>`.
pub(super) fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut word_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            short.truncate(word_start);
        } else if c.is_alphanumeric() || c == '_' {
            short.push(c);
        } else {
            short.push(c);
            word_start = short.len();
        }
    }
    short
}

/// `10m`, `1h30m`, `45s`, `1.5s`: the text duration options are written in.
pub(crate) use sentry_schedule_core::duration::display as human_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_types_keep_plain_paths_and_shorten_generic_ones() {
        assert_eq!(exception_type("anyhow::Error"), "anyhow::Error");
        assert_eq!(
            exception_type("std::io::error::Error"),
            "std::io::error::Error"
        );
        assert_eq!(
            exception_type("alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
            "Box<dyn Error + Send>"
        );
        assert_eq!(exception_type("&str"), "&str");
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name("anyhow::Error"), "Error");
        assert_eq!(
            short_type_name("my_app::report::ReportError"),
            "ReportError"
        );
        assert_eq!(
            short_type_name(
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"
            ),
            "Box<dyn Error + Send + Sync>"
        );
        assert_eq!(short_type_name("&str"), "&str");
        assert_eq!(
            short_type_name("std::io::Result<alloc::string::String>"),
            "Result<String>"
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(3601)), "1h1s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::ZERO), "0s");
    }
}
