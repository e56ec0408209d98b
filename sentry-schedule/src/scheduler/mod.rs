//! The scheduler: builder, start-up validation, `run` and `run_all`.
pub mod cli;
pub mod forecast;
pub(crate) mod handle;
#[cfg(feature = "http")]
mod monitor_mute;
pub mod off;
pub(crate) mod shutdown;
pub(crate) mod signal;
pub(crate) mod startup;
use crate::checkin::{CheckInCounters, CheckInSender, Delivery, DEFAULT_CHECK_IN_QUEUE_CAPACITY};
use crate::clock::{Clock, SystemClock};
use crate::coordinator::claimer::{self, Claimer};
use crate::coordinator::{
    Coordinator, CoordinatorError, OnCoordinatorError, Pause, RunRecord, DEFAULT_LEASE,
};
use crate::dispatch;
use crate::dispatch::clock_watch;
use crate::error::Error;
use crate::job::registry;
use crate::job::state::{self, StateMap};
use crate::job::Job;
use crate::run::pipeline::{self, JobEntry, RunEnv};
use crate::run::report::RunReport;
use crate::run::run_set::RunSet;
use chrono::{DateTime, Utc};
use handle::SchedulerHandle;
use off::Off;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long running runs get to finish on shutdown unless set otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

type BoxedSignal = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs every job registered with `#[scheduled]` until Ctrl-C or SIGTERM, then shuts down
/// gracefully (see [`Scheduler::run`]).
///
/// Fails before any job runs when two jobs share a monitor slug, when there is no job at
/// all ([`Error::NoJobs`]: jobs in a library crate need [`link_jobs!`](crate::link_jobs)),
/// and when another scheduler of this process already runs the same jobs
/// ([`Error::AlreadyRunning`]).
pub async fn run_all() -> Result<(), Error> {
    Scheduler::builder().build()?.run().await
}

/// Runs jobs on their schedules: built with [`Scheduler::builder`], started with
/// [`Scheduler::run`].
///
/// # Timing
///
/// - One task holds the next fire instant of every job in timers grouped by instant and sleeps until
///   the earliest: no polling tick and no task per job, so an idle scheduler costs nothing
///   whatever the number of jobs. Fire instants are computed on the wall clock in the job's
///   time zone, exactly as Sentry's server computes them.
/// - A run never starts early: on waking, the wall clock is read again and the scheduler
///   goes back to sleep if the instant has not come yet. With the system clock the last
///   two milliseconds are slept on a blocking thread, so runs start within a fraction of a
///   millisecond of their instant rather than tokio's timer granularity of one.
/// - Jobs due at the same instant are started from one wake-up by a few start tasks, so
///   every worker thread shares the starting. A start task polls each run once itself; a
///   run still going after that first poll (its first real `.await`) continues in a task
///   of its own, and a run that ends within it never costs a task. A job that blocks its
///   thread in that first poll does not hold up the jobs due with it: each start task
///   leaves stand-ins that other worker threads pick up.
/// - Wall-clock jumps (NTP steps, suspend/resume) are noticed within 5 seconds. After a
///   jump **backward** no tick runs twice: a job only ever fires instants later than the
///   last one it ran. After a jump **forward** over several ticks only the latest due
///   tick runs, once; the others are counted in [`JobStats::missed`](crate::JobStats::missed)
///   and logged.
/// - `jitter` delays a run by a random amount below it; the run's scheduled instant (in
///   its context and check-ins) stays the tick.
/// - `overlap`: `Skip` (default) skips a tick while the previous run still runs (logged,
///   counted in [`JobStats::skipped`](crate::JobStats::skipped)); `Allow` runs them side
///   by side; `Replace` cancels the old run ("replaced by a newer run") and starts the new one.
///
/// # Several replicas
///
/// With a [coordinator](SchedulerBuilder::coordinator) each tick is claimed before it runs;
/// the ticks due at one instant are claimed in one call, in a task of its own (the jobs'
/// timing does not wait for the backend); a jittered run is claimed after its delay. The
/// replica that wins runs it and sends its check-ins, the others skip it or — while it is unfinished —
/// wait out the holder's lease and take it over if the holder died. The overlap policy is
/// applied by the winner, among its own runs; a tick it skips for overlap is recorded as
/// `cancelled`, so no other replica takes it over. Waiting to take a tick over is not a run.
///
/// ```no_run
/// # async fn app() -> Result<(), sentry_schedule::Error> {
/// use std::time::Duration;
/// let scheduler = sentry_schedule::Scheduler::builder()
///     .shutdown_timeout(Duration::from_secs(60))
///     .build()?;
/// for job in scheduler.jobs() {
///     println!("{} {} {}", job.slug(), job.schedule(), job.timezone());
/// }
/// scheduler.run().await
/// # }
/// ```
pub struct Scheduler {
    /// The jobs and what runs them, shared with every [`SchedulerHandle`] taken from it
    /// ([`Scheduler::handle`] clones it: no job is copied).
    shared: SchedulerHandle,
    shutdown_timeout: Duration,
    shutdown_signal: Option<BoxedSignal>,
    allow_same_jobs_twice: bool,
    /// Hooks the test kit sets (`testing`).
    hooks: Hooks,
}

