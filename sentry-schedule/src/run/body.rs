//! The job's body, polled inside the run's own task: started on its first poll, its panics
//! caught, the run's hub current and its tracing span entered while it runs.
//!
//! A second task per run for the body would cost a task allocation, a spawn and a join
//! for every run; catching the body's panics around each poll gives the same isolation.
use crate::job::context::JobContext;
use crate::job::output::JobError;
use crate::job::registered::JobFuture;
use crate::job::RunFn;
use sentry::Hub;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tracing::Span;

/// How the body ended: its result, or the message of its panic.
pub(super) type BodyResult = Result<Result<(), JobError>, String>;

/// The job's body as a future that never panics.
pub(super) struct Body {
    state: State,
    /// The run's hub, current while the body is started, polled and dropped; `None` when
    /// no Sentry client is bound (there is nothing to isolate then).
    hub: Option<Arc<Hub>>,
    /// The run's span, entered while the body is started, polled and dropped.
    span: Span,
}

enum State {
    /// Not polled yet: the job's fn (or closure) is called on the first poll, so that the
    /// user code it runs is inside the same guards as the rest of the body.
    Start(RunFn, JobContext),
    Running(JobFuture),
    /// Returned or panicked; its future is dropped.
    Done,
}

impl Body {
    pub(super) fn new(run: RunFn, context: JobContext, hub: Option<Arc<Hub>>, span: Span) -> Self {
        Self {
            state: State::Start(run, context),
            hub,
            span,
        }
    }

    /// Drops the body's future (a run stopped after its grace period), with the run's hub
    /// current; `false` when dropping it panicked.
    pub(super) fn abandon(self) -> bool {
        let Self { state, hub, span } = self;
        let _entered = span.enter();
        let drop_state = AssertUnwindSafe(move || drop(state));
        let dropped = match hub {
            Some(hub) => Hub::run(hub, || catch_unwind(drop_state)),
            None => catch_unwind(drop_state),
        };
        dropped.is_ok()
    }
}

/// Starts the body on its first poll, then polls it; drops its future once it returned.
fn poll_state(state: &mut State, cx: &mut Context<'_>) -> Poll<Result<(), JobError>> {
    if let State::Start(..) = state {
        if let State::Start(run, context) = std::mem::replace(state, State::Done) {
            *state = State::Running(match run {
                RunFn::Static(start) => start(&context),
                RunFn::Dynamic(start) => start(context),
            });
        }
    }
    let State::Running(future) = state else {
        // Polled after it ended: a bug in the run, not in the job; never hang on it.
        let message = "the job's future was polled after it ended".to_owned();
        return Poll::Ready(Err(JobError {
            type_name: "sentry_schedule::run::Body",
            debug: message.clone(),
            message,
        }));
    };
    let result = std::task::ready!(future.as_mut().poll(cx));
    // Dropped here, inside the guards, rather than wherever the run drops `Body`.
    *state = State::Done;
    Poll::Ready(result)
}

impl Future for Body {
    type Output = BodyResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BodyResult> {
        let Self { state, hub, span } = self.get_mut();
        let _entered = span.enter();
        let step = AssertUnwindSafe(|| poll_state(state, cx));
        let polled = match hub {
            Some(hub) => Hub::run(Arc::clone(hub), || catch_unwind(step)),
            None => catch_unwind(step),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(payload) => {
                // A panicking future must not be polled again; dropping it may panic too.
                let message = panic_message(payload.as_ref());
                let ended = std::mem::replace(state, State::Done);
                if catch_unwind(AssertUnwindSafe(move || drop(ended))).is_err() {
                    tracing::warn!("job panicked while its future was dropped after a panic");
                }
                Poll::Ready(Err(message))
            }
        }
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
    use chrono::DateTime;

    fn context() -> JobContext {
        JobContext::new("body-test", DateTime::UNIX_EPOCH)
    }

    fn dynamic(start: impl Fn(JobContext) -> JobFuture + Send + Sync + 'static) -> RunFn {
        RunFn::Dynamic(Arc::new(start))
    }

    #[test]
    fn panic_messages_of_str_string_and_other_payloads() {
        assert_eq!(panic_message(&"boom"), "boom");
        assert_eq!(panic_message(&String::from("formatted 7")), "formatted 7");
        assert_eq!(panic_message(&7_u8), "Box<dyn Any>");
    }

    #[tokio::test]
    async fn returns_the_jobs_result() {
        let run = dynamic(|_| {
            Box::pin(async {
                tokio::task::yield_now().await;
                Err(JobError {
                    type_name: "E",
                    message: "disk full".into(),
                    debug: "E".into(),
                })
            })
        });
        let ended = Body::new(run, context(), None, Span::none()).await;
        match ended {
            Ok(Err(error)) => assert_eq!(error.message, "disk full"),
            other => panic!("expected the job's error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panic_while_polling_is_caught_with_its_message() {
        let run = dynamic(|_| {
            Box::pin(async {
                tokio::task::yield_now().await;
                panic!("job bug {}", 7);
            })
        });
        let ended = Body::new(run, context(), None, Span::none()).await;
        assert_eq!(ended.err().as_deref(), Some("job bug 7"));
    }

    #[tokio::test]
    async fn a_panic_in_the_closure_that_starts_the_job_is_caught() {
        let run = dynamic(|_| panic!("closure bug"));
        let ended = Body::new(run, context(), None, Span::none()).await;
        assert_eq!(ended.err().as_deref(), Some("closure bug"));
    }

    #[tokio::test]
    async fn the_runs_hub_is_current_while_the_body_runs_and_not_after() {
        let hub = Arc::new(Hub::new(None, Arc::new(Default::default())));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let run = dynamic(move |_| {
            let record = Arc::clone(&record);
            let started = Hub::current();
            Box::pin(async move {
                tokio::task::yield_now().await;
                let polled = Hub::current();
                if let Ok(mut seen) = record.lock() {
                    seen.extend([started, polled]);
                }
                Ok(())
            })
        });
        let ended = Body::new(run, context(), Some(Arc::clone(&hub)), Span::none()).await;
        assert!(matches!(ended, Ok(Ok(()))));
        let seen = seen.lock().expect("not poisoned");
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|h| Arc::ptr_eq(h, &hub)));
        assert!(!Arc::ptr_eq(&Hub::current(), &hub));
    }

    #[tokio::test]
    async fn abandoning_drops_the_future_and_reports_a_panicking_drop() {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("drop bug");
            }
        }
        let run = dynamic(|_| {
            let guard = PanicOnDrop;
            Box::pin(async move {
                std::future::pending::<()>().await;
                drop(guard);
                Ok(())
            })
        });
        let mut body = Body::new(run, context(), None, Span::none());
        let polled = futures_poll_once(&mut body).await;
        assert!(polled.is_none(), "the body must still be pending");
        assert!(!body.abandon());

        let run = dynamic(|_| Box::pin(std::future::pending()));
        let mut body = Body::new(run, context(), None, Span::none());
        assert!(futures_poll_once(&mut body).await.is_none());
        assert!(body.abandon());
    }

    /// Polls `body` once; `Some` when it ended.
    async fn futures_poll_once(body: &mut Body) -> Option<BodyResult> {
        std::future::poll_fn(|cx| {
            Poll::Ready(match Pin::new(&mut *body).poll(cx) {
                Poll::Ready(ended) => Some(ended),
                Poll::Pending => None,
            })
        })
        .await
    }
}
