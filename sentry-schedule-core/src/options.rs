//! The one schema of a job's options, shared by the `#[scheduled]` attribute and the
//! runtime's `JobBuilder`.
//!
//! [`KEYS`] declares every key once (name, kind of value, example, doc); the macro takes
//! its key list, its "did you mean" and its form checks from it. Both paths fill one
//! [`JobOptions`] (the macro from the attribute's literals through [`JobOptions::set`],
//! the builder through its setters) and call [`JobOptions::validate`], which checks every
//! value and every cross-key rule and returns all [`Problem`]s at once. The macro turns
//! each problem into a compile error at the key or value it names, the builder into its
//! run-time error: one rule, one message, both paths.

use std::fmt;
use std::time::Duration;

use chrono_tz::Tz;

use crate::retry::{Retry, DEFAULT_BACKOFF, DEFAULT_BACKOFF_MAX};
use crate::{duration, environment, limits, slug, timezone, Schedule, ScheduleError};

/// What kind of literal a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string literal.
    Str,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// A list of string literals, `["a", "b"]`.
    StrList,
    /// A path (only `crate`, which the macro reads itself).
    Path,
}

/// One key of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key as written in `#[scheduled(key = ...)]`.
    pub name: &'static str,
    /// The literal it takes.
    pub kind: ValueKind,
    /// An example value, as written in the attribute.
    pub example: &'static str,
    /// What the key does.
    pub doc: &'static str,
    /// Stores a literal of `kind` in its field.
    set: fn(&mut JobOptions, Value),
}

const fn key(
    name: &'static str,
    kind: ValueKind,
    example: &'static str,
    doc: &'static str,
    set: fn(&mut JobOptions, Value),
) -> Key {
    Key {
        name,
        kind,
        example,
        doc,
        set,
    }
}

use ValueKind::{Bool, Int, Path, Str, StrList};

/// Every key of the attribute, in the order the docs and the key list show them: one line
/// per key (name, literal, example, doc, field).
#[rustfmt::skip]
pub const KEYS: &[Key] = &[
    key("cron", Str, "\"0 12 * * *\"", "a crontab expression or nickname, in `timezone`", |o, v| o.cron = Some(v.text())),
    key("every", Str, "\"15m\"", "a fixed interval, aligned to the Unix epoch in UTC", |o, v| o.every = Some(v.text())),
    key("slug", Str, "\"daily-report\"", "the monitor slug, in Sentry's normal form", |o, v| o.slug = Some(v.text())),
    key("timezone", Str, "\"Europe/Vienna\"", "the IANA zone `cron` is read in (default UTC)", |o, v| o.timezone = Some(v.text())),
    key("checkin_margin", Int, "5", "minutes before Sentry reports a missed check-in", |o, v| o.checkin_margin = Some(v.int())),
    key("max_runtime", Int, "30", "minutes a run may take before Sentry marks it failed", |o, v| o.max_runtime = Some(v.int())),
    key("failure_issue_threshold", Int, "3", "consecutive failures before Sentry opens an issue", |o, v| o.failure_issue_threshold = Some(v.int())),
    key("recovery_threshold", Int, "3", "consecutive successes before Sentry resolves it", |o, v| o.recovery_threshold = Some(v.int())),
    key("owner", Str, "\"team:6\"", "the monitor's owner, `team:<id>` or `user:<id>`", |o, v| o.owner = Some(v.text())),
    key("monitor", Bool, "false", "`false` runs the job without check-ins", |o, v| o.monitor = Some(v.boolean())),
    key("run_at_startup", Bool, "true", "one extra run when the scheduler starts", |o, v| o.run_at_startup = Some(v.boolean())),
    key("overlap", Str, "\"skip\"", "what a tick does while the previous run runs", |o, v| o.overlap = Some(Given::Text(v.text()))),
    key("timeout", Str, "\"10m\"", "cancels a run that takes longer", |o, v| o.timeout = Some(Given::Text(v.text()))),
    key("jitter", Str, "\"30s\"", "delays each run by a random amount below it", |o, v| o.jitter = Some(Given::Text(v.text()))),
    key("catch_up", Str, "\"1h\"", "at start-up, runs the latest tick missed within it", |o, v| o.catch_up = Some(Given::Text(v.text()))),
    key("retries", Int, "3", "attempts after a failed one, in the same run and check-in (a monitored job needs `timeout`)", |o, v| o.retries = Some(v.int())),
    key("backoff", Str, "\"30s\"", "the wait before the first retry, doubled for each next one (default 30s)", |o, v| o.backoff = Some(Given::Text(v.text()))),
    key("backoff_max", Str, "\"10m\"", "the longest wait between two attempts (default 10m)", |o, v| o.backoff_max = Some(Given::Text(v.text()))),
    key("environments", StrList, "[\"production\"]", "runs the job only where the Sentry client's environment is one of these", |o, v| o.environments = Some(v.list())),
    key("crate", Path, "\"sentry_schedule\"", "the path the runtime crate is reachable under", |_, _| {}),
];

