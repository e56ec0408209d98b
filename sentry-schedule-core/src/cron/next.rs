//! The search for fire instants: a port of cronsim's `CronSim.__next__` (forward).
//!
//! cronsim walks a Python `datetime`. For "fixed" expressions (neither minute nor hour
//! starts with `*`) it walks a *naive* local wall-clock time and converts the result at
//! the end (a time in a DST gap moves to the first whole minute after the gap; a repeated
//! time is taken at its first occurrence). For other expressions it walks an *aware*
//! local time, stepping through UTC, where Python's `fold` attribute and zoneinfo's rules
//! for imaginary times decide the instant. [`PyTime`] models exactly that state.

use super::fields::{DayInfo, Fields};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// cronsim gives up when nothing matched for this many years.
const GIVE_UP_YEARS: i32 = 50;

/// The zones whose wall time is UTC at every instant, with no gap or fold (UTC and GMT
/// under each of their names in the tz database).
const UTC_ZONES: [Tz; 18] = [
    Tz::UTC,
    Tz::Etc__UTC,
    Tz::Etc__UCT,
    Tz::UCT,
    Tz::Etc__Universal,
    Tz::Universal,
    Tz::Etc__Zulu,
    Tz::Zulu,
    Tz::GMT,
    Tz::Etc__GMT,
    Tz::GMT0,
    Tz::Etc__GMT0,
    Tz::GMTPlus0,
    Tz::Etc__GMTPlus0,
    Tz::GMTMinus0,
    Tz::Etc__GMTMinus0,
    Tz::Greenwich,
    Tz::Etc__Greenwich,
];

/// Whether `tz` is one of [`UTC_ZONES`]. A cursor in one of them converts as in `Tz::UTC`
/// ([`Cursor::new`]), which needs no look-up in the zone's table (most jobs run in UTC,
/// and the look-ups were most of the cost of a step).
fn always_utc(tz: Tz) -> bool {
    UTC_ZONES.contains(&tz)
}

fn offset_at_utc(tz: Tz, utc: NaiveDateTime) -> i64 {
    i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc())
}

/// The UTC offset (seconds) zoneinfo gives the wall time `wall` with `fold`.
///
/// Unambiguous: the only offset. Repeated (ambiguous): fold 0 = first occurrence (the
/// larger offset), fold 1 = second. Imaginary (in a gap): fold 0 = the offset before the
/// transition, fold 1 = the offset after it (PEP 495).
fn utc_offset(tz: Tz, wall: NaiveDateTime, fold: bool) -> i64 {
    match tz.offset_from_local_datetime(&wall) {
        LocalResult::Single(o) => i64::from(o.fix().local_minus_utc()),
        LocalResult::Ambiguous(a, b) => {
            let a = i64::from(a.fix().local_minus_utc());
            let b = i64::from(b.fix().local_minus_utc());
            if fold {
                a.min(b)
            } else {
                a.max(b)
            }
        }
        LocalResult::None => {
            // In a gap the offsets before (p) and after (c) satisfy
            // offset(wall - p) = c and offset(wall - c) = p; iterate to find them.
            let shifted = |off: i64| {
                wall.checked_sub_signed(Duration::seconds(off))
                    .unwrap_or(wall)
            };
            let guess = offset_at_utc(tz, wall);
            let a = offset_at_utc(tz, shifted(guess));
            let b = offset_at_utc(tz, shifted(a));
            if fold {
                a.max(b)
            } else {
                a.min(b)
            }
        }
    }
}

/// Python's aware local time: wall-clock fields plus `fold`.
#[derive(Clone, Copy, Debug)]
struct PyTime {
    wall: NaiveDateTime,
    fold: bool,
}

impl PyTime {
    fn from_utc(tz: Tz, utc: NaiveDateTime) -> Option<Self> {
        if tz == Tz::UTC {
            return Some(Self {
                wall: utc,
                fold: false,
            });
        }
        let off = offset_at_utc(tz, utc);
        let wall = utc.checked_add_signed(Duration::seconds(off))?;
        let fold = match tz.offset_from_local_datetime(&wall) {
            LocalResult::Ambiguous(a, b) => {
                let a = i64::from(a.fix().local_minus_utc());
                let b = i64::from(b.fix().local_minus_utc());
                a != b && off == a.min(b)
            }
            _ => false,
        };
        Some(Self { wall, fold })
    }