/// What the test kit changes in a scheduler it drives: a seeded jitter generator, and no
/// clock watch (its clock never jumps, and waking every 5 s of a simulated year would be
/// most of the simulation's work).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hooks {
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) watch_clock: bool,
}

impl Default for Hooks {
    fn default() -> Self {
        Self {
            jitter_seed: None,
            watch_clock: true,
        }
    }
}

/// Options of a [`Scheduler`].
#[must_use = "call `.build()` to get the scheduler"]
pub struct SchedulerBuilder {
    clock: Arc<dyn Clock>,
    shutdown_timeout: Duration,
    shutdown_signal: Option<BoxedSignal>,
    registered_jobs: bool,
    jobs: Vec<Job>,
    disabled: Vec<String>,
    states: StateMap,
    coordinator: Option<Arc<dyn Coordinator>>,
    lease: Duration,
    on_coordinator_error: OnCoordinatorError,
    prune_every: Duration,
    allow_same_jobs_twice: bool,
    check_in_sender: CheckInSender,
    check_in_queue_capacity: usize,
    /// Auth token and organization for Sentry's web API.
    #[cfg(feature = "http")]
    sentry_api: Option<(String, String)>,
    #[cfg(feature = "http")]
    sentry_api_url: Option<String>,
    check_in_request_timeout: Option<Duration>,
    hooks: Hooks,
    #[cfg(feature = "testing")]
    sink: Option<Arc<crate::testing::Sink>>,
}

impl Default for SchedulerBuilder {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            shutdown_signal: None,
            registered_jobs: true,
            jobs: Vec::new(),
            disabled: Vec::new(),
            states: StateMap::default(),
            coordinator: None,
            lease: DEFAULT_LEASE,
            on_coordinator_error: OnCoordinatorError::Skip,
            prune_every: claimer::DEFAULT_PRUNE_EVERY,
            allow_same_jobs_twice: false,
            check_in_sender: CheckInSender::default(),
            check_in_queue_capacity: DEFAULT_CHECK_IN_QUEUE_CAPACITY,
            check_in_request_timeout: None,
            #[cfg(feature = "http")]
            sentry_api: None,
            #[cfg(feature = "http")]
            sentry_api_url: None,
            hooks: Hooks::default(),
            #[cfg(feature = "testing")]
            sink: None,
        }
    }
}

impl SchedulerBuilder {
    /// Lets [`Scheduler::pause`] mute the job's Sentry monitor (and
    /// [`Scheduler::resume`] unmute it) through Sentry's web API, so that Sentry raises no
    /// missed-check-in alerts for a paused job: `token` is an auth token with the
    /// `project:write` scope (an organization or internal-integration token), `organization`
    /// the organization's slug. The API's address is derived from the client's DSN (Sentry's
    /// SaaS ingest hosts `o<id>.ingest.<region>.sentry.io` give `https://<region>.sentry.io`,
    /// a self-hosted DSN its own host) unless set with
    /// [`sentry_api_url`](Self::sentry_api_url). Without it, pausing logs a warning that
    /// Sentry will report the paused ticks as missed check-ins.
    #[cfg(feature = "http")]
    pub fn sentry_api(mut self, token: impl Into<String>, organization: impl Into<String>) -> Self {
        self.sentry_api = Some((token.into(), organization.into()));
        self
    }

