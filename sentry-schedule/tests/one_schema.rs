//! The attribute and the job builder validate with one option schema: for the same bad
//! options, `Job::builder(..).build()` states exactly the problems (message and help, in
//! order) that the compile error of the matching UI case in `tests/ui/fail` shows.

use sentry_schedule::{Error, Job, JobBuilder, JobContext, Overlap};
use std::time::Duration;

fn job(schedule: &str) -> JobBuilder {
    Job::builder("x", schedule).run(|_: JobContext| async {})
}

/// The `error:` blocks of a UI case's expected output, each as `message; help`, the way
/// the builder's error states a problem.
fn compile_errors(case: &str) -> Vec<String> {
    let path = format!("{}/tests/ui/fail/{case}.stderr", env!("CARGO_MANIFEST_DIR"));
    let stderr = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut errors = Vec::new();
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        let Some(message) = line.strip_prefix("error: ") else {
            continue;
        };
        let mut message = message.to_owned();
        for line in lines.by_ref() {
            if line.starts_with(" --> ") {
                break;
            }
            match line.trim_start().strip_prefix("help: ") {
                Some(help) => message = format!("{message}; {help}"),
                None => message = format!("{message}\n{}", line.trim_start()),
            }
        }
        errors.push(message);
    }
    errors
}

fn build_problems(builder: JobBuilder) -> Vec<String> {
    match builder.build() {
        Ok(job) => panic!("`{}` should not build", job.slug()),
        Err(Error::InvalidJob { problems, .. }) => problems,
        Err(other) => panic!("expected InvalidJob, got {other}"),
    }
}

#[test]
fn the_builder_states_the_problems_the_attribute_shows() {
    let minutes = |m: u64| Duration::from_secs(m * 60);
    let table: Vec<(&str, JobBuilder)> = vec![
        (
            "checkin_margin_too_high",
            job("0 12 * * *").checkin_margin(40_321),
        ),
        ("checkin_margin_zero", job("0 12 * * *").checkin_margin(0)),
        ("every_sub_minute", job("30s")),
        ("every_with_timezone", job("1d").timezone("Europe/Vienna")),
        ("every_not_whole_minutes", job("90s")),
        ("every_too_long", job("3000000d")),
        ("every_invalid", job("15x")),
        (
            "max_runtime_over_duration_cap",
            job("0 12 * * *").max_runtime(40_320),
        ),
        (
            "max_runtime_too_long",
            job("0 12 * * *").max_runtime(40_321),
        ),
        (
            "monitor_off_with_monitor_keys",
            job("10s").monitor(false).max_runtime(5).owner("team:6"),
        ),
        ("owner_invalid", job("0 12 * * *").owner("ops")),
        ("owner_not_numeric", job("0 12 * * *").owner("team:ops")),
        (
            "slug_invalid",
            Job::builder("Daily Report!", "0 12 * * *").run(|_: JobContext| async {}),
        ),
        (
            "slug_nothing_left",
            Job::builder("---", "0 12 * * *").run(|_: JobContext| async {}),
        ),
        (
            "slug_not_normal",
            Job::builder("nightly--backup_", "0 12 * * *").run(|_: JobContext| async {}),
        ),
        (
            "threshold_too_high",
            job("0 12 * * *").recovery_threshold(721),
        ),
        (
            "threshold_zero",
            job("0 12 * * *").failure_issue_threshold(0),
        ),
        (
            "timeout_over_default_max_runtime",
            job("0 12 * * *").timeout(minutes(45)),
        ),
        (
            "timeout_over_max_runtime",
            job("0 12 * * *").max_runtime(10).timeout(minutes(15)),
        ),
        (
            "timezone_unknown",
            job("0 12 * * *").timezone("Europe/Viena"),
        ),
        ("cron_invalid_field", job("61 12 * * *")),
        ("cron_never_fires", job("0 0 30 2 *")),
        ("cron_day_name_typo", job("0 12 * * MOM")),
        (
            "environments_empty",
            job("0 12 * * *").environments(Vec::<String>::new()),
        ),
        (
            "environments_invalid",
            job("0 12 * * *").environments(["production", "eu/staging"]),
        ),
    ];
    for (case, builder) in table {
        let expected = compile_errors(case);
        assert!(!expected.is_empty(), "{case}: no error in its .stderr");
        let problems = build_problems(builder);
        assert_eq!(problems.len(), expected.len(), "{case}: {problems:#?}");
        for (problem, expected) in problems.iter().zip(&expected) {
            // The builder names a schedule's text in front (the attribute points at it).
            assert!(
                problem.ends_with(expected.as_str()),
                "{case}:\n builder: {problem}\n    attr: {expected}"
            );
        }
    }
}

#[test]
fn every_with_a_timezone_is_refused_by_the_builder_as_by_the_attribute() {
    // The rule lives once in the schema; the builder took this job before.
    let problems = build_problems(job("15m").timezone("Europe/Vienna"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("`timezone` has no effect on `every`"),
        "{problems:#?}"
    );
    // The same zone with a crontab, and an interval without one, build.
    assert!(job("0 6 * * *").timezone("Europe/Vienna").build().is_ok());
    assert!(job("15m").overlap(Overlap::Allow).build().is_ok());
}