    fn to_utc(self, tz: Tz) -> Option<NaiveDateTime> {
        if tz == Tz::UTC {
            return Some(self.wall);
        }
        self.wall
            .checked_sub_signed(Duration::seconds(utc_offset(tz, self.wall, self.fold)))
    }

    /// `dt != dt.astimezone(UTC).astimezone(dt.tzinfo)` (same tzinfo: wall fields only).
    fn is_imaginary(self, tz: Tz) -> bool {
        match self.to_utc(tz).and_then(|u| Self::from_utc(tz, u)) {
            Some(round_trip) => round_trip.wall != self.wall,
            None => false,
        }
    }
}

/// cronsim's iterator state.
#[derive(Clone, Debug)]
pub(crate) struct Cursor {
    fields: Fields,
    tz: Tz,
    /// `fixup_tz` is set: walk naive wall-clock time.
    naive: bool,
    dt: PyTime,
    done: bool,
}

impl Cursor {
    /// `CronSim(expr, after.astimezone(tz))`, microseconds dropped.
    pub(crate) fn new(fields: Fields, after: DateTime<Utc>, tz: Tz) -> Self {
        // Once here, not at every conversion of every step.
        let tz = if always_utc(tz) { Tz::UTC } else { tz };
        let start = after
            .naive_utc()
            .with_nanosecond(0)
            .unwrap_or_else(|| after.naive_utc());
        let naive = fields.fixed();
        let dt = PyTime::from_utc(tz, start);
        Self {
            fields,
            tz,
            naive,
            done: dt.is_none(),
            dt: dt.unwrap_or(PyTime {
                wall: start,
                fold: false,
            }),
        }
    }

    fn tick(&mut self, seconds: i64) -> Option<()> {
        if self.naive {
            self.dt = PyTime {
                wall: self
                    .dt
                    .wall
                    .checked_add_signed(Duration::seconds(seconds))?,
                fold: false,
            };
        } else {
            let utc = self
                .dt
                .to_utc(self.tz)?
                .checked_add_signed(Duration::seconds(seconds))?;
            self.dt = PyTime::from_utc(self.tz, utc)?;
        }
        Some(())
    }

    fn set_wall(&mut self, wall: NaiveDateTime) {
        // `datetime.replace` keeps fold; `datetime.combine` callers reset it themselves.
        self.dt.wall = wall;
    }

    fn advance_second(&mut self) -> Option<bool> {
        // 5-field expressions always have seconds = {0}.
        let second = i64::from(self.dt.wall.second());
        if second == 0 {
            return Some(false);
        }
        self.tick((60 - second).rem_euclid(60))?;
        while self.dt.wall.second() != 0 {
            self.tick(1)?;
        }
        Some(true)
    }

    fn advance_minute(&mut self) -> Option<bool> {
        let minutes = self.fields.minutes();
        if minutes.has(self.dt.wall.minute()) {
            return Some(false);
        }
        self.set_wall(self.dt.wall.with_second(0)?);
        if minutes.len() == 1 {
            let target = i64::from(minutes.values().next().unwrap_or(0));
            let delta = (target - i64::from(self.dt.wall.minute())).rem_euclid(60);
            self.tick(delta * 60)?;
        }
        while !minutes.has(self.dt.wall.minute()) {
            self.tick(60)?;
            if self.dt.wall.minute() == 0 {
                break;
            }
        }
        Some(true)
    }

    fn advance_hour(&mut self) -> Option<bool> {
        let hours = self.fields.hours();
        if hours.has(self.dt.wall.hour()) {
            return Some(false);
        }
        self.set_wall(self.dt.wall.with_minute(0)?.with_second(0)?);
        while !hours.has(self.dt.wall.hour()) {
            self.tick(3600)?;
            if self.dt.wall.hour() == 0 {
                break;
            }
        }
        Some(true)
    }