    /// The base URL of Sentry's web API (`https://sentry.example.com`), when it is not the
    /// DSN's host. Used with [`sentry_api`](Self::sentry_api).
    #[cfg(feature = "http")]
    pub fn sentry_api_url(mut self, url: impl Into<String>) -> Self {
        self.sentry_api_url = Some(url.into());
        self
    }

    /// The wall clock schedules are computed on (default [`SystemClock`]); tests inject a
    /// [`TestClock`](crate::clock::TestClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long running runs get to finish on shutdown before they are cancelled and
    /// reported as `error` ("interrupted by shutdown"). Default 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Shuts down when `signal` resolves, **instead of** on Ctrl-C or SIGTERM.
    ///
    /// This replaces the built-in signal handling: with a future of your own that only
    /// waits for Ctrl-C, a SIGTERM (what `docker stop`, Kubernetes and systemd send) kills
    /// the process at once, and running jobs get no final check-ins. To share the built-in
    /// handling with a server, pass a clone of [`shutdown_signal()`](crate::shutdown_signal)
    /// here and another to the server; [`ShutdownSignal::trigger`](crate::ShutdownSignal::trigger)
    /// stops both from code.
    pub fn shutdown_signal(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown_signal = Some(Box::pin(signal));
        self
    }

    /// How long a run may go on after its timeout or a cancel fired its
    /// [`JobContext::cancelled`](crate::JobContext::cancelled) token, before its future is
    /// dropped and the run reported `error` (default [`DEFAULT_CANCEL_GRACE`](crate::DEFAULT_CANCEL_GRACE),
    /// 5 s). So a run with `timeout = "2s"` that ignores its token is reported failing after
    /// 7 s: the timeout plus this grace. A job that watches its token ends within the grace
    /// with its own outcome.
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.states.cancel_grace = grace;
        self
    }

    /// Lets this scheduler run the `#[scheduled]` jobs while another scheduler of the same
    /// process runs them too, each tick then running once per scheduler with check-ins of its
    /// own. Without it [`Scheduler::run`] fails with [`Error::AlreadyRunning`]: two
    /// `run_all()` calls in one service are a bug that doubles every run.
    pub fn allow_same_jobs_twice(mut self) -> Self {
        self.allow_same_jobs_twice = true;
        self
    }

    /// Whether the jobs registered with `#[scheduled]` are included (default `true`).
    pub fn registered_jobs(mut self, include: bool) -> Self {
        self.registered_jobs = include;
        self
    }

    /// Adds a job built at run time ([`Job::cron`], [`Job::every`], [`Job::builder`]).
    pub fn job(mut self, job: Job) -> Self {
        self.jobs.push(job);
        self
    }

    /// Adds several jobs built at run time.
    pub fn jobs(mut self, jobs: impl IntoIterator<Item = Job>) -> Self {
        self.jobs.extend(jobs);
        self
    }

    /// Switches the jobs with these slugs off without a rebuild, as the comma-separated
    /// `SENTRY_SCHEDULE_DISABLED` variable does (both are read by [`build`](Self::build);
    /// whitespace around a slug is trimmed, empty ones are ignored). An off job never fires
    /// and sends no check-in; `list` shows it as off, with why; `run <slug>` and
    /// [`Scheduler::run_now`] still run it. [`build`](Self::build) fails with
    /// [`Error::UnknownDisabledSlug`] (naming the nearest slugs) for a slug no job has.
    pub fn disable_jobs<S: Into<String>>(mut self, slugs: impl IntoIterator<Item = S>) -> Self {
        self.disabled.extend(slugs.into_iter().map(Into::into));
        self
    }

    /// Registers a value jobs can take as a [`State<T>`](crate::State) parameter (or get
    /// with [`JobContext::state`](crate::JobContext::state)), e.g. a database pool. One value
    /// per type: a later value of the same type replaces the earlier. It is stored once in an
    /// `Arc`; every run gets a clone of that `Arc`.
    ///
    /// [`build`](Self::build) fails, before any job runs, when a `#[scheduled]` fn takes a
    /// `State<T>` whose `T` was never registered ([`Error::MissingState`]).
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(Arc::new(value));
        self
    }

    /// Coordinates this scheduler with the other replicas of the service through `coordinator`
    /// (PostgreSQL, Redis, …): each tick runs on the one replica that claims it. See
    /// [`coordinator`](crate::coordinator) for the protocol and its guarantee.
    ///
    /// Without a coordinator (the default) the scheduler is a single process: every tick runs
    /// here, nothing is claimed and no run history is kept ([`Scheduler::history`] is empty).
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # async fn app(pool: sentry_schedule::coordinator::sqlx::PgPool) -> Result<(), sentry_schedule::Error> {
    /// use sentry_schedule::coordinator::Postgres;
    /// sentry_schedule::Scheduler::builder()
    ///     .coordinator(Postgres::new(pool))
    ///     .build()?
    ///     .run()
    ///     .await
    /// # }
    /// ```
    pub fn coordinator(mut self, coordinator: impl Coordinator) -> Self {
        self.coordinator = Some(Arc::new(coordinator));
        self
    }

    /// The lease of a claimed tick (default [`DEFAULT_LEASE`], 60 s): renewed every third of
    /// it while the run goes on; a replica that stops renewing (crash, pause, partition) for
    /// this long loses the tick to another replica, which runs it again. Longer than the
    /// longest pause you expect; shorter makes take-overs quicker. At least 30 ms.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(30));
        self
    }

    /// What to do with a tick whose claim failed because the coordinator is unreachable:
    /// [`OnCoordinatorError::Skip`] (default: log, capture an error event, do not run) or
    /// [`OnCoordinatorError::RunAnyway`].
    pub fn on_coordinator_error(mut self, policy: OnCoordinatorError) -> Self {
        self.on_coordinator_error = policy;
        self
    }

    /// Runs ticks whose claim failed because the coordinator is unreachable, on every replica
    /// that could not reach it (`on_coordinator_error(OnCoordinatorError::RunAnyway)`).
    pub fn fail_open(self) -> Self {
        self.on_coordinator_error(OnCoordinatorError::RunAnyway)
    }

    /// How often claims older than the coordinator's retention are deleted (default hourly,
    /// and once at start-up). The retention itself is an option of the backend
    /// (`PostgresOptions::retention`).
    pub fn prune_every(mut self, every: Duration) -> Self {
        self.prune_every = every.max(Duration::from_secs(1));
        self
    }

    /// How check-ins reach Sentry: [`CheckInSender::Http`] (the default: the scheduler's own
    /// queue, posting to the client's DSN) or [`CheckInSender::ClientTransport`] (through
    /// the client's transport, for a custom `TransportFactory` or sentry's `TestTransport`).
    /// Which transport a client has cannot be told from the client, so set this when you
    /// configured your own.
    pub fn check_in_sender(mut self, sender: CheckInSender) -> Self {
        self.check_in_sender = sender;
        self
    }

    /// How many check-ins the delivery queue holds at most, waiting plus in flight (default
    /// [`DEFAULT_CHECK_IN_QUEUE_CAPACITY`], 20,000; at least 1). Memory per queued check-in
    /// is its JSON plus about 100 bytes, 300 to 600 bytes in all. At capacity the oldest
    /// waiting `in_progress` check-in is dropped to make room (a final check-in alone still
    /// records the run); every drop is counted ([`Scheduler::check_ins`]) and logged at warn
    /// level with the slug.
    pub fn check_in_queue_capacity(mut self, capacity: usize) -> Self {
        self.check_in_queue_capacity = capacity.max(1);
        self
    }

    /// How long one check-in request may take before it counts as failed and is sent again
    /// later (default 30 s; at least 1 ms). Sentry answers in milliseconds; a request that
    /// takes longer usually hangs on a broken connection or proxy, and waiting for it holds
    /// back one of the [`CHECK_IN_REQUESTS_IN_FLIGHT`](crate::CHECK_IN_REQUESTS_IN_FLIGHT)
    /// requests. Only for the scheduler's own sender ([`CheckInSender::Http`]).
    pub fn check_in_request_timeout(mut self, timeout: Duration) -> Self {
        self.check_in_request_timeout = Some(timeout.max(Duration::from_millis(1)));
        self
    }

    /// The test kit's hooks.
    #[cfg(feature = "testing")]
    pub(crate) fn test_hooks(
        mut self,
        hooks: Hooks,
        sink: Arc<crate::testing::Sink>,
        states: StateMap,
    ) -> Self {
        self.hooks = hooks;
        self.sink = Some(sink);
        self.states = states;
        self
    }

    /// Collects the registered jobs, adds the dynamic ones and checks that every monitor
    /// slug is unique, that the Sentry client's `environment` is one Sentry accepts
    /// ([`Error::InvalidEnvironment`]) and that no job asks for `catch_up` without a
    /// coordinator to remember its runs.
    ///
    /// It also decides which jobs are off in this process: those whose `environments` do
    /// not include the environment of the Sentry client bound now (`production` when it has
    /// none, or there is no client: where Sentry files check-ins without an environment),
    /// and those switched off by `SENTRY_SCHEDULE_DISABLED` or
    /// [`disable_jobs`](Self::disable_jobs) ([`Error::UnknownDisabledSlug`] for a slug no
    /// job has).
    pub fn build(self) -> Result<Scheduler, Error> {
        let mut jobs = if self.registered_jobs {
            registry::registered_jobs()?
        } else {
            Vec::new()
        };
        jobs.extend(self.jobs);
        registry::sort_and_check_unique(&mut jobs)?;
        state::check_and_share(&mut jobs, self.states)?;
        check_client_environment()?;
        if self.coordinator.is_none() {
            check_catch_up_has_history(&jobs)?;
        }
        #[cfg(feature = "http")]
        let monitor_api = match self.sentry_api {
            Some((token, organization)) => {
                let api = monitor_mute::MonitorApi::new(token, organization, self.sentry_api_url);
                api.check()?;
                Some(api)
            }
            None => None,
        };
        let variable = std::env::var_os(off::DISABLED_VAR);
        let off = off::off_jobs(
            &jobs,
            &off::client_environment(),
            variable.as_deref().map(|v| v.to_string_lossy()).as_deref(),
            &self.disabled,
        )?;
        // Into a fresh buffer: `collect` would reuse the `Vec<Job>` allocation in place, and
        // keep its whole capacity (a `Job` per slot) alive for a pointer per job.
        let mut shared = Vec::with_capacity(jobs.len());
        shared.extend(jobs.into_iter().map(Arc::new));
        #[cfg_attr(not(feature = "testing"), allow(unused_mut))]
        let mut delivery = Delivery::new(
            self.check_in_sender,
            self.check_in_queue_capacity,
            self.check_in_request_timeout,
        );
        #[cfg(feature = "testing")]
        delivery.attach_kit(
            self.sink,
            self.check_in_queue_capacity,
            self.check_in_request_timeout,
        );
        Ok(Scheduler {
            shared: SchedulerHandle {
                jobs: shared.into(),
                off: Arc::new(off),
                clock: self.clock,
                delivery: Arc::new(delivery),
                claimer: self.coordinator.map(|coordinator| {
                    Arc::new(Claimer::new(
                        coordinator,
                        self.lease,
                        self.on_coordinator_error,
                        self.prune_every,
                    ))
                }),
                pauses: Arc::default(),
                #[cfg(feature = "http")]
                monitor_api,
            },
            shutdown_timeout: self.shutdown_timeout,
            shutdown_signal: self.shutdown_signal,
            hooks: self.hooks,
            allow_same_jobs_twice: self.allow_same_jobs_twice,
        })
    }
}

