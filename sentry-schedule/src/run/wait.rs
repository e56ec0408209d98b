//! Waiting for a run's body: normal end, panic, timeout, or cancel with grace and drop.
use super::body::{Body, BodyResult};
use super::RunCancel;
use crate::job::output::JobError;
use crate::job::Job;
use std::time::Duration;

/// How the run's body ended.
#[derive(Debug)]
pub(super) enum BodyEnded {
    /// The job's future returned.
    Returned(Result<(), JobError>),
    /// The job's future panicked with this message.
    Panicked(String),
    /// The job ran longer than its timeout.
    TimedOut(Duration),
    /// [`RunCancel::cancel`] stopped it.
    Cancelled(String),
}

/// Polls `body` to its end; on timeout or cancel fires the job's token, gives it the
/// scheduler's cancel grace to finish, then drops it. Returns once the job's future has ended or
/// been dropped.
///
/// The body comes boxed: it is the largest part of a run's state, and boxing it keeps the
/// future of every run small enough for the allocator's fast per-thread caches.
pub(super) async fn wait(mut body: Box<Body>, job: &Job, cancel: &RunCancel) -> BodyEnded {
    let timeout = job.policy.timeout;
    // Boxed: a timer is large and most jobs have no timeout, so the run's future (which
    // every run allocates) stays small.
    let mut timer = timeout.map(|after| Box::pin(tokio::time::sleep(after)));
    let timed_out = async {
        match timer.as_mut() {
            Some(timer) => timer.as_mut().await,
            None => std::future::pending().await,
        }
    };
    let interrupted = tokio::select! {
        biased;
        ended = &mut *body => return from_body(ended),
        () = cancel.stopped() => BodyEnded::Cancelled(
            cancel.reason().unwrap_or_else(|| "cancelled".to_owned()),
        ),
        () = timed_out => BodyEnded::TimedOut(timeout.unwrap_or_default()),
    };
    cancel.signal();
    tokio::select! {
        biased;
        _ = &mut *body => {}
        () = Box::pin(tokio::time::sleep(job.states.cancel_grace)) => {
            if !body.abandon() {
                tracing::warn!(slug = %job.slug, "job panicked while being dropped");
            }
        }
    }
    interrupted
}

fn from_body(ended: BodyResult) -> BodyEnded {
    match ended {
        Ok(result) => BodyEnded::Returned(result),
        Err(message) => BodyEnded::Panicked(message),
    }
}
