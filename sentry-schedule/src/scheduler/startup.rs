//! What a scheduler checks and says when it starts: facts a user must not miss are printed
//! on stderr (also without a tracing subscriber), and the same `#[scheduled]` jobs must not
//! run in two schedulers of one process.
use crate::error::Error;
use crate::job::{Job, RunFn};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Logs `message` at warn level and, when no global tracing subscriber is installed (so the
/// log would go nowhere), prints it on stderr.
pub(crate) fn warn(message: &str) {
    tracing::warn!("{message}");
    if !tracing::dispatcher::has_been_set() {
        eprintln!("sentry-schedule: warning: {message}");
    }
}

/// Why check-ins will not reach Sentry, when they will not: no client bound, or a client
/// without a DSN. The check-ins are printed on stdout instead (see `checkin::deliver`).
pub(crate) fn sentry_problem() -> Option<&'static str> {
    match sentry::Hub::current().client() {
        None => Some(
            "no Sentry client: check-ins are printed on stdout, not sent; call `sentry::init` \
             before the scheduler starts and keep its guard alive",
        ),
        Some(client) if !client.is_enabled() => Some(
            "Sentry has no DSN: check-ins are printed on stdout, not sent; in production this \
             means SENTRY_DSN is not set (or `ClientOptions::dsn` is empty)",
        ),
        Some(_) => None,
    }
}

/// Warns when check-ins will not reach Sentry.
pub(crate) fn warn_if_sentry_missing() {
    if let Some(problem) = sentry_problem() {
        warn(problem);
    }
}

/// How many running schedulers of this process run each registered (`#[scheduled]`) slug.
static RUNNING: Mutex<BTreeMap<Arc<str>, usize>> = Mutex::new(BTreeMap::new());

/// The registered jobs a running scheduler holds; released when dropped (the scheduler
/// stopped).
#[derive(Debug)]
pub(crate) struct RunningJobs {
    slugs: Vec<Arc<str>>,
}

/// Marks the `#[scheduled]` jobs among `jobs` as running in this process. Fails, naming
/// them, when another running scheduler already runs one of them, unless `allow_twice`.
///
/// Only registered jobs count: they are the ones two schedulers get without asking (two
/// `run_all` calls). Jobs built at run time are placed by the caller, and tests build many
/// schedulers with the same dynamic slugs side by side.
pub(crate) fn mark_running(jobs: &[Arc<Job>], allow_twice: bool) -> Result<RunningJobs, Error> {
    let slugs: Vec<Arc<str>> = jobs
        .iter()
        .filter(|job| matches!(job.run, RunFn::Static(_)))
        .map(|job| Arc::clone(&job.slug))
        .collect();
    // The map is only counts: a panic while it was held leaves nothing half-updated.
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    if !allow_twice {
        let twice: Vec<String> = slugs
            .iter()
            .filter(|slug| running.contains_key(*slug))
            .map(ToString::to_string)
            .collect();
        if !twice.is_empty() {
            return Err(Error::AlreadyRunning { slugs: twice });
        }
    }
    for slug in &slugs {
        *running.entry(Arc::clone(slug)).or_default() += 1;
    }
    Ok(RunningJobs { slugs })
}

impl Drop for RunningJobs {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        for slug in &self.slugs {
            if let Some(count) = running.get_mut(slug) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    running.remove(slug);
                }
            }
        }
    }
}
