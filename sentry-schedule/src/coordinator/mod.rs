//! Coordination of several replicas: each tick of a job runs once, whichever replica wins it.
//!
//! Run the same binary on N replicas and give each scheduler the same [`Coordinator`]
//! backend. Before a run, the scheduler *claims* the tick `(slug, scheduled time)`; exactly one
//! replica wins the claim, runs the job and sends its check-ins; the others skip the tick.
//!
//! | backend | feature | guarantee |
//! | --- | --- | --- |
//! | [`InProcess`] (default) | — | one process: always wins, keeps a short history in memory |
//! | `Postgres` | `postgres` | once per tick while leases are honoured; survives restarts; the claim table is the run history |
//! | `Redis` | `redis` | the same protocol, best-effort: a failover to a replica that had not received the claim key yet can let a tick run twice |
//!
//! Give the backend to the scheduler with
//! [`SchedulerBuilder::coordinator`](crate::SchedulerBuilder::coordinator) (lease, failure policy
//! and pruning are options next to it); the scheduler then claims every tick, keeps the lease
//! while the run goes on, records the outcome, catches up missed ticks at start-up
//! (`catch_up`) and exposes the history through [`Scheduler::history`](crate::Scheduler::history).
//! Without one, the scheduler is a single process and claims nothing.
//!
//! # The protocol
//!
//! * **claim** — a row keyed by `(slug, tick)` is inserted if absent (`ON CONFLICT DO NOTHING`
//!   in PostgreSQL, a script in Redis). The inserter wins and holds a *lease* until
//!   `now + lease`, with `now` read from the database's clock, never the replica's. The
//!   scheduler claims all the ticks due at one instant in one [`Coordinator::claim_many`].
//! * **renew** — while the job runs, the winner extends its lease: one
//!   [`Coordinator::renew_many`] per third of the lease for every claim the replica holds.
//! * **take over** — a replica that lost the claim does not watch the tick: every third of the
//!   lease, each replica asks for the unfinished claims of its jobs whose lease has expired
//!   ([`Coordinator::expired_claims`]) and tries to take each over
//!   ([`Coordinator::take_over`]): exactly one replica succeeds, and it runs the tick.
//! * **finish** — the winner records the outcome and duration, batched with the others that
//!   ended meanwhile ([`Coordinator::finish_many`]); the claim stays held until then, and the
//!   row becomes history.
//!
//! * **pause** — [`Coordinator::pause`] stores a pause of a job in the backend; every claim of
//!   a new tick of it (same statement, no extra round trip) records the tick as
//!   [`RunStatus::Paused`] and answers [`Claim::Paused`] to every replica, until
//!   [`Coordinator::resume`] or the pause's end.
//!
//! # The guarantee, exactly
//!
//! While every replica that holds a claim renews it before its lease expires, a tick runs at most
//! once, and — if any replica is alive to take it over — at least once. A replica that is paused
//! (stopped process, long GC-like stall, network partition) for longer than the lease loses its
//! lease without knowing it: another replica takes the tick over and runs it, and the paused one
//! goes on running it when it wakes up. Its next renewal then fails (the scheduler logs the lost
//! lease and stops the run) and its finish is not recorded. Jobs should therefore be **idempotent**, and the lease
//! longer than the longest pause you expect.
//!
//! # Fencing tokens
//!
//! A replica paused past its lease does not know it lost the tick, so a write it makes when it
//! wakes can land after the write of the replica that took the tick over. Every won claim and
//! every take-over therefore carries a *fencing token* ([`ClaimToken::fencing_token`], in the
//! job as [`JobContext::fencing_token`](crate::JobContext::fencing_token)): a number that
//! strictly increases each time a tick of the job is claimed or taken over, drawn from the
//! backend in the claiming statement itself (PostgreSQL: an identity column of the claim
//! table, whose sequence also renumbers a take-over; Redis: `INCR` of a per-job counter
//! inside the claim script; [`InProcess`]: a counter). Tokens are unique across all jobs of a
//! backend, not consecutive. Give it to the systems the job writes to and let them refuse a
//! write whose token is lower than the last one they accepted:
//!
//! ```sql
//! -- $1: ctx.fencing_token(); the write of a replica that lost its lease matches no row.
//! UPDATE report_state SET body = $2, fencing_token = $1
//!  WHERE name = 'daily' AND fencing_token < $1;
//! ```
//!
//! A run that holds no claim has no token: without a coordinator, a run started by
//! `run_now`, or a tick run unclaimed because the backend was unreachable
//! ([`OnCoordinatorError::RunAnyway`]).
//!
//! # When the backend is unreachable
//!
//! A claim that fails (database down, timeout) returns `Err`: no replica can prove that it won.
//! The default policy, [`OnCoordinatorError::Skip`], skips the tick, logs it and captures an
//! error event; [`OnCoordinatorError::RunAnyway`] (fail open) runs it on every replica that
//! could not reach the backend. Nothing needs restarting when the backend comes back: the
//! PostgreSQL pool and the Redis connection manager reconnect by themselves, and the next claim
//! succeeds.
use chrono::{DateTime, Utc};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) mod claimer;
mod in_process;
#[allow(dead_code)]
mod outcomes;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[allow(dead_code)]
pub(crate) mod renewals;
#[allow(dead_code)]
pub(crate) mod replica;
#[allow(dead_code)]
mod sweep;
#[cfg(test)]
mod test_support;

