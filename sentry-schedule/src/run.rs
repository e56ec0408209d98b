//! One run of a job: fresh hub and trace id, check-ins, panic and error capture.
//!
//! Interface used by the scheduler loop:
//! - [`RunCancel::new`], [`RunCancel::cancel`]: asks a run to stop (timeout, overlap replace,
//!   shutdown deadline); the run's `JobContext` token fires, after [`CANCEL_GRACE`] the future
//!   is dropped, and the run is reported `error` with the reason. [`RunCancel::token`] alone
//!   (firing it without a reason) only tells the job to wrap up; its own outcome counts.
//! - [`execute`]: performs one whole run including both check-ins; never panics; returns after
//!   the final check-in was handed to the transport.
mod report;
mod wait;

pub(crate) use report::human_duration;

use crate::checkin::{self, CheckIn, CheckInStatus};
use crate::clock::Clock;
use crate::context::JobContext;
use crate::job::{Job, RunFn};
use chrono::{DateTime, Utc};
use sentry::protocol::{SpanStatus, TraceId};
use sentry::{Hub, SentryFutureExt, TransactionContext};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How long a run may keep going after its token fired for a timeout or a cancel, before
/// its future is dropped.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// How a run ended. Every variant but `Ok` was reported `error` to Sentry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// The job returned `()` or `Ok(())`.
    Ok { duration: Duration },
    /// The job returned `Err`.
    Failed { duration: Duration, message: String },
    /// The job panicked.
    Panicked { duration: Duration, message: String },
    /// The job ran longer than its `timeout`.
    TimedOut { duration: Duration, after: Duration },
    /// [`RunCancel::cancel`] stopped the run.
    Cancelled { duration: Duration, reason: String },
}

#[allow(dead_code)] // Helpers for the scheduler side.
impl RunOutcome {
    /// How long the run took (monotonic clock).
    pub(crate) fn duration(&self) -> Duration {
        match self {
            Self::Ok { duration }
            | Self::Failed { duration, .. }
            | Self::Panicked { duration, .. }
            | Self::TimedOut { duration, .. }
            | Self::Cancelled { duration, .. } => *duration,
        }
    }

    /// Whether the run was reported `ok`.
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self, Self::Ok { .. })
    }

    /// One line saying what went wrong, `None` for `Ok`.
    pub(crate) fn failure(&self) -> Option<String> {
        match self {
            Self::Ok { .. } => None,
            Self::Failed { message, .. } => Some(message.clone()),
            Self::Panicked { message, .. } => Some(format!("panicked: {message}")),
            Self::TimedOut { after, .. } => Some(format!(
                "timed out after {}",
                report::human_duration(*after)
            )),
            Self::Cancelled { reason, .. } => Some(reason.clone()),
        }
    }
}

/// Asks a running job to stop, saying why.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunCancel {
    /// The token the job sees in its `JobContext`.
    token: CancellationToken,
    /// Fired by [`RunCancel::cancel`]: the run is stopped and reported with the reason.
    stop: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

#[allow(dead_code)] // Parts are for the scheduler side.
impl RunCancel {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Cancels the run; the first reason given wins. The reason completes the sentence
    /// "job `slug` …", e.g. `"interrupted by shutdown"`, `"replaced by a newer run"`.
    pub(crate) fn cancel(&self, reason: &str) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert_with(|| reason.to_owned());
        }
        self.token.cancel();
        self.stop.cancel();
    }

    /// The job-facing token. Firing it directly only asks the job to wrap up.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub(crate) fn reason(&self) -> Option<String> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// Runs `job` once for the tick `scheduled`, with both check-ins.
