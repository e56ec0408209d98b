//! How a failed run reads in the logs and in Sentry: an `anyhow` error whose source is already
//! part of its message is shown once, the event's exception type is the error's own type,
//! and the failure is logged at ERROR without sentry-tracing turning that log into a second
//! event. The real sentry client and HTTP transport against a local ingest endpoint.
use sentry::integrations::tracing::{ErrorLayer, SpanLayer};
use sentry_schedule::Job;
use sentry_schedule_tests::{bind, client, count, run_scheduler, Ingest, Mode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The error sqlx returns for a missing table: its message includes its source's.
#[derive(Debug, thiserror::Error)]
#[error("error returned from database: {0}")]
struct QueryError(#[source] DatabaseError);

#[derive(Debug, thiserror::Error)]
#[error("relation \"invoices\" does not exist")]
struct DatabaseError;

/// Records the level and message of every tracing event.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<(tracing::Level, String)>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        if let Ok(mut logs) = self.0.lock() {
            logs.push((*event.metadata().level(), message.0));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_is_one_event_named_by_its_type_with_each_cause_once_and_an_error_log() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), true));
    let logs = Logs::default();
    let _tracing = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(SpanLayer::new().with_filter(LevelFilter::INFO))
            .with(ErrorLayer::new().with_filter(LevelFilter::ERROR))
            .with(logs.clone()),
    );
    let job = Job::builder("invoice-export", "0 3 * * *")
        .run_at_startup(true)
        .run(|_| async { Err::<(), _>(anyhow::Error::new(QueryError(DatabaseError))) })
        .build()
        .expect("valid job");

    run_scheduler("2026-03-01T11:59:30Z", Duration::from_secs(10), vec![job]).await;

    let shown = "error returned from database: relation \"invoices\" does not exist";
    assert!(ingest.wait_until(Duration::from_secs(20), |e| count(e, "check_in") >= 2));
    let events = ingest.events();
    assert_eq!(events.len(), 1, "only the run's own event: {events:#?}");
    let exception = &events[0]["exception"]["values"][0];
    assert_eq!(exception["type"], "anyhow::Error");
    assert_eq!(exception["value"], shown);

    let failed = format!("scheduled job `invoice-export` failed: {shown}");
    let logged: Vec<_> = logs
        .0
        .lock()
        .expect("logs")
        .iter()
        .filter(|(_, message)| message.contains("invoice-export` failed"))
        .cloned()
        .collect();
    assert_eq!(logged, [(tracing::Level::ERROR, failed)]);
}
