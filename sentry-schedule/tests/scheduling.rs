//! The scheduler loop, driven by tokio's paused clock and an injected wall clock.
//!
//! Jobs report every run through a channel (scheduled instant and the wall-clock time the
//! job saw), so these tests observe what the job fns themselves experienced. Expected
//! instants are written by hand.
use chrono::{DateTime, TimeDelta, Utc};
use sentry_schedule::clock::{Clock, TestClock};
use sentry_schedule::{Error, Job, JobContext, Overlap, Scheduler};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// What a job saw when it ran.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
}

/// A running scheduler and the handle to stop it.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), Error>>,
}

impl Running {
    fn start(clock: &TestClock, jobs: Vec<Job>) -> Self {
        Self::start_with(clock, jobs, Duration::from_secs(30))
    }

    fn start_with(clock: &TestClock, jobs: Vec<Job>, shutdown_timeout: Duration) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let scheduler = Scheduler::builder()
            .registered_jobs(false)
            .clock(clock.clone())
            .shutdown_timeout(shutdown_timeout)
            .shutdown_signal(async move {
                let _ = stopped.await;
            })
            .jobs(jobs)
            .build()
            .expect("valid scheduler");
        Self {
            stop: Some(stop),
            handle: tokio::spawn(scheduler.run()),
        }
    }

    /// Signals shutdown and waits for `run` to return.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle
            .await
            .expect("scheduler task")
            .expect("scheduler result");
    }
}

/// A job fn that reports each run and does nothing else.
fn reporting(
    clock: &TestClock,
    tx: &mpsc::UnboundedSender<Seen>,
) -> impl Fn(JobContext) -> std::future::Ready<()> + Send + Sync + 'static {
    let (clock, tx) = (clock.clone(), tx.clone());
    move |ctx: JobContext| {
        let _ = tx.send(Seen {
            scheduled: ctx.scheduled(),
            now: clock.now(),
        });
        std::future::ready(())
    }
}

/// Keeps the panicking job's return type `()` without unreachable code after `panic!`.
fn ctx_is_always_true() -> bool {
    true
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    rx.recv().await.expect("job reports")
}

