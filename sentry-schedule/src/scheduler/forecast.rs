//! What the scheduler's jobs will do: [`Scheduler::check`] (DST hazards, runs that may
//! overlap the next tick, jobs starting together) and [`Scheduler::timeline`] (a text chart
//! of the coming hours). Both read the schedules alone, with the engine that fires the jobs.
use crate::job::Job;
use crate::scheduler::Scheduler;
use sentry_schedule_core::forecast::PlannedJob;
use std::time::Duration;

pub use sentry_schedule_core::forecast::{
    CheckRules, Cluster, Finding, FindingKind, Severity, Timeline, TimelineRow,
};

/// How a job looks to the forecast. The bound on a run is the `max_runtime` set for its
/// monitor, else its `timeout`: with neither, runs have no declared length (Sentry's default
/// `max_runtime` of 30 minutes is not taken as one, or every job running more often would be
/// flagged).
fn planned(job: &Job) -> PlannedJob<'_> {
    let plan = PlannedJob::new(job.slug(), job.schedule(), job.timezone());
    let declared = job
        .monitor_config()
        .and_then(|monitor| monitor.max_runtime)
        .map(|minutes| Duration::from_secs(u64::from(minutes) * 60))
        .or(job.timeout());
    match declared {
        Some(bound) => plan.with_max_runtime(bound),
        None => plan,
    }
}

impl Scheduler {
    /// Every finding about the jobs that are on (not [off](Scheduler::off) in this process)
    /// from [`Scheduler::now`] on, with the default rules:
    /// each job's schedule over the next 12 months in its zone (a fixed time in a skipped
    /// hour runs late that day, in a repeated hour once; an expression restricted to some
    /// hours loses or gains runs), a declared run length longer than the gaps between ticks,
    /// and five or more jobs starting in one minute within the next 24 hours. Errors first.
    ///
    /// ```
    /// # use sentry_schedule::{Job, Scheduler, TestClock};
    /// # use sentry_schedule::chrono::{TimeZone, Utc};
    /// let job = Job::builder("nightly", "30 2 * * *")
    ///     .timezone("Europe/Vienna")
    ///     .run(|_| async {})
    ///     .build()?;
    /// let clock = TestClock::new(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    /// let scheduler = Scheduler::builder()
    ///     .registered_jobs(false)
    ///     .clock(clock)
    ///     .job(job)
    ///     .build()?;
    /// let findings = scheduler.check();
    /// assert_eq!(findings[0].date.to_string(), "2027-03-28"); // 02:30 does not exist: runs at 03:00
    /// # Ok::<(), sentry_schedule::Error>(())
    /// ```
    pub fn check(&self) -> Vec<Finding> {
        self.check_with(&CheckRules::default())
    }

    /// [`Scheduler::check`] with other rules (how many months, the cluster size).
    pub fn check_with(&self, rules: &CheckRules) -> Vec<Finding> {
        let jobs: Vec<_> = self
            .jobs()
            .filter(|job| self.off(job.slug()).is_none())
            .map(planned)
            .collect();
        sentry_schedule_core::forecast::check(&jobs, self.now(), rules)
    }

    /// The starts of every job that is on (not [off](Scheduler::off) in this process) in the
    /// next `hours` from [`Scheduler::now`], the minutes in
    /// which five or more start together, and the jobs whose declared run length exceeds
    /// their period; [`Timeline::render`] draws it as text.
    pub fn timeline(&self, hours: u32) -> Timeline {
        let on = self.jobs().filter(|job| self.off(job.slug()).is_none());
        timeline_of(on, self.now(), hours)
    }
}

/// The timeline of `jobs` (those that are on) for `hours` from `now`.
pub(crate) fn timeline_of<'a>(
    jobs: impl Iterator<Item = &'a Job>,
    now: chrono::DateTime<chrono::Utc>,
    hours: u32,
) -> Timeline {
    let jobs: Vec<_> = jobs.map(planned).collect();
    Timeline::new(&jobs, now, hours, CheckRules::default().cluster_size)
}

/// Cells of a timeline chart: 15 minutes each up to a day and a half, fewer per hour for
/// longer windows (about 144 columns), at least one per hour.
fn cells_for(hours: u32) -> usize {
    const MAX_CELLS: u32 = 144;
    let per_hour = (MAX_CELLS / hours.max(1)).clamp(1, 4);
    (hours.max(1) * per_hour) as usize
}

/// What the `timeline` command prints: the chart in UTC.
pub(crate) fn timeline_text(timeline: &Timeline) -> String {
    let hours = u32::try_from((timeline.to - timeline.from).num_hours()).unwrap_or(24);
    timeline.render(cells_for(hours), chrono_tz::UTC)
}

/// What the `check` command prints: one line per finding, errors first, then the count.
pub(crate) fn check_text(findings: &[Finding], jobs: usize) -> String {
    let mut text = String::new();
    for finding in findings {
        text.push_str(&finding.to_string());
        text.push('\n');
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    text.push_str(&format!(
        "{jobs} job(s) checked over the next 12 months: {errors} error(s), {} warning(s)\n",
        findings.len() - errors
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_cells_per_hour_shrink_for_longer_windows() {
        assert_eq!(cells_for(24), 96);
        assert_eq!(cells_for(48), 144);
        assert_eq!(cells_for(168), 168);
        assert_eq!(cells_for(1), 4);
    }

    #[test]
    fn check_text_lists_the_findings_then_counts_them() {
        let finding = |severity, slug: &str, message: &str| Finding {
            severity,
            kind: FindingKind::Cluster,
            slug: slug.to_owned(),
            date: chrono::NaiveDate::from_ymd_opt(2027, 3, 28).unwrap_or_default(),
            message: message.to_owned(),
        };
        let findings = [
            finding(Severity::Error, "slow", "overlaps"),
            finding(Severity::Warning, "nightly", "runs late"),
        ];
        assert_eq!(
            check_text(&findings, 3),
            "error: slow on 2027-03-28: overlaps\n\
             warning: nightly on 2027-03-28: runs late\n\
             3 job(s) checked over the next 12 months: 1 error(s), 1 warning(s)\n"
        );
        assert_eq!(
            check_text(&[], 2),
            "2 job(s) checked over the next 12 months: 0 error(s), 0 warning(s)\n"
        );
    }
}
