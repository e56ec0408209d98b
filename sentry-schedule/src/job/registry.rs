//! Collects the `#[scheduled]` descriptors, resolves them into [`Job`]s and checks that
//! every slug is unique.
use crate::error::Error;
use crate::job::builder::{resolve, JobSpec};
use crate::job::registered::{ScheduleSpec, StaticJob};
use crate::job::{Job, RunFn, SourceLocation};
use sentry_schedule_core::options::{Given, JobOptions};

/// Every job registered with `#[scheduled]` in the binary, resolved, in slug order.
///
/// Every invalid descriptor is reported (the macro rejects them at compile time, so
/// this only happens with hand-built descriptors).
pub(crate) fn registered_jobs() -> Result<Vec<Job>, Error> {
    inventory::iter::<StaticJob>
        .into_iter()
        .map(resolve_static)
        .collect()
}

/// Resolves one `#[scheduled]` descriptor with the same validation as a dynamic job.
pub(crate) fn resolve_static(job: &StaticJob) -> Result<Job, Error> {
    let o = &job.options;
    let name = if job.module_path.is_empty() {
        job.name.to_owned()
    } else {
        format!("{}::{}", job.module_path, job.name)
    };
    let given = |d: Option<std::time::Duration>| d.map(Given::Value);
    let mut options = JobOptions {
        slug: o.slug.map(str::to_owned),
        timezone: o.timezone.map(str::to_owned),
        checkin_margin: o.checkin_margin.map(u64::from),
        max_runtime: o.max_runtime.map(u64::from),
        failure_issue_threshold: o.failure_issue_threshold.map(u64::from),
        recovery_threshold: o.recovery_threshold.map(u64::from),
        owner: o.owner.map(str::to_owned),
        monitor: Some(o.monitor),
        run_at_startup: Some(o.run_at_startup),
        overlap: Some(Given::Value(o.overlap)),
        timeout: given(o.timeout),
        jitter: given(o.jitter),
        catch_up: given(o.catch_up),
        retries: o.retries.map(u64::from),
        backoff: given(o.backoff),
        backoff_max: given(o.backoff_max),
        environments: o
            .environments
            .map(|names| names.iter().map(|name| (*name).to_owned()).collect()),
        ..JobOptions::default()
    };
    match job.schedule {
        ScheduleSpec::Cron(s) => options.cron = Some(s.to_owned()),
        ScheduleSpec::Every(s) => options.every = Some(s.to_owned()),
    }
    resolve(JobSpec {
        options,
        name: Some(name),
        fn_name: job.name,
        module_path: job.module_path,
        location: Some(SourceLocation {
            file: job.file,
            line: job.line,
            module_path: job.module_path,
        }),
        run: Some(RunFn::Static(job.run)),
        requires: job.requires,
    })
}

/// The registered job of the `#[scheduled]` fn whose item type has `item` (its `TypeId`),
/// resolved; `None` when no registered job is that fn.
#[cfg(feature = "testing")]
pub(crate) fn registered_job_of(item: std::any::TypeId) -> Option<Result<Job, Error>> {
    inventory::iter::<StaticJob>
        .into_iter()
        .find(|job| (job.item)() == item)
        .map(resolve_static)
}

/// Sorts jobs by slug and rejects the first slug used twice, naming both jobs.
///
/// Every job's slug is in Sentry's normal form (`resolve` refuses any other), so two
/// slugs are equal exactly when Sentry would file them under one monitor: comparing
/// slugs compares normal forms.
///
/// Two jobs with one slug are reported in the order of their descriptions, so the message
/// is the same on every build whatever order the linker collected them in.
pub(crate) fn sort_and_check_unique(jobs: &mut [Job]) -> Result<(), Error> {
    // Descriptions are built only to order jobs sharing a slug: a string per job would
    // be allocated and freed just before the jobs are shared, leaving holes in the heap.
    jobs.sort_by(|a, b| {
        a.slug
            .cmp(&b.slug)
            .then_with(|| a.describe().cmp(&b.describe()))
    });
    for pair in jobs.windows(2) {
        if let [a, b] = pair {
            if a.slug == b.slug {
                return Err(Error::DuplicateSlug {
                    slug: a.slug.to_string(),
                    first: a.describe(),
                    second: b.describe(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::registered::{JobFuture, StaticOptions};

    fn noop(_: &crate::JobContext) -> JobFuture {
        Box::pin(async { Ok(()) })
    }

    fn descriptor(name: &'static str, line: u32, options: StaticOptions) -> StaticJob {
        StaticJob {
            name,
            module_path: "app::jobs",
            file: "src/jobs.rs",
            line,
            schedule: ScheduleSpec::Cron("0 12 * * *"),
            options,
            run: noop,
            item: crate::job::registered::fn_item_id(&noop),
            requires: &[],
        }
    }

    #[test]
    fn duplicate_explicit_slugs_name_both_fns_and_lines() {
        let opts = StaticOptions {
            slug: Some("report"),
            ..StaticOptions::DEFAULT
        };
        let mut jobs = vec![
            resolve_static(&descriptor("weekly", 20, opts)).unwrap(),
            resolve_static(&descriptor("daily", 10, opts)).unwrap(),
        ];
        let err = sort_and_check_unique(&mut jobs).unwrap_err().to_string();
        assert_eq!(
            err,
            "duplicate monitor slug `report`: used by `app::jobs::daily` (src/jobs.rs:10) and by \
             `app::jobs::weekly` (src/jobs.rs:20); give one of them its own `slug = \"...\"`"
        );
    }

    #[test]
    fn hand_built_descriptor_with_bad_data_is_an_error_not_a_panic() {
        let bad = StaticJob {
            schedule: ScheduleSpec::Cron("0 12 * * *"),
            ..descriptor(
                "broken",
                7,
                StaticOptions {
                    timezone: Some("Mars/Olympus_Mons"),
                    checkin_margin: Some(0),
                    ..StaticOptions::DEFAULT
                },
            )
        };
        let err = resolve_static(&bad).unwrap_err();
        let Error::InvalidJob { job, problems } = err else {
            panic!("expected InvalidJob, got {err:?}");
        };
        assert_eq!(job, "`app::jobs::broken` (src/jobs.rs:7)");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("Mars/Olympus_Mons"), "{problems:?}");
        assert!(problems[1].contains("checkin_margin"), "{problems:?}");
    }

    #[test]
    fn jobs_are_sorted_by_slug() {
        let mut jobs = vec![
            resolve_static(&descriptor("zeta", 1, StaticOptions::DEFAULT)).unwrap(),
            resolve_static(&descriptor("alpha", 2, StaticOptions::DEFAULT)).unwrap(),
        ];
        sort_and_check_unique(&mut jobs).unwrap();
        let names: Vec<_> = jobs.iter().map(|j| j.name()).collect();
        assert_eq!(names, ["app::jobs::alpha", "app::jobs::zeta"]);
    }
}
