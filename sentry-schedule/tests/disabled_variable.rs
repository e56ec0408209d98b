//! `SENTRY_SCHEDULE_DISABLED`, read by `SchedulerBuilder::build`. Environment variables
//! are process-wide: this binary is the only one that sets it, and does so in one test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::off::{Off, DISABLED_VAR};
use sentry_schedule::{Error, Job, JobContext, Scheduler};

fn build() -> Result<Scheduler, Error> {
    let jobs = ["nightly-export", "hourly-sync", "cleanup"].map(|slug| {
        Job::builder(slug, "5m")
            .monitor(false)
            .run(|_: JobContext| async {})
            .build()
            .expect("valid job")
    });
    Scheduler::builder()
        .registered_jobs(false)
        .jobs(jobs)
        .disable_jobs(["cleanup"])
        .build()
}

#[tokio::test]
async fn the_variable_switches_jobs_off_and_an_unknown_slug_fails_the_build() {
    assert_eq!(DISABLED_VAR, "SENTRY_SCHEDULE_DISABLED");
    // No other thread of this binary reads or writes the environment meanwhile.
    std::env::set_var(DISABLED_VAR, " nightly-export ,, ");
    let scheduler = build().expect("valid scheduler");
    assert_eq!(
        scheduler.off("nightly-export"),
        Some(&Off::DisabledByVariable)
    );
    assert_eq!(scheduler.off("cleanup"), Some(&Off::DisabledByBuilder));
    assert_eq!(scheduler.off("hourly-sync"), None);
    let list = scheduler.list().await;
    let row = list
        .lines()
        .find(|line| line.starts_with("nightly-export"))
        .expect("a row");
    assert!(
        row.contains("off: disabled by SENTRY_SCHEDULE_DISABLED"),
        "{list}"
    );

    std::env::set_var(DISABLED_VAR, "hourly-sync,nightly-exprot");
    let error = build().expect_err("an unknown slug");
    assert_eq!(
        error.to_string(),
        "SENTRY_SCHEDULE_DISABLED names `nightly-exprot`, which is no job's slug; did you mean \
         `nightly-export`?"
    );

    std::env::set_var(DISABLED_VAR, "");
    let scheduler = build().expect("valid scheduler");
    assert_eq!(scheduler.off("nightly-export"), None);
}
