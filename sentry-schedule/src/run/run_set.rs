//! The runs of one job that are in flight: what the overlap policy looks at, and what
//! shutdown cancels when its deadline passes.
use crate::run::RunCancel;
use std::sync::{Arc, Mutex, MutexGuard};

/// The in-flight runs of one job.
#[derive(Debug, Default)]
pub(crate) struct RunSet {
    inner: Mutex<Runs>,
}

#[derive(Debug, Default)]
struct Runs {
    next_id: u64,
    /// Each run's id, cancel handle and whether it was already asked to stop. A job has
    /// one run in flight, or a few with `overlap = "allow"`: a list beats a hash map.
    active: Vec<(u64, RunCancel, bool)>,
}

impl RunSet {
    fn lock(&self) -> MutexGuard<'_, Runs> {
        // The lock is never held across user code, so poisoning cannot leave it inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a run; it stays registered until the returned guard is dropped.
    pub(crate) fn insert(self: &Arc<Self>, cancel: RunCancel) -> RunGuard {
        let mut runs = self.lock();
        let id = runs.next_id;
        runs.next_id = runs.next_id.wrapping_add(1);
        runs.active.push((id, cancel, false));
        RunGuard {
            set: Arc::clone(self),
            id,
        }
    }

    /// How many runs are in flight.
    pub(crate) fn len(&self) -> usize {
        self.lock().active.len()
    }

    /// Fires every run's job-facing token without stopping it: the job is asked to wrap up
    /// and its own outcome still counts.
    pub(crate) fn signal_all(&self) {
        for (_, cancel, _) in &self.lock().active {
            cancel.signal();
        }
    }

    /// Stops every run not yet stopped, with `reason`; returns how many were newly stopped.
    pub(crate) fn cancel_all(&self, reason: &str) -> usize {
        let mut runs = self.lock();
        let mut n = 0;
        for (_, cancel, cancelled) in &mut runs.active {
            if !*cancelled {
                *cancelled = true;
                cancel.cancel(reason);
                n += 1;
            }
        }
        n
    }
}

/// Removes its run from the set when dropped, also when the run's task dies.
#[derive(Debug)]
pub(crate) struct RunGuard {
    set: Arc<RunSet>,
    id: u64,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut runs = self.set.lock();
        if let Some(at) = runs.active.iter().position(|(id, _, _)| *id == self.id) {
            runs.active.swap_remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_unregister_their_own_run_and_cancel_reaches_each_run_once() {
        let set = Arc::new(RunSet::default());
        let (a, b, c) = (RunCancel::new(), RunCancel::new(), RunCancel::new());
        let ga = set.insert(a.clone());
        let gb = set.insert(b.clone());
        let gc = set.insert(c.clone());
        assert_eq!(set.len(), 3);
        drop(gb);
        assert_eq!(set.len(), 2);
        assert_eq!(set.cancel_all("replaced by a newer run"), 2);
        assert_eq!(set.cancel_all("interrupted by shutdown"), 0);
        assert_eq!(a.reason().as_deref(), Some("replaced by a newer run"));
        assert_eq!(b.reason(), None);
        assert!(c.is_signalled());
        drop(ga);
        drop(gc);
        assert_eq!(set.len(), 0);
    }
}
