//! The schedule check: every finding about a set of jobs over the coming months.
use super::clusters::{clusters, Cluster};
use super::dst::{effects, transitions, Hazard, Transition};
use super::overlap::overlap;
use super::{clock_text, duration_text, PlannedJob};
use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::fmt;

/// How bad a finding is: errors make `check` fail (exit code non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; the job runs, but not as its schedule reads.
    Warning,
    /// The configuration cannot work as declared.
    Error,
}

/// What a [`Finding`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// A fixed time falls in the hour skipped when clocks go forward: the run happens late.
    DstRunsLate,
    /// A fixed time falls in the hour repeated when clocks go back: it runs once.
    DstRunsOnce,
    /// Times of an expression that follows real time fall in a skipped hour: fewer runs.
    DstSkipped,
    /// Times of an expression that follows real time fall in a repeated hour: more runs.
    DstRunsTwice,
    /// `max_runtime` is longer than every gap between ticks: a run that takes as long as it
    /// is allowed always meets the next tick.
    AlwaysOverlaps,
    /// `max_runtime` is longer than some gaps between ticks.
    MayOverlap,
    /// Several jobs start in the same minute.
    Cluster,
}

/// One thing the check found: which job (or jobs), on which date, what will happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub kind: FindingKind,
    /// The job's slug (for a cluster: the first job's).
    pub slug: String,
    /// The date it happens, in the job's time zone (for a cluster: UTC).
    pub date: NaiveDate,
    /// What will happen, in words.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{severity}: {} on {}: {}",
            self.slug, self.date, self.message
        )
    }
}

/// What [`check`] looks at.
#[derive(Debug, Clone)]
pub struct CheckRules {
    /// How far ahead DST changes and overlaps are looked for (default 12 months).
    pub months: u32,
    /// How far ahead clusters are looked for (default 24 hours).
    pub cluster_window: TimeDelta,
    /// How many jobs starting in one minute make a cluster (default 5).
    pub cluster_size: usize,
}

impl Default for CheckRules {
    fn default() -> Self {
        Self {
            months: 12,
            cluster_window: TimeDelta::hours(24),
            cluster_size: 5,
        }
    }
}

/// Every finding about `jobs` from `from` on: DST hazards in each job's zone, runs that may
/// overlap the next tick, and clusters. Sorted by severity (errors first), then date.
pub fn check(jobs: &[PlannedJob<'_>], from: DateTime<Utc>, rules: &CheckRules) -> Vec<Finding> {
    let to = from
        .checked_add_months(Months::new(rules.months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut findings = Vec::new();
    let mut changes: HashMap<Tz, Vec<Transition>> = HashMap::new();
    for job in jobs {
        let placed = job.placed();
        let changes = changes
            .entry(job.timezone)
            .or_insert_with(|| transitions(job.timezone, from, to));
        for effect in effects(&placed, job.timezone, changes) {
            let kind = match effect.hazard {
                Hazard::RunsLate { .. } => FindingKind::DstRunsLate,
                Hazard::RunsOnce { .. } => FindingKind::DstRunsOnce,
                Hazard::Skipped { .. } => FindingKind::DstSkipped,
                Hazard::RunsTwice { .. } => FindingKind::DstRunsTwice,
            };
            findings.push(Finding {
                severity: Severity::Warning,
                kind,
                slug: job.slug.to_owned(),
                date: effect.date(),
                message: effect.describe(job.timezone),
            });
        }
        if let Some(o) = overlap(job, from, to) {
            let (severity, kind, message) = if o.always() {
                (
                    Severity::Error,
                    FindingKind::AlwaysOverlaps,
                    format!(
                        "max_runtime {} is longer than every gap between its ticks (at most {}): \
                         a run that takes as long as allowed is still going at the next tick, \
                         which is then skipped (Sentry reports it missed) or runs beside it \
                         with overlap = \"allow\"",
                        duration_text(o.max_runtime),
                        duration_text(o.longest)
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    FindingKind::MayOverlap,
                    format!(
                        "max_runtime {} is longer than the gap after the tick at {} UTC \
                         (gaps from {} to {}): a run that long meets the next tick",
                        duration_text(o.max_runtime),
                        clock_text(o.first.time()),
                        duration_text(o.shortest),
                        duration_text(o.longest)
                    ),
                )
            };
            findings.push(Finding {
                severity,
                kind,
                slug: job.slug.to_owned(),
                date: o.first.with_timezone(&job.timezone).date_naive(),
                message,
            });
        }
    }
    let cluster_end = from.checked_add_signed(rules.cluster_window).unwrap_or(to);
    for cluster in clusters(jobs, from, cluster_end, rules.cluster_size) {
        findings.push(cluster_finding(&cluster));
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.date.cmp(&b.date)));
    findings
}

fn cluster_finding(cluster: &Cluster) -> Finding {
    let mut message = format!(
        "{} jobs start together at {} UTC{}: {}",
        cluster.slugs.len(),
        clock_text(cluster.first.time()),
        match cluster.times {
            1 => String::new(),
            n => format!(" ({n} times in the window)"),
        },
        cluster.slugs.join(", ")
    );
    if !cluster.suggestions.is_empty() {
        let suggested = cluster
            .suggestions
            .iter()
            .map(|(slug, text)| format!("{slug}: \"{text}\""))
            .collect::<Vec<_>>()
            .join(", ");
        message.push_str(&format!(
            "; write the minute as `H` to spread them over the hour by a stable hash of each \
             slug ({suggested})"
        ));
    }
    Finding {
        severity: Severity::Warning,
        kind: FindingKind::Cluster,
        slug: cluster.slugs.first().cloned().unwrap_or_default(),
        date: cluster.first.date_naive(),
        message,
    }
}
