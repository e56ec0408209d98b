//! Two `#[scheduled]` fns with one slug: start-up fails, naming both fns and places.
use sentry_schedule::{scheduled, Error, Scheduler};

const DAILY_LINE: u32 = line!() + 2;
#[scheduled(cron = "0 12 * * *", slug = "sales-report")]
async fn daily_report() {}

mod weekly {
    pub(crate) const LINE: u32 = line!() + 2;
    #[sentry_schedule::scheduled(cron = "0 12 * * MON", slug = "sales-report")]
    async fn report() -> Result<(), std::io::Error> {
        Ok(())
    }
}

#[test]
fn duplicate_slugs_fail_start_up_naming_both_locations() {
    let err = Scheduler::builder().build().unwrap_err();
    let file = file!();
    let daily = format!("`registered_duplicate::daily_report` ({file}:{DAILY_LINE})");
    let weekly = format!(
        "`registered_duplicate::weekly::report` ({file}:{})",
        weekly::LINE
    );
    match &err {
        Error::DuplicateSlug {
            slug,
            first,
            second,
        } => {
            assert_eq!(slug, "sales-report");
            assert_eq!((first, second), (&daily, &weekly));
        }
        other => panic!("expected DuplicateSlug, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "duplicate monitor slug `sales-report`: used by {daily} and by {weekly}; \
             give one of them its own `slug = \"...\"`"
        )
    );
}

#[tokio::test]
async fn run_all_returns_the_error_instead_of_running() {
    let err = sentry_schedule::run_all().await.unwrap_err();
    assert!(matches!(err, Error::DuplicateSlug { .. }), "{err}");
}

#[test]
fn without_registered_jobs_the_builder_ignores_them() {
    let scheduler = Scheduler::builder().registered_jobs(false).build().unwrap();
    assert_eq!(scheduler.jobs().len(), 0);
}
