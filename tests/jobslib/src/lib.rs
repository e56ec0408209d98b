//! Jobs in a library crate, as a service keeps them in a `jobs` crate of its workspace.
//! Nothing in this crate is called by the binaries that test it: only
//! `sentry_schedule::link_jobs!(sentry_schedule_test_jobslib)` makes its job part of them.
use sentry_schedule::scheduled;

/// A daily job with a slug derived from its path (`sentry_schedule_test_jobslib-nightly_cleanup`).
#[scheduled(cron = "0 3 * * *")]
async fn nightly_cleanup() {
    println!("nightly_cleanup: done");
}
