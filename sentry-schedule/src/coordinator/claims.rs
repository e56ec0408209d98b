//! The claims of one instant in one [`Coordinator::claim_many`]: every tick a replica claims
//! goes through one queue; its task takes everything queued at once (the jobs due at the
//! same instant arrive together) and answers each from one batch, so a replica sends one
//! claim statement per instant, not one per job.
use super::{one_each, Claim, Coordinator, CoordinatorError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The most ticks one batch claims; more wait for the next.
const MAX_BATCH: usize = 10_000;
/// How many times the batching task yields to let the rest of an instant's claims arrive
/// while each yield still brings new ones.
const GATHER_YIELDS: usize = 8;

/// The answer to one tick's claim; the error is shared by the ticks of a failed batch.
pub(crate) type Answer = Result<Claim, Arc<CoordinatorError>>;

/// Where a replica's claims go. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ClaimQueue {
    queue: mpsc::UnboundedSender<Request>,
    batches: Arc<AtomicU64>,
}

struct Request {
    slug: Arc<str>,
    tick: DateTime<Utc>,
    answer: oneshot::Sender<Answer>,
}

/// The task that claims the queued ticks; see [`ClaimQueue::start`].
pub(crate) struct Batcher {
    queue: mpsc::UnboundedReceiver<Request>,
    coordinator: Arc<dyn Coordinator>,
    lease: Duration,
    batches: Arc<AtomicU64>,
}

impl ClaimQueue {
    /// The queue and its task (to be run with [`Batcher::run`]), claiming for `lease`.
    pub(crate) fn start(coordinator: Arc<dyn Coordinator>, lease: Duration) -> (Self, Batcher) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let batches = Arc::new(AtomicU64::new(0));
        let batcher = Batcher {
            queue: receiver,
            coordinator,
            lease,
            batches: Arc::clone(&batches),
        };
        (Self { queue, batches }, batcher)
    }

    /// Claims `(slug, tick)` in the next batch; `None` when the batching task has stopped
    /// (the scheduler is stopping).
    pub(crate) async fn claim(&self, slug: Arc<str>, tick: DateTime<Utc>) -> Option<Answer> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Request { slug, tick, answer }).ok()?;
        answered.await.ok()
    }

    /// How many batches were sent so far.
    pub(crate) fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

impl Batcher {
    /// Claims what is queued, batch after batch, until `stop`.
    pub(crate) async fn run(mut self, stop: CancellationToken) {
        loop {
            let first = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                first = self.queue.recv() => match first {
                    Some(first) => first,
                    None => return,
                },
            };
            let batch = self.gather(first).await;
            self.claim(batch).await;
        }
    }

    /// `first` and whatever else is queued, letting the other tasks of the instant run a few
    /// times (no timer: nothing waits when nothing more comes).
    async fn gather(&mut self, first: Request) -> Vec<Request> {
        let mut batch = vec![first];
        for _ in 0..GATHER_YIELDS {
            let before = batch.len();
            while batch.len() < MAX_BATCH {
                match self.queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            if batch.len() == before || batch.len() >= MAX_BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
        batch
    }

    async fn claim(&self, batch: Vec<Request>) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        let ticks: Vec<(&str, DateTime<Utc>)> = batch.iter().map(|r| (&*r.slug, r.tick)).collect();
        let answers = self
            .coordinator
            .claim_many(&ticks, self.lease)
            .await
            .and_then(|answers| {
                one_each(
                    format_args!("claiming {} ticks", ticks.len()),
                    ticks.len(),
                    answers,
                )
            });
        drop(ticks);
        match answers {
            Ok(answers) => {
                for (request, answer) in batch.into_iter().zip(answers) {
                    let _ = request.answer.send(Ok(answer));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for request in batch {
                    let _ = request.answer.send(Err(Arc::clone(&error)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::test_support::{tick, LEASE};
    use crate::coordinator::InProcess;

    #[tokio::test]
    async fn the_claims_of_an_instant_go_in_one_batch_and_each_gets_its_answer() {
        let coordinator = Arc::new(InProcess::new());
        let (queue, batcher) = ClaimQueue::start(coordinator.clone(), LEASE);
        // b's tick is claimed already (by "another replica").
        assert!(matches!(
            coordinator.claim("job-7", tick(1), LEASE).await.unwrap(),
            Claim::Won(_)
        ));
        // 500 tasks claim at one instant before the batcher first runs.
        let claims: Vec<_> = (0..500)
            .map(|j| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let slug: Arc<str> = format!("job-{j}").into();
                    (j, queue.claim(slug, tick(1)).await)
                })
            })
            .collect();
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(batcher.run(stop.clone()));
        for claim in claims {
            let (j, answer) = claim.await.unwrap();
            match answer.unwrap().unwrap() {
                Claim::Won(token) => {
                    assert_ne!(j, 7);
                    assert_eq!(token.slug, format!("job-{j}"));
                    assert_eq!(token.tick, tick(1));
                }
                Claim::Lost(_) => assert_eq!(j, 7),
            }
        }
        assert_eq!(queue.batches(), 1);
        stop.cancel();
        task.await.unwrap();
        // Stopped: a claim gets no answer rather than waiting forever.
        assert!(queue.claim("late".into(), tick(2)).await.is_none());
    }
}
