//! Operations commands for any service binary: `list` and `run <slug>`, in one line.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     let _sentry = sentry::init(sentry::ClientOptions::default());
//!     sentry_schedule::cli::run_all_or_command().await
//! }
//! ```
//!
//! | Command | What it does | Exit code |
//! |---------|--------------|-----------|
//! | *(none)* | Runs the scheduler until Ctrl-C or SIGTERM | 0, or 1 when it fails to start |
//! | `list` | Prints every job: slug (`*` marks a slug derived from the fn path), schedule, time zone, next 3 runs (in the job's time zone) or, for a job off in this process, `off:` and why, for a paused job who paused it until when, source location, and with a coordinator the last run | 0, or 1 when there is no job |
//! | `run <slug>` | Runs one job now, with its check-ins, and flushes the Sentry client | 0 when the run is `ok`, 1 when it is `error` |
//! | `check` | Checks every job's schedule over the next 12 months in its time zone: DST changes that make a run late, once, fewer or more; a declared run length (`max_runtime`, else `timeout`) longer than the gaps between ticks; five or more jobs starting in one minute. One line per finding with the job and the date | 1 when there is an error (a run length longer than every gap), else 0 |
//! | `timeline [--hours N]` | Draws the next N hours (24 unless given, at most 168) of every job as a chart in UTC, one row per job, with the minutes where five or more jobs start together and the jobs whose run length exceeds their period | 0 |
//! | `pause <slug> [--for 2h]` | Pauses a job until resumed or for the duration: with a coordinator on every replica (kept in its backend), else in this process | 0, 1 when the coordinator fails, 2 for an unknown slug |
//! | `resume <slug>` | Lifts a job's pause | the same |
//! | `help` | Prints the commands | 0 |
//!
//! An unknown command or slug exits with 2; an unknown slug gets the nearest slugs
//! suggested. When check-ins cannot reach Sentry (no client or no DSN), every command says
//! so on stderr. A service with state or options builds its scheduler and calls
//! [`Scheduler::run_or_command`] instead:
//!
//! ```no_run
//! # struct Pool;
//! # async fn app(pool: Pool) -> std::process::ExitCode {
//! match sentry_schedule::Scheduler::builder().state(pool).build() {
//!     Ok(scheduler) => scheduler.run_or_command(std::env::args().skip(1)).await,
//!     Err(e) => {
//!         eprintln!("error: {e}");
//!         std::process::ExitCode::FAILURE
//!     }
//! }
//! # }
//! ```
//!
//! A service that runs the scheduler beside a server handles the commands with
//! [`Scheduler::run_command`], which returns `None` when there is none to run:
//!
//! ```no_run
//! # async fn serve(_: sentry_schedule::ShutdownSignal) {}
//! # async fn app() -> Result<std::process::ExitCode, sentry_schedule::Error> {
//! let shutdown = sentry_schedule::shutdown_signal();
//! let scheduler = sentry_schedule::Scheduler::builder()
//!     .shutdown_signal(shutdown.clone())
//!     .build()?;
//! if let Some(exit) = scheduler.run_command(std::env::args().skip(1)).await {
//!     return Ok(exit); // `list`, `run <slug>`, `help` or a usage error
//! }
//! tokio::join!(serve(shutdown), scheduler.run()).1?;
//! # Ok(std::process::ExitCode::SUCCESS)
//! # }
//! ```
use crate::coordinator::RunRecord;
use crate::job::Job;
use crate::run::human_duration;
use crate::scheduler::Scheduler;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;
use std::process::ExitCode;

/// How many next runs `list` shows per job.
const NEXT_RUNS: usize = 3;

/// Exit code of a command line that cannot be carried out (unknown command or slug).
const USAGE_ERROR: u8 = 2;

