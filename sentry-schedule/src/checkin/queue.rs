//! The bounded queue of check-ins waiting to be sent, with its drop policy and the per-run
//! order: a run's final check-in never leaves while its `in_progress` is still in flight or
//! waiting ahead of it; check-ins of other monitors may pass it meanwhile.
use super::payload::CheckInStatus;
use crate::ids::HexId;
use sentry::Client;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// One check-in waiting to be sent, or in flight.
pub(crate) struct Entry {
    /// The client whose DSN and options it is sent with.
    pub client: Arc<Client>,
    /// The monitor's slug, for logs.
    pub slug: Arc<str>,
    /// The run's check-in id.
    pub run: HexId,
    pub status: CheckInStatus,
    /// The `check_in` item's JSON.
    pub payload: Box<[u8]>,
    /// Sending attempts that failed so far (rate limits not counted).
    pub failures: u8,
    /// Arrival order, kept when entries are put back after a failed attempt.
    seq: u64,
}

impl Entry {
    pub(crate) fn new(
        client: Arc<Client>,
        slug: Arc<str>,
        run: HexId,
        status: CheckInStatus,
        payload: Box<[u8]>,
    ) -> Self {
        Self {
            client,
            slug,
            run,
            status,
            payload,
            failures: 0,
            seq: 0,
        }
    }
}

/// Waiting and in-flight check-ins, at most `capacity` of them together.
pub(crate) struct Queue {
    waiting: VecDeque<Entry>,
    /// Runs whose `in_progress` is in flight: their final check-in waits.
    starts_in_flight: HashSet<HexId>,
    /// The slugs of the check-ins in flight, by arrival order (for the warnings of a flush
    /// that gives up on them).
    in_flight: HashMap<u64, Arc<str>>,
    capacity: usize,
    next_seq: u64,
}

