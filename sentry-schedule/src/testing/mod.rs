//! The test kit: run a job once, or simulate a period on virtual time, and see what Sentry
//! would receive (feature `testing`).
//!
//! Everything runs through the real scheduler (its dispatcher, run pipeline, overlap,
//! timeout, jitter and check-ins), built with a [`TestClock`] and a Sentry client of the
//! kit's own: a client with an in-memory transport, bound to the runs the kit drives and to
//! nothing else. So tests need no DSN and no network, and tests running in parallel never
//! see each other's runs, check-ins or events.
//!
//! Use it under `#[tokio::test(start_paused = true)]`: tokio's paused clock skips ahead to
//! the next timer whenever every task waits, and the [`TestClock`] reads its wall time from
//! tokio's clock, so a simulated year takes as long as its runs take to compute.
//!
//! - [`job`]: the job of a `#[scheduled]` fn, addressed by the fn itself.
//! - [`TestKit::run_once`]: one run now, its check-ins, events and outcome ([`TestRun`]).
//! - [`TestKit::simulate`]: every run from one instant to another ([`Simulation`]).
//! - [`with_fault`]: runs that panic, fail, hang (time out, or are cancelled by shutdown)
//!   or are slow; [`TestKit::ingest`]: an ingest that refuses, rate-limits or delays
//!   check-ins, answering the scheduler's own sender.
//! - [`CheckIn::sentry_rejections`], [`Simulation::assert_sentry_accepts`]: what Sentry
//!   would refuse or rewrite, by the rules the macro checks with.
//!
//! ```
//! use sentry_schedule::testing::TestKit;
//! use sentry_schedule::Job;
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), sentry_schedule::Error> {
//! let job = Job::cron("refresh-rates", "*/15 * * * *", |_| async {})?;
//! let day = TestKit::new()
//!     .simulate(
//!         [job],
//!         "2027-01-01T00:00:00Z".parse().unwrap(),
//!         "2027-01-02T00:00:00Z".parse().unwrap(),
//!     )
//!     .await?;
//! assert_eq!(day.fired_at("refresh-rates").len(), 95); // 00:15 … 23:45
//! assert!(day.runs.iter().all(|run| run.statuses() == ["in_progress", "ok"]));
//! day.assert_sentry_accepts();
//! # Ok(())
//! # }
//! ```
mod fault;
mod ingest;
mod report;
mod rules;
mod simulation;
mod sink;
mod split;

pub use fault::{with_fault, Fault};
pub use ingest::Answer;
pub use report::{CapturedEvent, CheckIn, Id, Outcome, TestRun};
pub use rules::Rejection;
pub use simulation::Simulation;
pub(crate) use sink::Sink;

use crate::clock::TestClock;
use crate::error::Error;
use crate::job::state::StateMap;
use crate::job::Job;
use crate::scheduler::{Hooks, Scheduler, DEFAULT_SHUTDOWN_TIMEOUT};
use chrono::{DateTime, Utc};
use report::Sent;
use sentry::SentryFutureExt;
use sink::Log;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The job of the `#[scheduled]` fn `f`, as the scheduler would run it: `job(send_report)`.
///
/// The fn is found by its item type (each fn has a type of its own, recorded by the macro),
/// not by a slug or a name, so a renamed slug or a moved module needs no change in the test.
/// Fails with [`Error::NotScheduled`] when `f` is no `#[scheduled]` fn linked into this
/// binary.
///
/// ```
/// #[sentry_schedule::scheduled(cron = "0 3 * * *", timezone = "Europe/Vienna")]
/// async fn nightly_export() {}
///
/// # fn main() -> Result<(), sentry_schedule::Error> {
/// let job = sentry_schedule::testing::job(nightly_export)?;
/// assert_eq!(job.schedule().to_string(), "0 3 * * *");
/// # Ok(())
/// # }
/// ```
pub fn job<F: 'static>(f: F) -> Result<Job, Error> {
    drop(f);
    crate::job::registry::registered_job_of(std::any::TypeId::of::<F>()).unwrap_or(Err(
        Error::NotScheduled {
            name: std::any::type_name::<F>(),
        },
    ))
}