/// The schema entry of `name`.
pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

/// Overlap policy (`overlap = "skip" | "allow" | "replace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Overlap {
    /// A tick that comes while the previous run still runs is skipped (default).
    #[default]
    Skip,
    /// Runs may overlap, each with its own check-in.
    Allow,
    /// The old run is cancelled and reported as `error`; the new one starts.
    Replace,
}

/// A value given as text (the attribute) or already typed (the builder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    /// As written in the attribute, parsed by [`JobOptions::validate`].
    Text(String),
    /// Already typed.
    Value(T),
}

/// A literal of the attribute, for [`JobOptions::set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string literal.
    Str(String),
    /// A whole number.
    Int(u64),
    /// `true` / `false`.
    Bool(bool),
    /// A list of string literals.
    List(Vec<String>),
}

impl Value {
    /// The kind of literal this is.
    pub fn kind(&self) -> ValueKind {
        match self {
            Self::Str(_) => Str,
            Self::Int(_) => Int,
            Self::Bool(_) => Bool,
            Self::List(_) => StrList,
        }
    }

    // The setters in `KEYS` take a value of their key's kind ([`JobOptions::set`] checks it).
    fn text(self) -> String {
        match self {
            Self::Str(text) => text,
            Self::Int(_) | Self::Bool(_) | Self::List(_) => String::new(),
        }
    }

    fn int(self) -> u64 {
        match self {
            Self::Int(n) => n,
            Self::Str(_) | Self::Bool(_) | Self::List(_) => 0,
        }
    }

    fn list(self) -> Vec<String> {
        match self {
            Self::List(items) => items,
            Self::Str(_) | Self::Int(_) | Self::Bool(_) => Vec::new(),
        }
    }

    fn boolean(self) -> bool {
        matches!(self, Self::Bool(true))
    }
}

/// Which token of the attribute a [`Problem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The key itself (the option as a whole is wrong here).
    Key,
    /// The key's value.
    Value,
    /// One item (0-based) of the key's list value.
    Item(usize),
    /// No single key: the attribute as a whole (e.g. a missing schedule).
    Attribute,
}

/// One thing wrong with a job's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key it is about.
    pub key: &'static str,
    /// Whether it is about the key, its value or the whole attribute.
    pub target: Target,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub help: Option<String>,
}

impl Problem {
    fn new(key: &'static str, target: Target, message: impl Into<String>) -> Self {
        Self {
            key,
            target,
            message: message.into(),
            help: None,
        }
    }

