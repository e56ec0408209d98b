//! The runs of one job that are in flight: what the overlap policy looks at, and what
//! shutdown cancels when its deadline passes.
use crate::run::RunCancel;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The in-flight runs of one job.
#[derive(Debug, Default)]
pub(crate) struct RunSet {
    inner: Mutex<Runs>,
}

#[derive(Debug, Default)]
struct Runs {
    next_id: u64,
    /// Each run's cancel handle and whether it was already asked to stop.
    active: HashMap<u64, (RunCancel, bool)>,
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
        runs.active.insert(id, (cancel, false));
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
        for (cancel, _) in self.lock().active.values() {
            cancel.token().cancel();
        }
    }

    /// Stops every run not yet stopped, with `reason`; returns how many were newly stopped.
    pub(crate) fn cancel_all(&self, reason: &str) -> usize {
        let mut runs = self.lock();
        let mut n = 0;
        for (cancel, cancelled) in runs.active.values_mut() {
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
        self.set.lock().active.remove(&self.id);
    }
}
