//! The scheduler loop, driven by tokio's paused clock and an injected wall clock.
//!
//! Jobs report every run through a channel (scheduled instant and the wall-clock time the
//! job saw), so these tests observe what the job fns themselves experienced. Expected
//! instants are written by hand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use chrono::{DateTime, TimeDelta, Utc};
use sentry_schedule::clock::{Clock, TestClock};
#[cfg(feature = "testing")]
use sentry_schedule::testing::{with_fault, Fault, TestKit};
use sentry_schedule::{Error, Job, JobBuilder, JobContext, JobStats, Overlap, Scheduler};
use std::future::Future;
use std::pin::Pin;
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

/// How a run ended: `finished`, `cancelled` (it saw its token fire) or `dropped` (its future
/// was dropped unfinished), and the wall-clock time then.
#[derive(Debug, Clone, PartialEq)]
struct Ended {
    scheduled: DateTime<Utc>,
    how: &'static str,
    now: DateTime<Utc>,
}

/// A running scheduler and the handle to stop it.
struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), Error>>,
}

impl Running {
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

/// What a working job does after reporting its start.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// Works for the duration (paused clock) unless its run is cancelled first.
    Cooperative(Duration),
    /// Works for the duration whatever happens: it ignores its cancellation token.
    Stubborn(Duration),
}

/// Sends how a run ended when the run's future goes away: `dropped` unless the run set
/// `how` on its way out.
struct EndReport {
    ends: mpsc::UnboundedSender<Ended>,
    clock: TestClock,
    scheduled: DateTime<Utc>,
    how: &'static str,
}

impl Drop for EndReport {
    fn drop(&mut self) {
        let _ = self.ends.send(Ended {
            scheduled: self.scheduled,
            how: self.how,
            now: self.clock.now(),
        });
    }
}

/// A job fn that reports its start, does `work`, and reports how it ended on `ends`.
fn working(
    clock: &TestClock,
    starts: &mpsc::UnboundedSender<Seen>,
    ends: &mpsc::UnboundedSender<Ended>,
    work: Work,
) -> impl Fn(JobContext) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static {
    let (clock, starts, ends) = (clock.clone(), starts.clone(), ends.clone());
    move |ctx: JobContext| {
        let _ = starts.send(Seen {
            scheduled: ctx.scheduled(),
            now: clock.now(),
        });
        let end = EndReport {
            ends: ends.clone(),
            clock: clock.clone(),
            scheduled: ctx.scheduled(),
            how: "dropped",
        };
        Box::pin(async move {
            let mut end = end; // the whole report, not just its `how`, lives in the future
            end.how = match work {
                Work::Cooperative(work) => tokio::select! {
                    () = tokio::time::sleep(work) => "finished",
                    () = ctx.cancelled() => "cancelled",
                },
                Work::Stubborn(work) => {
                    tokio::time::sleep(work).await;
                    "finished"
                }
            };
        })
    }
}

/// How a [`Fixture`] starts: the wall clock's start, the job's work, the shutdown timeout.
struct Setup {
    start: DateTime<Utc>,
    work: Option<Work>,
    shutdown_timeout: Duration,
}

impl Setup {
    /// The job does `work` in each run (by default it only reports the run).
    fn working(self, work: Work) -> Self {
        Self {
            work: Some(work),
            ..self
        }
    }

    /// The scheduler's shutdown timeout (30 s by default).
    fn shutdown_timeout(self, shutdown_timeout: Duration) -> Self {
        Self {
            shutdown_timeout,
            ..self
        }
    }

    /// Builds `job` with the recording job fn and starts a scheduler running it alone.
    fn start(self, job: JobBuilder) -> Fixture {
        let clock = TestClock::new(self.start);
        let (starts_tx, starts) = mpsc::unbounded_channel();
        let (ends_tx, ends) = mpsc::unbounded_channel();
        let job = match self.work {
            None => job.run(reporting(&clock, &starts_tx)),
            Some(work) => job.run(working(&clock, &starts_tx, &ends_tx, work)),
        }
        .build()
        .unwrap();
        let stats = job.stats();
        let running = Running::start_with(&clock, vec![job], self.shutdown_timeout);
        Fixture {
            clock,
            starts,
            ends,
            stats,
            running: Some(running),
        }
    }
}

/// One job under a running scheduler, on tokio's paused clock and a test wall clock; every
/// run of the job is recorded.
struct Fixture {
    clock: TestClock,
    /// The runs as they started.
    starts: mpsc::UnboundedReceiver<Seen>,
    /// The runs as they ended (only a working job reports its ends).
    ends: mpsc::UnboundedReceiver<Ended>,
    stats: JobStats,
    running: Option<Running>,
}

impl Fixture {
    /// A fixture whose wall clock starts at `start`.
    fn at(start: &str) -> Setup {
        Setup {
            start: at(start),
            work: None,
            shutdown_timeout: Duration::from_secs(30),
        }
    }