    fn violation(key: &'static str, target: Target, v: limits::Violation) -> Self {
        Self {
            key,
            target,
            message: v.message,
            help: Some(v.help),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

/// Every option of a job, as given; `None` means "not given" (the default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// `cron = "..."`
    pub cron: Option<String>,
    /// `every = "..."`
    pub every: Option<String>,
    /// `slug = "..."`
    pub slug: Option<String>,
    /// `timezone = "..."` (IANA)
    pub timezone: Option<String>,
    /// `checkin_margin` (minutes)
    pub checkin_margin: Option<u64>,
    /// `max_runtime` (minutes)
    pub max_runtime: Option<u64>,
    /// `failure_issue_threshold`
    pub failure_issue_threshold: Option<u64>,
    /// `recovery_threshold`
    pub recovery_threshold: Option<u64>,
    /// `owner = "team:<id>" | "user:<id>"`
    pub owner: Option<String>,
    /// `monitor = false` turns check-ins off.
    pub monitor: Option<bool>,
    /// `run_at_startup = true`
    pub run_at_startup: Option<bool>,
    /// `overlap = "..."`
    pub overlap: Option<Given<Overlap>>,
    /// `timeout = "10m"`
    pub timeout: Option<Given<Duration>>,
    /// `jitter = "30s"`
    pub jitter: Option<Given<Duration>>,
    /// `catch_up = "1h"`
    pub catch_up: Option<Given<Duration>>,
    /// `retries = 3`
    pub retries: Option<u64>,
    /// `backoff = "30s"`
    pub backoff: Option<Given<Duration>>,
    /// `backoff_max = "10m"`
    pub backoff_max: Option<Given<Duration>>,
    /// `environments = ["production", ...]`
    pub environments: Option<Vec<String>>,
}

/// The schedule key that was given and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleSource {
    /// `cron = "..."`
    Cron(String),
    /// `every = "..."`
    Every(String),
}

/// Options that passed [`JobOptions::validate`], typed; `None` still means "not given".
#[derive(Debug, Clone)]
pub struct ValidOptions {
    /// How the schedule was written.
    pub source: ScheduleSource,
    /// The parsed schedule (`H` fields not resolved yet).
    pub schedule: Schedule,
    /// `slug`
    pub slug: Option<String>,
    /// `timezone`, parsed.
    pub timezone: Option<Tz>,
    /// Whether check-ins are sent.
    pub monitor: bool,
    /// `checkin_margin`
    pub checkin_margin: Option<u32>,
    /// `max_runtime`
    pub max_runtime: Option<u32>,
    /// `failure_issue_threshold`
    pub failure_issue_threshold: Option<u32>,
    /// `recovery_threshold`
    pub recovery_threshold: Option<u32>,
    /// `owner`
    pub owner: Option<String>,
    /// `run_at_startup`
    pub run_at_startup: Option<bool>,
    /// `overlap`
    pub overlap: Option<Overlap>,
    /// `timeout`
    pub timeout: Option<Duration>,
    /// `jitter`
    pub jitter: Option<Duration>,
    /// `catch_up`
    pub catch_up: Option<Duration>,
    /// `retries`, `backoff` and `backoff_max`, defaults filled in; `None` without retries
    /// (or with `retries = 0`).
    pub retry: Option<Retry>,
    /// `environments`: the Sentry environments the job runs in (`None`: all).
    pub environments: Option<Vec<String>>,
}

impl JobOptions {
    /// Sets `key` from an attribute literal, through its line in [`KEYS`]. `Err` with the
    /// expected kind when the key takes another kind of literal; `Ok(false)` when `key` is
    /// not an option of this struct (unknown, or `crate`, which the macro reads itself).
    pub fn set(&mut self, key: &str, value: Value) -> Result<bool, ValueKind> {
        let Some(key) = find_key(key).filter(|key| key.kind != Path) else {
            return Ok(false);
        };
        if value.kind() != key.kind {
            return Err(key.kind);
        }
        (key.set)(self, value);
        Ok(true)
    }

