//! Values shared with jobs: [`State<T>`] and the map the scheduler keeps them in.
//!
//! A value registered with [`SchedulerBuilder::state`](crate::SchedulerBuilder::state) is
//! stored once, as an `Arc<T>` keyed by its type; every job asking for `State<T>` gets a
//! clone of that `Arc`.
use crate::error::Error;
use crate::job::Job;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// How long a run may keep going after its token fired for a timeout or a cancel, before
/// its future is dropped, unless set with
/// [`SchedulerBuilder::cancel_grace`](crate::SchedulerBuilder::cancel_grace): 5 s.
pub const DEFAULT_CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A value registered with [`SchedulerBuilder::state`](crate::SchedulerBuilder::state),
/// handed to a job that takes a `State<T>` parameter.
///
/// Cheap to clone (an `Arc`), and dereferences to `T`. The field is public, so a job can
/// destructure it: `State(pool): State<Pool>` gives `pool: Arc<Pool>`.
///
/// ```no_run
/// use sentry_schedule::{scheduled, State};
///
/// struct Pool;
/// impl Pool {
///     async fn execute(&self, _sql: &str) -> Result<u64, std::io::Error> { Ok(0) }
/// }
///
/// #[scheduled(cron = "0 3 * * *")]
/// async fn purge_sessions(pool: State<Pool>) -> Result<(), std::io::Error> {
///     pool.execute("DELETE FROM sessions WHERE expires_at < now()").await?;
///     Ok(())
/// }
///
/// # async fn app() -> Result<(), sentry_schedule::Error> {
/// sentry_schedule::Scheduler::builder().state(Pool).build()?.run().await
/// # }
/// ```
pub struct State<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> State<T> {
    /// The shared `Arc` behind this handle.
    pub fn into_inner(self) -> Arc<T> {
        self.0
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> AsRef<T> for State<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&&*self.0).finish()
    }
}

/// The values registered with the scheduler, one per type, and the scheduler's settings
/// its runs read (shared by every job of the scheduler through one `Arc`).
#[derive(Clone)]
pub struct StateMap {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// How long a run may go on after a timeout or cancel fired its token, before its future
    /// is dropped ([`SchedulerBuilder::cancel_grace`](crate::SchedulerBuilder::cancel_grace)).
    pub(crate) cancel_grace: std::time::Duration,
}

impl Default for StateMap {
    fn default() -> Self {
        Self {
            values: HashMap::new(),
            cancel_grace: DEFAULT_CANCEL_GRACE,
        }
    }
}

impl StateMap {
    /// Registers `value`, replacing an earlier value of the same type.
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.values.insert(TypeId::of::<T>(), value);
    }

    /// The value of type `T`, if one was registered.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        let value = self.values.get(&TypeId::of::<T>())?;
        Arc::clone(value).downcast::<T>().ok().map(State)
    }

    /// Whether a value of type `T` was registered.
    pub(crate) fn contains<T: 'static>(&self) -> bool {
        self.values.contains_key(&TypeId::of::<T>())
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMap")
            .field("values", &self.values.len())
            .finish()
    }
}

/// Checks that every value a job's parameters need is registered, then gives every job the
/// shared map. Fails on the first job (in slug order) that lacks one.
pub(crate) fn check_and_share(jobs: &mut [Job], states: StateMap) -> Result<(), Error> {
    let states = Arc::new(states);
    for job in jobs.iter_mut() {
        for check in job.requires {
            if let Err(type_name) = check(&states) {
                return Err(Error::MissingState {
                    job: job.describe(),
                    type_name,
                });
            }
        }
        job.states = Arc::clone(&states);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Pool(u32);

    #[test]
    fn values_are_found_by_type_and_shared() {
        let mut map = StateMap::default();
        let pool = Arc::new(Pool(7));
        map.insert(Arc::clone(&pool));
        map.insert(Arc::new(String::from("eu-west")));

        let got = map.get::<Pool>().expect("registered");
        assert_eq!(*got, Pool(7));
        assert!(Arc::ptr_eq(&got.0, &pool), "the same Arc, not a copy");
        assert_eq!(
            map.get::<String>().as_deref().map(String::as_str),
            Some("eu-west")
        );
        assert!(map.get::<u64>().is_none());
        assert!(map.contains::<Pool>() && !map.contains::<u64>());
    }

    #[test]
    fn a_later_value_of_one_type_replaces_the_earlier() {
        let mut map = StateMap::default();
        map.insert(Arc::new(Pool(1)));
        map.insert(Arc::new(Pool(2)));
        assert_eq!(map.get::<Pool>().map(|p| p.0 .0), Some(2));
    }
}