    fn advance_day(&mut self) -> Option<bool> {
        let mut needle = self.dt.wall.date();
        if self.fields.match_day(DayInfo::of(needle)) {
            return Some(false);
        }
        loop {
            needle = needle.succ_opt()?;
            if needle.day() == 1 || self.fields.match_day(DayInfo::of(needle)) {
                break;
            }
        }
        self.dt = PyTime {
            wall: needle.and_time(NaiveTime::MIN),
            fold: false,
        };
        Some(true)
    }

    fn advance_month(&mut self) -> Option<()> {
        let months = self.fields.months();
        if months.has(self.dt.wall.month()) {
            return Some(());
        }
        let mut needle = self.dt.wall.date();
        while !months.has(needle.month()) {
            let (y, m) = if needle.month() == 12 {
                (needle.year().checked_add(1)?, 1)
            } else {
                (needle.year(), needle.month() + 1)
            };
            needle = NaiveDate::from_ymd_opt(y, m, 1)?;
        }
        self.dt = PyTime {
            wall: needle.and_time(NaiveTime::MIN),
            fold: false,
        };
        Some(())
    }

    fn advance(&mut self) -> Option<()> {
        let start_year = self.dt.wall.year();
        // cronsim can cycle forever: in a repeated hour, `replace(minute=0)` keeps
        // fold=1 on a time before the repeated window, which jumps back to the first
        // pass (e.g. `52 */3 * * *` in Pacific/Chatham on 2017-04-02). Sentry then
        // never computes a next check-in; we detect the cycle (a loop state seen again
        // after the walk went backwards in time) and resume from the latest instant
        // reached, which yields the next real instant that matches.
        let mut latest = self.dt.to_utc(self.tz);
        let mut revisited: Vec<(NaiveDateTime, bool)> = Vec::new();
        loop {
            if !self.naive {
                let now = self.dt.to_utc(self.tz);
                if now > latest {
                    latest = now;
                } else if revisited.contains(&(self.dt.wall, self.dt.fold)) {
                    let resume = latest?.checked_add_signed(Duration::seconds(1))?;
                    self.dt = PyTime::from_utc(self.tz, resume)?;
                    latest = Some(resume);
                    revisited.clear();
                } else {
                    revisited.push((self.dt.wall, self.dt.fold));
                }
            }
            self.advance_month()?;
            if self.dt.wall.year() > start_year.saturating_add(GIVE_UP_YEARS) {
                return None;
            }
            if self.advance_day()? {
                continue;
            }
            if self.advance_hour()? {
                continue;
            }
            if self.advance_minute()? {
                continue;
            }
            if self.advance_second()? {
                continue;
            }
            return Some(());
        }
    }

    fn next_instant(&mut self) -> Option<DateTime<Utc>> {
        self.tick(1)?;
        self.advance()?;
        let utc = if self.naive {
            // `result = dt.replace(tzinfo=tz, fold=0)`; step minutes out of a gap.
            self.dt.fold = false;
            while self.dt.is_imaginary(self.tz) {
                self.tick(60)?;
            }
            self.dt.to_utc(self.tz)?
        } else {
            self.dt.to_utc(self.tz)?
        };
        Some(Utc.from_utc_datetime(&utc))
    }
}

impl Iterator for Cursor {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        if self.done {
            return None;
        }
        let next = self.next_instant();
        if next.is_none() {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zones_taken_for_utc_are_utc_at_every_instant() {
        // The shortcut must agree with the zone tables: every listed zone has offset 0 and
        // no transition from 1800 to 2200, sampled every 30 days.
        let start = NaiveDate::from_ymd_opt(1800, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let start = start.expect("a valid date");
        for tz in UTC_ZONES {
            let mut at = start;
            while at.year() < 2200 {
                assert_eq!(offset_at_utc(tz, at), 0, "{tz} at {at}");
                assert!(
                    matches!(tz.offset_from_local_datetime(&at), LocalResult::Single(_)),
                    "{tz} at {at}"
                );
                at += Duration::days(30);
            }
        }
        // And a zone that is not UTC is not taken for it.
        assert!(!always_utc(Tz::Europe__London));
        assert!(!always_utc(Tz::Etc__GMTPlus1));
    }
}