/// Runs and simulates jobs on virtual time with an in-memory Sentry.
///
/// Options are those of the scheduler a test would otherwise build: state, environment,
/// release, shutdown timeout, cancel grace, plus the kit's own: where the wall clock starts
/// ([`at`](Self::at)), the jitter seed, and what the ingest answers.
#[derive(Clone)]
#[must_use]
pub struct TestKit {
    start: Option<DateTime<Utc>>,
    environment: Option<String>,
    release: Option<String>,
    states: StateMap,
    shutdown_timeout: Duration,
    jitter_seed: u64,
    ingest: Option<ingest::IngestRule>,
    keep_check_ins: bool,
    threads: usize,
}

impl Default for TestKit {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKit {
    /// A kit with the scheduler's defaults, no environment or release, jitter seed 0.
    pub fn new() -> Self {
        Self {
            start: None,
            environment: None,
            release: None,
            states: StateMap::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            jitter_seed: 0,
            ingest: None,
            keep_check_ins: true,
            threads: 1,
        }
    }

    /// Where the wall clock of [`run_once`](Self::run_once) starts (default: the system's
    /// time when the run starts). [`simulate`](Self::simulate) starts at its `from`.
    pub fn at(mut self, start: DateTime<Utc>) -> Self {
        self.start = Some(start);
        self
    }

    /// A value jobs take as [`State<T>`](crate::State), as
    /// [`SchedulerBuilder::state`](crate::SchedulerBuilder::state) registers it.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(Arc::new(value));
        self
    }