    /// Checks every option and every rule between options; all problems at once, in the
    /// order of the keys.
    pub fn validate(&self) -> Result<ValidOptions, Vec<Problem>> {
        let mut problems = Vec::new();
        let monitor = self.monitor.unwrap_or(true);
        let schedule = self.check_schedule(monitor, &mut problems);

        let slug = self
            .slug
            .as_ref()
            .and_then(|text| match slug::validate_slug(text) {
                Ok(()) => Some(text.clone()),
                Err(v) => {
                    problems.push(Problem::violation("slug", Target::Value, v));
                    None
                }
            });
        // Our intervals are aligned to the Unix epoch in UTC whatever the zone
        // (`interval.rs`). Sentry computes an interval monitor's next expected check-in
        // with `rrule(freq, interval, dtstart=last_check_in.astimezone(monitor timezone))`
        // (`get_next_schedule` in getsentry/sentry `src/sentry/monitors/schedule.py`,
        // called by `Monitor.get_next_expected_checkin` in `monitors/models.py`): a zone
        // changes nothing for us and can only shift Sentry's wall-clock arithmetic away
        // from our ticks, so it is refused rather than silently ignored.
        if self.timezone.is_some() && self.every.is_some() {
            problems.push(Problem {
                help: Some(
                    "remove `timezone`, or use `cron` for wall-clock times, e.g. \
                     `cron = \"0 6 * * *\", timezone = \"Europe/Vienna\"`"
                        .into(),
                ),
                ..Problem::new(
                    "timezone",
                    Target::Key,
                    "`timezone` has no effect on `every`: intervals are aligned to the Unix epoch in UTC",
                )
            });
        }
        let timezone = self.timezone.as_ref().and_then(|name| {
            timezone::parse_timezone(name)
                .map_err(|message| problems.push(Problem::new("timezone", Target::Value, message)))
                .ok()
        });
        let owner = self
            .owner
            .as_ref()
            .and_then(|text| match limits::check_owner(text) {
                Ok(()) => Some(text.clone()),
                Err(v) => {
                    problems.push(Problem::violation("owner", Target::Value, v));
                    None
                }
            });
        let mut number =
            |key: &'static str,
             value: Option<u64>,
             check: &dyn Fn(u64) -> Result<(), limits::Violation>| {
                let value = value?;
                match check(value).map(|()| u32::try_from(value)) {
                    Ok(Ok(value)) => Some(value),
                    Ok(Err(_)) => {
                        problems.push(Problem::new(
                            key,
                            Target::Value,
                            format!("`{key}` is too large"),
                        ));
                        None
                    }
                    Err(v) => {
                        problems.push(Problem::violation(key, Target::Value, v));
                        None
                    }
                }
            };
        let checkin_margin = number(
            "checkin_margin",
            self.checkin_margin,
            &limits::check_checkin_margin,
        );
        let max_runtime = number("max_runtime", self.max_runtime, &limits::check_max_runtime);
        let failure_issue_threshold = number(
            "failure_issue_threshold",
            self.failure_issue_threshold,
            &|v| limits::check_threshold("failure_issue_threshold", v),
        );
        let recovery_threshold = number("recovery_threshold", self.recovery_threshold, &|v| {
            limits::check_threshold("recovery_threshold", v)
        });
        let overlap = match &self.overlap {
            None => None,
            Some(Given::Value(overlap)) => Some(*overlap),
            Some(Given::Text(text)) => match text.as_str() {
                "skip" => Some(Overlap::Skip),
                "allow" => Some(Overlap::Allow),
                "replace" => Some(Overlap::Replace),
                other => {
                    problems.push(Problem {
                        help: Some(
                            "expected `\"skip\"` (default: a tick that comes while the previous run still runs is skipped), \
                             `\"allow\"` (runs may overlap) or `\"replace\"` (the old run is cancelled)"
                                .into(),
                        ),
                        ..Problem::new("overlap", Target::Value, format!("unknown overlap policy `{other}`"))
                    });
                    None
                }
            },
        };
        let timeout = duration_option("timeout", self.timeout.as_ref(), &mut problems).and_then(
            |(timeout, text)| match limits::check_timeout(timeout, &text) {
                Ok(()) => Some((timeout, text)),
                Err(v) => {
                    problems.push(Problem::violation("timeout", Target::Value, v));
                    None
                }
            },
        );
        let jitter = duration_option("jitter", self.jitter.as_ref(), &mut problems);
        let catch_up = duration_option("catch_up", self.catch_up.as_ref(), &mut problems);
        let environments = self
            .environments
            .as_ref()
            .and_then(|names| check_environments(names, &mut problems));
        let retry = self.check_retry(&mut problems);

        if monitor {
            // Run control that Sentry's monitor would contradict (rules in `limits`).
            if let Some((timeout, text)) = &timeout {
                if let Err(v) = limits::check_timeout_fits(*timeout, text, max_runtime) {
                    problems.push(Problem::violation("timeout", Target::Value, v));
                }
            }
            if let Some((jitter, text)) = &jitter {
                if let Err(v) = limits::check_jitter_fits(*jitter, text, checkin_margin) {
                    problems.push(Problem::violation("jitter", Target::Value, v));
                }
            }
            // One check-in covers every attempt: without a timeout an attempt has no end
            // to count on, and the worst case must fit in `max_runtime`.
            if let Some(retry) = &retry {
                match (&self.timeout, &timeout) {
                    (None, _) => problems.push(Problem {
                        help: Some(
                            "add a `timeout` per attempt, e.g. `timeout = \"5m\"`, so that every \
                             attempt fits in the run's one check-in"
                                .into(),
                        ),
                        ..Problem::new(
                            "retries",
                            Target::Key,
                            "`retries` of a monitored job need a `timeout`: one check-in covers \
                             every attempt, and Sentry marks it timed out after `max_runtime`",
                        )
                    }),
                    (Some(_), Some((timeout, _))) => {
                        if let Err(v) = limits::check_retries_fit(retry, *timeout, max_runtime) {
                            problems.push(Problem::violation("retries", Target::Value, v));
                        }
                    }
                    // An invalid timeout was reported already.
                    (Some(_), None) => {}
                }
            }
        } else {
            // Keys that only configure the Sentry monitor would silently do nothing.
            let given = [
                self.checkin_margin.is_some(),
                self.max_runtime.is_some(),
                self.failure_issue_threshold.is_some(),
                self.recovery_threshold.is_some(),
                self.owner.is_some(),
            ];
            for (key, _) in limits::MONITOR_ONLY_OPTIONS
                .into_iter()
                .zip(given)
                .filter(|(_, given)| *given)
            {
                problems.push(Problem::violation(
                    key,
                    Target::Key,
                    limits::monitor_only_option(key),
                ));
            }
        }

        match schedule {
            Some((source, schedule)) if problems.is_empty() => Ok(ValidOptions {
                source,
                schedule,
                slug,
                timezone,
                monitor,
                checkin_margin,
                max_runtime,
                failure_issue_threshold,
                recovery_threshold,
                owner,
                run_at_startup: self.run_at_startup,
                overlap,
                timeout: timeout.map(|(d, _)| d),
                jitter: jitter.map(|(d, _)| d),
                catch_up: catch_up.map(|(d, _)| d),
                retry,
                environments,
            }),
            _ => Err(problems),
        }
    }