    /// The next run to start.
    async fn next_run(&mut self) -> Seen {
        self.starts.recv().await.expect("job reports")
    }

    /// The next run is the one scheduled at `scheduled`.
    async fn expect_run(&mut self, scheduled: &str) {
        let seen = self.next_run().await;
        assert_eq!(seen.scheduled, at(scheduled), "{seen:?}");
    }

    /// The next runs are those scheduled at `expected`, each starting exactly on time by the
    /// wall clock: never early, and with the paused clock not late either.
    async fn expect_on_time(&mut self, expected: &[&str]) {
        for &instant in expected {
            let seen = self.next_run().await;
            assert_eq!(
                seen,
                Seen {
                    scheduled: at(instant),
                    now: at(instant)
                }
            );
        }
    }

    /// Waits for the next run to end: the one scheduled at `scheduled`, ending `how` at `now`.
    async fn expect_end(&mut self, scheduled: &str, how: &str, now: &str) {
        let ended = self.ends.recv().await.expect("job reports its end");
        assert_eq!(
            (ended.scheduled, ended.how, ended.now),
            (at(scheduled), how, at(now))
        );
    }

    /// The run scheduled at `scheduled` has already ended, `how` at `now`, first of those
    /// not yet looked at.
    fn expect_ended(&mut self, scheduled: &str, how: &str, now: &str) {
        let ended = self.ends.try_recv().expect("a run has ended");
        assert_eq!(
            (ended.scheduled, ended.how, ended.now),
            (at(scheduled), how, at(now))
        );
    }

