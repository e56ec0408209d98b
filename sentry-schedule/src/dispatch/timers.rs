//! The dispatcher's timers: the next fire instant of every job, grouped by instant.
//!
//! Jobs often share instants (every minute, the top of the hour, a thousand jobs on the
//! same cron line). Grouping them makes taking every job due at one instant a single
//! operation instead of one heap pop per job, and a job with an instant of its own costs
//! one map entry and no allocation.
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The jobs (indices into the dispatcher's table) due at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Jobs {
    One(u32),
    /// In ascending order.
    Many(Vec<u32>),
}

/// Next fire instants, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    due: BTreeMap<DateTime<Utc>, Jobs>,
    /// Instants waiting to be added by [`Timers::flush`].
    pending: Vec<(DateTime<Utc>, u32)>,
}

impl Timers {
    /// Adds job `index` at `instant` once [`Timers::flush`] runs: a whole wake-up's worth
    /// of instants is sorted and grouped at once.
    pub(crate) fn add(&mut self, instant: DateTime<Utc>, index: u32) {
        self.pending.push((instant, index));
    }

    /// Files the instants given to [`Timers::add`].
    pub(crate) fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_unstable();
        let mut pending = std::mem::take(&mut self.pending);
        let mut rest = pending.as_slice();
        while let Some(&(instant, _)) = rest.first() {
            let same = rest.partition_point(|(at, _)| *at == instant);
            let (group, tail) = rest.split_at(same);
            rest = tail;
            let indices = group.iter().map(|(_, index)| *index);
            match (self.due.get_mut(&instant), group) {
                (None, &[(_, index)]) => {
                    self.due.insert(instant, Jobs::One(index));
                }
                (None, _) => {
                    self.due.insert(instant, Jobs::Many(indices.collect()));
                }
                (Some(jobs), _) => {
                    let mut all = match std::mem::replace(jobs, Jobs::Many(Vec::new())) {
                        Jobs::One(index) => vec![index],
                        Jobs::Many(all) => all,
                    };
                    all.extend(indices);
                    all.sort_unstable();
                    *jobs = Jobs::Many(all);
                }
            }
        }
        pending.clear();
        self.pending = pending;
    }

    /// The earliest instant.
    pub(crate) fn earliest(&self) -> Option<DateTime<Utc>> {
        self.due.keys().next().copied()
    }

    /// The earliest instant if it is at or before `now`, with its jobs in ascending order.
    pub(crate) fn take_due(&mut self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<u32>)> {
        let entry = self.due.first_entry().filter(|e| *e.key() <= now)?;
        let (instant, jobs) = entry.remove_entry();
        Some((
            instant,
            match jobs {
                Jobs::One(index) => vec![index],
                Jobs::Many(all) => all,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    #[test]
    fn groups_by_instant_and_gives_them_earliest_first_in_job_order() {
        let mut timers = Timers::default();
        let (t1, t2) = (at("2026-03-02T12:00:00Z"), at("2026-03-02T12:01:00Z"));
        timers.add(t2, 7);
        timers.add(t1, 3);
        timers.add(t2, 1);
        timers.add(t1, 0);
        timers.flush();
        timers.add(t2, 4); // joins an existing group
        timers.flush();
        assert_eq!(timers.earliest(), Some(t1));
        assert_eq!(timers.take_due(t1 - chrono::TimeDelta::seconds(1)), None);
        assert_eq!(timers.take_due(t2), Some((t1, vec![0, 3])));
        assert_eq!(timers.take_due(t2), Some((t2, vec![1, 4, 7])));
        assert_eq!(timers.take_due(t2), None);
        assert_eq!(timers.earliest(), None);
    }

    #[test]
    fn a_lone_job_is_kept_without_a_list_and_joins_a_later_one() {
        let mut timers = Timers::default();
        let t = at("2026-03-02T12:00:00Z");
        timers.add(t, 5);
        timers.flush();
        assert_eq!(timers.due.get(&t), Some(&Jobs::One(5)));
        timers.add(t, 2);
        timers.flush();
        assert_eq!(timers.take_due(t), Some((t, vec![2, 5])));
    }
}