    /// The Sentry client's `environment`, sent in every check-in.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The Sentry client's `release`, sent in every check-in.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// How long runs going at the end of a simulation get to finish before they are
    /// cancelled ("interrupted by shutdown"), as
    /// [`SchedulerBuilder::shutdown_timeout`](crate::SchedulerBuilder::shutdown_timeout).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// As [`SchedulerBuilder::cancel_grace`](crate::SchedulerBuilder::cancel_grace).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.states.cancel_grace = grace;
        self
    }

    /// Seeds the jitter delays (default 0): the same seed gives the same delays.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }

    /// What the in-memory ingest answers each request carrying a check-in (default: no
    /// rule, every check-in taken where the scheduler hands it over).
    ///
    /// With a rule, check-ins take the path they take in production: the scheduler's own
    /// sender (its queue, order per run, retries with backoff, rate-limit pauses, drops,
    /// counters and warnings) posts each one to the kit's endpoint, which answers as the
    /// rule says ([`Answer`]), on virtual time. [`run_once`](Self::run_once) then flushes
    /// as the `run` command does (at most 5 s), a simulation as `run()`'s shutdown does;
    /// what is still unsent then is dropped, counted and logged.
    /// [`Simulation::check_in_stats`] has the sender's counters.
    ///
    /// ```
    /// use sentry_schedule::testing::{Answer, TestKit};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), sentry_schedule::Error> {
    /// let job = sentry_schedule::Job::cron("sync", "* * * * *", |_| async {})?;
    /// let kit = TestKit::new().ingest(|check_in| match check_in.status() {
    ///     "in_progress" => Answer::Refuse(413), // too large: dropped, not sent again
    ///     _ => Answer::Accept,
    /// });
    /// let run = kit.run_once(job).await?;
    /// assert_eq!(run.statuses(), ["in_progress", "ok"]); // what the scheduler sent
    /// assert_eq!(run.sentry_saw(), ["ok"]); // what Sentry has: a final check-in alone
    /// # Ok(())
    /// # }
    /// ```
    pub fn ingest(mut self, answer: impl Fn(&CheckIn) -> Answer + Send + Sync + 'static) -> Self {
        self.ingest = Some(Arc::new(answer));
        self
    }

    /// Whether runs keep their check-ins whole (default `true`). With `false`, a light
    /// report: each run keeps its tick, start, outcome, events and the statuses of its
    /// check-ins ([`TestRun::statuses`]), but not the check-ins themselves, so
    /// [`TestRun::check_ins`] stays empty and there is nothing for
    /// [`assert_sentry_accepts`](Simulation::assert_sentry_accepts) to check. The
    /// scheduler hands over every check-in all the same, but the kit has it skip building
    /// the JSON it would not keep (without an [ingest rule](Self::ingest)). For simulations of
    /// months or years, where keeping millions of check-ins costs most of the time and
    /// memory; [`fired_at`](Simulation::fired_at),
    /// [`never_overlaps`](Simulation::never_overlaps), [`skipped`](Simulation::skipped)
    /// and [`stats`](Simulation::stats) work as with a full report.
    ///
    /// ```
    /// use sentry_schedule::testing::TestKit;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), sentry_schedule::Error> {
    /// let job = sentry_schedule::Job::cron("rates", "*/5 * * * *", |_| async {})?;
    /// let week = TestKit::new()
    ///     .keep_check_ins(false)
    ///     .simulate(
    ///         [job],
    ///         "2027-01-04T00:00:00Z".parse().unwrap(),
    ///         "2027-01-11T00:00:00Z".parse().unwrap(),
    ///     )
    ///     .await?;
    /// assert_eq!(week.fired_at("rates").len(), 7 * 24 * 12 - 1);
    /// assert!(week.never_overlaps("rates"));
    /// assert!(week.runs.iter().all(|run| run.statuses() == ["in_progress", "ok"]));
    /// assert!(week.runs.iter().all(|run| run.check_ins.is_empty()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_check_ins(mut self, keep: bool) -> Self {
        self.keep_check_ins = keep;
        self
    }

    /// How many threads a [simulation](Self::simulate) may use (default 1; 0 counts as 1).
    ///
    /// With more than one, the jobs are dealt out (in slug order) to that many groups, at
    /// most one per job; each group is simulated by a scheduler of its own, with a wall
    /// clock and a paused tokio clock of its own, on a thread of its own (the first on the
    /// caller's), and the reports are merged: the same runs in the same order, counters
    /// and seeded jitter as with one thread, in a fraction of the time on a machine with
    /// as many cores. For long simulations of many jobs.
    ///
    /// What changes: jobs of different groups run at the same time on different threads,
    /// so jobs that share something of their own ([`state`](Self::state), a static) see
    /// each other's effects in an order that varies from run to run; a job's tokio timers
    /// and tasks live on its group's runtime, not the caller's; and the caller's paused
    /// clock moves only with its own group. With an [ingest rule](Self::ingest) the
    /// simulation keeps to one thread, as every check-in goes through one sender (its
    /// queue and rate limits are shared by all jobs).
    ///
    /// ```
    /// use sentry_schedule::testing::TestKit;
    /// use sentry_schedule::Job;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), sentry_schedule::Error> {
    /// let jobs = || -> Result<Vec<Job>, sentry_schedule::Error> {
    ///     (0..4)
    ///         .map(|i| Job::cron(format!("job-{i}"), "*/5 * * * *", |_| async {}))
    ///         .collect()
    /// };
    /// let (from, to) = ("2027-01-01T00:00:00Z".parse().unwrap(), "2027-01-08T00:00:00Z".parse().unwrap());
    /// let kit = TestKit::new().keep_check_ins(false);
    /// let one = kit.clone().simulate(jobs()?, from, to).await?;
    /// let two = kit.threads(2).simulate(jobs()?, from, to).await?;
    /// assert_eq!(two.runs.len(), 4 * (7 * 24 * 12 - 1));
    /// let ticks = |s: &sentry_schedule::testing::Simulation| -> Vec<_> {
    ///     s.runs.iter().map(|run| (run.slug.clone(), run.scheduled, run.started)).collect()
    /// };
    /// assert_eq!(ticks(&one), ticks(&two));
    /// # Ok(())
    /// # }
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Runs `job` once now (the kit's wall clock: [`at`](Self::at)), as
    /// [`Scheduler::run_now`] does: its state, timeout and both check-ins, no overlap.
    ///
    /// ```
    /// use sentry_schedule::testing::TestKit;
    /// use sentry_schedule::{Job, RunStatus};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), sentry_schedule::Error> {
    /// let job = Job::cron("import", "0 * * * *", |_| async {
    ///     Err::<(), _>(std::io::Error::other("bucket gone"))
    /// })?;
    /// let run = TestKit::new().environment("production").run_once(job).await?;
    /// assert_eq!(run.outcome.status, RunStatus::Error);
    /// assert_eq!(run.statuses(), ["in_progress", "error"]);
    /// assert_eq!(run.events[0].message(), Some("bucket gone"));
    /// assert_eq!(run.events[0].trace_id().as_deref(), Some(run.trace_id.as_str()));
    /// assert_eq!(run.check_ins[1].environment(), Some("production"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_once(&self, job: Job) -> Result<TestRun, Error> {
        let slug = job.slug().to_owned();
        let clock = TestClock::new(self.start.unwrap_or_else(Utc::now));
        let sink = self.sink(&clock);
        let scheduler = self.scheduler(vec![job], clock, &sink, std::future::pending())?;
        let report = scheduler.run_now(&slug).await?;
        // As the `run <slug>` command does: with an ingest rule, the sender's retries and
        // pauses then run on virtual time, up to the bound.
        scheduler.flush(crate::checkin::FLUSH_TIMEOUT).await;
        let run = assemble(sink.take()).runs.into_iter().next();
        // `None` only when the run's task died before it ended (a bug of the scheduler,
        // reported in `report`): the outcome without check-ins or events.
        Ok(run.unwrap_or_else(|| {
            let outcome = Outcome {
                status: report.status,
                duration: report.duration,
                message: report.message,
            };
            let (scheduled, no_id) = (report.scheduled, Id::default);
            TestRun::new(
                report.slug,
                scheduled,
                scheduled,
                no_id(),
                no_id(),
                outcome,
                Sent::default(),
            )
        }))
    }

    /// Runs `jobs` on their schedules from `from` to `to` through the real dispatcher, with
    /// the kit's wall clock and tokio's paused clock moving together, and returns every run
    /// that fired: as a scheduler started at `from` and stopped at `to` (ticks after `from`
    /// and before `to`; a run still going at `to` gets the [shutdown
    /// timeout](Self::shutdown_timeout) to finish).
    ///
    /// With [`threads`](Self::threads) above 1, the jobs are simulated in groups on that
    /// many threads and the reports merged.
    pub async fn simulate(
        &self,
        jobs: impl IntoIterator<Item = Job>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Simulation, Error> {
        let mut jobs: Vec<Job> = jobs.into_iter().collect();
        let groups = self.threads.min(jobs.len());
        if groups <= 1 || self.ingest.is_some() {
            return self.simulate_here(jobs, from, to).await;
        }
        // Checked over all jobs before they are dealt out: each group's scheduler sees
        // only its own.
        crate::job::registry::sort_and_check_unique(&mut jobs)?;
        split::simulate(self, split::deal(jobs, groups), from, to).await
    }

    /// [`simulate`](Self::simulate) on the caller's runtime, with one scheduler.
    async fn simulate_here(
        &self,
        jobs: Vec<Job>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Simulation, Error> {
        let clock = TestClock::new(from);
        let sink = self.sink(&clock);
        // Stopped just before `to`: ticks are whole seconds, so a tick at `to` is left out.
        let length = (to - from)
            .to_std()
            .unwrap_or_default()
            .saturating_sub(Duration::from_millis(1));
        let stop = tokio::time::sleep(length);
        let scheduler = self.scheduler(jobs, clock, &sink, stop)?;
        let stats = scheduler
            .jobs()
            .map(|job| (job.slug().to_owned(), job.stats()))
            .collect();
        let check_ins = scheduler.check_ins();
        scheduler.run().bind_hub(Arc::clone(&sink.hub)).await?;
        let log = assemble(sink.take());
        Ok(Simulation {
            from,
            to,
            runs: log.runs,
            stray_check_ins: log.stray_check_ins,
            stray_events: log.stray_events,
            stats,
            check_in_stats: check_ins.snapshot(),
        })
    }

    /// [`simulate`](Self::simulate) with every `#[scheduled]` job of the binary.
    pub async fn simulate_registered(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Simulation, Error> {
        let jobs = crate::job::registry::registered_jobs()?;
        self.simulate(jobs, from, to).await
    }

    fn sink(&self, clock: &TestClock) -> Arc<Sink> {
        Sink::new(
            self.environment.clone(),
            self.release.clone(),
            Arc::new(clock.clone()),
            self.ingest.clone(),
            self.keep_check_ins,
        )
    }

    /// A scheduler of `jobs` alone, on `clock`, reporting to `sink`, stopping on `stop`.
    fn scheduler(
        &self,
        jobs: Vec<Job>,
        clock: TestClock,
        sink: &Arc<Sink>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Scheduler, Error> {
        let hooks = Hooks {
            jitter_seed: Some(self.jitter_seed),
            watch_clock: false,
        };
        let builder = Scheduler::builder()
            .registered_jobs(false)
            .jobs(jobs)
            .clock(clock)
            .shutdown_timeout(self.shutdown_timeout)
            .shutdown_signal(stop)
            // The kit's schedulers run side by side, in parallel tests.
            .allow_same_jobs_twice()
            .test_hooks(hooks, Arc::clone(sink), self.states.clone());
        // Built with the kit's client current: the client's environment decides which
        // jobs are off, as in production.
        sentry::Hub::run(Arc::clone(&sink.hub), || builder.build())
    }
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit")
            .field("start", &self.start)
            .field("environment", &self.environment)
            .field("release", &self.release)
            .field("jitter_seed", &self.jitter_seed)
            .field("keep_check_ins", &self.keep_check_ins)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// The report's order of runs: by start, then tick, then slug.
fn run_order(a: &TestRun, b: &TestRun) -> std::cmp::Ordering {
    (a.started, a.scheduled, &a.slug).cmp(&(b.started, b.scheduled, &b.slug))
}

/// Runs with their check-ins and events, and what matched no run.
struct Assembled {
    runs: Vec<TestRun>,
    stray_check_ins: Vec<CheckIn>,
    stray_events: Vec<CapturedEvent>,
}

/// Joins each run to its events (by trace id) and puts the runs in order.
fn assemble(log: Log) -> Assembled {
    let Log {
        mut runs,
        pending,
        mut stray_check_ins,
        events,
        deliveries,
    } = log;
    if !deliveries.is_empty() {
        for check_in in runs.iter_mut().flat_map(|run| &mut run.check_ins) {
            let key = (
                check_in.check_in_id().to_owned(),
                check_in.status().to_owned(),
            );
            if let Some(delivered) = deliveries.get(&key) {
                check_in.delivered(*delivered);
            }
        }
    }
    let mut stray_events = Vec::new();
    if !events.is_empty() {
        let mut by_trace: HashMap<String, Vec<CapturedEvent>> = HashMap::new();
        for event in events {
            match event.trace_id() {
                Some(trace) => by_trace.entry(trace).or_default().push(event),
                None => stray_events.push(event),
            }
        }
        for run in &mut runs {
            if by_trace.is_empty() {
                break;
            }
            if let Some(events) = by_trace.remove(run.trace_id.as_str()) {
                run.events = events;
            }
        }
        stray_events.extend(by_trace.into_values().flatten());
    }
    runs.sort_by(run_order);
    // Check-ins of runs that never reported their end (their task died).
    stray_check_ins.extend(pending.into_values().flat_map(|sent| sent.check_ins));
    Assembled {
        runs,
        stray_check_ins,
        stray_events,
    }
}