pub use in_process::InProcess;
#[cfg(feature = "postgres")]
pub use postgres::{Postgres, PostgresOptions};
#[cfg(feature = "redis")]
pub use redis::{Redis, RedisOptions};
/// The sqlx release the [`Postgres`] coordinator's pool comes from.
#[cfg(feature = "postgres")]
pub use sqlx;

/// The boxed future returned by the methods of a [`Coordinator`].
pub type CoordinatorFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, CoordinatorError>> + Send + 'a>>;

/// The lease used when none is configured: long enough for a stalled replica to renew,
/// short enough for a crashed one to be taken over quickly.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// How many of each job's newest claims the default [`Coordinator::expired_claims`] reads.
pub const EXPIRED_SCAN: usize = 16;

/// The most claims one backend call claims, renews or finishes: the replica's coordination
/// tasks split larger batches, one call after the other, so that each stays well within the
/// coordinator's time-out (a claim of 10,000 ticks takes about 0.25 s of PostgreSQL's time on
/// a loaded 2-core machine; the time-out is 10 s). Up to this many jobs due at one instant
/// are claimed in one statement per replica: chunks of 1,000 made 10,000 jobs ten claims one
/// after the other, and start lag p99 464 ms where one claim gives 156 ms.
pub(crate) const BATCH_MAX: usize = 10_000;

