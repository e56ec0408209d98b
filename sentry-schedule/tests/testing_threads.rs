//! A simulation split across threads (`TestKit::threads`) reports what the same simulation
//! on one thread reports: the same runs in the same order, outcomes, counters and seeded
//! jitter. Counts are written by hand; the one-thread report is the reference for the rest.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::testing::{with_fault, Answer, Fault, Simulation, TestKit};
use sentry_schedule::{Error, Job, RunStatus};
use std::time::Duration;

mod kit_support;
use kit_support::{at, every_five};

fn jittered(slug: &str) -> Job {
    Job::builder(slug, "*/5 * * * *")
        .jitter(Duration::from_secs(60))
        .run(|_| async {})
        .build()
        .expect("valid job")
}

/// Jobs of every kind of outcome: plain, failing, panicking, slow (skipping ticks),
/// hanging into its timeout, and two jittered ones (dealt to different groups).
fn mixed() -> Vec<Job> {
    let hanging = Job::builder("f-hangs", "*/5 * * * *")
        .timeout(Duration::from_secs(30))
        .run(|_| async {})
        .build()
        .expect("valid job");
    vec![
        every_five("a-plain"),
        every_five("b-plain"),
        with_fault(every_five("c-fails"), Fault::Fail("c broke".into())),
        with_fault(
            every_five("d-slow"),
            Fault::Slow(Duration::from_secs(7 * 60)),
        ),
        jittered("e1-jittered"),
        jittered("e2-jittered"),
        with_fault(hanging, Fault::Hang),
        with_fault(every_five("g-panics"), Fault::Panic("g bug".into())),
    ]
}

/// What a run is, without its random ids.
type Seen = (
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Vec<String>,
    RunStatus,
    Duration,
    Option<String>,
    Vec<Option<String>>,
);

fn seen(simulation: &Simulation) -> Vec<Seen> {
    simulation
        .runs
        .iter()
        .map(|run| {
            (
                run.slug.clone(),
                run.scheduled,
                run.started,
                run.statuses().into_iter().map(str::to_owned).collect(),
                run.outcome.status,
                run.outcome.duration,
                run.outcome.message.clone(),
                run.events
                    .iter()
                    .map(|e| e.message().map(str::to_owned))
                    .collect(),
            )
        })
        .collect()
}

async fn simulate(kit: TestKit, jobs: Vec<Job>) -> Simulation {
    kit.simulate(jobs, at("2027-06-01T10:00:00Z"), at("2027-06-01T13:00:00Z"))
        .await
        .expect("simulated")
}

#[tokio::test(start_paused = true)]
async fn a_split_simulation_reports_what_one_thread_reports() {
    let kit = TestKit::new().jitter_seed(11);
    let one = simulate(kit.clone(), mixed()).await;
    let three = simulate(kit.threads(3), mixed()).await;

    // 10:05 … 12:55: 35 ticks a job. The slow job (7 min) runs every other tick.
    assert_eq!(one.fired_at("a-plain").len(), 35);
    assert_eq!(one.fired_at("d-slow").len(), 18);
    assert_eq!(one.skipped("d-slow"), 17);
    assert_eq!(three.fired_at("d-slow").len(), 18);
    assert_eq!(three.skipped("d-slow"), 17);
    assert_eq!(three.runs.len(), 7 * 35 + 18);

    assert_eq!(seen(&three), seen(&one));
    for slug in [
        "a-plain",
        "c-fails",
        "d-slow",
        "e1-jittered",
        "f-hangs",
        "g-panics",
    ] {
        let (left, right) = (one.stats(slug).unwrap(), three.stats(slug).unwrap());
        assert_eq!(
            (
                left.started(),
                left.succeeded(),
                left.failed(),
                left.skipped()
            ),
            (
                right.started(),
                right.succeeded(),
                right.failed(),
                right.skipped()
            ),
            "{slug}"
        );
    }
    // Each in its place: start, then tick, then slug.
    assert!(three.runs.windows(2).all(|pair| {
        let key = |run: &sentry_schedule::testing::TestRun| {
            (run.started, run.scheduled, run.slug.clone())
        };
        key(&pair[0]) < key(&pair[1])
    }));
    let failed = three.runs_of("f-hangs").next().unwrap();
    assert_eq!(failed.outcome.status, RunStatus::TimedOut);
    assert!(three
        .runs_of("g-panics")
        .all(|run| run.outcome.status == RunStatus::Panicked));
    assert!(three.stray_events.is_empty() && three.stray_check_ins.is_empty());
    three.assert_sentry_accepts();
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_does_not_depend_on_the_other_jobs() {
    let kit = TestKit::new().jitter_seed(3).keep_check_ins(false);
    let alone = simulate(kit.clone(), vec![jittered("e1-jittered")]).await;
    let with_another = simulate(
        kit.clone(),
        vec![jittered("e1-jittered"), jittered("e0-jittered")],
    )
    .await;
    let delays = alone.started_at("e1-jittered");
    assert_eq!(delays.len(), 35);
    assert_eq!(with_another.started_at("e1-jittered"), delays);
    // And a different job has delays of its own.
    assert_ne!(with_another.started_at("e0-jittered"), delays);
}

#[tokio::test(start_paused = true)]
async fn slugs_used_twice_are_refused_before_the_jobs_are_split() {
    // Dealt in the order given, each group would hold one `same` and see no duplicate.
    let jobs = vec![
        every_five("same"),
        every_five("same"),
        every_five("x"),
        every_five("y"),
    ];
    let error = TestKit::new()
        .threads(2)
        .simulate(jobs, at("2027-06-01T10:00:00Z"), at("2027-06-01T10:10:00Z"))
        .await
        .expect_err("a duplicate slug");
    assert!(
        matches!(&error, Error::DuplicateSlug { slug, .. } if slug == "same"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_an_ingest_rule_the_simulation_keeps_to_one_thread() {
    // The sender and its counters are shared by all jobs, so the report has them whole.
    let kit = TestKit::new().threads(2).ingest(|_| Answer::Accept);
    let simulation = simulate(kit, vec![every_five("a-plain"), every_five("b-plain")]).await;
    assert_eq!(simulation.runs.len(), 70);
    assert_eq!(simulation.check_in_stats.sent, 140);
    assert_eq!(simulation.check_in_stats.queued, 140);
}
