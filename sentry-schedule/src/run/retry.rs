//! The attempts of a run with retries: a failed attempt (`Err`, panic, timeout) is captured
//! with its `attempt` tag, the run waits the backoff, and the job runs again, all within the
//! one run and its one check-in. Asked to stop (shutdown, `overlap = "replace"`), the run
//! stops retrying and ends with the last attempt's outcome.
use super::body::Body;
use super::wait::{self, BodyEnded};
use super::{capture, Ended, RunCancel};
use crate::job::Job;
use sentry::Hub;
use sentry_schedule_core::retry::Retry;
use std::sync::Arc;
use tokio::time::Instant;

/// Runs the attempts of one run (`body(n, cancel)` starts attempt `n`, from 1, with the
/// attempt's own cancel) until one succeeds, the retries are used up, or the run is asked to
/// stop; every failed attempt is captured on `hub` (when the run has one) and logged. The
/// outcome's duration counts from `started`.
///
/// Each attempt has a cancel of its own, so that an attempt's timeout fires that attempt's
/// token only; the run's `cancel` (shutdown, replacement) reaches the attempt under way.
pub(super) async fn attempts(
    job: &Job,
    retry: Retry,
    cancel: &RunCancel,
    hub: Option<&Arc<Hub>>,
    started: Instant,
    body: impl Fn(u32, RunCancel) -> Box<Body>,
) -> Ended {
    let mut attempt = 1;
    loop {
        if let Some(hub) = hub {
            hub.configure_scope(|scope| scope.set_tag("attempt", attempt));
        }
        let own = RunCancel::new();
        let ended = tokio::select! {
            biased;
            ended = wait::wait(body(attempt, own.clone()), job, &own) => ended,
            never = forward(cancel, &own) => match never {},
        };
        let again = retryable(&ended) && attempt <= retry.retries && !cancel.is_signalled();
        let outcome = capture::ended(hub.map(Arc::as_ref), &job.slug, ended, started.elapsed());
        let Some(failure) = outcome.failure().filter(|_| again) else {
            return outcome;
        };
        let delay = retry.delay_after(attempt);
        tracing::warn!(
            slug = %job.slug,
            attempt,
            attempts = retry.retries + 1,
            "attempt {attempt} of job `{}` failed: {failure}; retrying in {}",
            job.slug,
            capture::human_duration(delay)
        );
        tokio::select! {
            () = Box::pin(tokio::time::sleep(delay)) => {}
            () = cancel.token().cancelled() => {
                tracing::info!(
                    slug = %job.slug,
                    attempt,
                    "job `{}` asked to stop: no more retries",
                    job.slug
                );
                return outcome;
            }
        }
        attempt += 1;
    }
}

/// Passes what the run is asked to the attempt under way: a signal to wrap up, then a stop
/// with its reason. Never ends.
async fn forward(run: &RunCancel, attempt: &RunCancel) -> std::convert::Infallible {
    run.token().cancelled().await;
    attempt.signal();
    run.stopped().await;
    attempt.cancel(&run.reason().unwrap_or_else(|| "cancelled".to_owned()));
    std::future::pending().await
}

/// Whether an attempt that ended so is retried: a returned error, a panic or a timeout.
/// A cancelled attempt is not: the run was asked to stop.
fn retryable(ended: &BodyEnded) -> bool {
    matches!(
        ended,
        BodyEnded::Returned(Err(_)) | BodyEnded::Panicked(_) | BodyEnded::TimedOut(_)
    )
}