/// How long finished claims are kept as history when no retention is configured.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A backend that decides which replica runs each tick. See the [module docs](self).
///
/// Implementations must use one clock for every replica (the backend's) and must make
/// `claim`, `take_over` and each tick of `claim_many` atomic: among concurrent callers at most
/// one gets [`Claim::Won`] for a tick.
pub trait Coordinator: Send + Sync + 'static {
    /// A name of this replica, recorded as the owner of the claims it wins.
    fn replica_id(&self) -> &str;

    /// Whether claims survive the process (false for [`InProcess`]). Catch-up of missed
    /// ticks needs a persistent coordinator; with another one it is skipped.
    fn is_persistent(&self) -> bool {
        true
    }

    /// Creates or migrates what the backend needs (tables, …). Idempotent; called once at
    /// start-up before the first claim.
    fn prepare(&self) -> CoordinatorFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Claims the tick `(slug, tick)` for `lease`. Exactly one of concurrent callers wins.
    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim>;

    /// Takes over an unfinished tick whose lease has expired (its holder died or stalled).
    /// Wins for exactly one caller; [`Claim::Lost`] when the lease is still running or the tick
    /// has finished. A tick nobody has claimed is claimed.
    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim>;

    /// Extends the lease of a won claim to `now + lease`. `Ok(false)`: the claim is no longer
    /// ours (another replica took it over, or it was pruned): stop as soon as possible.
    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool>;

    /// Records the end of a run. `Ok(false)`: the claim was no longer ours, nothing recorded.
    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool>;

    /// Claims every tick of `ticks` (`(slug, tick)` pairs, distinct) for `lease`: one answer
    /// per tick, in the order of `ticks`, each as [`Coordinator::claim`] would give it.
    ///
    /// The scheduler calls it once per instant with every job due then, so backends should
    /// answer in one round trip whatever the number of ticks (the PostgreSQL and Redis
    /// backends do). The default claims one tick after the other. On `Err` no tick counts as
    /// won; a tick the backend recorded as claimed before the error (possible only when the
    /// backend does not claim the batch atomically, as the default) is taken over by
    /// [`Coordinator::expired_claims`]' sweep once its lease has expired.
    fn claim_many<'a>(
        &'a self,
        ticks: &'a [(&'a str, DateTime<Utc>)],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<Claim>> {
        Box::pin(async move {
            let mut claims = Vec::with_capacity(ticks.len());
            for (slug, tick) in ticks {
                claims.push(self.claim(slug, *tick, lease).await?);
            }
            Ok(claims)
        })
    }

    /// Extends the leases of all `tokens` to `now + lease`: one answer per token, in order,
    /// each as [`Coordinator::renew`] would give it (`false`: no longer ours).
    ///
    /// One renewal task per replica calls it with every claim it holds, once per renewal
    /// period; backends should answer in one round trip. The default renews one by one.
    fn renew_many<'a>(
        &'a self,
        tokens: &'a [ClaimToken],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(async move {
            let mut renewed = Vec::with_capacity(tokens.len());
            for token in tokens {
                renewed.push(self.renew(token, lease).await?);
            }
            Ok(renewed)
        })
    }

    /// Records the end of several runs: one answer per run, in order, each as
    /// [`Coordinator::finish`] would give it (`false`: no longer ours, nothing recorded).
    ///
    /// Outcomes are written in batches; backends should answer in one round trip. The default
    /// finishes one by one. On `Err` the caller retries the whole batch: finishing a claim
    /// twice with the same token records it once and answers `false` the second time.
    fn finish_many<'a>(
        &'a self,
        runs: &'a [(ClaimToken, RunOutcome)],
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        Box::pin(async move {
            let mut finished = Vec::with_capacity(runs.len());
            for (token, outcome) in runs {
                finished.push(self.finish(token, outcome).await?);
            }
            Ok(finished)
        })
    }

    /// The unfinished claims of `slugs` whose lease has expired (their holder died or
    /// stalled), with a tick at or after `since`, as `(slug, tick)` in no particular order:
    /// what a replica's take-over sweep passes to [`Coordinator::take_over`].
    ///
    /// Expiry is judged on the backend's clock; backends should answer in one round trip
    /// whatever the number of slugs. `since` bounds the answer: a claim abandoned long ago
    /// (say, by a whole fleet stopped yesterday) is not run late by the sweep, catch-up decides
    /// about it.
    ///
    /// The default reads the newest [`EXPIRED_SCAN`] claims of each slug's
    /// [`history`](Coordinator::history) and compares their lease with this replica's clock.
    /// A skewed clock only makes the sweep early or late, never a run twice:
    /// [`Coordinator::take_over`] checks expiry again, atomically, on the backend.
    fn expired_claims<'a>(
        &'a self,
        slugs: &'a [&'a str],
        since: DateTime<Utc>,
    ) -> CoordinatorFuture<'a, Vec<(String, DateTime<Utc>)>> {
        Box::pin(async move {
            let now = Utc::now();
            let mut expired = Vec::new();
            for slug in slugs {
                for record in self.history(slug, EXPIRED_SCAN).await? {
                    if record.tick >= since
                        && record.finished_at.is_none()
                        && record.lease_until < now
                    {
                        expired.push((record.slug, record.tick));
                    }
                }
            }
            Ok(expired)
        })
    }

    /// The latest tick of `slug` that any replica claimed (for catch-up).
    fn last_claimed_tick<'a>(
        &'a self,
        slug: &'a str,
    ) -> CoordinatorFuture<'a, Option<DateTime<Utc>>>;

    /// The last `limit` claims of `slug`, newest tick first: the run history.
    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>>;

    /// Deletes claims of ticks older than the configured retention whose runs finished or whose
    /// leases expired; returns how many. Backends that expire entries by themselves return 0.
    fn prune(&self) -> CoordinatorFuture<'_, u64>;
    /// Pauses the job `slug` until `until` (`None`: until [`Coordinator::resume`]), recorded
    /// as paused by `by`: from now on every claim of a new tick of it answers
    /// [`Claim::Paused`] to every replica and records the tick in the history as
    /// [`RunStatus::Paused`]. Pausing a paused job replaces its pause. Ticks claimed before
    /// the pause go on (and are taken over as usual).
    ///
    /// The default fails: a backend that does not store pauses cannot make every replica
    /// honour one.
    fn pause<'a>(
        &'a self,
        slug: &'a str,
        until: Option<DateTime<Utc>>,
        by: &'a str,
    ) -> CoordinatorFuture<'a, ()> {
        let _ = (slug, until, by);
        Box::pin(async { Err(CoordinatorError::Config(PAUSE_UNSUPPORTED.into())) })
    }

    /// Lifts the pause of `slug`; `Ok(false)` when it was not paused (or its pause had
    /// expired). The default fails like [`Coordinator::pause`].
    fn resume<'a>(&'a self, slug: &'a str) -> CoordinatorFuture<'a, bool> {
        let _ = slug;
        Box::pin(async { Err(CoordinatorError::Config(PAUSE_UNSUPPORTED.into())) })
    }

    /// The pauses in force among the jobs `slugs` (expired ones left out), in any order.
    /// The default: none.
    fn pauses<'a>(&'a self, slugs: &'a [&'a str]) -> CoordinatorFuture<'a, Vec<Pause>> {
        let _ = slugs;
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl<C: Coordinator + ?Sized> Coordinator for Arc<C> {
    fn replica_id(&self) -> &str {
        (**self).replica_id()
    }
    fn is_persistent(&self) -> bool {
        (**self).is_persistent()
    }
    fn prepare(&self) -> CoordinatorFuture<'_, ()> {
        (**self).prepare()
    }
    fn claim<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        (**self).claim(slug, tick, lease)
    }
    fn take_over<'a>(
        &'a self,
        slug: &'a str,
        tick: DateTime<Utc>,
        lease: Duration,
    ) -> CoordinatorFuture<'a, Claim> {
        (**self).take_over(slug, tick, lease)
    }
    fn renew<'a>(&'a self, token: &'a ClaimToken, lease: Duration) -> CoordinatorFuture<'a, bool> {
        (**self).renew(token, lease)
    }
    fn finish<'a>(
        &'a self,
        token: &'a ClaimToken,
        outcome: &'a RunOutcome,
    ) -> CoordinatorFuture<'a, bool> {
        (**self).finish(token, outcome)
    }
    fn claim_many<'a>(
        &'a self,
        ticks: &'a [(&'a str, DateTime<Utc>)],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<Claim>> {
        (**self).claim_many(ticks, lease)
    }
    fn renew_many<'a>(
        &'a self,
        tokens: &'a [ClaimToken],
        lease: Duration,
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        (**self).renew_many(tokens, lease)
    }
    fn finish_many<'a>(
        &'a self,
        runs: &'a [(ClaimToken, RunOutcome)],
    ) -> CoordinatorFuture<'a, Vec<bool>> {
        (**self).finish_many(runs)
    }
    fn expired_claims<'a>(
        &'a self,
        slugs: &'a [&'a str],
        since: DateTime<Utc>,
    ) -> CoordinatorFuture<'a, Vec<(String, DateTime<Utc>)>> {
        (**self).expired_claims(slugs, since)
    }
    fn last_claimed_tick<'a>(
        &'a self,
        slug: &'a str,
    ) -> CoordinatorFuture<'a, Option<DateTime<Utc>>> {
        (**self).last_claimed_tick(slug)
    }
    fn history<'a>(&'a self, slug: &'a str, limit: usize) -> CoordinatorFuture<'a, Vec<RunRecord>> {
        (**self).history(slug, limit)
    }
    fn prune(&self) -> CoordinatorFuture<'_, u64> {
        (**self).prune()
    }
    fn pause<'a>(
        &'a self,
        slug: &'a str,
        until: Option<DateTime<Utc>>,
        by: &'a str,
    ) -> CoordinatorFuture<'a, ()> {
        (**self).pause(slug, until, by)
    }
    fn resume<'a>(&'a self, slug: &'a str) -> CoordinatorFuture<'a, bool> {
        (**self).resume(slug)
    }
    fn pauses<'a>(&'a self, slugs: &'a [&'a str]) -> CoordinatorFuture<'a, Vec<Pause>> {
        (**self).pauses(slugs)
    }
}

