//! A replica stopped past its lease (`SIGSTOP`, a long stall) and resumed wakes with every
//! job late at once. It runs each job's latest due tick, counts the ticks passed over, and
//! says so in one log line for all jobs, not one line per job.
//!
//! On tokio's paused clock, `tokio::time::advance` moves time in one step while no task
//! runs: to the scheduler that is what a stopped process sees when it resumes (the wall
//! clock and the monotonic clock both moved on).
mod coordination_support;

use chrono::{DateTime, TimeDelta, Utc};
use coordination_support::Logs;
use sentry_schedule::clock::TestClock;
use sentry_schedule::coordinator::InProcess;
use sentry_schedule::{Job, JobContext, Scheduler};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const JOBS: usize = 50;

/// The runs of all jobs: the job's number and the tick.
type Runs = Arc<Mutex<Vec<(usize, DateTime<Utc>)>>>;

#[tokio::test(start_paused = true)]
async fn a_replica_resumed_after_a_stop_logs_one_line_for_all_late_jobs() {
    let logs = Logs::default();
    let _logging = logs.capture(tracing::Level::WARN);
    let start: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = TestClock::new(start);
    let runs: Runs = Arc::default();
    let jobs: Vec<Job> = (0..JOBS)
        .map(|i| {
            let runs = runs.clone();
            Job::builder(format!("job-{i}"), "1s")
                .monitor(false)
                .run(move |ctx: JobContext| {
                    runs.lock().unwrap().push((i, ctx.scheduled()));
                    async {}
                })
                .build()
                .unwrap()
        })
        .collect();
    let stats: Vec<_> = jobs.iter().map(Job::stats).collect();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .coordinator(InProcess::with_clock(Arc::new(clock.clone())))
        .lease(Duration::from_secs(10))
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .jobs(jobs)
        .build()
        .unwrap();
    let running = tokio::spawn(scheduler.run());

    // Runs on time until 12:00:05.5, then the process is stopped for 30 s, three leases.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let before_stop = logs.lines().len();
    tokio::time::advance(Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    // 12:00:06 … 12:00:35 came due while stopped: 12:00:35 runs, the 29 before it are missed.
    let at = |s: i64| start + TimeDelta::seconds(s);
    for (i, stats) in stats.iter().enumerate() {
        let ticks: Vec<_> = runs
            .lock()
            .unwrap()
            .iter()
            .filter(|(job, _)| *job == i)
            .map(|(_, tick)| *tick)
            .collect();
        assert_eq!(ticks, [1, 2, 3, 4, 5, 35, 36].map(at), "job-{i}");
        assert_eq!(stats.missed(), 29, "job-{i}");
    }
    // What the resumed replica logged: one line.
    let lines = logs.lines().split_off(before_stop);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    for expected in [
        "WARN",
        "woke 29.5s after a due tick",
        "50 jobs passed over 1450 ticks in all",
        "jobs=50",
        "missed=1450",
        "late_ms=29500",
    ] {
        assert!(line.contains(expected), "`{expected}` not in {line}");
    }
}