impl Queue {
    /// An empty queue holding at most `capacity` check-ins (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            waiting: VecDeque::new(),
            starts_in_flight: HashSet::new(),
            in_flight: HashMap::new(),
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    /// Waiting plus in flight.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len() + self.in_flight.len()
    }

    /// Adds `entry`; at capacity, returns the check-in dropped to make room (or `entry`
    /// itself): the oldest waiting `in_progress`; with none waiting, the new check-in if it
    /// is an `in_progress`, otherwise the oldest waiting final one.
    pub(crate) fn push(&mut self, mut entry: Entry) -> Option<Entry> {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.len() < self.capacity {
            self.waiting.push_back(entry);
            return None;
        }
        let oldest_start = self
            .waiting
            .iter()
            .position(|e| e.status == CheckInStatus::InProgress);
        let dropped = match oldest_start {
            Some(at) => self.waiting.remove(at),
            None if entry.status == CheckInStatus::InProgress => return Some(entry),
            None => self.waiting.pop_front(),
        };
        match dropped {
            Some(dropped) => {
                self.waiting.push_back(entry);
                Some(dropped)
            }
            // Everything is in flight: nothing waiting could make room.
            None => Some(entry),
        }
    }

    /// Takes the oldest check-in that may be sent now, moving it in flight; `None` when
    /// nothing waits that may. A final check-in whose `in_progress` is still in flight
    /// waits, and so do the check-ins of its monitor queued behind it (Sentry takes a
    /// monitor's check-ins in the order they arrive); other monitors' check-ins are sent
    /// past it, so one slow answer holds back only its own monitor. Only finals of runs
    /// whose `in_progress` is in flight wait, so the scan passes at most as many monitors
    /// as there are requests in flight.
    pub(crate) fn start(&mut self) -> Option<Entry> {
        let mut held: Vec<&str> = Vec::new();
        let mut found = None;
        for (at, next) in self.waiting.iter().enumerate() {
            if held.contains(&&*next.slug) {
                continue;
            }
            if next.status != CheckInStatus::InProgress && self.starts_in_flight.contains(&next.run)
            {
                held.push(&next.slug);
                continue;
            }
            found = Some(at);
            break;
        }
        let entry = self.waiting.remove(found?)?;
        if entry.status == CheckInStatus::InProgress {
            self.starts_in_flight.insert(entry.run);
        }
        self.in_flight.insert(entry.seq, Arc::clone(&entry.slug));
        Some(entry)
    }

    /// An in-flight check-in is done (sent or dropped).
    pub(crate) fn finish(&mut self, entry: &Entry) {
        self.in_flight.remove(&entry.seq);
        if entry.status == CheckInStatus::InProgress {
            self.starts_in_flight.remove(&entry.run);
        }
    }

    /// In-flight check-ins go back to the front, in their arrival order, to be sent again.
    pub(crate) fn put_back(&mut self, mut entries: Vec<Entry>) {
        entries.sort_by_key(|e| std::cmp::Reverse(e.seq));
        for entry in entries {
            self.finish(&entry);
            self.waiting.push_front(entry);
        }
    }

    /// Removes every waiting check-in.
    pub(crate) fn take_waiting(&mut self) -> Vec<Entry> {
        self.waiting.drain(..).collect()
    }

    /// How many are in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The slugs of the check-ins in flight, in arrival order.
    pub(crate) fn in_flight_slugs(&self) -> Vec<Arc<str>> {
        let mut slugs: Vec<(&u64, &Arc<str>)> = self.in_flight.iter().collect();
        slugs.sort_by_key(|(seq, _)| **seq);
        slugs
            .into_iter()
            .map(|(_, slug)| Arc::clone(slug))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckInStatus::{InProgress, Ok};

    fn client() -> Arc<Client> {
        Arc::new(Client::from(sentry::ClientOptions::default()))
    }

    fn entry(client: &Arc<Client>, run: u8, status: CheckInStatus) -> Entry {
        Entry::new(
            Arc::clone(client),
            format!("job-{run}").into(),
            run_id(run),
            status,
            Box::new([]),
        )
    }

    /// The check-in id of test run `run`.
    fn run_id(run: u8) -> HexId {
        static IDS: std::sync::LazyLock<Vec<HexId>> = std::sync::LazyLock::new(|| {
            (0..10)
                .map(|_| crate::ids::RunIds::new().check_in_id)
                .collect()
        });
        IDS[usize::from(run)]
    }

    fn waiting(queue: &Queue) -> Vec<(String, CheckInStatus)> {
        queue
            .waiting
            .iter()
            .map(|e| (e.slug.to_string(), e.status))
            .collect()
    }

    #[test]
    fn at_capacity_the_oldest_waiting_in_progress_goes_first() {
        let c = client();
        let mut queue = Queue::new(3);
        assert!(queue.push(entry(&c, 1, InProgress)).is_none());
        assert!(queue.push(entry(&c, 2, InProgress)).is_none());
        assert!(queue.push(entry(&c, 1, Ok)).is_none());
        let dropped = queue.push(entry(&c, 2, Ok)).expect("one dropped");
        assert_eq!((&*dropped.slug, dropped.status), ("job-1", InProgress));
        let dropped = queue.push(entry(&c, 3, InProgress)).expect("one dropped");
        assert_eq!((&*dropped.slug, dropped.status), ("job-2", InProgress));
        assert_eq!(
            waiting(&queue),
            [
                ("job-1".into(), Ok),
                ("job-2".into(), Ok),
                ("job-3".into(), InProgress)
            ]
        );
    }

    #[test]
    fn with_only_finals_waiting_a_new_in_progress_or_the_oldest_final_goes() {
        let c = client();
        let mut queue = Queue::new(2);
        queue.push(entry(&c, 1, Ok));
        queue.push(entry(&c, 2, Ok));
        let dropped = queue.push(entry(&c, 3, InProgress)).expect("dropped");
        assert_eq!((&*dropped.slug, dropped.status), ("job-3", InProgress));
        let dropped = queue.push(entry(&c, 3, Ok)).expect("dropped");
        assert_eq!((&*dropped.slug, dropped.status), ("job-1", Ok));
        assert_eq!(
            waiting(&queue),
            [("job-2".into(), Ok), ("job-3".into(), Ok)]
        );
    }

    #[test]
    fn in_flight_check_ins_count_against_the_capacity() {
        let c = client();
        let mut queue = Queue::new(1);
        queue.push(entry(&c, 1, InProgress));
        let started = queue.start().expect("starts");
        let dropped = queue.push(entry(&c, 2, InProgress)).expect("full");
        assert_eq!(&*dropped.slug, "job-2");
        queue.finish(&started);
        assert!(queue.push(entry(&c, 2, InProgress)).is_none());
    }

    #[test]
    fn other_monitors_pass_a_waiting_final_and_its_own_monitor_waits_behind_it() {
        let c = client();
        let mut queue = Queue::new(10);
        queue.push(entry(&c, 1, InProgress));
        queue.push(entry(&c, 1, Ok));
        // The next run of job-1's monitor (another check-in id, the same slug).
        queue.push(Entry::new(
            Arc::clone(&c),
            "job-1".into(),
            run_id(4),
            InProgress,
            Box::new([]),
        ));
        queue.push(entry(&c, 2, InProgress));
        let first = queue.start().expect("job-1 in_progress");
        let other = queue.start().expect("job-2 passes job-1's waiting final");
        assert_eq!(&*other.slug, "job-2");
        assert!(
            queue.start().is_none(),
            "job-1's next run waits behind its final"
        );
        queue.finish(&first);
        let final_one = queue.start().expect("job-1's final");
        assert_eq!((&*final_one.slug, final_one.status), ("job-1", Ok));
        let next_run = queue.start().expect("then job-1's next run");
        assert_eq!((next_run.run, next_run.status), (run_id(4), InProgress));
    }

    #[test]
    fn a_final_waits_while_its_in_progress_is_in_flight_and_put_back_keeps_order() {
        let c = client();
        let mut queue = Queue::new(10);
        queue.push(entry(&c, 1, InProgress));
        queue.push(entry(&c, 2, InProgress));
        queue.push(entry(&c, 1, Ok));
        let first = queue.start().expect("job-1 in_progress");
        let second = queue.start().expect("job-2 in_progress");
        assert!(queue.start().is_none(), "job-1's final must wait");
        queue.put_back(vec![second, first]);
        assert_eq!(queue.in_flight(), 0);
        assert_eq!(
            waiting(&queue),
            [
                ("job-1".into(), InProgress),
                ("job-2".into(), InProgress),
                ("job-1".into(), Ok)
            ]
        );
        let first = queue.start().expect("job-1 in_progress again");
        queue.finish(&first);
        queue.start().expect("job-2 in_progress");
        let final_one = queue.start().expect("job-1's final may go now");
        assert_eq!((&*final_one.slug, final_one.status), ("job-1", Ok));
    }
}
