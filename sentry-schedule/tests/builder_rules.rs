//! `Job::builder(..).build()` refuses what Sentry's server would refuse or rewrite, with
//! an error naming the value and the rule: the same core functions the attribute uses at
//! compile time (the UI cases in `tests/ui/fail`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use sentry_schedule::{Error, Job, JobBuilder, JobContext, Scheduler};
use std::time::Duration;

fn job(slug: &str, schedule: &str) -> JobBuilder {
    Job::builder(slug, schedule).run(|_: JobContext| async {})
}

/// The problems of a job that must not build.
#[track_caller]
fn problems(builder: JobBuilder) -> Vec<String> {
    match builder.build() {
        Ok(job) => panic!("`{}` should not build", job.slug()),
        Err(Error::InvalidJob { problems, .. }) => problems,
        Err(other) => panic!("expected InvalidJob, got {other}"),
    }
}

#[track_caller]
fn one_problem(builder: JobBuilder, has: &[&str]) {
    let problems = problems(builder);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    for part in has {
        assert!(
            problems[0].contains(part),
            "`{}` lacks `{part}`",
            problems[0]
        );
    }
}

#[test]
fn owner_must_be_a_numeric_user_or_team_id() {
    assert!(job("a", "@daily").owner("team:6").build().is_ok());
    assert!(job("a", "@daily").owner("user:51").build().is_ok());
    for bad in ["team:ops", "user:jane@example.com", "ops", "team:"] {
        one_problem(
            job("a", "@daily").owner(bad),
            &[&format!("`{bad}`"), "`team:<numeric id>`", "/teams/"],
        );
    }
}

#[test]
fn checkin_margin_up_to_max_margin() {
    assert!(job("a", "@daily").checkin_margin(40_320).build().is_ok());
    one_problem(
        job("a", "@daily").checkin_margin(40_321),
        &["checkin_margin 40321", "1..=40320"],
    );
    one_problem(job("a", "@daily").checkin_margin(0), &["checkin_margin 0"]);
}

#[test]
fn max_runtime_within_max_timeout_and_the_duration_cap() {
    assert!(job("a", "@daily").max_runtime(35_791).build().is_ok());
    one_problem(
        job("a", "@daily").max_runtime(35_792),
        &["max_runtime 35792 minutes", "2^31 − 1 ms"],
    );
    one_problem(
        job("a", "@daily").max_runtime(40_321),
        &["max_runtime 40321", "1..=40320"],
    );
}

#[test]
fn thresholds_up_to_720() {
    assert!(job("a", "@daily")
        .failure_issue_threshold(720)
        .recovery_threshold(1)
        .build()
        .is_ok());
    one_problem(
        job("a", "@daily").failure_issue_threshold(721),
        &["failure_issue_threshold 721", "1..=720"],
    );
    one_problem(
        job("a", "@daily").recovery_threshold(0),
        &["recovery_threshold 0"],
    );
}

#[test]
fn intervals_up_to_a_thousand_years() {
    assert!(job("a", "365000d").build().is_ok());
    one_problem(job("a", "3000000d"), &["`3000000d`", "rrule", "365000d"]);
}

#[test]
fn timeout_within_the_duration_cap_and_the_effective_max_runtime() {
    // Sentry's default max_runtime (30 minutes) applies when none is set.
    assert!(job("a", "@daily")
        .timeout(Duration::from_secs(30 * 60))
        .build()
        .is_ok());
    one_problem(
        job("a", "@daily").timeout(Duration::from_secs(45 * 60)),
        &[
            "timeout `45m`",
            "Sentry's default `max_runtime` of 30 minutes",
        ],
    );
    // 25 days: beyond what a check-in may report, whatever max_runtime says.
    let days = |n: u64| Duration::from_secs(n * 86_400);
    one_problem(
        job("a", "@daily").monitor(false).timeout(days(25)),
        &["timeout 600h", "2^31 − 1 ms"],
    );
    assert!(job("a", "@daily")
        .monitor(false)
        .timeout(days(24))
        .build()
        .is_ok());
}

