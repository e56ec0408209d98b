//! Pausing a job mutes its Sentry monitor through Sentry's web API, and resuming unmutes it:
//! the requests' method, path, auth header and JSON body, as a local endpoint standing in for
//! Sentry's API receives them (the shape `OrganizationMonitorDetailsEndpoint.put` and
//! `MonitorValidator.is_muted` accept in getsentry/sentry). Without a token, pausing warns that
//! Sentry will report the paused ticks as missed check-ins.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::TestClock;
use sentry_schedule::{Job, JobContext, Scheduler};
use sentry_schedule_tests::{bind, client, ApiCall, Ingest, Mode};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn job(slug: &str) -> Job {
    Job::builder(slug, "5m")
        .run(|_: JobContext| async {})
        .build()
        .unwrap()
}

fn expected(muted: bool) -> ApiCall {
    ApiCall {
        method: "PUT".into(),
        path: "/api/0/organizations/acme/monitors/nightly-report/".into(),
        authorization: Some("Bearer sntrys_test_token".into()),
        content_type: Some("application/json".into()),
        body: json!({ "isMuted": muted }),
    }
}

#[tokio::test]
async fn pause_mutes_and_resume_unmutes_the_monitor_at_the_dsn_s_host() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), false));
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .sentry_api("sntrys_test_token", "acme")
        .job(job("nightly-report"))
        .build()
        .unwrap();
    scheduler.pause("nightly-report", None).await.unwrap();
    assert_eq!(ingest.api_calls(), [expected(true)]);
    scheduler.resume("nightly-report").await.unwrap();
    assert_eq!(ingest.api_calls(), [expected(true), expected(false)]);
    assert!(ingest.errors().is_empty(), "{:?}", ingest.errors());
}

#[tokio::test]
async fn the_api_url_can_be_given_and_a_failed_call_does_not_undo_the_pause() {
    let ingest = Ingest::start(Mode::Accept);
    // The DSN's host serves no API here: the configured URL is used.
    let _hub = bind(client("http://public@127.0.0.1:9/1", false));
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .sentry_api("sntrys_test_token", "acme")
        .sentry_api_url(format!("{}/", ingest.url()))
        .job(job("nightly-report"))
        .build()
        .unwrap();
    scheduler.pause("nightly-report", None).await.unwrap();
    assert_eq!(ingest.api_calls(), [expected(true)]);

    // Sentry refuses: the pause holds all the same (and the failure is logged).
    ingest.set_mode(Mode::Status(403));
    scheduler.pause("nightly-report", None).await.unwrap();
    assert_eq!(scheduler.pauses().await.unwrap().len(), 1);
}

#[test]
fn an_invalid_organization_is_refused_when_building() {
    let built = Scheduler::builder()
        .registered_jobs(false)
        .sentry_api("token", "acme/../other")
        .job(job("nightly-report"))
        .build();
    let Err(error) = built else {
        panic!("an organization that is no slug was accepted")
    };
    assert!(error.to_string().contains("acme/../other"), "{error}");
}

/// Log lines written through `tracing` while it is the default subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn without_a_token_pausing_warns_that_sentry_reports_missed_check_ins() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), false));
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .job(job("nightly-report"))
        .build()
        .unwrap();
    scheduler.pause("nightly-report", None).await.unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("Sentry will report the paused ticks as missed check-ins"),
        "{text}"
    );
    assert!(ingest.api_calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_paused_tick_sends_no_check_in_and_the_first_after_the_pause_does() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), false));
    let start: DateTime<Utc> = "2026-03-01T11:59:30Z".parse().unwrap();
    let job = job("nightly-report");
    let stats = job.stats();
    // Ticks at 12:00, 12:05 and 12:10 (every 5 minutes) before 12:10:30.
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(TestClock::new(start))
        .shutdown_signal(tokio::time::sleep(Duration::from_secs(11 * 60)))
        .job(job)
        .build()
        .unwrap();
    let until: DateTime<Utc> = "2026-03-01T12:07:00Z".parse().unwrap();
    scheduler
        .pause("nightly-report", Some(until))
        .await
        .unwrap();
    scheduler.run().await.unwrap();

    // Only the 12:10 tick ran: its two check-ins, nothing for 12:00 and 12:05.
    let statuses: Vec<String> = ingest
        .check_ins()
        .iter()
        .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses, ["in_progress", "ok"]);
    assert_eq!((stats.paused(), stats.started()), (2, 1));
}
