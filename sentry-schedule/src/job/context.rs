//! The per-run context handed to jobs.
use crate::ids::{HexId, RunIds};
use crate::job::cancel::RunCancel;
use crate::job::state::{State, StateMap};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a run knows about itself: slug, scheduled instant, check-in id, trace id and
/// a cancellation token that fires on timeout, replacement or shutdown, and the values
/// registered with [`SchedulerBuilder::state`](crate::SchedulerBuilder::state).
///
/// A `#[scheduled]` fn receives it by taking a `JobContext` parameter; a job built at run
/// time receives it as its closure's argument.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) slug: Arc<str>,
    pub(crate) scheduled: DateTime<Utc>,
    pub(crate) check_in_id: HexId,
    pub(crate) trace_id: HexId,
    pub(crate) cancel: RunCancel,
    pub(crate) states: Arc<StateMap>,
    pub(crate) fencing_token: Option<u64>,
}

impl JobContext {
    /// A context for calling a job fn directly, e.g. from a test: a fresh check-in id and
    /// trace id, a cancellation token that fires only when cancelled through
    /// [`JobContext::cancellation_token`], and no state until added with
    /// [`JobContext::with_state`].
    ///
    /// ```
    /// use sentry_schedule::{JobContext, State};
    ///
    /// let ctx = JobContext::new("nightly-export", chrono::Utc::now()).with_state(42_u32);
    /// assert_eq!(ctx.state::<u32>().map(|n| *n), Some(42));
    /// ```
    pub fn new(slug: impl Into<Arc<str>>, scheduled: DateTime<Utc>) -> Self {
        let ids = RunIds::new();
        Self {
            slug: slug.into(),
            scheduled,
            check_in_id: ids.check_in_id,
            trace_id: ids.trace_id_hex,
            cancel: RunCancel::new(),
            states: Arc::new(StateMap::default()),
            fencing_token: None,
        }
    }

    /// Sets the [fencing token](JobContext::fencing_token), e.g. to test a job's guarded
    /// writes.
    #[must_use]
    pub fn with_fencing_token(mut self, token: u64) -> Self {
        self.fencing_token = Some(token);
        self
    }

    /// Adds a value that [`JobContext::state`] and `State<T>` parameters can get.
    #[must_use]
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.states).insert(Arc::new(value));
        self
    }

    /// The value of type `T` registered with
    /// [`SchedulerBuilder::state`](crate::SchedulerBuilder::state), if any.
    ///
    /// `#[scheduled]` fns take a `State<T>` parameter instead, which the scheduler checks
    /// at start-up; closures of jobs built at run time call this.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.states.get::<T>()
    }

    /// The job's monitor slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The instant this run was scheduled for (before jitter).
    pub fn scheduled(&self) -> DateTime<Utc> {
        self.scheduled
    }

    /// The run's check-in id (32 hex digits), the same in both of its check-ins.
    pub fn check_in_id(&self) -> &str {
        self.check_in_id.as_str()
    }

    /// The run's trace id (32 hex digits): events with it are linked to the check-in.
    pub fn trace_id(&self) -> &str {
        self.trace_id.as_str()
    }

    /// The fencing token of the claim this run holds: it strictly increases each time a tick
    /// of this job is claimed or taken over, so a system the job writes to can refuse the
    /// writes of a replica that lost its lease while paused (see
    /// [Fencing tokens](crate::coordinator#fencing-tokens)):
    ///
    /// ```no_run
    /// # #[cfg(feature = "postgres")]
    /// # async fn demo(
    /// #     ctx: sentry_schedule::JobContext,
    /// #     pool: sentry_schedule::coordinator::sqlx::PgPool,
    /// # ) -> Result<(), Box<dyn std::error::Error>> {
    /// use sentry_schedule::coordinator::sqlx;
    ///
    /// let token = i64::try_from(ctx.fencing_token().ok_or("no claim held")?)?;
    /// let written = sqlx::query(
    ///     "UPDATE report_state SET body = $2, fencing_token = $1 \
    ///      WHERE name = 'daily' AND fencing_token < $1",
    /// )
    /// .bind(token)
    /// .bind("the report")
    /// .execute(&pool)
    /// .await?;
    /// if written.rows_affected() == 0 {
    ///     return Err("a newer claim of this job wrote first: this run lost its lease".into());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// `None` when the run holds no claim: no coordinator is configured, the run was started
    /// on demand (`run_now`), or the backend was unreachable and the tick ran unclaimed
    /// ([`OnCoordinatorError::RunAnyway`](crate::coordinator::OnCoordinatorError::RunAnyway)).
    pub fn fencing_token(&self) -> Option<u64> {
        self.fencing_token
    }

    /// Fires when the run should stop: timeout, replacement by a newer run, or shutdown.
    /// A job that stops within the grace period ends cleanly; otherwise its future is dropped.
    pub fn cancellation_token(&self) -> &CancellationToken {
        self.cancel.token()
    }

    /// Whether the run was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_signalled()
    }

    /// Completes when the run is asked to stop; use it in `tokio::select!`.
    pub async fn cancelled(&self) {
        if !self.cancel.is_signalled() {
            self.cancel.token().cancelled().await;
        }
    }
}