#[test]
fn explicit_slugs_must_be_in_sentrys_normal_form() {
    // Made only of digits too: Sentry's check-in path keeps `2024` as it is.
    for ok in ["a-b", "nightly_backup-2", "2024", &"x".repeat(50)] {
        assert!(job(ok, "@daily").build().is_ok(), "{ok}");
    }
    for (bad, normal) in [
        ("a--b", "a-b"),
        ("-edge_", "edge"),
        ("trailing_", "trailing"),
        ("Nightly Backup", "nightly-backup"),
    ] {
        one_problem(
            job(bad, "@daily"),
            &[
                &format!("`{bad}`"),
                &format!("Sentry would show it as `{normal}`"),
            ],
        );
    }
    one_problem(job(&"x".repeat(51), "@daily"), &["Sentry would show it as"]);
    for nothing in ["---", "!!", "日本"] {
        one_problem(
            job(nothing, "@daily"),
            &[
                &format!("`{nothing}`"),
                "nothing of it is left after Sentry's normalisation",
            ],
        );
    }
}

#[test]
fn slugs_with_one_normal_form_are_one_monitor() {
    // `a--b` cannot be built, so two jobs can never differ only in Sentry's eyes: the
    // job that builds is `a-b`, and a second `a-b` is a duplicate.
    assert!(job("a--b", "@daily").build().is_err());
    let err = Scheduler::builder()
        .registered_jobs(false)
        .job(job("a-b", "@daily").build().unwrap())
        .job(job("a-b", "@hourly").build().unwrap())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateSlug { ref slug, .. } if slug == "a-b"),
        "{err}"
    );
}

#[test]
fn the_cron_error_states_its_help_once() {
    let problems = problems(job("a", "0 12 * * MOM"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let text = &problems[0];
    assert_eq!(text.matches("day-of-week accepts").count(), 1, "{text}");
    assert!(text.contains("did you mean `MON`?"), "{text}");
}

#[test]
fn catch_up_without_a_coordinator_is_a_start_up_error() {
    let with_catch_up = job("nightly-export", "@daily")
        .catch_up(Duration::from_secs(3600))
        .build()
        .unwrap();
    let err = Scheduler::builder()
        .registered_jobs(false)
        .job(with_catch_up)
        .build()
        .unwrap_err();
    let Error::InvalidJob { job, problems } = &err else {
        panic!("expected InvalidJob, got {err}");
    };
    assert!(job.contains("nightly-export"), "{job}");
    assert!(
        problems[0].contains("`catch_up` needs a coordinator"),
        "{err}"
    );
}

/// `build()` with a Sentry client whose `environment` is `environment` bound to the hub.
fn build_with_environment(environment: &str) -> Result<Scheduler, Error> {
    let mut options = sentry::ClientOptions::default();
    options.environment = Some(environment.to_owned().into());
    let client = sentry::Client::from(options);
    let hub = std::sync::Arc::new(sentry::Hub::new(
        Some(std::sync::Arc::new(client)),
        std::sync::Arc::new(sentry::Scope::default()),
    ));
    sentry::Hub::run(hub, || {
        Scheduler::builder()
            .registered_jobs(false)
            .job(job("nightly", "@daily").build().unwrap())
            .build()
    })
}

#[test]
fn an_environment_sentry_drops_stops_the_scheduler_before_any_job_runs() {
    assert!(build_with_environment("eu-staging").is_ok());
    for (bad, says) in [
        ("eu/staging", "'/'"),
        ("line\nbreak", "'\\n'"),
        (&"e".repeat(65), "65 characters"),
        ("", "production"),
    ] {
        let err = build_with_environment(bad).unwrap_err();
        let Error::InvalidEnvironment { environment, .. } = &err else {
            panic!("expected InvalidEnvironment, got {err}");
        };
        assert_eq!(environment, bad);
        let text = err.to_string();
        assert!(text.contains(says), "{text}");
        assert!(text.contains("SENTRY_ENVIRONMENT"), "{text}");
    }
}