/// The answer to [`Coordinator::claim`] and [`Coordinator::take_over`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This replica runs the tick; renew with the token while it runs, then finish.
    Won(ClaimToken),
    /// Another replica holds or has finished the tick.
    Lost(Holder),
    /// The job is paused ([`Coordinator::pause`]): nobody runs the tick, which the history
    /// records as [`RunStatus::Paused`].
    Paused,
}

/// What the default [`Coordinator::pause`] and [`Coordinator::resume`] fail with.
const PAUSE_UNSUPPORTED: &str = "this coordinator cannot pause jobs (it has no place to keep \
                                 the pause where every replica sees it)";

/// A job paused with [`Coordinator::pause`]
/// ([`Scheduler::pause`](crate::Scheduler::pause)): no replica runs its ticks until `until`,
/// or until resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pause {
    /// The job's monitor slug.
    pub slug: String,
    /// Who paused it (the replica id of the scheduler that did).
    pub by: String,
    /// When it was paused (backend clock).
    pub since: DateTime<Utc>,
    /// When the pause ends by itself; `None`: when resumed.
    pub until: Option<DateTime<Utc>>,
}

impl Pause {
    /// A pause, as a backend read it.
    pub fn new(
        slug: impl Into<String>,
        by: impl Into<String>,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            slug: slug.into(),
            by: by.into(),
            since,
            until,
        }
    }

    /// Whether the pause is in force at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|until| until > now)
    }
}