#[tokio::test(start_paused = true)]
async fn every_five_minutes_fires_on_the_five_minute_marks() {
    let clock = TestClock::new(at("2026-03-02T12:03:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::cron("five-minutes", "*/5 * * * *", reporting(&clock, &tx)).unwrap();
    let running = Running::start(&clock, vec![job]);

    for expected in [
        "2026-03-02T12:05:00Z",
        "2026-03-02T12:10:00Z",
        "2026-03-02T12:15:00Z",
    ] {
        let seen = next(&mut rx).await;
        assert_eq!(seen.scheduled, at(expected));
        // Never early, and with the paused clock not late either.
        assert_eq!(seen.now, at(expected));
    }
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn daily_job_in_vienna_follows_the_spring_dst_change() {
    // 2026-03-29 01:00 UTC Vienna moves from CET (UTC+1) to CEST (UTC+2).
    let clock = TestClock::new(at("2026-03-27T12:00:00Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::builder("vienna-morning", "30 9 * * *")
        .timezone("Europe/Vienna")
        .run(reporting(&clock, &tx))
        .build()
        .unwrap();
    let running = Running::start(&clock, vec![job]);

    for expected in [
        "2026-03-28T08:30:00Z", // 09:30 CET
        "2026-03-29T07:30:00Z", // 09:30 CEST, the day of the change
        "2026-03-30T07:30:00Z",
    ] {
        let seen = next(&mut rx).await;
        assert_eq!(seen.scheduled, at(expected));
        assert_eq!(seen.now, at(expected));
    }
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_time_in_the_skipped_hour_fires_right_after_the_gap() {
    // On 2026-03-29 Vienna's clocks go from 02:00 CET straight to 03:00 CEST.
    let clock = TestClock::new(at("2026-03-27T12:00:00Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::builder("vienna-night", "30 2 * * *")
        .timezone("Europe/Vienna")
        .run(reporting(&clock, &tx))
        .build()
        .unwrap();
    let running = Running::start(&clock, vec![job]);

    for expected in [
        "2026-03-28T01:30:00Z", // 02:30 CET
        "2026-03-29T01:00:00Z", // 02:30 does not exist: 03:00 CEST, the end of the gap
        "2026-03-30T00:30:00Z", // 02:30 CEST
    ] {
        let seen = next(&mut rx).await;
        assert_eq!(seen.scheduled, at(expected));
        assert_eq!(seen.now, at(expected));
    }
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn in_the_repeated_autumn_hour_fixed_times_fire_once_and_others_twice() {
    // On 2026-10-25 Vienna's clocks go from 03:00 CEST back to 02:00 CET.
    let clock = TestClock::new(at("2026-10-24T22:00:00Z"));
    let (fixed_tx, mut fixed) = mpsc::unbounded_channel();
    let (half_tx, mut half) = mpsc::unbounded_channel();
    let vienna = |slug: &str, cron: &str, tx| {
        Job::builder(slug, cron)
            .timezone("Europe/Vienna")
            .run(reporting(&clock, tx))
            .build()
            .unwrap()
    };
    let running = Running::start(
        &clock,
        vec![
            vienna("fixed", "30 2 * * *", &fixed_tx),
            vienna("half-hourly", "*/30 * * * *", &half_tx),
        ],
    );

    // 02:30 local happens twice; a fixed time runs on the first pass only.
    assert_eq!(next(&mut fixed).await.scheduled, at("2026-10-25T00:30:00Z"));
    assert_eq!(next(&mut fixed).await.scheduled, at("2026-10-26T01:30:00Z"));
    // A non-fixed schedule ticks on real instants, in both passes.
    let mut seen = Vec::new();
    while let Ok(s) = half.try_recv() {
        seen.push(s.scheduled);
    }
    let expected = [
        "2026-10-24T22:30:00Z",
        "2026-10-24T23:00:00Z",
        "2026-10-24T23:30:00Z",
        "2026-10-25T00:00:00Z", // 02:00 CEST
        "2026-10-25T00:30:00Z", // 02:30 CEST
        "2026-10-25T01:00:00Z", // 02:00 CET
        "2026-10-25T01:30:00Z", // 02:30 CET
        "2026-10-25T02:00:00Z",
    ];
    assert_eq!(seen[..expected.len()], expected.map(at));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failing_and_panicking_jobs_keep_being_scheduled() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    let (panic_tx, mut panic_rx) = mpsc::unbounded_channel();
    let failing = {
        let report = reporting(&clock, &err_tx);
        Job::cron("fails", "* * * * *", move |ctx| {
            let reported = report(ctx);
            async move {
                reported.await;
                Err::<(), _>("database unreachable")
            }
        })
        .unwrap()
    };
    let panicking = {
        let report = reporting(&clock, &panic_tx);
        Job::cron("panics", "* * * * *", move |ctx| {
            let reported = report(ctx);
            async move {
                reported.await;
                if ctx_is_always_true() {
                    panic!("job bug");
                }
            }
        })
        .unwrap()
    };
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock.clone())
        .jobs([failing, panicking])
        .shutdown_signal(std::future::pending())
        .build()
        .unwrap();
    let failing_stats = scheduler.job("fails").unwrap().stats();
    let panicking_stats = scheduler.job("panics").unwrap().stats();
    let handle = tokio::spawn(scheduler.run());

    for expected in [
        "2026-03-02T12:01:00Z",
        "2026-03-02T12:02:00Z",
        "2026-03-02T12:03:00Z",
    ] {
        assert_eq!(next(&mut err_rx).await.scheduled, at(expected));
        assert_eq!(next(&mut panic_rx).await.scheduled, at(expected));
    }
    // Let the third runs report their outcome.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(failing_stats.failed(), 3);
    assert_eq!(panicking_stats.failed(), 3);
    assert_eq!(failing_stats.succeeded() + panicking_stats.succeeded(), 0);
    handle.abort();
}

/// A job that reports its start, then works for `work` (paused clock) unless its run is
/// cancelled; it reports how it ended on `ends`.
fn slow_job(
    clock: &TestClock,
    starts: &mpsc::UnboundedSender<Seen>,
    ends: &mpsc::UnboundedSender<(DateTime<Utc>, &'static str, DateTime<Utc>)>,
    work: Duration,
) -> impl Fn(JobContext) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
       + Send
       + Sync
       + 'static {
    let (clock, starts, ends) = (clock.clone(), starts.clone(), ends.clone());
    move |ctx: JobContext| {
        let (clock, ends) = (clock.clone(), ends.clone());
        let _ = starts.send(Seen {
            scheduled: ctx.scheduled(),
            now: clock.now(),
        });
        Box::pin(async move {
            let how = tokio::select! {
                () = tokio::time::sleep(work) => "finished",
                () = ctx.cancelled() => "cancelled",
            };
            let _ = ends.send((ctx.scheduled(), how, clock.now()));
        })
    }
}

#[tokio::test(start_paused = true)]
async fn overlap_skip_skips_ticks_while_the_previous_run_runs() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (ends, mut ended) = mpsc::unbounded_channel();
    let job = Job::builder("skipper", "* * * * *")
        .overlap(Overlap::Skip)
        .run(slow_job(&clock, &starts, &ends, Duration::from_secs(150)))
        .build()
        .unwrap();
    let stats = job.stats();
    let running = Running::start(&clock, vec![job]);

    // 12:01 runs until 12:03:30, so 12:02 and 12:03 are skipped; 12:04 runs.
    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:01:00Z")
    );
    assert_eq!(
        ended.recv().await.unwrap(),
        (
            at("2026-03-02T12:01:00Z"),
            "finished",
            at("2026-03-02T12:03:30Z")
        )
    );
    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:04:00Z")
    );
    assert_eq!(stats.skipped(), 2);
    assert_eq!(stats.started(), 2);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn overlap_allow_runs_concurrently() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (ends, mut ended) = mpsc::unbounded_channel();
    let job = Job::builder("allower", "* * * * *")
        .overlap(Overlap::Allow)
        .run(slow_job(&clock, &starts, &ends, Duration::from_secs(150)))
        .build()
        .unwrap();
    let stats = job.stats();
    let running = Running::start(&clock, vec![job]);

    for expected in ["12:01:00", "12:02:00", "12:03:00", "12:04:00"] {
        let seen = next(&mut started).await;
        assert_eq!(seen.scheduled, at(&format!("2026-03-02T{expected}Z")));
        assert_eq!(seen.now, seen.scheduled);
    }
    // The first run finished at 12:03:30, while later ones had started.
    assert_eq!(
        ended.try_recv().unwrap(),
        (
            at("2026-03-02T12:01:00Z"),
            "finished",
            at("2026-03-02T12:03:30Z")
        )
    );
    assert_eq!(stats.skipped(), 0);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn overlap_replace_cancels_the_old_run_and_starts_the_new_one() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (ends, mut ended) = mpsc::unbounded_channel();
    let job = Job::builder("replacer", "* * * * *")
        .overlap(Overlap::Replace)
        .run(slow_job(&clock, &starts, &ends, Duration::from_secs(150)))
        .build()
        .unwrap();
    let stats = job.stats();
    let running = Running::start(&clock, vec![job]);

    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:01:00Z")
    );
    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:02:00Z")
    );
    // The 12:01 run was told to stop exactly when the 12:02 tick came.
    assert_eq!(
        ended.recv().await.unwrap(),
        (
            at("2026-03-02T12:01:00Z"),
            "cancelled",
            at("2026-03-02T12:02:00Z")
        )
    );
    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:03:00Z")
    );
    assert_eq!(
        ended.recv().await.unwrap(),
        (
            at("2026-03-02T12:02:00Z"),
            "cancelled",
            at("2026-03-02T12:03:00Z")
        )
    );
    assert_eq!(stats.replaced(), 2);
    assert_eq!(stats.skipped(), 0);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn jitter_delays_each_run_by_less_than_its_bound() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let jitter = Duration::from_secs(30);
    let job = Job::builder("jittery", "* * * * *")
        .jitter(jitter)
        .run(reporting(&clock, &tx))
        .build()
        .unwrap();
    let running = Running::start(&clock, vec![job]);

    let mut delays = Vec::new();
    for minute in 1..=20 {
        let seen = next(&mut rx).await;
        assert_eq!(
            seen.scheduled,
            at(&format!("2026-03-02T12:{minute:02}:00Z"))
        );
        let delay = (seen.now - seen.scheduled).to_std().expect("never early");
        assert!(delay < jitter, "delay {delay:?} not below {jitter:?}");
        delays.push(delay);
    }
    assert!(
        delays.iter().any(|d| !d.is_zero()),
        "20 runs without any delay: {delays:?}"
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn run_at_startup_runs_once_immediately_then_on_schedule() {
    let clock = TestClock::new(at("2026-03-02T12:03:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::builder("eager", "*/5 * * * *")
        .run_at_startup(true)
        .run(reporting(&clock, &tx))
        .build()
        .unwrap();
    let running = Running::start(&clock, vec![job]);

    let first = next(&mut rx).await;
    assert_eq!(first.scheduled, at("2026-03-02T12:03:30Z"));
    assert_eq!(first.now, at("2026-03-02T12:03:30Z"));
    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-02T12:05:00Z"));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn forward_clock_jump_runs_only_the_latest_missed_tick_once() {
    let clock = TestClock::new(at("2026-03-02T12:30:00Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::cron("hourly", "0 * * * *", reporting(&clock, &tx)).unwrap();
    let stats = job.stats();
    let running = Running::start(&clock, vec![job]);

    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-02T13:00:00Z"));
    // Suspend/resume: the wall clock leaps 5h20m while the monotonic clock stands still.
    clock.jump(TimeDelta::minutes(5 * 60 + 20));
    let catch_up = next(&mut rx).await;
    assert_eq!(catch_up.scheduled, at("2026-03-02T18:00:00Z"));
    // Noticed within the clock watch's 5 s check interval.
    let late = catch_up.now - at("2026-03-02T18:20:00Z");
    assert!(
        late >= TimeDelta::zero() && late <= TimeDelta::seconds(5),
        "{late}"
    );
    // No burst: the next run is the next regular tick.
    let seen = next(&mut rx).await;
    assert_eq!(seen.scheduled, at("2026-03-02T19:00:00Z"));
    assert_eq!(seen.now, at("2026-03-02T19:00:00Z"));
    assert_eq!(
        stats.missed(),
        4,
        "14:00, 15:00, 16:00 and 17:00 were passed over"
    );
    assert_eq!(stats.started(), 3);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_small_step_back_while_sleeping_does_not_make_the_run_early() {
    let clock = TestClock::new(at("2026-03-02T12:03:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::cron("five-minutes", "*/5 * * * *", reporting(&clock, &tx)).unwrap();
    let started = Instant::now();
    let running = Running::start(&clock, vec![job]);

    // The loop sleeps 90 s on the monotonic clock. Half-way the wall clock steps back by
    // 0.5 s, too little for the clock watch to report: the loop wakes 0.5 s early by the
    // wall clock, reads it again, and sleeps the rest.
    tokio::time::sleep(Duration::from_secs(30)).await;
    clock.jump(TimeDelta::milliseconds(-500));
    let seen = next(&mut rx).await;
    assert_eq!(seen.scheduled, at("2026-03-02T12:05:00Z"));
    assert_eq!(seen.now, at("2026-03-02T12:05:00Z"));
    assert_eq!(started.elapsed(), Duration::from_millis(90_500));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_day_long_jump_over_a_one_second_job_runs_one_catch_up_tick() {
    let clock = TestClock::new(at("2026-03-02T12:00:00Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::builder("every-second", "1s")
        .monitor(false)
        .run(reporting(&clock, &tx))
        .build()
        .unwrap();
    let stats = job.stats();
    let running = Running::start(&clock, vec![job]);

    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-02T12:00:01Z"));
    clock.jump(TimeDelta::days(1));
    // The loop wakes at its own deadline one second later, at 12:00:02 on the new day:
    // 86,400 ticks were passed over, only the latest runs, then the regular ticks resume.
    let seen = next(&mut rx).await;
    assert_eq!(seen.scheduled, at("2026-03-03T12:00:02Z"));
    assert_eq!(seen.now, at("2026-03-03T12:00:02Z"));
    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-03T12:00:03Z"));
    assert!(stats.missed() >= 10_000, "{}", stats.missed());
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn backward_clock_jump_repeats_no_tick_and_never_fires_early() {
    let clock = TestClock::new(at("2026-03-02T12:30:00Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::cron("hourly", "0 * * * *", reporting(&clock, &tx)).unwrap();
    let running = Running::start(&clock, vec![job]);

    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-02T13:00:00Z"));
    // An NTP step back by 1h30m: 12:00 and 13:00 come round again on the wall clock.
    let stepped = Instant::now();
    clock.jump(TimeDelta::minutes(-90));
    let seen = next(&mut rx).await;
    assert_eq!(seen.scheduled, at("2026-03-02T14:00:00Z"));
    assert_eq!(seen.now, at("2026-03-02T14:00:00Z"));
    // 11:30 → 14:00 on the wall clock is 2h30m of real time.
    assert_eq!(stepped.elapsed(), Duration::from_secs(150 * 60));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_running_job_within_the_deadline() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (ends, mut ended) = mpsc::unbounded_channel();
    // The job ignores its cancellation token and needs 20 s; the deadline is 60 s.
    let job = Job::builder("slow", "* * * * *")
        .run({
            let (clock, starts, ends) = (clock.clone(), starts.clone(), ends.clone());
            move |ctx: JobContext| {
                let (clock, ends) = (clock.clone(), ends.clone());
                let _ = starts.send(Seen {
                    scheduled: ctx.scheduled(),
                    now: clock.now(),
                });
                async move {
                    tokio::time::sleep(Duration::from_secs(20)).await;
                    let _ = ends.send((ctx.scheduled(), "finished", clock.now()));
                }
            }
        })
        .build()
        .unwrap();
    let running = Running::start_with(&clock, vec![job], Duration::from_secs(60));

    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:01:00Z")
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    running.stop().await;
    assert_eq!(
        ended.try_recv().unwrap(),
        (
            at("2026-03-02T12:01:00Z"),
            "finished",
            at("2026-03-02T12:01:20Z")
        )
    );
    assert_eq!(signalled.elapsed(), Duration::from_secs(15));
    assert!(started.try_recv().is_err(), "no run started after shutdown");
}

#[tokio::test(start_paused = true)]
async fn shutdown_fires_the_job_token_so_a_cooperative_job_ends_at_once() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (ends, mut ended) = mpsc::unbounded_channel();
    let job = Job::builder("cooperative", "* * * * *")
        .run(slow_job(&clock, &starts, &ends, Duration::from_secs(600)))
        .build()
        .unwrap();
    let running = Running::start_with(&clock, vec![job], Duration::from_secs(60));

    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:01:00Z")
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    running.stop().await;
    assert_eq!(
        ended.try_recv().unwrap(),
        (
            at("2026-03-02T12:01:00Z"),
            "cancelled",
            at("2026-03-02T12:01:05Z")
        )
    );
    assert_eq!(signalled.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_run_still_going_at_the_deadline() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (starts, mut started) = mpsc::unbounded_channel();
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel();
    /// Reports when the job's future is dropped unfinished.
    struct OnDrop(mpsc::UnboundedSender<DateTime<Utc>>, TestClock);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(self.1.now());
        }
    }
    // The job ignores its token and would need 10 minutes; the deadline is 30 s.
    let job = Job::builder("stubborn", "* * * * *")
        .run({
            let (clock, starts) = (clock.clone(), starts.clone());
            move |ctx: JobContext| {
                let guard = OnDrop(dropped_tx.clone(), clock.clone());
                let _ = starts.send(Seen {
                    scheduled: ctx.scheduled(),
                    now: clock.now(),
                });
                async move {
                    let _guard = guard;
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    std::mem::forget(_guard);
                }
            }
        })
        .build()
        .unwrap();
    let stats = job.stats();
    let running = Running::start_with(&clock, vec![job], Duration::from_secs(30));

    assert_eq!(
        next(&mut started).await.scheduled,
        at("2026-03-02T12:01:00Z")
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    running.stop().await;
    // Cancelled at the deadline (12:01:35); the future is dropped after the run's grace.
    let dropped_at = dropped.try_recv().expect("the run's future was dropped");
    assert!(dropped_at >= at("2026-03-02T12:01:35Z"), "{dropped_at}");
    assert!(dropped_at < at("2026-03-02T12:02:05Z"), "{dropped_at}");
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
    assert_eq!(
        stats.failed(),
        1,
        "the interrupted run is reported as failed"
    );
}

#[tokio::test(start_paused = true)]
async fn no_runs_start_after_shutdown() {
    let clock = TestClock::new(at("2026-03-02T12:00:30Z"));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Job::cron("minutely", "* * * * *", reporting(&clock, &tx)).unwrap();
    let running = Running::start(&clock, vec![job]);
    assert_eq!(next(&mut rx).await.scheduled, at("2026-03-02T12:01:00Z"));
    running.stop().await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(rx.try_recv().is_err());
}

#[test]
fn duplicate_dynamic_slugs_name_both_places() {
    let noop = |_: JobContext| async {};
    let first_line = line!() + 1;
    let a = Job::cron("report", "0 12 * * *", noop).unwrap();
    let second_line = line!() + 1;
    let b = Job::cron("report", "0 18 * * *", noop).unwrap();
    let err = Scheduler::builder()
        .registered_jobs(false)
        .job(b)
        .job(a)
        .build()
        .unwrap_err();
    let Error::DuplicateSlug {
        slug,
        first,
        second,
    } = &err
    else {
        panic!("expected DuplicateSlug, got {err}");
    };
    assert_eq!(slug, "report");
    let file = file!();
    assert_eq!(first, &format!("`report` ({file}:{first_line})"));
    assert_eq!(second, &format!("`report` ({file}:{second_line})"));
    assert!(err.to_string().contains(first) && err.to_string().contains(second));
}

#[test]
fn invalid_dynamic_job_lists_every_problem() {
    let err = Job::builder("Bad Slug!", "0 12 * * *")
        .timezone("Europe/Viena")
        .checkin_margin(0)
        .max_runtime(40_321)
        .run(|_: JobContext| async {})
        .build()
        .unwrap_err();
    let Error::InvalidJob { problems, .. } = &err else {
        panic!("expected InvalidJob, got {err}");
    };
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let text = err.to_string();
    for needle in ["Bad Slug!", "Europe/Viena", "checkin_margin", "max_runtime"] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
}

#[test]
fn invalid_schedules_are_rejected_when_the_job_is_built() {
    let noop = |_: JobContext| async {};
    for bad in ["61 * * * *", "0 0 31 2 *", "* * * * * *"] {
        let err = Job::cron("x", bad, noop).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidJob { problems, .. } if problems.len() == 1 && problems[0].contains(bad)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn cross_option_rules_match_the_attribute() {
    let noop = |_: JobContext| async {};
    // Sub-minute schedules cannot be monitored.
    let err = Job::every("fast", "10s", noop).unwrap_err();
    assert!(err.to_string().contains("6 check-ins per minute"), "{err}");
    assert!(Job::builder("fast", "10s")
        .monitor(false)
        .run(noop)
        .build()
        .is_ok());
    // A timeout beyond max_runtime, a jitter beyond the check-in margin.
    let err = Job::builder("slow", "0 * * * *")
        .max_runtime(10)
        .timeout(Duration::from_secs(11 * 60))
        .jitter(Duration::from_secs(61))
        .run(noop)
        .build()
        .unwrap_err();
    let Error::InvalidJob { problems, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("max_runtime") && problems[1].contains("checkin_margin"));
    // Within bounds: fine.
    assert!(Job::builder("slow", "0 * * * *")
        .max_runtime(10)
        .checkin_margin(2)
        .timeout(Duration::from_secs(10 * 60))
        .jitter(Duration::from_secs(120))
        .run(noop)
        .build()
        .is_ok());
}

#[test]
fn hashed_schedules_are_resolved_from_the_slug_when_the_job_is_built() {
    let noop = |_: JobContext| async {};
    let a = Job::cron("nightly-a", "H 3 * * *", noop).unwrap();
    let again = Job::cron("nightly-a", "H 3 * * *", noop).unwrap();
    assert!(!a.schedule().is_hashed());
    assert!(!a.schedule().to_string().contains('H'), "{}", a.schedule());
    assert_eq!(a.schedule(), again.schedule(), "stable for one slug");
    let first = a.upcoming(at("2026-03-02T12:00:00Z")).next().unwrap();
    assert_eq!(first.date_naive(), at("2026-03-03T00:00:00Z").date_naive());
    assert_eq!(first.format("%H").to_string(), "03");
}

#[test]
fn jobs_list_their_next_runs() {
    let noop = |_: JobContext| async {};
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .job(Job::cron("b-quarterly", "*/15 * * * *", noop).unwrap())
        .job(
            Job::builder("a-vienna-noon", "0 12 * * *")
                .timezone("Europe/Vienna")
                .run(noop)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let slugs: Vec<_> = scheduler.jobs().map(|j| j.slug()).collect();
    assert_eq!(slugs, ["a-vienna-noon", "b-quarterly"]);

    let now = at("2026-07-01T11:50:00Z");
    let vienna = scheduler.job("a-vienna-noon").unwrap();
    assert_eq!(vienna.timezone(), chrono_tz::Europe::Vienna);
    assert_eq!(
        vienna.upcoming(now).take(3).collect::<Vec<_>>(),
        [
            at("2026-07-02T10:00:00Z"), // 12:00 CEST; today's 12:00 was 10:00Z, passed
            at("2026-07-03T10:00:00Z"),
            at("2026-07-04T10:00:00Z"),
        ]
    );
    let quarterly = scheduler.job("b-quarterly").unwrap();
    assert_eq!(
        quarterly.upcoming(now).take(3).collect::<Vec<_>>(),
        [
            at("2026-07-01T12:00:00Z"),
            at("2026-07-01T12:15:00Z"),
            at("2026-07-01T12:30:00Z"),
        ]
    );
    let loc = quarterly.location().unwrap();
    assert_eq!(loc.file, file!());
}