    /// `retries`, `backoff` and `backoff_max`: each value, and the two waits only with
    /// retries. `None` without retries or with `retries = 0`.
    fn check_retry(&self, problems: &mut Vec<Problem>) -> Option<Retry> {
        let retries =
            self.retries.and_then(
                |n| match limits::check_retries(n).map(|()| u32::try_from(n)) {
                    Ok(Ok(n)) => Some(n),
                    Ok(Err(_)) => None,
                    Err(v) => {
                        problems.push(Problem::violation("retries", Target::Value, v));
                        None
                    }
                },
            );
        let backoff = duration_option("backoff", self.backoff.as_ref(), problems);
        let backoff_max = duration_option("backoff_max", self.backoff_max.as_ref(), problems);
        if self.retries.is_none() {
            for (key, given) in [
                ("backoff", self.backoff.is_some()),
                ("backoff_max", self.backoff_max.is_some()),
            ] {
                if given {
                    problems.push(Problem {
                        help: Some(format!(
                            "add `retries = 3` (attempts after a failed one), or remove `{key}`"
                        )),
                        ..Problem::new(
                            key,
                            Target::Key,
                            format!("`{key}` has no effect without `retries`"),
                        )
                    });
                }
            }
        }
        let retries = retries.filter(|n| *n > 0)?;
        Some(Retry {
            retries,
            backoff: backoff.map_or(DEFAULT_BACKOFF, |(d, _)| d),
            backoff_max: backoff_max.map_or(DEFAULT_BACKOFF_MAX, |(d, _)| d),
        })
    }