/// Who has the tick of a lost claim: the replica that holds it, or finished it, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The replica that holds (or finished) the tick.
    pub owner: String,
    /// The end of its lease, on the backend's clock.
    pub lease_until: DateTime<Utc>,
    /// How long until the lease expires, measured by the backend (free of clock skew between
    /// replicas): wait this long, then [`Coordinator::take_over`]. Zero when already expired.
    pub retry_in: Duration,
    /// The run of the tick has finished: nothing to take over.
    pub finished: bool,
}

/// Proof of a won claim, needed to renew and finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken {
    /// The job's monitor slug.
    pub slug: String,
    /// The scheduled time of the tick.
    pub tick: DateTime<Utc>,
    /// Unique per won claim; a take-over gets a new one, which invalidates the old.
    pub token: String,
    /// The end of the lease when it was won, on the backend's clock.
    pub lease_until: DateTime<Utc>,
    /// The claim's fencing token: greater than that of every earlier claim or take-over of
    /// a tick of this job, handed to the run as
    /// [`JobContext::fencing_token`](crate::JobContext::fencing_token). See
    /// [Fencing tokens](self#fencing-tokens).
    pub fencing_token: u64,
}

/// How a run ended: in a [`RunReport`](crate::RunReport), and as a coordinator records it
/// in the run history. Also `sentry_schedule::RunStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunStatus {
    /// The job returned success.
    Ok,
    /// The job returned an error.
    Error,
    /// The job panicked.
    Panicked,
    /// The job exceeded its timeout and was stopped.
    TimedOut,
    /// The run was cancelled (shutdown deadline, `overlap = "replace"`).
    Cancelled,
    /// The tick was not run: the job was paused ([`Coordinator::pause`]).
    Paused,
}