/// Builds the scheduler of every `#[scheduled]` job and runs the command given on the
/// process's command line ([`std::env::args`]); without one, runs the scheduler.
/// See the [module docs](self) for the commands.
pub async fn run_all_or_command() -> ExitCode {
    match Scheduler::builder().build() {
        Ok(scheduler) => scheduler.run_or_command(std::env::args().skip(1)).await,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A command line of the operations commands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// No arguments: run the scheduler.
    Run,
    /// `list`: print the jobs.
    List,
    /// `run <slug>`: run one job now.
    RunJob(String),
    /// `check`: every DST hazard, overlap and cluster of the jobs' schedules.
    Check,
    /// `timeline [--hours N]`: the next `N` hours (24 unless given) of every job as a chart.
    Timeline {
        /// How many hours the chart shows.
        hours: u32,
    },
    /// `pause <slug> [--for 2h]`: pause a job (until resumed, or for the duration).
    Pause {
        /// The job's slug.
        slug: String,
        /// How long the pause lasts; `None`: until `resume`.
        duration: Option<std::time::Duration>,
    },
    /// `resume <slug>`: lift a job's pause.
    Resume(String),
    /// `help`, `-h`, `--help`.
    Help,
}

/// The most hours `timeline --hours` draws (a week).
const MAX_TIMELINE_HOURS: u32 = 168;

/// Reads the value of `timeline --hours`.
fn timeline_hours(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(hours @ 1..=MAX_TIMELINE_HOURS) => Ok(hours),
        _ => Err(format!(
            "`--hours` takes a whole number of hours from 1 to {MAX_TIMELINE_HOURS}, not `{text}`"
        )),
    }
}

impl Command {
    /// Reads the arguments after the program name. `Err` says what is wrong.
    pub fn parse<I, S>(args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        match words.as_slice() {
            [] => Ok(Self::Run),
            ["list"] => Ok(Self::List),
            ["run", slug] => Ok(Self::RunJob((*slug).to_owned())),
            ["run"] => Err("`run` needs the slug of the job to run: `run <slug>`".into()),
            ["check"] => Ok(Self::Check),
            ["timeline"] => Ok(Self::Timeline { hours: 24 }),
            ["timeline", "--hours", hours] => {
                timeline_hours(hours).map(|hours| Self::Timeline { hours })
            }
            ["timeline", "--hours"] => {
                Err("`--hours` needs a number of hours: `timeline --hours 48`".into())
            }
            ["pause", slug] => Ok(Self::Pause {
                slug: (*slug).to_owned(),
                duration: None,
            }),
            ["pause", slug, "--for", duration] => {
                match sentry_schedule_core::duration::parse_duration(duration) {
                    Ok(duration) => Ok(Self::Pause {
                        slug: (*slug).to_owned(),
                        duration: Some(duration),
                    }),
                    Err(problem) => Err(format!("`--for`: {problem}")),
                }
            }
            ["pause", _, "--for"] => {
                Err("`--for` needs a duration: `pause <slug> --for 2h`".into())
            }
            ["pause"] => Err("`pause` needs the slug of the job: `pause <slug> [--for 2h]`".into()),
            ["resume", slug] => Ok(Self::Resume((*slug).to_owned())),
            ["resume"] => Err("`resume` needs the slug of the job: `resume <slug>`".into()),
            ["help" | "-h" | "--help"] => Ok(Self::Help),
            ["list" | "run" | "check" | "timeline" | "help" | "pause" | "resume", ..] => {
                Err(format!(
                    "too many arguments: `{}`",
                    words.get(1..).unwrap_or_default().join(" ")
                ))
            }
            [other, ..] => Err(format!("unknown command `{other}`")),
        }
    }
}

/// The text `help` prints.
pub(crate) const USAGE: &str = "\
commands:
  (none)        run the scheduler until Ctrl-C or SIGTERM
  list          list the jobs with their next runs
  run <slug>    run one job now, with its check-ins (exit code 1 when it fails)
  check         DST hazards, overlaps and clusters of the schedules (exit code 1 on errors)
  timeline [--hours N]
                the next N hours (default 24) of every job as a chart, clusters marked
  pause <slug> [--for 2h]
                pause a job on every replica (with a coordinator) until resumed, or for
                the duration; its ticks are not run and Sentry reports them missed
  resume <slug> lift a job's pause
  help          show this text