    fn check_schedule(
        &self,
        monitor: bool,
        problems: &mut Vec<Problem>,
    ) -> Option<(ScheduleSource, Schedule)> {
        match (&self.cron, &self.every) {
            (Some(_), Some(_)) => {
                problems.push(Problem {
                    help: Some(
                        "`cron = \"0 12 * * *\"` runs at wall-clock times; `every = \"15m\"` runs at a fixed interval"
                            .into(),
                    ),
                    ..Problem::new("every", Target::Key, "give either `cron` or `every`, not both")
                });
                None
            }
            (Some(text), None) => match Schedule::cron(text) {
                Ok(schedule) => Some((ScheduleSource::Cron(text.clone()), schedule)),
                Err(error) => {
                    problems.push(schedule_problem("cron", &error));
                    None
                }
            },
            (None, Some(text)) => match Schedule::every(text) {
                Ok(schedule) => match schedule.sentry_schedule() {
                    Err(error) if monitor => {
                        problems.push(Problem {
                            key: "every",
                            target: Target::Value,
                            message: error.message,
                            help: error.help,
                        });
                        None
                    }
                    _ => Some((ScheduleSource::Every(text.clone()), schedule)),
                },
                Err(error) => {
                    problems.push(schedule_problem("every", &error));
                    None
                }
            },
            (None, None) => {
                problems.push(Problem {
                    help: Some(
                        "e.g. `#[scheduled(cron = \"0 12 * * *\")]` (daily at noon) or `#[scheduled(every = \"15m\")]`"
                            .into(),
                    ),
                    ..Problem::new(
                        "cron",
                        Target::Attribute,
                        "missing schedule: a #[scheduled] job needs `cron = \"...\"` or `every = \"...\"`",
                    )
                });
                None
            }
        }
    }
}

/// The core's message names the field and what it allows; without a field it gets the
/// key as context.
fn schedule_problem(key: &'static str, error: &ScheduleError) -> Problem {
    let message = match error.field {
        Some(field) if error.message.contains(field) => error.message.clone(),
        _ if error.message.starts_with("invalid ") => error.message.clone(),
        _ => format!("invalid `{key}`: {}", error.message),
    };
    Problem {
        key,
        target: Target::Value,
        message,
        help: error.help.clone(),
    }
}

/// `environments`: each name one Sentry accepts for a check-in
/// ([`environment::check_environment`]: the job runs only where the client's environment
/// is one of them, and a client with a name Sentry refuses does not start), and at least
/// one, or the job would run nowhere.
fn check_environments(names: &[String], problems: &mut Vec<Problem>) -> Option<Vec<String>> {
    const HELP: &str = "list the Sentry environments the job runs in, e.g. \
                        `environments = [\"production\", \"staging\"]`: names of 1 to 64 \
                        characters without `/`, line breaks or form feeds";
    if names.is_empty() {
        problems.push(Problem {
            help: Some(HELP.into()),
            ..Problem::new(
                "environments",
                Target::Value,
                "`environments` is empty: the job would run in no environment",
            )
        });
        return None;
    }
    let before = problems.len();
    for (i, name) in names.iter().enumerate() {
        if let Err(v) = environment::check_environment(name) {
            problems.push(Problem {
                help: Some(HELP.into()),
                ..Problem::new("environments", Target::Item(i), v.message)
            });
        }
    }
    (problems.len() == before).then(|| names.to_vec())
}

/// A duration option, parsed when given as text, with the text its messages name (as
/// written, or [`duration::display`] of a typed value).
fn duration_option(
    key: &'static str,
    given: Option<&Given<Duration>>,
    problems: &mut Vec<Problem>,
) -> Option<(Duration, String)> {
    let (value, text) = match given? {
        Given::Value(value) => (*value, duration::display(*value)),
        Given::Text(text) => match duration::parse_duration(text) {
            Ok(value) => (value, text.clone()),
            Err(message) => {
                problems.push(Problem::new(
                    key,
                    Target::Value,
                    format!("invalid `{key}`: {message}"),
                ));
                return None;
            }
        },
    };
    if u64::try_from(value.as_millis()).is_err() {
        problems.push(Problem::new(
            key,
            Target::Value,
            format!("`{key} = \"{text}\"` is too long"),
        ));
        return None;
    }
    Some((value, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, Value)]) -> JobOptions {
        let mut options = JobOptions::default();
        for (key, value) in pairs {
            assert_eq!(options.set(key, value.clone()), Ok(true), "{key}");
        }
        options
    }

