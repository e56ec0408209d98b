//! Waiting for a run's task: normal end, panic, timeout, or cancel with grace and abort.
use super::{RunCancel, CANCEL_GRACE};
use crate::__private::JobError;
use crate::job::Job;
use std::any::Any;
use std::time::Duration;
use tokio::task::{JoinError, JoinHandle};

/// How the run's task ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// The job's future returned.
    Returned(Result<(), JobError>),
    /// The job's future panicked with this message.
    Panicked(String),
    /// The task was cancelled by the runtime (it is shutting down) before the job ended.
    Aborted,
    /// The job ran longer than its timeout.
    TimedOut(Duration),
    /// [`RunCancel::cancel`] stopped it.
    Cancelled(String),
}

/// Waits for `task`; on timeout or cancel fires the job's token, gives it [`CANCEL_GRACE`]
/// to finish, then aborts it. Returns once the job's future has ended or been dropped.
pub(super) async fn wait(
    mut task: JoinHandle<Result<(), JobError>>,
    job: &Job,
    cancel: &RunCancel,
) -> Ended {
    let timeout = job.policy.timeout;
    let timed_out = async {
        match timeout {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = tokio::select! {
        biased;
        joined = &mut task => return from_join(joined),
        () = cancel.stop.cancelled() => Ended::Cancelled(
            cancel.reason().unwrap_or_else(|| "cancelled".to_owned()),
        ),
        () = timed_out => Ended::TimedOut(timeout.unwrap_or_default()),
    };
    cancel.token().cancel();
    tokio::select! {
        biased;
        _ = &mut task => {}
        () = tokio::time::sleep(CANCEL_GRACE) => {
            task.abort();
            if let Err(error) = task.await {
                if error.is_panic() {
                    tracing::warn!(slug = %job.slug, "job panicked while being aborted");
                }
            }
        }
    }
    interrupted
}

fn from_join(joined: Result<Result<(), JobError>, JoinError>) -> Ended {
    match joined {
        Ok(result) => Ended::Returned(result),
        Err(error) => match error.try_into_panic() {
            Ok(payload) => Ended::Panicked(panic_message(payload.as_ref())),
            Err(_) => Ended::Aborted,
        },
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
