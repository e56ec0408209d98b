//! The pauses of a scheduler without a coordinator, kept in this process and looked at before
//! each run (with a coordinator, pauses live in its backend and the claim step honours them).
use crate::coordinator::Pause;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The paused jobs of this process, by slug.
#[derive(Debug, Default)]
pub(crate) struct LocalPauses {
    /// How many jobs have a pause (in force or expired): while zero, a run's check is one
    /// atomic load, no lock.
    count: AtomicUsize,
    book: Mutex<HashMap<String, Pause>>,
}

impl LocalPauses {
    fn book(&self) -> MutexGuard<'_, HashMap<String, Pause>> {
        // Each update is one insert or remove: a poisoned lock is still consistent.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Pauses `pause.slug` (replacing an earlier pause of it).
    pub(crate) fn pause(&self, pause: Pause) {
        let mut book = self.book();
        book.insert(pause.slug.clone(), pause);
        self.count.store(book.len(), Ordering::Release);
    }

    /// Lifts the pause of `slug`; whether one was in force at `now`.
    pub(crate) fn resume(&self, slug: &str, now: DateTime<Utc>) -> bool {
        let mut book = self.book();
        let removed = book.remove(slug);
        self.count.store(book.len(), Ordering::Release);
        removed.is_some_and(|pause| pause.is_active(now))
    }

    /// Whether `slug` is paused at the instant `now` gives (read only when a job is paused).
    pub(crate) fn is_paused(&self, slug: &str, now: impl FnOnce() -> DateTime<Utc>) -> bool {
        if self.count.load(Ordering::Acquire) == 0 {
            return false;
        }
        let now = now();
        self.book()
            .get(slug)
            .is_some_and(|pause| pause.is_active(now))
    }

    /// The pauses in force at `now`.
    pub(crate) fn in_force(&self, now: DateTime<Utc>) -> Vec<Pause> {
        let book = self.book();
        book.values()
            .filter(|p| p.is_active(now))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_holds_until_it_expires_or_is_lifted() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let pauses = LocalPauses::default();
        assert!(!pauses.is_paused("job", || unreachable!("no pause: no clock read")));
        let until = at("2026-03-01T14:00:00Z");
        pauses.pause(Pause::new(
            "job",
            "me",
            at("2026-03-01T12:00:00Z"),
            Some(until),
        ));
        assert!(pauses.is_paused("job", || at("2026-03-01T13:59:59Z")));
        assert!(!pauses.is_paused("job", || until));
        assert!(!pauses.is_paused("other", || at("2026-03-01T13:00:00Z")));
        assert_eq!(pauses.in_force(at("2026-03-01T13:00:00Z")).len(), 1);
        assert!(pauses.resume("job", at("2026-03-01T13:00:00Z")));
        assert!(!pauses.is_paused("job", || at("2026-03-01T13:00:00Z")));
        assert!(!pauses.resume("job", at("2026-03-01T13:00:00Z")));
    }
}
