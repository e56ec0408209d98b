//! Executing one run: fresh hub and trace id, both check-ins, panic and error capture.
use super::body::{self, Body};
use super::{capture, retry, wait, Ended, RunCancel, RunIds};
use crate::checkin::{CheckIn, CheckInStatus, Delivery};
use crate::clock::Clock;
use crate::job::context::JobContext;
use crate::job::Job;
use crate::metrics::{self, Outcome};
use chrono::{DateTime, Utc};
use sentry::protocol::SpanStatus;
use sentry::{Client, Hub, Transaction, TransactionContext};
use sentry_schedule_core::retry::Retry;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::time::Instant;

/// [`execute`] of a run holding no claim, in the caller's task, a panic in it (a bug in this crate, not in the job,
/// whose panics `execute` catches itself) caught and returned as its message instead of
/// unwinding through the caller.
pub(crate) async fn execute_caught(
    job: Arc<Job>,
    scheduled: DateTime<Utc>,
    cancel: RunCancel,
    clock: Arc<dyn Clock>,
    delivery: Arc<Delivery>,
) -> Result<Ended, String> {
    let mut run = std::pin::pin!(execute(job, scheduled, None, cancel, clock, delivery));
    std::future::poll_fn(
        move |cx| match catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(outcome)) => Poll::Ready(Ok(outcome)),
            Err(payload) => Poll::Ready(Err(body::panic_message(payload.as_ref()))),
        },
    )
    .await
}

/// Runs `job` once for the tick `scheduled`, with both check-ins (handed to `delivery`);
/// `fencing_token` is that of the claim the run holds, if any.
///
/// The body runs inside this future (see [`body`]), so a run is one task. With a Sentry
/// client bound, the run gets its own hub (tags, `monitor` context, a transaction carrying
/// the run's trace id); without one, nothing could receive what that hub would hold, and
/// the run skips it.
pub(crate) async fn execute(
    job: Arc<Job>,
    scheduled: DateTime<Utc>,
    fencing_token: Option<u64>,
    cancel: RunCancel,
    clock: Arc<dyn Clock>,
    delivery: Arc<Delivery>,
) -> Ended {
    let started = Instant::now();
    let in_progress = metrics::started(job.stats.metrics(), &job.slug, scheduled, &*clock);
    let ids = RunIds::new();
    let parent = delivery.parent_hub();
    let client = parent.client();
    let sentry = client
        .as_ref()
        .filter(|client| client.is_enabled())
        .map(|_| RunHub::start(&parent, &job, &ids));
    #[cfg(feature = "testing")]
    let started_wall = clock.now();
    let span = || {
        tracing::info_span!(
            "scheduled_job",
            slug = %job.slug,
            scheduled = %scheduled,
            check_in_id = %ids.check_in_id,
            trace_id = %ids.trace_id_hex,
        )
    };
    // Created while the run's hub is current, so sentry-tracing parents its span on the
    // run's transaction and everything in the job shares the run's trace id. When no
    // subscriber takes `info` spans, the span is disabled whatever hub is current, and
    // the switch of the thread's hub (a good part of a run's cost) is skipped.
    let span = match &sentry {
        Some(run_hub) if tracing::level_enabled!(tracing::Level::INFO) => {
            Hub::run(Arc::clone(&run_hub.hub), span)
        }
        _ => span(),
    };
    span.in_scope(|| {
        // Field values are only evaluated when the event is enabled: no clock read otherwise.
        tracing::info!(
            late_ms = clock
                .now()
                .signed_duration_since(scheduled)
                .num_milliseconds(),
            "scheduled job `{}` started",
            job.slug
        );
    });

    send_check_in(
        &delivery,
        client.as_ref(),
        &job,
        &ids,
        CheckInStatus::InProgress,
        None,
        None,
    );

    // Nothing more held across the awaits below than before retries existed: the future
    // of every run is allocated, and stays small.
    let outcome = match job.policy.retry {
        None => {
            let body = Attempt::of(&job, scheduled, &ids, fencing_token, sentry.as_ref(), &span)
                .body(1, cancel.clone());
            let ended = wait::wait(body, &job, &cancel).await;
            let hub = sentry.as_ref().map(|run_hub| run_hub.hub.as_ref());
            capture::ended(hub, &job.slug, ended, started.elapsed())
        }
        Some(retry) => {
            let start = Attempt::of(&job, scheduled, &ids, fencing_token, sentry.as_ref(), &span);
            retrying(retry, &cancel, started, start).await
        }
    };
    let duration = outcome.duration();
    span.in_scope(|| capture::log(&job.slug, &outcome));
    in_progress.ended(Outcome::from(&outcome), duration, &*clock);
    // Closing the tracing span finishes its sentry-tracing child span, which must happen
    // before the transaction is finished to be part of it.
    drop(span);
    if let Some(run_hub) = sentry {
        run_hub.finish(&outcome);
    }

    let status = if outcome.is_ok() {
        CheckInStatus::Ok
    } else {
        CheckInStatus::Error
    };
    let failure = outcome.failure();
    send_check_in(
        &delivery,
        client.as_ref(),
        &job,
        &ids,
        status,
        Some(duration),
        failure.as_deref(),
    );
    #[cfg(feature = "testing")]
    if let Some(sink) = &delivery.sink {
        sink.ran(&job, scheduled, started_wall, &ids, &outcome);
    }
    outcome
}