    /// Signals shutdown and waits for the scheduler to return.
    async fn stop(&mut self) {
        self.running.take().expect("running").stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn every_five_minutes_fires_on_the_five_minute_marks() {
    let mut t =
        Fixture::at("2026-03-02T12:03:30Z").start(Job::builder("five-minutes", "*/5 * * * *"));
    t.expect_on_time(&[
        "2026-03-02T12:05:00Z",
        "2026-03-02T12:10:00Z",
        "2026-03-02T12:15:00Z",
    ])
    .await;
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn daily_job_in_vienna_follows_the_spring_dst_change() {
    // 2026-03-29 01:00 UTC Vienna moves from CET (UTC+1) to CEST (UTC+2).
    let mut t = Fixture::at("2026-03-27T12:00:00Z")
        .start(Job::builder("vienna-morning", "30 9 * * *").timezone("Europe/Vienna"));
    t.expect_on_time(&[
        "2026-03-28T08:30:00Z", // 09:30 CET
        "2026-03-29T07:30:00Z", // 09:30 CEST, the day of the change
        "2026-03-30T07:30:00Z",
    ])
    .await;
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_time_in_the_skipped_hour_fires_right_after_the_gap() {
    // On 2026-03-29 Vienna's clocks go from 02:00 CET straight to 03:00 CEST.
    let mut t = Fixture::at("2026-03-27T12:00:00Z")
        .start(Job::builder("vienna-night", "30 2 * * *").timezone("Europe/Vienna"));
    t.expect_on_time(&[
        "2026-03-28T01:30:00Z", // 02:30 CET
        "2026-03-29T01:00:00Z", // 02:30 does not exist: 03:00 CEST, the end of the gap
        "2026-03-30T00:30:00Z", // 02:30 CEST
    ])
    .await;
    t.stop().await;
}

// With the test kit: the runs and their ticks come from its report.
#[cfg(feature = "testing")]
#[tokio::test(start_paused = true)]
async fn in_the_repeated_autumn_hour_fixed_times_fire_once_and_others_twice() {
    // On 2026-10-25 Vienna's clocks go from 03:00 CEST back to 02:00 CET.
    let vienna = |slug: &str, cron: &str| {
        let job = Job::builder(slug, cron).timezone("Europe/Vienna");
        job.run(|_| async {}).build().unwrap()
    };
    let jobs = [
        vienna("fixed", "30 2 * * *"),
        vienna("half-hourly", "*/30 * * * *"),
    ];
    let (from, to) = (at("2026-10-24T22:00:00Z"), at("2026-10-26T02:00:00Z"));
    let night = TestKit::new().simulate(jobs, from, to).await.unwrap();

    // 02:30 local happens twice; a fixed time runs on the first pass only.
    let fixed = ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"];
    assert_eq!(night.fired_at("fixed"), fixed.map(at));
    // A non-fixed schedule ticks on real instants, in both passes.
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
    assert_eq!(
        night.fired_at("half-hourly")[..expected.len()],
        expected.map(at)
    );
}

#[cfg(feature = "testing")]
#[tokio::test(start_paused = true)]
async fn failing_and_panicking_jobs_keep_being_scheduled() {
    let minutely = |slug: &str| Job::cron(slug, "* * * * *", |_| async {}).unwrap();
    let jobs = [
        with_fault(
            minutely("fails"),
            Fault::Fail("database unreachable".into()),
        ),
        with_fault(minutely("panics"), Fault::Panic("job bug".into())),
    ];
    let (from, to) = (at("2026-03-02T12:00:30Z"), at("2026-03-02T12:03:30Z"));
    let minutes = TestKit::new().simulate(jobs, from, to).await.unwrap();

    let ticks = [
        "2026-03-02T12:01:00Z",
        "2026-03-02T12:02:00Z",
        "2026-03-02T12:03:00Z",
    ];
    for slug in ["fails", "panics"] {
        assert_eq!(minutes.fired_at(slug), ticks.map(at));
        let stats = minutes.stats(slug).unwrap();
        assert_eq!((stats.failed(), stats.succeeded()), (3, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn overlap_skip_skips_ticks_while_the_previous_run_runs() {
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Cooperative(Duration::from_secs(150)))
        .start(Job::builder("skipper", "* * * * *").overlap(Overlap::Skip));

    // 12:01 runs until 12:03:30, so 12:02 and 12:03 are skipped; 12:04 runs.
    t.expect_run("2026-03-02T12:01:00Z").await;
    t.expect_end("2026-03-02T12:01:00Z", "finished", "2026-03-02T12:03:30Z")
        .await;
    t.expect_run("2026-03-02T12:04:00Z").await;
    assert_eq!(t.stats.skipped(), 2);
    assert_eq!(t.stats.started(), 2);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn overlap_allow_runs_concurrently() {
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Cooperative(Duration::from_secs(150)))
        .start(Job::builder("allower", "* * * * *").overlap(Overlap::Allow));

    t.expect_on_time(&[
        "2026-03-02T12:01:00Z",
        "2026-03-02T12:02:00Z",
        "2026-03-02T12:03:00Z",
        "2026-03-02T12:04:00Z",
    ])
    .await;
    // The first run finished at 12:03:30, while later ones had started.
    t.expect_ended("2026-03-02T12:01:00Z", "finished", "2026-03-02T12:03:30Z");
    assert_eq!(t.stats.skipped(), 0);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn overlap_replace_cancels_the_old_run_and_starts_the_new_one() {
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Cooperative(Duration::from_secs(150)))
        .start(Job::builder("replacer", "* * * * *").overlap(Overlap::Replace));

    t.expect_run("2026-03-02T12:01:00Z").await;
    t.expect_run("2026-03-02T12:02:00Z").await;
    // The 12:01 run was told to stop exactly when the 12:02 tick came.
    t.expect_end("2026-03-02T12:01:00Z", "cancelled", "2026-03-02T12:02:00Z")
        .await;
    t.expect_run("2026-03-02T12:03:00Z").await;
    t.expect_end("2026-03-02T12:02:00Z", "cancelled", "2026-03-02T12:03:00Z")
        .await;
    assert_eq!(t.stats.replaced(), 2);
    assert_eq!(t.stats.skipped(), 0);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn jitter_delays_each_run_by_less_than_its_bound() {
    let jitter = Duration::from_secs(30);
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .start(Job::builder("jittery", "* * * * *").jitter(jitter));

    let mut delays = Vec::new();
    for minute in 1..=20 {
        let seen = t.next_run().await;
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
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn run_at_startup_runs_once_immediately_then_on_schedule() {
    let mut t = Fixture::at("2026-03-02T12:03:30Z")
        .start(Job::builder("eager", "*/5 * * * *").run_at_startup(true));

    t.expect_on_time(&["2026-03-02T12:03:30Z"]).await;
    t.expect_run("2026-03-02T12:05:00Z").await;
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn forward_clock_jump_runs_only_the_latest_missed_tick_once() {
    let mut t = Fixture::at("2026-03-02T12:30:00Z").start(Job::builder("hourly", "0 * * * *"));

    t.expect_run("2026-03-02T13:00:00Z").await;
    // Suspend/resume: the wall clock leaps 5h20m while the monotonic clock stands still.
    t.clock.jump(TimeDelta::minutes(5 * 60 + 20));
    let catch_up = t.next_run().await;
    assert_eq!(catch_up.scheduled, at("2026-03-02T18:00:00Z"));
    // Noticed within the clock watch's 5 s check interval.
    let late = catch_up.now - at("2026-03-02T18:20:00Z");
    assert!(
        late >= TimeDelta::zero() && late <= TimeDelta::seconds(5),
        "{late}"
    );
    // No burst: the next run is the next regular tick.
    t.expect_on_time(&["2026-03-02T19:00:00Z"]).await;
    assert_eq!(
        t.stats.missed(),
        4,
        "14:00, 15:00, 16:00 and 17:00 were passed over"
    );
    assert_eq!(t.stats.started(), 3);
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_small_step_back_while_sleeping_does_not_make_the_run_early() {
    let started = Instant::now();
    let mut t =
        Fixture::at("2026-03-02T12:03:30Z").start(Job::builder("five-minutes", "*/5 * * * *"));

    // The loop sleeps 90 s on the monotonic clock. Half-way the wall clock steps back by
    // 0.5 s, too little for the clock watch to report: the loop wakes 0.5 s early by the
    // wall clock, reads it again, and sleeps the rest.
    tokio::time::sleep(Duration::from_secs(30)).await;
    t.clock.jump(TimeDelta::milliseconds(-500));
    t.expect_on_time(&["2026-03-02T12:05:00Z"]).await;
    assert_eq!(started.elapsed(), Duration::from_millis(90_500));
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_day_long_jump_over_a_one_second_job_runs_one_catch_up_tick() {
    let mut t = Fixture::at("2026-03-02T12:00:00Z")
        .start(Job::builder("every-second", "1s").monitor(false));

    t.expect_run("2026-03-02T12:00:01Z").await;
    t.clock.jump(TimeDelta::days(1));
    // The loop wakes at its own deadline one second later, at 12:00:02 on the new day:
    // 86,400 ticks were passed over, only the latest runs, then the regular ticks resume.
    t.expect_on_time(&["2026-03-03T12:00:02Z"]).await;
    t.expect_run("2026-03-03T12:00:03Z").await;
    assert!(t.stats.missed() >= 10_000, "{}", t.stats.missed());
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn backward_clock_jump_repeats_no_tick_and_never_fires_early() {
    let mut t = Fixture::at("2026-03-02T12:30:00Z").start(Job::builder("hourly", "0 * * * *"));

    t.expect_run("2026-03-02T13:00:00Z").await;
    // An NTP step back by 1h30m: 12:00 and 13:00 come round again on the wall clock.
    let stepped = Instant::now();
    t.clock.jump(TimeDelta::minutes(-90));
    t.expect_on_time(&["2026-03-02T14:00:00Z"]).await;
    // 11:30 → 14:00 on the wall clock is 2h30m of real time.
    assert_eq!(stepped.elapsed(), Duration::from_secs(150 * 60));
    t.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_running_job_within_the_deadline() {
    // The job ignores its cancellation token and needs 20 s; the deadline is 60 s.
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Stubborn(Duration::from_secs(20)))
        .shutdown_timeout(Duration::from_secs(60))
        .start(Job::builder("slow", "* * * * *"));

    t.expect_run("2026-03-02T12:01:00Z").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    t.stop().await;
    t.expect_ended("2026-03-02T12:01:00Z", "finished", "2026-03-02T12:01:20Z");
    assert_eq!(signalled.elapsed(), Duration::from_secs(15));
    assert!(
        t.starts.try_recv().is_err(),
        "no run started after shutdown"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_fires_the_job_token_so_a_cooperative_job_ends_at_once() {
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Cooperative(Duration::from_secs(600)))
        .shutdown_timeout(Duration::from_secs(60))
        .start(Job::builder("cooperative", "* * * * *"));

    t.expect_run("2026-03-02T12:01:00Z").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    t.stop().await;
    t.expect_ended("2026-03-02T12:01:00Z", "cancelled", "2026-03-02T12:01:05Z");
    assert_eq!(signalled.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_run_still_going_at_the_deadline() {
    // The job ignores its token and would need 10 minutes; the deadline is 30 s.
    let mut t = Fixture::at("2026-03-02T12:00:30Z")
        .working(Work::Stubborn(Duration::from_secs(600)))
        .shutdown_timeout(Duration::from_secs(30))
        .start(Job::builder("stubborn", "* * * * *"));

    t.expect_run("2026-03-02T12:01:00Z").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let signalled = Instant::now();
    t.stop().await;
    // Cancelled at the deadline (12:01:35); the future is dropped after the run's grace.
    let dropped = t.ends.try_recv().expect("the run's future was dropped");
    assert_eq!(
        (dropped.scheduled, dropped.how),
        (at("2026-03-02T12:01:00Z"), "dropped")
    );
    assert!(dropped.now >= at("2026-03-02T12:01:35Z"), "{dropped:?}");
    assert!(dropped.now < at("2026-03-02T12:02:05Z"), "{dropped:?}");
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
    assert_eq!(
        t.stats.failed(),
        1,
        "the interrupted run is reported as failed"
    );
}

#[tokio::test(start_paused = true)]
async fn no_runs_start_after_shutdown() {
    let mut t = Fixture::at("2026-03-02T12:00:30Z").start(Job::builder("minutely", "* * * * *"));
    t.expect_run("2026-03-02T12:01:00Z").await;
    t.stop().await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(t.starts.try_recv().is_err());
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