impl Scheduler {
    /// A builder with default options.
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }

    /// Every job, in slug order.
    pub fn jobs(&self) -> impl ExactSizeIterator<Item = &Job> + '_ {
        self.shared.jobs()
    }

    /// The job with this monitor slug.
    pub fn job(&self, slug: &str) -> Option<&Job> {
        self.shared.job(slug)
    }

    /// Why the job `slug` is off in this process, or `None` when it is on (or no job has
    /// `slug`). An off job is never scheduled; [`run_now`](Self::run_now) still runs it.
    pub fn off(&self, slug: &str) -> Option<&Off> {
        self.shared.off(slug)
    }

    /// The scheduler's wall-clock time: `job.upcoming(scheduler.now()).take(3)` lists the
    /// next runs.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    /// Runs the job `slug` once now, with its check-ins, its timeout and its state, and
    /// returns how it went; the scheduled instant of the run is [`Scheduler::now`]. It does
    /// not need [`Scheduler::run`] and does not claim the tick with the coordinator: it is
    /// for the `run <slug>` command ([`crate::scheduler::cli`]), tests and benchmarks.
    ///
    /// Fails with [`Error::UnknownSlug`] (naming the nearest slugs) when no job has `slug`.
    /// A job that is [off](Self::off) in this process runs too: this is an explicit
    /// operator action.
    /// Its check-ins are queued like those of scheduled runs and sent in the background. The
    /// `run <slug>` command flushes the queue and the Sentry client before it exits; code
    /// that calls `run_now` itself calls [`flush`](Self::flush) before the process exits.
    /// A scheduler dropped unflushed keeps sending for at most 5 s on its own thread, then
    /// counts and logs what is left (`dropped.shutdown` in [`check_ins`](Self::check_ins));
    /// a process that exits sooner loses it uncounted.
    ///
    /// ```no_run
    /// # async fn app(scheduler: sentry_schedule::Scheduler) -> Result<(), sentry_schedule::Error> {
    /// let report = scheduler.run_now("nightly-export").await?;
    /// // Both check-ins sent (or counted and logged as dropped) before going on.
    /// scheduler.flush(std::time::Duration::from_secs(5)).await;
    /// println!("{report}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_now(&self, slug: &str) -> Result<RunReport, Error> {
        self.handle().run_now(slug).await
    }

    /// Sends the queued check-ins, waiting at most `timeout` (real time), and flushes the
    /// Sentry client (at most 5 s), side by side; what is still unsent then is counted
    /// (`dropped.shutdown` in [`check_ins`](Self::check_ins)) and logged at warn level per
    /// monitor. Returns whether every queued check-in was sent or settled.
    ///
    /// [`run`](Self::run) does this itself at shutdown; call it after
    /// [`run_now`](Self::run_now) from code.
    pub async fn flush(&self, timeout: std::time::Duration) -> bool {
        shutdown::flush(&self.shared.delivery, timeout).await
    }

    /// Live counts of this scheduler's check-ins: queued, sent, retried, rate limited,
    /// dropped (by reason), pending. Take the handle before [`run`](Self::run); it stays
    /// valid while and after the scheduler runs.
    ///
    /// ```no_run
    /// # async fn app() -> Result<(), sentry_schedule::Error> {
    /// let scheduler = sentry_schedule::Scheduler::builder().build()?;
    /// let check_ins = scheduler.check_ins();
    /// scheduler.run().await?;
    /// let stats = check_ins.snapshot();
    /// println!("{} sent, {} dropped", stats.sent, stats.dropped.total());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_ins(&self) -> CheckInCounters {
        self.shared.delivery.counters()
    }

    /// The coordinator set with [`SchedulerBuilder::coordinator`], if any.
    pub fn coordinator(&self) -> Option<&Arc<dyn Coordinator>> {
        self.shared.claimer.as_ref().map(|c| &c.coordinator)
    }

    /// The last `limit` runs of the job `slug`, newest tick first, as the coordinator
    /// recorded them (owner, start, outcome, duration, take-overs): the run history of all
    /// replicas. Empty without a coordinator.
    pub async fn history(
        &self,
        slug: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, CoordinatorError> {
        self.handle().history(slug, limit).await
    }

    /// Pauses the job `slug` until `until` (`None`: until [`resume`](Self::resume)): its
    /// ticks are not run, send no check-in, and with a coordinator are recorded in the
    /// history as [`RunStatus::Paused`](crate::RunStatus::Paused). Pausing a paused job
    /// replaces its pause; a run already going on is not stopped.
    ///
    /// With a coordinator the pause is kept in its backend ([`Coordinator::pause`]): every
    /// replica honours it from its next claim, it survives restarts, and the `pause <slug>`
    /// command of any replica sets it. Without one it holds in this process only.
    ///
    /// Sentry does not know about the pause: it reports the ticks as missed check-ins (see
    /// the README's "Pausing a job" for muting the monitor meanwhile).
    ///
    /// Fails with [`Error::UnknownSlug`] when no job has `slug`, [`Error::Coordinator`] when
    /// the backend cannot store the pause.
    pub async fn pause(&self, slug: &str, until: Option<DateTime<Utc>>) -> Result<(), Error> {
        self.handle().pause(slug, until).await
    }

    /// Lifts the pause of the job `slug` (set by [`pause`](Self::pause) here or, with a
    /// coordinator, on any replica): its next tick runs. Resuming a job that is not paused
    /// does nothing. Fails like [`pause`](Self::pause).
    pub async fn resume(&self, slug: &str) -> Result<(), Error> {
        self.handle().resume(slug).await
    }

    /// The pauses in force among this scheduler's jobs (who paused what until when), in slug
    /// order: from the coordinator's backend, or this process's without one.
    pub async fn pauses(&self) -> Result<Vec<Pause>, Error> {
        self.handle().pauses().await
    }

    /// Runs every job on its schedule until the shutdown signal (Ctrl-C or SIGTERM unless
    /// set with [`SchedulerBuilder::shutdown_signal`]).
    ///
    /// On shutdown no new run starts; the cancellation token of every running run fires
    /// ([`JobContext::cancelled`](crate::JobContext::cancelled)), so jobs that watch it can
    /// wrap up — their own outcome counts; running runs get the shutdown timeout to finish;
    /// the rest are cancelled and reported as `error` ("interrupted by shutdown") — every
    /// `in_progress` check-in gets its final check-in — and the check-in queue and the
    /// Sentry client are flushed, within 5 s each (what is left unsent then is counted in
    /// [`check_ins`](Self::check_ins) and logged at warn level).
    ///
    /// Fails at once, before any job runs, with [`Error::NoJobs`] when the scheduler has no
    /// job (waiting forever for nothing hides a build mistake; see
    /// [`link_jobs!`](crate::link_jobs)) and with [`Error::AlreadyRunning`] when another
    /// scheduler of this process runs the same `#[scheduled]` jobs. When check-ins cannot
    /// reach Sentry (no client, or no DSN) it says so on stderr and runs anyway, printing
    /// the check-ins.
    pub async fn run(self) -> Result<(), Error> {
        // Again here: the client may have been bound after `build()`.
        check_client_environment()?;
        if self.shared.jobs.is_empty() {
            return Err(Error::NoJobs);
        }
        let _running = startup::mark_running(&self.shared.jobs, self.allow_same_jobs_twice)?;
        startup::warn_if_sentry_missing();
        // Listen before any job starts, so an early Ctrl-C is handled, not fatal.
        let mut signal: BoxedSignal = match self.shutdown_signal {
            Some(signal) => signal,
            None => shutdown::default_signal(),
        };
        let (jump_tx, jump_rx) = watch::channel(0);
        let env = Arc::new(
            RunEnv::new(
                Arc::clone(&self.shared.clock),
                jump_rx,
                self.shared.claimer.clone(),
                Arc::clone(&self.shared.delivery),
                Arc::clone(&self.shared.pauses),
            )
            .with_jitter_seed(self.hooks.jitter_seed),
        );
        let shutdown = env.shutdown.clone();
        let watcher = self.hooks.watch_clock.then(|| {
            tokio::spawn(clock_watch::watch_clock(
                Arc::clone(&self.shared.clock),
                jump_tx,
                shutdown.clone(),
            ))
        });
        let mut pruner = None;
        if let Some(claimer) = &self.shared.claimer {
            tracing::info!(
                replica = %claimer.coordinator.replica_id(),
                lease_ms = u64::try_from(claimer.lease.as_millis()).unwrap_or(u64::MAX),
                "coordinating with other replicas"
            );
            // Failures are logged and retried before each claim: start anyway.
            claimer.ensure_prepared().await;
            pruner = Some(tokio::spawn(
                Arc::clone(claimer).prune_loop(shutdown.clone()),
            ));
        }

        if !self.shared.off.is_empty() {
            tracing::info!(
                jobs = %off::describe(&self.shared.jobs, &self.shared.off),
                "jobs off in this process, never scheduled"
            );
        }
        let table: Arc<[JobEntry]> = self
            .shared
            .jobs
            .iter()
            .filter(|job| !self.shared.off.contains_key(&job.slug))
            .map(|job| {
                tracing::info!(
                    slug = %job.slug(),
                    schedule = %job.schedule(),
                    timezone = %job.timezone(),
                    "job scheduled"
                );
                JobEntry {
                    job: Arc::clone(job),
                    runs: Arc::new(RunSet::default()),
                }
            })
            .collect();
        if let Some(claimer) = &self.shared.claimer {
            start_coordination(claimer, &table, &env);
        }
        let mut dispatcher = tokio::spawn(dispatch::dispatch(Arc::clone(&table), Arc::clone(&env)));
        let mut dispatcher_ended = false;
        loop {
            tokio::select! {
                () = &mut signal => break,
                ended = &mut dispatcher, if !dispatcher_ended => {
                    dispatcher_ended = true;
                    log_dispatcher_end(ended);
                }
            }
        }
        env.stop();
        if let Some(claimer) = &self.shared.claimer {
            claimer.stop_claiming();
        }
        if !dispatcher_ended {
            log_dispatcher_end(dispatcher.await);
        }
        if let Some(Err(e)) = match watcher {
            Some(watcher) => Some(watcher.await),
            None => None,
        } {
            tracing::error!(error = %e, "the clock watch died");
        }
        if let Some(Err(e)) = match pruner {
            Some(pruner) => Some(pruner.await),
            None => None,
        } {
            tracing::error!(error = %e, "the claim pruner died");
        }
        shutdown::stop_runs(
            &env.tracker,
            &table,
            self.shutdown_timeout,
            &self.shared.delivery,
        )
        .await;
        if let Some(claimer) = &self.shared.claimer {
            // After the last run: its outcome is written before the scheduler returns.
            claimer.close().await;
        }
        tracing::info!("scheduler stopped");
        Ok(())
    }
}

