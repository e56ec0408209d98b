//! Counts of what became of the check-ins: the public snapshot types and the live counters.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::metrics::{self, CheckInFate};

/// What became of a scheduler's check-ins so far: read with
/// [`CheckInCounters::snapshot`], from [`Scheduler::check_ins`](crate::Scheduler::check_ins).
///
/// Every check-in the scheduler built is counted exactly once in `queued`, `to_transport`
/// or `dropped.unbuildable`; each queued one ends up in `sent` or in one of the other
/// `dropped` reasons, or is still `pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckInStats {
    /// Check-ins put on the scheduler's delivery queue (sent over HTTP to the DSN).
    pub queued: u64,
    /// Queued check-ins Sentry accepted (a `2xx` answer).
    pub sent: u64,
    /// Sending attempts after the first: after a `5xx`, a network error or time-out, or a
    /// rate limit (`429`).
    pub retried: u64,
    /// `429` answers (rate limits), after which sending paused as Sentry asked.
    pub rate_limited: u64,
    /// Queued check-ins given up, by reason.
    pub dropped: DroppedCheckIns,
    /// Queued check-ins not yet sent or dropped (waiting or in flight).
    pub pending: u64,
    /// Check-ins handed to the Sentry client's own transport instead of the queue
    /// ([`CheckInSender::ClientTransport`](crate::CheckInSender::ClientTransport)); what the
    /// transport does with them is not known here.
    pub to_transport: u64,
}

/// Queued check-ins given up, by reason (each also logged at warn level with the slug).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedCheckIns {
    /// The queue was at its capacity: the oldest waiting `in_progress` check-in made room
    /// (a final check-in alone still records the run), or, with none waiting, the oldest
    /// final one.
    pub queue_full: u64,
    /// Every sending attempt failed (`5xx`, network error, time-out).
    pub failed: u64,
    /// Sentry refused the check-in (a `4xx` other than `429`): sending it again cannot help.
    pub rejected: u64,
    /// Still unsent when a flush bound passed: the shutdown's, [`Scheduler::flush`]'s, or
    /// the bounded drain after the scheduler was dropped.
    ///
    /// [`Scheduler::flush`]: crate::Scheduler::flush
    pub shutdown: u64,
    /// Never queued nor handed to the client's transport: its envelope could not be built.
    pub unbuildable: u64,
}

impl DroppedCheckIns {
    /// All dropped check-ins.
    pub fn total(&self) -> u64 {
        self.queue_full + self.failed + self.rejected + self.shutdown + self.unbuildable
    }
}

/// Live counters of a scheduler's check-in delivery; clones see the same counts, and the
/// handle stays valid while (and after) the scheduler runs.
#[derive(Debug, Clone, Default)]
pub struct CheckInCounters {
    inner: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    queued: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    rate_limited: AtomicU64,
    queue_full: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    shutdown: AtomicU64,
    unbuildable: AtomicU64,
    to_transport: AtomicU64,
}

/// What a counter counts (see [`CheckInStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) enum Count {
    Queued,
    Sent,
    Retried,
    RateLimited,
    QueueFull,
    Failed,
    Rejected,
    Shutdown,
    Unbuildable,
    ToTransport,
}

impl CheckInCounters {
    /// The counts now.
    pub fn snapshot(&self) -> CheckInStats {
        let c = &*self.inner;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let dropped = DroppedCheckIns {
            queue_full: load(&c.queue_full),
            failed: load(&c.failed),
            rejected: load(&c.rejected),
            shutdown: load(&c.shutdown),
            unbuildable: load(&c.unbuildable),
        };
        let queued = load(&c.queued);
        let sent = load(&c.sent);
        CheckInStats {
            queued,
            sent,
            retried: load(&c.retried),
            rate_limited: load(&c.rate_limited),
            dropped,
            // Unbuildable check-ins were never queued.
            pending: queued.saturating_sub(sent + dropped.total() - dropped.unbuildable),
            to_transport: load(&c.to_transport),
        }
    }

    pub(crate) fn add(&self, count: Count, n: u64) {
        let c = &*self.inner;
        let counter = match count {
            Count::Queued => &c.queued,
            Count::Sent => &c.sent,
            Count::Retried => &c.retried,
            Count::RateLimited => &c.rate_limited,
            Count::QueueFull => &c.queue_full,
            Count::Failed => &c.failed,
            Count::Rejected => &c.rejected,
            Count::Shutdown => &c.shutdown,
            Count::Unbuildable => &c.unbuildable,
            Count::ToTransport => &c.to_transport,
        };
        counter.fetch_add(n, Ordering::Relaxed);
        let fate = match count {
            Count::Sent => CheckInFate::Delivered,
            Count::Retried => CheckInFate::Retried,
            Count::QueueFull => CheckInFate::Dropped("queue_full"),
            Count::Failed => CheckInFate::Dropped("failed"),
            Count::Rejected => CheckInFate::Dropped("rejected"),
            Count::Shutdown => CheckInFate::Dropped("shutdown"),
            Count::Unbuildable => CheckInFate::Dropped("unbuildable"),
            Count::Queued | Count::RateLimited | Count::ToTransport => return,
        };
        metrics::check_ins(fate, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_what_is_neither_sent_nor_dropped() {
        let counters = CheckInCounters::default();
        counters.add(Count::Queued, 10);
        counters.add(Count::Sent, 4);
        counters.add(Count::QueueFull, 1);
        counters.add(Count::Failed, 2);
        counters.add(Count::Retried, 7);
        counters.add(Count::Unbuildable, 1);
        let stats = counters.snapshot();
        assert_eq!(stats.pending, 3);
        assert_eq!(stats.dropped.total(), 4);
        assert_eq!(stats.retried, 7);
        assert_eq!(counters.clone().snapshot(), stats);
    }

    /// The delivery counters reach the `metrics` recorder with the same counts.
    #[cfg(feature = "metrics")]
    #[test]
    fn delivery_counts_reach_the_metrics_recorder() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, || {
            let counters = CheckInCounters::default();
            counters.add(Count::Queued, 9);
            counters.add(Count::Sent, 4);
            counters.add(Count::Retried, 3);
            counters.add(Count::QueueFull, 1);
            counters.add(Count::Rejected, 2);
            counters.add(Count::Failed, 1);
            counters.add(Count::Failed, 1);
        });
        let mut got: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                let DebugValue::Counter(n) = value else {
                    panic!("{key:?} is not a counter");
                };
                (format!("{}{{{}}}", key.name(), labels.join(",")), n)
            })
            .collect();
        got.sort();
        let expected = [
            ("sentry_schedule_check_ins_delivered_total{}", 4),
            ("sentry_schedule_check_ins_dropped_total{reason=failed}", 2),
            (
                "sentry_schedule_check_ins_dropped_total{reason=queue_full}",
                1,
            ),
            (
                "sentry_schedule_check_ins_dropped_total{reason=rejected}",
                2,
            ),
            ("sentry_schedule_check_ins_retried_total{}", 3),
        ]
        .map(|(k, n)| (k.to_owned(), n));
        assert_eq!(got, expected);
    }
}