    #[test]
    fn every_key_but_crate_is_an_option() {
        for key in KEYS {
            let value = match key.kind {
                Str => Value::Str(String::new()),
                Int => Value::Int(1),
                Bool => Value::Bool(true),
                StrList => Value::List(Vec::new()),
                Path => {
                    assert_eq!(key.name, "crate");
                    continue;
                }
            };
            let mut options = JobOptions::default();
            assert_eq!(options.set(key.name, value), Ok(true), "{}", key.name);
            assert_ne!(
                options,
                JobOptions::default(),
                "`{}` sets no field",
                key.name
            );
        }
        assert_eq!(
            JobOptions::default().set("colour", Value::Bool(true)),
            Ok(false)
        );
        assert_eq!(
            JobOptions::default().set("timeout", Value::Int(5)),
            Err(Str)
        );
    }

    #[test]
    fn every_problem_at_once_in_key_order() {
        let problems = options(&[
            ("cron", Value::Str("0 25 * * *".into())),
            ("timezone", Value::Str("Mars/Olympus".into())),
            ("checkin_margin", Value::Int(0)),
            ("jitter", Value::Str("2m".into())),
        ])
        .validate()
        .unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["cron", "timezone", "checkin_margin", "jitter"],
            "{problems:#?}"
        );
        // The jitter is compared with Sentry's default margin, the given one being invalid.
        assert!(
            problems[3]
                .message
                .contains("Sentry's default `checkin_margin`"),
            "{problems:#?}"
        );
    }

    #[test]
    fn every_with_timezone_is_refused_at_the_key() {
        let problems = options(&[
            ("every", Value::Str("1d".into())),
            ("timezone", Value::Str("Europe/Vienna".into())),
        ])
        .validate()
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(
            (problems[0].key, problems[0].target),
            ("timezone", Target::Key)
        );
        let ok = options(&[
            ("cron", Value::Str("0 6 * * *".into())),
            ("timezone", Value::Str("Europe/Vienna".into())),
        ]);
        assert_eq!(
            ok.validate().unwrap().timezone,
            Some(chrono_tz::Europe::Vienna)
        );
    }

    #[test]
    fn environments_must_be_names_sentry_accepts_and_not_none() {
        let cron = ("cron", Value::Str("@daily".into()));
        let list =
            |names: &[&str]| Value::List(names.iter().map(|name| (*name).to_owned()).collect());
        let problems = options(&[cron.clone(), ("environments", list(&[]))])
            .validate()
            .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(
            (problems[0].key, problems[0].target),
            ("environments", Target::Value)
        );
        assert!(problems[0].message.contains("is empty"), "{problems:#?}");

        let problems = options(&[
            cron.clone(),
            ("environments", list(&["production", "eu/staging", ""])),
        ])
        .validate()
        .unwrap_err();
        let targets: Vec<_> = problems.iter().map(|p| p.target).collect();
        assert_eq!(targets, [Target::Item(1), Target::Item(2)], "{problems:#?}");
        assert!(
            problems[0].message.contains("\"eu/staging\""),
            "{problems:#?}"
        );

        let valid = options(&[cron, ("environments", list(&["production", "staging"]))])
            .validate()
            .unwrap();
        assert_eq!(
            valid.environments.as_deref(),
            Some(&["production".to_owned(), "staging".to_owned()][..])
        );
    }

    #[test]
    fn an_invalid_timeout_is_reported_once() {
        let mut options = options(&[("cron", Value::Str("@daily".into()))]);
        options.timeout = Some(Given::Value(Duration::from_secs(25 * 86_400)));
        let problems = options.validate().unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].message.starts_with("timeout 600h is longer"),
            "{problems:#?}"
        );
    }

    fn with_retries(extra: &[(&str, Value)]) -> Result<ValidOptions, Vec<Problem>> {
        let mut pairs = vec![("cron", Value::Str("@daily".into()))];
        pairs.extend(extra.iter().cloned());
        options(&pairs).validate()
    }

    fn problems_at(result: Result<ValidOptions, Vec<Problem>>) -> Vec<(&'static str, Target)> {
        result
            .unwrap_err()
            .into_iter()
            .map(|p| (p.key, p.target))
            .collect()
    }

    #[test]
    fn retries_take_their_defaults_and_fit_max_runtime() {
        let valid = with_retries(&[
            ("retries", Value::Int(3)),
            ("timeout", Value::Str("5m".into())),
        ])
        .unwrap();
        let retry = valid.retry.unwrap();
        assert_eq!(
            (retry.retries, retry.backoff, retry.backoff_max),
            (3, Duration::from_secs(30), Duration::from_secs(600))
        );
        // 4 × 5m + 30s + 60s + 120s = 23.5 min, within Sentry's default 30.
        assert_eq!(
            retry.worst_case(Duration::from_secs(300)),
            Duration::from_secs(1410)
        );
        let none = with_retries(&[("retries", Value::Int(0))]).unwrap();
        assert_eq!(none.retry, None);
    }

    #[test]
    fn retries_beyond_max_runtime_are_refused_at_the_value() {
        // 4 × 7m + 3.5m = 31.5 min > 30 min (Sentry's default).
        let result = with_retries(&[
            ("retries", Value::Int(3)),
            ("timeout", Value::Str("7m".into())),
        ]);
        let problems = result.clone().unwrap_err();
        assert_eq!(problems_at(result), [("retries", Target::Value)]);
        assert_eq!(
            problems[0].message,
            "4 attempts of at most 7m plus 3m30s of backoff take up to 31m30s, longer than \
             Sentry's default `max_runtime` of 30 minutes: Sentry would mark the run as timed \
             out while it still retries"
        );
        // A larger max_runtime makes it fit; exactly 31.5 min still does not fit 31.
        for (max, fits) in [(32, true), (31, false)] {
            let result = with_retries(&[
                ("retries", Value::Int(3)),
                ("timeout", Value::Str("7m".into())),
                ("max_runtime", Value::Int(max)),
            ]);
            assert_eq!(result.is_ok(), fits, "max_runtime {max}");
        }
    }

    #[test]
    fn retries_need_a_timeout_when_monitored_and_the_waits_need_retries() {
        assert_eq!(
            problems_at(with_retries(&[("retries", Value::Int(2))])),
            [("retries", Target::Key)]
        );
        assert!(
            with_retries(&[("retries", Value::Int(2)), ("monitor", Value::Bool(false))]).is_ok()
        );
        assert_eq!(
            problems_at(with_retries(&[
                ("backoff", Value::Str("1s".into())),
                ("backoff_max", Value::Str("1m".into())),
            ])),
            [("backoff", Target::Key), ("backoff_max", Target::Key)]
        );
        assert_eq!(
            problems_at(with_retries(&[
                ("retries", Value::Int(11)),
                ("timeout", Value::Str("1s".into())),
            ])),
            [("retries", Target::Value)]
        );
        assert_eq!(
            problems_at(with_retries(&[
                ("retries", Value::Int(1)),
                ("timeout", Value::Str("1s".into())),
                ("backoff", Value::Str("soon".into())),
            ])),
            [("backoff", Target::Value)]
        );
    }
}