impl RunStatus {
    /// The name stored in the backend: `ok`, `error`, `panicked`, `timed_out`, `cancelled`,
    /// `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Error => "error",
            RunStatus::Panicked => "panicked",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Paused => "paused",
        }
    }

    /// Parses [`RunStatus::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "ok" => RunStatus::Ok,
            "error" => RunStatus::Error,
            "panicked" => RunStatus::Panicked,
            "timed_out" => RunStatus::TimedOut,
            "cancelled" => RunStatus::Cancelled,
            "paused" => RunStatus::Paused,
            _ => return None,
        })
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Coordinator::finish`] records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// How the run ended.
    pub status: RunStatus,
    /// How long it ran.
    pub duration: Duration,
    /// A short description of the failure, if any (cut to [`RunOutcome::MAX_MESSAGE`] bytes).
    pub message: Option<String>,
}

impl RunOutcome {
    /// The longest message stored.
    pub const MAX_MESSAGE: usize = 1024;

    /// An outcome without message.
    pub fn new(status: RunStatus, duration: Duration) -> Self {
        Self {
            status,
            duration,
            message: None,
        }
    }

    /// The message cut to [`RunOutcome::MAX_MESSAGE`] bytes at a character boundary.
    pub(crate) fn stored_message(&self) -> Option<&str> {
        self.message.as_deref().map(|m| {
            let mut end = m.len().min(Self::MAX_MESSAGE);
            while !m.is_char_boundary(end) {
                end -= 1;
            }
            m.get(..end).unwrap_or_default()
        })
    }
}

/// One tick of a job as the backend knows it: a line of the run history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The job's monitor slug.
    pub slug: String,
    /// The scheduled time of the tick.
    pub tick: DateTime<Utc>,
    /// The replica that ran (or runs) it: the last one to win or take it over.
    pub owner: String,
    /// When the tick was first claimed (backend clock).
    pub claimed_at: DateTime<Utc>,
    /// When the current owner started it: its tick, or when it was claimed if that was later
    /// (a claim is made shortly before its tick; later than `claimed_at` after a take-over).
    pub started_at: DateTime<Utc>,
    /// End of the current lease (backend clock).
    pub lease_until: DateTime<Utc>,
    /// When it finished; `None` while running or when its owner died.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended; `None` while unfinished.
    pub status: Option<RunStatus>,
    /// How long it ran, as measured by the owner.
    pub duration: Option<Duration>,
    /// The failure message, if any.
    pub message: Option<String>,
    /// How many times the tick was taken over from a replica whose lease expired.
    pub takeovers: u32,
    /// The fencing token of the current owner's claim; `None` for a claim written by a
    /// release without fencing tokens.
    pub fencing_token: Option<u64>,
}

/// What the scheduler does with a tick whose claim failed because the backend is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnCoordinatorError {
    /// Skip the tick (no replica can prove it won), log and capture an error event. Default.
    #[default]
    Skip,
    /// Fail open: run the tick anyway, on every replica that could not reach the backend.
    RunAnyway,
}

/// Why a coordinator call failed. Its `Debug` is its `Display`.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    /// The backend did not answer within the configured time.
    #[error("the coordinator did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend failed (unreachable, query error, …).
    #[error("coordinator backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The backend answered something this version cannot read (a newer schema, a corrupted
    /// entry, …).
    #[error("coordinator data error: {0}")]
    Data(String),
    /// A configuration value was rejected (schema or table name, key prefix, …).
    #[error("invalid coordinator configuration: {0}")]
    Config(String),
}

crate::error::debug_as_display!(CoordinatorError);

#[cfg(any(feature = "postgres", feature = "redis"))]
impl CoordinatorError {
    pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        CoordinatorError::Backend(Box::new(error))
    }
}

/// The tick to run at start-up for catch-up: the latest of `due_ticks` (the ticks of the
/// catch-up window that are already due, in any order) that is later than the last claimed tick.
/// Several missed ticks are coalesced into this one run; `None` when nothing was missed.
///
/// Claim the returned tick like any other: the claim makes it run on one replica only.
pub(crate) fn catch_up_tick(
    last_claimed: Option<DateTime<Utc>>,
    due_ticks: impl IntoIterator<Item = DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    due_ticks
        .into_iter()
        .filter(|tick| last_claimed.is_none_or(|last| *tick > last))
        .max()
}

/// Logs claims that failed (one line for a batch) and captures each as an error event tagged
/// with the job's slug, so an outage of the backend shows in Sentry even though no run (and
/// no check-in) happens.
pub(crate) fn report_claim_error(
    ticks: &[(&str, DateTime<Utc>)],
    error: &CoordinatorError,
    policy: OnCoordinatorError,
) {
    let action = match policy {
        OnCoordinatorError::Skip => "tick skipped",
        OnCoordinatorError::RunAnyway => "running anyway (fail open)",
    };
    // One line for the ticks of one instant, however many jobs were due.
    match ticks {
        [(slug, tick)] => {
            tracing::error!(monitor.slug = %slug, tick = %tick, %error, "coordinator unreachable; {action}");
        }
        _ => {
            let mut names: Vec<String> = ticks
                .iter()
                .take(10)
                .map(|(slug, tick)| format!("{slug}@{}", tick.to_rfc3339()))
                .collect();
            if ticks.len() > 10 {
                names.push(format!("and {} more", ticks.len() - 10));
            }
            tracing::error!(ticks = ticks.len(), names = %names.join(", "), %error, "coordinator unreachable; {action}");
        }
    }
    for (slug, tick) in ticks {
        sentry::with_scope(
            |scope| {
                scope.set_tag("monitor.slug", slug);
                scope.set_extra("tick", tick.to_rfc3339().into());
                scope.set_extra("action", action.into());
            },
            || sentry::capture_error(error),
        );
    }
}

/// A default replica id: host name (from `HOSTNAME`), process id and a random suffix, so two
/// processes never share one even on one host.
pub(crate) fn default_replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "replica".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        random.get(..8).unwrap_or(&random)
    )
}

/// `answers` if it has one answer per one of the `asked` items of a batch call, else a
/// [`CoordinatorError::Data`] naming `what` was asked (`"claiming 3 ticks"`).
pub(crate) fn one_each<T>(
    what: std::fmt::Arguments<'_>,
    asked: usize,
    answers: Vec<T>,
) -> Result<Vec<T>, CoordinatorError> {
    if answers.len() == asked {
        Ok(answers)
    } else {
        Err(CoordinatorError::Data(format!(
            "{what} got {} answers",
            answers.len()
        )))
    }
}

/// A fresh claim token.
pub(crate) fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(any(feature = "postgres", feature = "redis"))]
/// Milliseconds of a duration, saturating, for backends that take integers.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The answer of a batch of one (a single renew or finish sent as a batch).
#[cfg(any(feature = "postgres", feature = "redis"))]
pub(crate) fn only(answers: Vec<bool>) -> Result<bool, CoordinatorError> {
    match answers[..] {
        [answer] => Ok(answer),
        _ => Err(CoordinatorError::Data(format!(
            "one call got {} answers",
            answers.len()
        ))),
    }
}

/// Runs a backend call with a deadline.
#[cfg(any(feature = "postgres", feature = "redis"))]
pub(crate) async fn with_timeout<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, CoordinatorError>>,
) -> Result<T, CoordinatorError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(CoordinatorError::Timeout(limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, minute, 0).unwrap()
    }

    #[test]
    fn catch_up_runs_the_latest_missed_tick_once() {
        assert_eq!(
            catch_up_tick(Some(at(0)), [at(10), at(30), at(20)]),
            Some(at(30))
        );
    }

    #[test]
    fn catch_up_is_empty_when_the_last_tick_was_claimed() {
        assert_eq!(catch_up_tick(Some(at(30)), [at(10), at(20), at(30)]), None);
        assert_eq!(catch_up_tick(Some(at(0)), []), None);
    }

    #[test]
    fn catch_up_without_any_claim_runs_the_latest_due_tick() {
        assert_eq!(catch_up_tick(None, [at(10), at(20)]), Some(at(20)));
    }

    #[test]
    fn status_names_round_trip() {
        for status in [
            RunStatus::Ok,
            RunStatus::Error,
            RunStatus::Panicked,
            RunStatus::TimedOut,
            RunStatus::Cancelled,
            RunStatus::Paused,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunStatus::parse("missed"), None);
    }

    #[test]
    fn stored_message_is_cut_at_a_char_boundary() {
        let mut outcome = RunOutcome::new(RunStatus::Error, Duration::ZERO);
        outcome.message = Some("é".repeat(RunOutcome::MAX_MESSAGE));
        let stored = outcome.stored_message().unwrap();
        assert!(stored.len() <= RunOutcome::MAX_MESSAGE);
        assert_eq!(stored.len(), RunOutcome::MAX_MESSAGE);
        outcome.message = Some(format!("a{}", "é".repeat(RunOutcome::MAX_MESSAGE)));
        assert_eq!(
            outcome.stored_message().unwrap().len(),
            RunOutcome::MAX_MESSAGE - 1
        );
    }
}