";

impl Scheduler {
    /// Runs the operations command in `args` (the arguments after the program name, e.g.
    /// `std::env::args().skip(1)`): none runs the scheduler ([`Scheduler::run`]), `list`
    /// prints the jobs, `run <slug>` runs one job now. See [`crate::scheduler::cli`].
    pub async fn run_or_command<I, S>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let Some(exit) = self.run_command(args).await {
            return exit;
        }
        match self.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    }

    /// Runs the operations command in `args` (`list`, `run <slug>`, `help`; see
    /// [`crate::scheduler::cli`]) and returns its exit code, or `None` when `args` is empty: then
    /// there is no command and the caller runs the service (its server and
    /// [`Scheduler::run`]). A usage error is printed and returns `Some` (exit code 2).
    pub async fn run_command<I, S>(&self, args: I) -> Option<ExitCode>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let command = match Command::parse(args) {
            Ok(command) => command,
            Err(problem) => {
                eprintln!("error: {problem}\n\n{USAGE}");
                return Some(ExitCode::from(USAGE_ERROR));
            }
        };
        Some(match command {
            Command::Run => return None,
            Command::List => {
                crate::scheduler::startup::warn_if_sentry_missing();
                print!("{}", self.list().await);
                if self.jobs().len() == 0 {
                    eprintln!("error: {}", crate::Error::NoJobs);
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Command::Check => {
                let findings = self.check();
                print!(
                    "{}",
                    super::forecast::check_text(&findings, self.jobs().len())
                );
                if findings
                    .iter()
                    .any(|f| f.severity == super::forecast::Severity::Error)
                {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
            Command::Timeline { hours } => {
                print!("{}", super::forecast::timeline_text(&self.timeline(hours)));
                ExitCode::SUCCESS
            }
            Command::Help => {
                print!("{USAGE}");
                ExitCode::SUCCESS
            }
            Command::Pause { slug, duration } => {
                let until = duration
                    .and_then(|d| chrono::TimeDelta::from_std(d).ok())
                    .and_then(|d| self.now().checked_add_signed(d));
                match self.pause(&slug, until).await {
                    Ok(()) => {
                        match until {
                            Some(until) => println!("paused `{slug}` until {until}"),
                            None => println!("paused `{slug}` until resumed"),
                        }
                        ExitCode::SUCCESS
                    }
                    Err(e) => command_failed(&e),
                }
            }
            Command::Resume(slug) => match self.resume(&slug).await {
                Ok(()) => {
                    println!("resumed `{slug}`");
                    ExitCode::SUCCESS
                }
                Err(e) => command_failed(&e),
            },
            Command::RunJob(slug) => {
                crate::scheduler::startup::warn_if_sentry_missing();
                let code = match self.run_now(&slug).await {
                    Ok(report) if report.is_ok() => {
                        println!("{report}");
                        ExitCode::SUCCESS
                    }
                    Ok(report) => {
                        eprintln!("{report}");
                        ExitCode::FAILURE
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Some(ExitCode::from(USAGE_ERROR));
                    }
                };
                super::shutdown::flush(&self.shared.delivery, crate::checkin::FLUSH_TIMEOUT).await;
                code
            }
        })
    }

    /// The table `list` prints: one row per job with its slug, schedule, time zone, next
    /// three runs in the job's time zone and source location; with a coordinator, also the
    /// last recorded run (tick, outcome, duration). A slug derived from the fn path is marked
    /// `*`, with a note below the table: renaming or moving that fn makes a new monitor.
    pub async fn list(&self) -> String {
        let now = self.now();
        let mut last_runs = None;
        if self.coordinator().is_some() {
            let mut found = Vec::with_capacity(self.jobs().len());
            for job in self.jobs() {
                let last = match self.history(job.slug(), 1).await {
                    Ok(records) => records.into_iter().next().map(|r| describe_run(&r)),
                    Err(e) => Some(format!("history unavailable: {e}")),
                };
                found.push(last.unwrap_or_else(|| "never".to_owned()));
            }
            last_runs = Some(found);
        }
        let pauses = match self.pauses().await {
            Ok(pauses) => pauses,
            Err(e) => {
                eprintln!("error: {e}");
                Vec::new()
            }
        };
        render_list(self.jobs(), now, last_runs.as_deref(), |job| {
            if let Some(why) = self.off(job.slug()) {
                return Some(format!("off: {why}"));
            }
            let pause = pauses.iter().find(|p| p.slug == job.slug())?;
            Some(match pause.until {
                Some(until) => format!("paused by {} until {until}", pause.by),
                None => format!("paused by {} until resumed", pause.by),
            })
        })
    }
}

/// The exit code of a `pause` or `resume` that failed: 2 for an unknown slug (a usage
/// error), 1 when the coordinator failed.
fn command_failed(error: &crate::Error) -> ExitCode {
    eprintln!("error: {error}");
    match error {
        crate::Error::UnknownSlug { .. } => ExitCode::from(USAGE_ERROR),
        _ => ExitCode::FAILURE,
    }
}

/// `list`'s table for `jobs` at `now`; `last_runs` (one per job, same order) adds the
/// LAST RUN column; a job `off` says so instead of its next runs.
fn render_list<'a>(
    jobs: impl ExactSizeIterator<Item = &'a Job>,
    now: DateTime<Utc>,
    last_runs: Option<&[String]>,
    off: impl Fn(&Job) -> Option<String>,
) -> String {
    if jobs.len() == 0 {
        return "no jobs\n".to_owned();
    }
    let mut header = vec!["SLUG", "SCHEDULE", "TIMEZONE", "NEXT RUNS"];
    if last_runs.is_some() {
        header.push("LAST RUN");
    }
    header.push("SOURCE");

    // Each job is a block of lines: its cells on the first, further next runs below.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut any_derived = false;
    for (i, job) in jobs.enumerate() {
        let tz = job.timezone();
        let next: Vec<String> = match off(job) {
            Some(why) => vec![why],
            None => job
                .upcoming(now)
                .take(NEXT_RUNS)
                .map(|t| {
                    t.with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                        .to_string()
                })
                .collect(),
        };
        let mut schedule = job.schedule().to_string();
        if job.monitor_config().is_none() {
            schedule.push_str(" (unmonitored)");
        }
        let mut slug = job.slug().to_owned();
        if job.slug_is_derived() {
            slug.push_str(DERIVED_MARK);
            any_derived = true;
        }
        let mut first = vec![
            slug,
            schedule,
            tz.name().to_owned(),
            next.first().cloned().unwrap_or_else(|| "never".to_owned()),
        ];
        if let Some(last) = last_runs {
            first.push(last.get(i).cloned().unwrap_or_default());
        }
        first.push(job.location().map(ToString::to_string).unwrap_or_default());
        let columns = first.len();
        rows.push(first);
        for later in next.iter().skip(1) {
            let mut row = vec![String::new(); columns];
            if let Some(cell) = row.get_mut(3) {
                cell.clone_from(later);
            }
            rows.push(row);
        }
    }

    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if any_derived {
        out.push_str(DERIVED_NOTE);
    }
    out
}

/// Marks a derived slug in `list`.
const DERIVED_MARK: &str = "*";

/// What `list` says below the table when a slug is derived.
const DERIVED_NOTE: &str = "\n* slug derived from the fn path: renaming or moving the fn, or \
renaming its crate, makes a new Sentry monitor (the old one then reports missed check-ins); \
give jobs that matter `slug = \"...\"`\n";

/// `2026-11-29 12:00 UTC ok 1.2s` — a run of the history.
fn describe_run(record: &RunRecord) -> String {
    let tick = record.tick.format("%Y-%m-%d %H:%M UTC");
    match (record.status, record.duration) {
        (Some(status), Some(duration)) => {
            format!("{tick} {status} {}", human_duration(duration))
        }
        (Some(status), None) => format!("{tick} {status}"),
        (None, _) if record.finished_at.is_none() => format!("{tick} running"),
        (None, _) => format!("{tick} unknown"),
    }
}

/// The slugs of `jobs` nearest to the unknown `slug`, best first.
pub(crate) fn near_slugs<'a>(slug: &str, jobs: impl Iterator<Item = &'a Job>) -> Vec<String> {
    let slugs: Vec<&str> = jobs.map(Job::slug).collect();
    let mut near = sentry_schedule_core::suggest::closest(slug, slugs.iter().copied(), 3);
    if near.is_empty() {
        // A prefix or part of a slug (`run export` for `nightly-export`) is a near match too.
        // `-` and `_` count as the same character here.
        let normal = |s: &str| s.to_lowercase().replace('_', "-");
        let wanted = normal(slug);
        near = slugs
            .iter()
            .copied()
            .filter(|s| !wanted.is_empty() && normal(s).contains(&wanted))
            .take(3)
            .collect();
    }
    near.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_run_column() {
        let tick: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().expect("instant");
        let mut record = RunRecord {
            slug: "report".into(),
            tick,
            owner: "replica-a".into(),
            claimed_at: tick,
            started_at: tick,
            lease_until: tick,
            finished_at: Some(tick),
            status: Some(crate::coordinator::RunStatus::TimedOut),
            duration: Some(std::time::Duration::from_secs(600)),
            message: None,
            takeovers: 0,
            fencing_token: None,
        };
        assert_eq!(describe_run(&record), "2026-11-29 12:00 UTC timed_out 10m");
        record.status = None;
        record.finished_at = None;
        assert_eq!(describe_run(&record), "2026-11-29 12:00 UTC running");
    }

    #[test]
    fn command_lines() {
        let none: [&str; 0] = [];
        assert_eq!(Command::parse(none), Ok(Command::Run));
        assert_eq!(Command::parse(["list"]), Ok(Command::List));
        assert_eq!(
            Command::parse(["run", "nightly-export"]),
            Ok(Command::RunJob("nightly-export".into()))
        );
        assert_eq!(Command::parse(["--help"]), Ok(Command::Help));
        assert_eq!(
            Command::parse(["run"]),
            Err("`run` needs the slug of the job to run: `run <slug>`".into())
        );
        assert_eq!(
            Command::parse(["list", "--all"]),
            Err("too many arguments: `--all`".into())
        );
        assert_eq!(
            Command::parse(["serve"]),
            Err("unknown command `serve`".into())
        );
    }

    #[test]
    fn pause_and_resume_command_lines() {
        assert_eq!(
            Command::parse(["pause", "report"]),
            Ok(Command::Pause {
                slug: "report".into(),
                duration: None
            })
        );
        assert_eq!(
            Command::parse(["pause", "report", "--for", "2h"]),
            Ok(Command::Pause {
                slug: "report".into(),
                duration: Some(std::time::Duration::from_secs(7200))
            })
        );
        assert_eq!(
            Command::parse(["resume", "report"]),
            Ok(Command::Resume("report".into()))
        );
        let bad = Command::parse(["pause", "report", "--for", "2 hours"]).unwrap_err();
        assert!(bad.starts_with("`--for`: "), "{bad}");
        assert!(Command::parse(["pause"]).is_err());
        assert!(Command::parse(["pause", "report", "--for"]).is_err());
        assert_eq!(
            Command::parse(["resume", "a", "b"]),
            Err("too many arguments: `a b`".into())
        );
    }
}
