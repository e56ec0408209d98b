//! Jobs switched off in this process: by `environments = [...]` (the Sentry client's
//! environment is not one of them), by `SENTRY_SCHEDULE_DISABLED` or by
//! [`SchedulerBuilder::disable_jobs`](crate::SchedulerBuilder::disable_jobs). An off job is
//! listed but never scheduled: it never fires and sends no check-in.
use crate::error::Error;
use crate::job::Job;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The variable read by [`SchedulerBuilder::build`](crate::SchedulerBuilder::build): a
/// comma-separated list of slugs of jobs to switch off, e.g. `nightly-export,cleanup`.
pub const DISABLED_VAR: &str = "SENTRY_SCHEDULE_DISABLED";

/// The environment a client without one reports in: none in the check-in, which Sentry
/// files under `production` (`MonitorEnvironment.objects.ensure_environment` in
/// getsentry/sentry `src/sentry/monitors/models.py`, called by
/// `monitors/consumers/monitor_consumer.py`; Relay's `process_check_in` in
/// `relay-monitors/src/lib.rs` does the same). `sentry::init` always sets one
/// (`apply_defaults` in sentry-rust `sentry/src/defaults.rs`: `SENTRY_ENVIRONMENT`, else
/// `development` in debug builds and `production` in release builds); a client built
/// from bare `ClientOptions`, or no client at all, has none.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// Why a job is off in this process (see [`Scheduler::off`](crate::Scheduler::off)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Off {
    /// The job's `environments` do not include the Sentry client's environment.
    Environment {
        /// The environments the job runs in.
        runs_in: Vec<String>,
        /// The client's environment ([`DEFAULT_ENVIRONMENT`] when it has none).
        here: String,
    },
    /// Its slug is listed in [`DISABLED_VAR`].
    DisabledByVariable,
    /// Its slug was given to [`SchedulerBuilder::disable_jobs`](crate::SchedulerBuilder::disable_jobs).
    DisabledByBuilder,
}

impl fmt::Display for Off {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment { runs_in, here } => {
                write!(f, "runs only in {} (this is {here})", runs_in.join(", "))
            }
            Self::DisabledByVariable => write!(f, "disabled by {DISABLED_VAR}"),
            Self::DisabledByBuilder => f.write_str("disabled by SchedulerBuilder::disable_jobs"),
        }
    }
}

/// The slugs of a comma-separated list: whitespace around each trimmed, empty ones ignored.
pub(crate) fn split_slugs(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
        .map(str::trim)
        .filter(|slug| !slug.is_empty())
}

/// The environment of the bound Sentry client, [`DEFAULT_ENVIRONMENT`] when it has none.
pub(crate) fn client_environment() -> String {
    sentry::Hub::current()
        .client()
        .and_then(|client| client.options().environment.as_deref().map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned())
}

/// The jobs off in `environment`, by slug: disabled by `variable` (the value of
/// [`DISABLED_VAR`]) or `by_builder`, or running only elsewhere. A disabled slug no job
/// has is an error naming the nearest slugs.
pub(crate) fn off_jobs(
    jobs: &[Job],
    environment: &str,
    variable: Option<&str>,
    by_builder: &[String],
) -> Result<HashMap<Arc<str>, Off>, Error> {
    let mut off = HashMap::new();
    let from_variable = variable
        .into_iter()
        .flat_map(split_slugs)
        .map(|slug| (slug, DISABLED_VAR, Off::DisabledByVariable));
    let from_builder = by_builder
        .iter()
        .map(|slug| slug.trim())
        .filter(|slug| !slug.is_empty())
        .map(|slug| {
            (
                slug,
                "SchedulerBuilder::disable_jobs",
                Off::DisabledByBuilder,
            )
        });
    for (slug, by, why) in from_variable.chain(from_builder) {
        let Some(job) = jobs.iter().find(|job| job.slug() == slug) else {
            return Err(Error::UnknownDisabledSlug {
                slug: slug.to_owned(),
                by,
                near: crate::scheduler::cli::near_slugs(slug, jobs.iter()),
            });
        };
        off.entry(Arc::clone(&job.slug)).or_insert(why);
    }
    for job in jobs {
        if let Some(runs_in) = job.environments() {
            if !runs_in.iter().any(|name| name == environment) {
                off.entry(Arc::clone(&job.slug))
                    .or_insert_with(|| Off::Environment {
                        runs_in: runs_in.to_vec(),
                        here: environment.to_owned(),
                    });
            }
        }
    }
    Ok(off)
}

/// One line for the start-up log: `a (disabled by ...); b (runs only in ...)`, in slug order.
pub(crate) fn describe(jobs: &[Arc<Job>], off: &HashMap<Arc<str>, Off>) -> String {
    jobs.iter()
        .filter_map(|job| {
            off.get(&job.slug)
                .map(|why| format!("{} ({why})", job.slug()))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