/// The attempts of a run with retries, boxed (most jobs have none) and built outside the
/// run's future, which then holds only the box.
fn retrying<'a>(
    retry: Retry,
    cancel: &'a RunCancel,
    started: Instant,
    start: Attempt<'a>,
) -> Pin<Box<impl Future<Output = Ended> + 'a>> {
    let body = move |attempt, cancel| start.body(attempt, cancel);
    Box::pin(retry::attempts(
        start.job, retry, cancel, start.hub, started, body,
    ))
}

/// What starts an attempt of the run: its body with a fresh context.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    job: &'a Job,
    scheduled: DateTime<Utc>,
    ids: &'a RunIds,
    fencing_token: Option<u64>,
    hub: Option<&'a Arc<Hub>>,
    span: &'a tracing::Span,
}

impl<'a> Attempt<'a> {
    fn of(
        job: &'a Job,
        scheduled: DateTime<Utc>,
        ids: &'a RunIds,
        fencing_token: Option<u64>,
        sentry: Option<&'a RunHub>,
        span: &'a tracing::Span,
    ) -> Self {
        Self {
            job,
            scheduled,
            ids,
            fencing_token,
            hub: sentry.map(|run_hub| &run_hub.hub),
            span,
        }
    }

    /// The body of attempt `attempt` (from 1), stopped through `cancel`.
    fn body(self, attempt: u32, cancel: RunCancel) -> Box<Body> {
        let context = JobContext {
            slug: Arc::clone(&self.job.slug),
            scheduled: self.scheduled,
            check_in_id: self.ids.check_in_id,
            trace_id: self.ids.trace_id_hex,
            cancel,
            states: Arc::clone(&self.job.states),
            attempt,
            fencing_token: self.fencing_token,
        };
        let hub = self.hub.cloned();
        Box::new(Body::new(
            self.job.run.clone(),
            context,
            hub,
            self.span.clone(),
        ))
    }
}

/// The run's own hub and transaction, when a Sentry client is bound.
struct RunHub {
    hub: Arc<Hub>,
    transaction: Transaction,
    /// Whether the transaction will be sent when finished (sampled, tracing on).
    sent: bool,
}

impl RunHub {
    fn start(parent: &Arc<Hub>, job: &Job, ids: &RunIds) -> Self {
        let hub = Arc::new(Hub::new_from_top(parent));
        let transaction = hub.start_transaction(TransactionContext::new_with_trace_id(
            &job.slug,
            "cron",
            ids.trace_id,
        ));
        // Whether finishing sends it: sentry-core 0.49's `Transaction::is_sampled` is
        // exactly `FinishAction::Send` (src/performance/mod.rs), deprecated for that. The
        // decision is made when the transaction is created and never changes after.
        #[expect(
            deprecated,
            reason = "the exact test of `FinishAction::Send` in sentry 0.49"
        )]
        let sent = transaction.is_sampled();
        // A transaction that is sent takes the scope's tags and contexts
        // (`Scope::apply_to_transaction`, sentry-core src/scope/real.rs), not what event
        // processors add: it gets them on the scope. Otherwise only events carry them, and
        // a processor adds them to each event the run captures (`Scope::apply_to_event`
        // runs the processors after copying the scope's tags and contexts): building a
        // tag map and a context per run (ten allocations) cost a tenth of a run that
        // captures nothing.
        let (slug, check_in_id) = (Arc::clone(&job.slug), ids.check_in_id);
        hub.configure_scope(|scope| {
            if sent {
                scope.set_tag(capture::MONITOR_TAG, &slug);
                scope.set_context("monitor", capture::monitor_context(&slug, check_in_id));
            } else {
                scope.add_event_processor(move |event| {
                    Some(capture::mark(event, &slug, check_in_id))
                });
            }
            scope.set_span(Some(transaction.clone().into()));
        });
        Self {
            hub,
            transaction,
            sent,
        }
    }

    fn finish(self, outcome: &Ended) {
        let Self {
            hub,
            transaction,
            sent,
        } = self;
        transaction.set_status(match outcome {
            Ended::Ok { .. } => SpanStatus::Ok,
            Ended::TimedOut { .. } => SpanStatus::DeadlineExceeded,
            Ended::Cancelled { .. } => SpanStatus::Cancelled,
            Ended::Failed { .. } | Ended::Panicked { .. } => SpanStatus::InternalError,
        });
        hub.configure_scope(|scope| scope.set_span(None));
        // Only a transaction that is sent reads the current hub's scope
        // (`Transaction::finish_with_timestamp`, sentry-core src/performance/mod.rs, in
        // `FinishAction::Send`); one that is discarded or ignored needs no switch of the
        // thread's hub, which cost a run more than finishing it.
        if sent {
            Hub::run(hub, || transaction.finish());
        } else {
            transaction.finish();
        }
    }
}

/// Builds one check-in of this run and delivers it, when the job is monitored.
fn send_check_in(
    delivery: &Delivery,
    client: Option<&Arc<Client>>,
    job: &Job,
    ids: &RunIds,
    status: CheckInStatus,
    duration: Option<Duration>,
    failure: Option<&str>,
) {
    if job.monitor.is_none() {
        return;
    }
    let check_in = CheckIn {
        check_in_id: ids.check_in_id.as_str(),
        monitor_slug: &job.slug,
        status,
        duration,
        trace_id: ids.trace_id_hex.as_str(),
        monitor: job.monitor_json.as_deref(),
    };
    delivery.deliver(client, &check_in, ids.check_in_id, failure);
}
