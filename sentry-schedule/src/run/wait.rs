//! Waiting for a run's body: normal end, panic, timeout, or cancel with grace and drop.
use super::body::{Body, BodyResult};
use super::RunCancel;
use crate::__private::JobError;
use crate::job::Job;
use std::any::Any;
use std::time::Duration;

/// How the run's body ended.
#[derive(Debug)]
pub(super) enum Ended {
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
pub(super) async fn wait(mut body: Box<Body>, job: &Job, cancel: &RunCancel) -> Ended {
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
        () = cancel.stopped() => Ended::Cancelled(
            cancel.reason().unwrap_or_else(|| "cancelled".to_owned()),
        ),
        () = timed_out => Ended::TimedOut(timeout.unwrap_or_default()),
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

fn from_body(ended: BodyResult) -> Ended {
    match ended {
        Ok(result) => Ended::Returned(result),
        Err(message) => Ended::Panicked(message),
    }
}

/// The message of a panic payload (`&str` or `String`; anything else is unnamed).
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_of_str_string_and_other_payloads() {
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("formatted 7")), "formatted 7");
        assert_eq!(panic_message(&7_u8), "Box<dyn Any>");
    }
}
