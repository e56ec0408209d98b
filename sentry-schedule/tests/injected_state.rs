//! `#[scheduled]` fns taking `State<T>` and `JobContext`: what they receive on a scheduled
//! run (paused tokio clock plus the injected wall clock), and start-up failing when a
//! job's state was never registered.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, Utc};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::{scheduled, Error, JobContext, Scheduler, State};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// A database-pool-like value.
#[derive(Debug)]
struct Pool {
    name: &'static str,
}

/// How the job reports what it received.
struct Reporter {
    tx: mpsc::UnboundedSender<Seen>,
    clock: TestClock,
}

#[derive(Debug)]
struct Seen {
    slug: String,
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
    pool: Arc<Pool>,
    check_in_id: String,
    trace_id: String,
}

const REPORT_LINE: u32 = line!() + 3;

#[scheduled(cron = "*/5 * * * *", slug = "state-report")]
async fn report(State(pool): State<Pool>, ctx: JobContext, reporter: State<Reporter>) {
    let _ = reporter.tx.send(Seen {
        slug: ctx.slug().to_owned(),
        scheduled: ctx.scheduled(),
        now: reporter.clock.now(),
        pool,
        check_in_id: ctx.check_in_id().to_owned(),
        trace_id: ctx.trace_id().to_owned(),
    });
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_job_receives_its_state_and_context() {
    let clock = TestClock::new(at("2026-03-02T12:03:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pool = Arc::new(Pool { name: "main" });
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .clock(clock.clone())
        .state(Reporter {
            tx,
            clock: clock.clone(),
        })
        .state(Pool { name: "main" })
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .build()
        .expect("every state is registered");
    let running = tokio::spawn(scheduler.run());

    let first = rx.recv().await.expect("first run");
    let second = rx.recv().await.expect("second run");
    for (seen, tick) in [
        (&first, at("2026-03-02T12:05:00Z")),
        (&second, at("2026-03-02T12:10:00Z")),
    ] {
        assert_eq!(seen.slug, "state-report");
        assert_eq!(seen.scheduled, tick);
        assert_eq!(seen.now, tick, "run on the tick, not before or after");
        assert_eq!(seen.pool.name, "main");
        assert!(is_hex32(&seen.check_in_id), "{}", seen.check_in_id);
        assert!(is_hex32(&seen.trace_id), "{}", seen.trace_id);
    }
    // One registered value shared by every run, not a copy per run.
    assert!(Arc::ptr_eq(&first.pool, &second.pool));
    assert!(!Arc::ptr_eq(&first.pool, &pool));
    assert_ne!(first.check_in_id, second.check_in_id);
    assert_ne!(first.trace_id, second.trace_id);

    let _ = stop.send(());
    running
        .await
        .expect("scheduler task")
        .expect("scheduler result");
}

#[tokio::test]
async fn start_up_fails_naming_the_job_and_the_missing_type() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let err = Scheduler::builder()
        .state(Reporter {
            tx,
            clock: TestClock::new(at("2026-03-02T12:00:00Z")),
        })
        .build()
        .expect_err("Pool was never registered");
    let expected_job = format!("`injected_state::report` ({}:{REPORT_LINE})", file!());
    match &err {
        Error::MissingState { job, type_name } => {
            assert_eq!(job, &expected_job);
            assert_eq!(*type_name, "injected_state::Pool");
        }
        other => panic!("expected MissingState, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "job {expected_job} takes `State<injected_state::Pool>`, but no value of type \
             `injected_state::Pool` was registered; add `.state(value)` to `Scheduler::builder()`"
        )
    );
}

#[tokio::test]
async fn a_dynamic_job_gets_state_from_its_context() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Option<&'static str>>();
    let job = sentry_schedule::Job::cron("dynamic-state", "0 * * * *", move |ctx: JobContext| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ctx.state::<Pool>().map(|p| p.name));
            let _ = ctx.state::<u64>().ok_or("no u64 registered")?;
            Ok::<(), &'static str>(())
        }
    })
    .expect("valid job");
    let (reporter_tx, _reporter_rx) = mpsc::unbounded_channel();
    let scheduler = Scheduler::builder()
        .state(Pool { name: "replica" })
        .state(Reporter {
            tx: reporter_tx,
            clock: TestClock::new(at("2026-03-02T12:00:00Z")),
        })
        .job(job)
        .build()
        .expect("valid scheduler");
    let report = scheduler
        .run_now("dynamic-state")
        .await
        .expect("known slug");
    assert_eq!(rx.recv().await, Some(Some("replica")));
    assert!(!report.is_ok());
    assert_eq!(report.message.as_deref(), Some("no u64 registered"));
}
