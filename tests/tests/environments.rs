//! Jobs per environment, end to end: the real sentry client (its `environment` set) and
//! HTTP transport post to a local ingest endpoint; the scheduler runs on tokio's paused
//! clock and an injected wall clock. A job whose `environments` leave out the client's
//! never runs and sends nothing; `list` says why; `run_now` still runs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry::{Client, ClientOptions};
use sentry_schedule::off::Off;
use sentry_schedule::{Job, JobContext, Scheduler};
use sentry_schedule_tests::{bind, client_with, run_scheduler_with, Ingest, Mode};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// 30 s before a `5m` tick: ticks at 12:00 and 12:05 within [`RUN_FOR`].
const START: &str = "2026-03-01T11:59:30Z";
const RUN_FOR: Duration = Duration::from_secs(6 * 60);

fn counting_job(slug: &str, environments: Option<&[&str]>, runs: &Arc<AtomicUsize>) -> Job {
    let runs = Arc::clone(runs);
    let mut builder = Job::builder(slug, "5m").run(move |_: JobContext| {
        runs.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    if let Some(names) = environments {
        builder = builder.environments(names.iter().copied());
    }
    builder.build().expect("valid job")
}

fn in_environment(ingest: &Ingest, environment: &'static str) -> Arc<Client> {
    client_with(&ingest.dsn(), false, |mut options| {
        options.environment = Some(environment.into());
        options
    })
}

fn slugs(check_ins: &[Value]) -> Vec<(String, String)> {
    check_ins
        .iter()
        .map(|c| {
            (
                c["monitor_slug"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(slug, status)| ((*slug).to_owned(), (*status).to_owned()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_job_for_production_runs_nowhere_else_and_sends_nothing() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(in_environment(&ingest, "staging"));
    let (prod_runs, everywhere_runs) = (Arc::default(), Arc::default());
    let jobs = vec![
        counting_job("prod-only", Some(&["production"]), &prod_runs),
        counting_job("everywhere", None, &everywhere_runs),
    ];

    let (_, counters) = run_scheduler_with(START, RUN_FOR, jobs, |builder| builder).await;

    // The scheduler ran (the job without `environments` ran at 12:00 and 12:05) ...
    assert_eq!(everywhere_runs.load(Ordering::SeqCst), 2);
    // ... and the job for production neither ran nor sent a check-in.
    assert_eq!(prod_runs.load(Ordering::SeqCst), 0);
    let stats = counters.snapshot();
    assert_eq!((stats.queued, stats.sent), (4, 4), "{stats:?}");
    assert_eq!(
        slugs(&ingest.check_ins()),
        pairs(&[
            ("everywhere", "in_progress"),
            ("everywhere", "ok"),
            ("everywhere", "in_progress"),
            ("everywhere", "ok"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_in_an_environment_it_lists() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(in_environment(&ingest, "staging"));
    let runs = Arc::default();
    let jobs = vec![counting_job(
        "prod-and-staging",
        Some(&["production", "staging"]),
        &runs,
    )];

    let (_, counters) = run_scheduler_with(START, RUN_FOR, jobs, |builder| builder).await;

    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(counters.snapshot().sent, 4);
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 4, "{check_ins:#?}");
    assert!(check_ins.iter().all(|c| c["environment"] == "staging"));
}

#[tokio::test(start_paused = true)]
async fn a_client_without_an_environment_counts_as_production() {
    let ingest = Ingest::start(Mode::Accept);
    // `apply_defaults` (which `sentry::init` calls) sets `SENTRY_ENVIRONMENT` or
    // `development`; a client built from options without one has no environment.
    let mut options = ClientOptions::new();
    options.dsn = Some(ingest.dsn().parse().expect("DSN"));
    options.default_integrations = false;
    let mut options = sentry::apply_defaults(options);
    options.environment = None;
    let _hub = bind(Arc::new(Client::from(options)));
    let runs = Arc::default();
    let jobs = vec![
        counting_job("prod-only", Some(&["production"]), &runs),
        counting_job("staging-only", Some(&["staging"]), &Arc::default()),
    ];

    let (_, counters) = run_scheduler_with(START, RUN_FOR, jobs, |builder| builder).await;

    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(counters.snapshot().sent, 4);
    let check_ins = ingest.check_ins();
    assert!(
        check_ins.iter().all(|c| c["monitor_slug"] == "prod-only"),
        "{check_ins:#?}"
    );
    // Sent without an environment: Sentry files them under `production`.
    assert!(check_ins.iter().all(|c| c.get("environment").is_none()));
}

#[tokio::test(start_paused = true)]
async fn list_says_why_a_job_is_off_and_run_now_still_runs_it() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(in_environment(&ingest, "staging"));
    let runs = Arc::default();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .job(counting_job(
            "prod-only",
            Some(&["production", "eu-production"]),
            &runs,
        ))
        .job(counting_job("everywhere", None, &Arc::default()))
        .build()
        .expect("valid scheduler");

    assert_eq!(
        scheduler.off("prod-only"),
        Some(&Off::Environment {
            runs_in: vec!["production".into(), "eu-production".into()],
            here: "staging".into(),
        })
    );
    assert_eq!(scheduler.off("everywhere"), None);
    let list = scheduler.list().await;
    let row = list
        .lines()
        .find(|line| line.starts_with("prod-only "))
        .expect("a row for prod-only");
    assert!(
        row.contains("off: runs only in production, eu-production (this is staging)"),
        "{list}"
    );
    let other = list
        .lines()
        .find(|line| line.starts_with("everywhere "))
        .expect("a row for everywhere");
    assert!(!other.contains("off:"), "{list}");

    // `run <slug>` is an operator's explicit action: it runs an off job, with check-ins.
    let report = scheduler.run_now("prod-only").await.expect("known slug");
    assert!(report.is_ok(), "{report}");
    assert!(scheduler.flush(Duration::from_secs(5)).await);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        slugs(&ingest.check_ins()),
        pairs(&[("prod-only", "in_progress"), ("prod-only", "ok")])
    );
}