pub(crate) async fn execute(
    job: Arc<Job>,
    scheduled: DateTime<Utc>,
    cancel: RunCancel,
    clock: Arc<dyn Clock>,
) -> RunOutcome {
    let started = Instant::now();
    let ids = RunIds::new();
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    let transaction = hub.start_transaction(TransactionContext::new_with_trace_id(
        &job.slug,
        "cron",
        ids.trace_id,
    ));
    hub.configure_scope(|scope| {
        scope.set_tag("monitor.slug", &job.slug);
        scope.set_context("monitor", report::monitor_context(&job.slug, &ids));
        scope.set_span(Some(transaction.clone().into()));
    });
    // Created while the run's hub is current, so sentry-tracing parents its span on the
    // run's transaction and everything in the job shares the run's trace id.
    let span = Hub::run(hub.clone(), || {
        tracing::info_span!(
            "scheduled_job",
            slug = %job.slug,
            scheduled = %scheduled,
            check_in_id = %ids.check_in_id,
            trace_id = %ids.trace_id,
        )
    });
    let lateness = clock.now().signed_duration_since(scheduled);
    span.in_scope(|| {
        tracing::info!(
            late_ms = lateness.num_milliseconds(),
            "scheduled job `{}` started",
            job.slug
        );
    });

    send_check_in(&hub, &job, &ids, CheckInStatus::InProgress, None, None);

    let context = JobContext {
        slug: job.slug.clone(),
        scheduled,
        check_in_id: ids.check_in_id.clone(),
        trace_id: ids.trace_id.to_string(),
        cancel: cancel.token().clone(),
        states: Arc::clone(&job.states),
    };
    let start = job.run.clone();
    let task = tokio::spawn(
        async move {
            let future = match start {
                RunFn::Static(start) => start(&context),
                RunFn::Dynamic(start) => start(context),
            };
            future.await
        }
        .instrument(span.clone())
        .bind_hub(hub.clone()),
    );
    let ended = wait::wait(task, &job, &cancel).await;
    let duration = started.elapsed();

    let outcome = report::capture(&hub, &job.slug, ended, duration);
    span.in_scope(|| report::log(&job.slug, &outcome));
    // Closing the tracing span finishes its sentry-tracing child span, which must happen
    // before the transaction is finished to be part of it.
    drop(span);
    transaction.set_status(match &outcome {
        RunOutcome::Ok { .. } => SpanStatus::Ok,
        RunOutcome::TimedOut { .. } => SpanStatus::DeadlineExceeded,
        RunOutcome::Cancelled { .. } => SpanStatus::Cancelled,
        RunOutcome::Failed { .. } | RunOutcome::Panicked { .. } => SpanStatus::InternalError,
    });
    hub.configure_scope(|scope| scope.set_span(None));
    Hub::run(hub.clone(), || transaction.finish());

    let status = if outcome.is_ok() {
        CheckInStatus::Ok
    } else {
        CheckInStatus::Error
    };
    let failure = outcome.failure();
    send_check_in(&hub, &job, &ids, status, Some(duration), failure.as_deref());
    outcome
}

/// Builds one check-in of this run and delivers it, when the job is monitored.
fn send_check_in(
    hub: &Hub,
    job: &Job,
    ids: &RunIds,
    status: CheckInStatus,
    duration: Option<Duration>,
    failure: Option<&str>,
) {
    let Some(config) = &job.monitor else {
        return;
    };
    let trace_id = ids.trace_id.to_string();
    let check_in = CheckIn {
        check_in_id: &ids.check_in_id,
        monitor_slug: &job.slug,
        status,
        duration,
        trace_id: &trace_id,
        monitor: Some(checkin::MonitorUpsert {
            schedule: &job.schedule,
            timezone: job.timezone,
            config,
        }),
    };
    checkin::deliver(hub, &check_in, failure);
}

/// The identifiers of one run.
#[derive(Debug, Clone)]
struct RunIds {
    /// uuid v4 as 32 hex digits without dashes.
    check_in_id: String,
    /// Random, fresh for every run.
    trace_id: TraceId,
}

impl RunIds {
    fn new() -> Self {
        Self {
            check_in_id: uuid::Uuid::new_v4().simple().to_string(),
            trace_id: TraceId::default(),
        }
    }
}
