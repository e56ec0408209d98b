//! The parameters a `#[scheduled]` fn may take: [`JobParam`], implemented for
//! [`JobContext`] and [`State<T>`] only (sealed).
use super::output::JobError;
use super::state::{State, StateMap};
use crate::job::context::JobContext;

/// Whether the state a parameter needs is registered; `Err` carries the missing type's name.
pub type StateCheck = fn(&StateMap) -> Result<(), &'static str>;

/// Types a `#[scheduled]` fn may take as parameters. The macro calls
/// `<T as JobParam>::from_context` for each parameter, spanned at its type, so an
/// unsupported type is a compile error pointed there.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a #[scheduled] job",
    label = "unsupported parameter type",
    note = "a #[scheduled] job may take, in any order: `sentry_schedule::State<T>` (a value registered with `Scheduler::builder().state(value)`) and `sentry_schedule::JobContext` (slug, scheduled instant, check-in id, trace id, cancellation token), both by value"
)]
pub trait JobParam: sealed::Sealed + Sized + Send + 'static {
    /// The parameter's value for one run.
    fn from_context(ctx: &JobContext) -> Result<Self, JobError>;

    /// Whether `states` holds what [`JobParam::from_context`] needs.
    fn check(states: &StateMap) -> Result<(), &'static str>;
}

impl JobParam for JobContext {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        Ok(ctx.clone())
    }

    fn check(_: &StateMap) -> Result<(), &'static str> {
        Ok(())
    }
}

impl<T: Send + Sync + 'static> JobParam for State<T> {
    fn from_context(ctx: &JobContext) -> Result<Self, JobError> {
        ctx.state::<T>().ok_or_else(|| {
            let type_name = std::any::type_name::<T>();
            JobError {
                type_name: "sentry_schedule::Error",
                message: format!(
                    "no value of type `{type_name}` was registered with `Scheduler::builder().state(...)`"
                ),
                debug: format!("MissingState {{ type_name: {type_name:?} }}"),
            }
        })
    }

    fn check(states: &StateMap) -> Result<(), &'static str> {
        if states.contains::<T>() {
            Ok(())
        } else {
            Err(std::any::type_name::<T>())
        }
    }
}

mod sealed {
    /// Only this crate implements [`JobParam`](super::JobParam).
    pub trait Sealed {}
    impl Sealed for crate::job::context::JobContext {}
    impl<T: Send + Sync + 'static> Sealed for crate::job::state::State<T> {}
}