/// Starts the replica's coordination tasks for the jobs of `table`; the ticks its take-over
/// sweep takes over run through the pipeline like any other won tick.
fn start_coordination(claimer: &Arc<Claimer>, table: &Arc<[JobEntry]>, env: &Arc<RunEnv>) {
    let by_slug: HashMap<String, usize> = table
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.job.slug.to_string(), index))
        .collect();
    let catch_up = table
        .iter()
        .filter_map(|entry| entry.job.policy.catch_up)
        .max()
        .unwrap_or_default();
    let slugs = by_slug.keys().cloned().collect();
    let (table, env_run) = (Arc::clone(table), Arc::clone(env));
    claimer.start(slugs, env.clock.now(), catch_up, move |lease| {
        let entry = by_slug
            .get(lease.slug())
            .and_then(|index| table.get(*index));
        if let Some(entry) = entry {
            pipeline::start_taken_over(entry, lease, &env_run);
        }
    });
}

/// The environment of the bound Sentry client, as Sentry accepts it in check-ins
/// (`sentry_schedule_core::environment::check_environment`): otherwise Sentry would drop
/// every check-in, so the scheduler does not start.
fn check_client_environment() -> Result<(), Error> {
    let Some(client) = sentry::Hub::current().client() else {
        return Ok(());
    };
    match client.options().environment.as_deref() {
        Some(environment) => sentry_schedule_core::environment::check_environment(environment)
            .map_err(|rule| Error::InvalidEnvironment {
                environment: environment.to_owned(),
                rule,
            }),
        None => Ok(()),
    }
}

/// `catch_up` runs a missed tick found in the coordinator's run history; without a
/// coordinator there is none, and the option would silently do nothing.
fn check_catch_up_has_history(jobs: &[Job]) -> Result<(), Error> {
    match jobs.iter().find(|job| job.catch_up().is_some()) {
        None => Ok(()),
        Some(job) => Err(Error::InvalidJob {
            job: job.describe(),
            problems: vec!["`catch_up` needs a coordinator that keeps run history \
                 (`Scheduler::builder().coordinator(..)`, e.g. PostgreSQL); without one no \
                 missed tick is ever found and the option does nothing"
                .to_owned()],
        }),
    }
}

fn log_dispatcher_end(ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        tracing::error!(error = %e, "the dispatcher died; no job is scheduled any more");
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.shared.jobs)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field(
                "coordinator",
                &self
                    .shared
                    .claimer
                    .as_ref()
                    .map(|c| c.coordinator.replica_id()),
            )
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SchedulerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerBuilder")
            .field("jobs", &self.jobs)
            .field("registered_jobs", &self.registered_jobs)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}
