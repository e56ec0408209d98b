//! The report of a simulated period: every run that fired, and assertions on them.
use super::report::{CapturedEvent, CheckIn, TestRun};
use super::rules::{self, Rejection};
use crate::{CheckInStats, JobStats};
use chrono::{DateTime, Utc};

/// Every run of a simulated period ([`TestKit::simulate`](super::TestKit::simulate)), in
/// the order they started, with the jobs' counters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Simulation {
    /// Where the period started.
    pub from: DateTime<Utc>,
    /// Where it ended.
    pub to: DateTime<Utc>,
    /// Every run, by start (then tick, then slug).
    pub runs: Vec<TestRun>,
    /// Check-ins that belong to no run the scheduler reported (always empty unless the
    /// scheduler lost track of a run).
    pub stray_check_ins: Vec<CheckIn>,
    /// Events captured outside any run (the scheduler's own, e.g. a coordinator error).
    pub stray_events: Vec<CapturedEvent>,
    pub(crate) stats: Vec<(String, JobStats)>,
    /// The counters of the scheduler's check-in sender at the end (queued, sent, retried,
    /// rate limited, dropped by reason), as
    /// [`Scheduler::check_ins`](crate::Scheduler::check_ins) gives them. All zero without
    /// an ingest rule ([`TestKit::ingest`](super::TestKit::ingest)): then the kit takes each
    /// check-in where the scheduler hands it over, and no sender runs.
    pub check_in_stats: CheckInStats,
}

impl Simulation {
    /// The runs of the job `slug`, by start.
    pub fn runs_of<'a>(&'a self, slug: &'a str) -> impl Iterator<Item = &'a TestRun> + 'a {
        self.runs.iter().filter(move |run| run.slug == slug)
    }

    /// The ticks the job `slug` ran for, in order.
    pub fn fired_at(&self, slug: &str) -> Vec<DateTime<Utc>> {
        let mut ticks: Vec<_> = self.runs_of(slug).map(|run| run.scheduled).collect();
        ticks.sort();
        ticks
    }

    /// When the runs of the job `slug` started, in order (the tick, plus the jitter).
    pub fn started_at(&self, slug: &str) -> Vec<DateTime<Utc>> {
        self.runs_of(slug).map(|run| run.started).collect()
    }

    /// Whether no two runs of the job `slug` were going at the same time.
    pub fn never_overlaps(&self, slug: &str) -> bool {
        let runs: Vec<&TestRun> = self.runs_of(slug).collect();
        runs.windows(2)
            .all(|pair| pair[1].started >= pair[0].ended())
    }

    /// The job's counters at the end (started, succeeded, failed, skipped, replaced,
    /// missed); `None` when no simulated job has `slug`.
    pub fn stats(&self, slug: &str) -> Option<&JobStats> {
        self.stats
            .iter()
            .find(|(s, _)| s == slug)
            .map(|(_, stats)| stats)
    }

    /// How many ticks of the job `slug` were skipped because its previous run was still
    /// going (`overlap = "skip"`).
    pub fn skipped(&self, slug: &str) -> u64 {
        self.stats(slug).map_or(0, JobStats::skipped)
    }

    /// Every check-in sent, of every run, by run.
    pub fn check_ins(&self) -> impl Iterator<Item = &CheckIn> + '_ {
        self.runs
            .iter()
            .flat_map(|run| &run.check_ins)
            .chain(&self.stray_check_ins)
    }

    /// What Sentry would refuse or rewrite in any check-in sent.
    pub fn sentry_rejections(&self) -> Vec<Rejection> {
        self.check_ins()
            .flat_map(CheckIn::sentry_rejections)
            .collect()
    }

    /// Panics, listing them, when Sentry would refuse or rewrite any check-in sent.
    #[track_caller]
    pub fn assert_sentry_accepts(&self) {
        rules::assert_none(&self.sentry_rejections());
    }
}
