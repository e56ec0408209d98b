//! Clock changes of a zone, and what they do to a crontab's runs.
use super::{clock_list, clock_text};
use crate::schedule::Schedule;
use chrono::{DateTime, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// A change of a zone's UTC offset (a DST change, or a change of standard time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The instant of the change.
    pub at: DateTime<Utc>,
    /// The offset before it, in seconds east of UTC.
    pub before: i32,
    /// The offset from it on, in seconds east of UTC.
    pub after: i32,
}

impl Transition {
    /// The wall-clock time just before the change (e.g. 02:00 when clocks go to 03:00).
    pub fn wall_before(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.before.into())
    }

    /// The wall-clock time the clocks show from the change on.
    pub fn wall_after(&self) -> NaiveDateTime {
        self.at.naive_utc() + TimeDelta::seconds(self.after.into())
    }
}

fn offset(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The offset changes of `tz` in `[from, to)`, in order. Found by comparing offsets an hour
/// apart and bisecting to the second, so two changes less than an hour apart (none in the
/// tz database since 2000) would be seen as one.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let step = TimeDelta::hours(1);
    let mut found = Vec::new();
    let mut at = from;
    let mut current = offset(tz, at);
    while at < to {
        let next = (at + step).min(to);
        let next_offset = offset(tz, next);
        if next_offset != current {
            // The change lies in (at, next]: bisect to the first second with the new offset.
            let (mut lo, mut hi) = (at, next);
            while hi - lo > TimeDelta::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(tz, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                before: current,
                after: next_offset,
            });
            current = next_offset;
        }
        at = next;
    }
    found
}

/// What one clock change does to a crontab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hazard {
    /// Fixed times in the skipped hour: they run once, late, at `runs_at`.
    RunsLate {
        walls: Vec<NaiveTime>,
        runs_at: Option<DateTime<Utc>>,
    },
    /// Fixed times in the repeated hour: they run once, on the first pass.
    RunsOnce { walls: Vec<NaiveTime> },
    /// Times of an expression that follows real time, in the skipped hour: they do not run.
    Skipped { walls: Vec<NaiveTime> },
    /// Times of an expression that follows real time, in the repeated hour: they run twice.
    RunsTwice { walls: Vec<NaiveTime> },
}

/// One clock change that affects a job: the change, and what happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DstEffect {
    pub transition: Transition,
    pub hazard: Hazard,
}

/// The wall-clock minutes in `[start, end)` that `matches` selects.
fn matching_minutes(
    start: NaiveDateTime,
    end: NaiveDateTime,
    matches: impl Fn(NaiveDateTime) -> bool,
) -> Vec<NaiveTime> {
    let mut minute = match start.with_second(0) {
        Some(whole) if whole == start => whole,
        Some(whole) => whole + TimeDelta::minutes(1),
        None => start,
    };
    let mut walls = Vec::new();
    while minute < end {
        if matches(minute) {
            walls.push(minute.time());
        }
        minute += TimeDelta::minutes(1);
    }
    walls
}

/// The clock `changes` of `tz` that change when `schedule` (placed, a crontab) runs
/// in `tz`, with what happens. Intervals follow real time and have none.
///
/// A "fixed" expression (neither minute nor hour starts with `*`) is read in wall-clock time:
/// its times in a skipped hour run at the first instant after the gap, its times in a
/// repeated hour run once. Another expression follows real instants: with every hour
/// selected nothing changes (`*/15 * * * *` keeps firing every 15 minutes of real time);
/// with the hour restricted, its times in a skipped hour do not happen that day and its
/// times in a repeated hour happen twice.
pub(crate) fn effects(schedule: &Schedule, tz: Tz, changes: &[Transition]) -> Vec<DstEffect> {
    let Some(fields) = schedule.cron_fields() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for &transition in changes {
        let (start, end) = if transition.after > transition.before {
            (transition.wall_before(), transition.wall_after())
        } else {
            (transition.wall_after(), transition.wall_before())
        };
        let walls = matching_minutes(start, end, |wall| fields.matches_wall(wall));
        if walls.is_empty() {
            continue;
        }
        let skipped = transition.after > transition.before;
        let hazard = match (fields.fixed(), skipped) {
            (true, true) => Hazard::RunsLate {
                walls,
                runs_at: schedule.next_after(transition.at - TimeDelta::seconds(1), tz),
            },
            (true, false) => Hazard::RunsOnce { walls },
            (false, _) if fields.every_hour() => continue,
            (false, true) => Hazard::Skipped { walls },
            (false, false) => Hazard::RunsTwice { walls },
        };
        found.push(DstEffect { transition, hazard });
    }
    found
}

impl DstEffect {
    /// The local date of the change.
    pub(crate) fn date(&self) -> chrono::NaiveDate {
        self.transition.wall_before().date()
    }

    /// What happens, in words, for a job in `tz`.
    pub(crate) fn describe(&self, tz: Tz) -> String {
        let t = &self.transition;
        let before = clock_text(t.wall_before().time());
        let after = clock_text(t.wall_after().time());
        match &self.hazard {
            Hazard::RunsLate { walls, runs_at } => {
                let when = match runs_at {
                    Some(at) => format!(
                        "it runs at {} ({} UTC) instead",
                        clock_text(at.with_timezone(&tz).time()),
                        clock_text(at.time())
                    ),
                    None => "it does not run".to_owned(),
                };
                format!(
                    "{} {tz} does not exist that day (clocks jump from {before} to {after}): {when}",
                    clock_list(walls)
                )
            }
            Hazard::RunsOnce { walls } => format!(
                "{} {tz} happens twice that day (clocks go back from {before} to {after}): \
                 it runs once, on the first pass",
                clock_list(walls)
            ),
            Hazard::Skipped { walls } => format!(
                "{} {tz} does not exist that day (clocks jump from {before} to {after}): \
                 {} fewer run(s) that day",
                clock_list(walls),
                walls.len()
            ),
            Hazard::RunsTwice { walls } => format!(
                "{} {tz} happens twice that day (clocks go back from {before} to {after}): \
                 {} more run(s) that day, on both passes",
                clock_list(walls),
                walls.len()
            ),
        }
    }
}
