//! Minutes in which several jobs start together.
use super::PlannedJob;
use crate::schedule::{Schedule, SentrySchedule};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Ticks of one job looked at at most in a window (a job every second has 86,400 a day).
const MAX_TICKS_PER_JOB: usize = 10_000;

/// A set of jobs that start in the same minute, once or repeatedly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The first minute (UTC, start of the minute) in which they start together.
    pub first: DateTime<Utc>,
    /// How many minutes of the window the same set starts in together.
    pub times: usize,
    /// The jobs' slugs, in the order the jobs were given.
    pub slugs: Vec<String>,
    /// For each job written with a fixed minute: its slug and the same schedule with `H` as
    /// the minute, which spreads such jobs over the hour by a stable hash of each slug.
    pub suggestions: Vec<(String, String)>,
}

/// `schedule` with `H` for its minute, when the minute is one fixed value.
fn with_hashed_minute(schedule: &Schedule) -> Option<String> {
    if schedule.is_hashed() || schedule.cron_fields()?.minutes().len() != 1 {
        return None;
    }
    let SentrySchedule::Crontab(text) = schedule.to_sentry()? else {
        return None;
    };
    let rest = text.split_once(' ')?.1;
    Some(format!("H {rest}"))
}

/// The sets of at least `min_jobs` jobs that start in one minute of `[from, to)`.
pub(crate) fn clusters(
    jobs: &[PlannedJob<'_>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    min_jobs: usize,
) -> Vec<Cluster> {
    let mut by_minute: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (index, job) in jobs.iter().enumerate() {
        let mut last_minute = None;
        for tick in job.starts(from, to, MAX_TICKS_PER_JOB) {
            let minute = tick.timestamp().div_euclid(60);
            if last_minute != Some(minute) {
                by_minute.entry(minute).or_default().push(index);
                last_minute = Some(minute);
            }
        }
    }
    let mut sets: BTreeMap<Vec<usize>, (i64, usize)> = BTreeMap::new();
    for (minute, members) in by_minute {
        if members.len() >= min_jobs.max(2) {
            let entry = sets.entry(members).or_insert((minute, 0));
            entry.1 += 1;
        }
    }
    let mut found: Vec<Cluster> = sets
        .into_iter()
        .filter_map(|(members, (minute, times))| {
            let first = DateTime::from_timestamp(minute * 60, 0)?;
            Some(Cluster {
                first,
                times,
                slugs: members.iter().map(|&i| jobs[i].slug.to_owned()).collect(),
                suggestions: members
                    .iter()
                    .filter_map(|&i| {
                        with_hashed_minute(jobs[i].schedule)
                            .map(|text| (jobs[i].slug.to_owned(), text))
                    })
                    .collect(),
            })
        })
        .collect();
    found.sort_by_key(|c| c.first);
    found
}
