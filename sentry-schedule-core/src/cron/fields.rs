//! The five crontab fields, the sets of values they select, and day matching.
//!
//! Day-of-week values are folded modulo 7 (`7` and `0` are both Sunday), which is how
//! cronsim's `match_dow` compares them.

use chrono::{Datelike, NaiveDate};

/// One of the five crontab fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

pub(crate) const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
pub(crate) const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl FieldKind {
    pub(crate) const ALL: [FieldKind; 5] = [
        FieldKind::Minute,
        FieldKind::Hour,
        FieldKind::DayOfMonth,
        FieldKind::Month,
        FieldKind::DayOfWeek,
    ];

    /// The name used in error messages and in [`crate::ScheduleError::field`].
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldKind::Minute => "minute",
            FieldKind::Hour => "hour",
            FieldKind::DayOfMonth => "day-of-month",
            FieldKind::Month => "month",
            FieldKind::DayOfWeek => "day-of-week",
        }
    }

    pub(crate) fn min(self) -> u8 {
        match self {
            FieldKind::Minute | FieldKind::Hour | FieldKind::DayOfWeek => 0,
            FieldKind::DayOfMonth | FieldKind::Month => 1,
        }
    }

    pub(crate) fn max(self) -> u8 {
        match self {
            FieldKind::Minute => 59,
            FieldKind::Hour => 23,
            FieldKind::DayOfMonth => 31,
            FieldKind::Month => 12,
            FieldKind::DayOfWeek => 7,
        }
    }

    /// The values a plain number may take, for messages.
    pub(crate) fn allowed(self) -> &'static str {
        match self {
            FieldKind::Minute => "0-59",
            FieldKind::Hour => "0-23",
            FieldKind::DayOfMonth => "1-31, `L` or `LW`",
            FieldKind::Month => "1-12 or JAN-DEC",
            FieldKind::DayOfWeek => "0-7 (0 and 7 are Sunday) or SUN-SAT",
        }
    }

    /// The syntax a field accepts, for help lines.
    pub(crate) fn syntax_help(self) -> String {
        let extra = match self {
            FieldKind::DayOfMonth => "; `L` = last day, `LW` = last weekday of the month",
            FieldKind::DayOfWeek => "; `5L` = last Friday, `MON#2` = second Monday of the month",
            _ => "",
        };
        format!(
            "{} accepts {}, `*`, ranges `a-b`, lists `a,b`, steps `*/n`, `a-b/n`, `a/n`{extra}",
            self.name(),
            self.allowed()
        )
    }
}

/// The values one field selects (cronsim's `set[SpecItem]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ValueSet {
    /// Plain values; bit `n` set = value `n` selected.
    pub(crate) bits: u64,
    /// Day-of-month `L`.
    pub(crate) last: bool,
    /// Day-of-month `LW`.
    pub(crate) last_weekday: bool,
    /// Day-of-week `nL` (bit = weekday folded mod 7).
    pub(crate) dow_last: u8,
    /// Day-of-week `n#k`: `dow_nth[weekday mod 7]` has bit `k` set.
    pub(crate) dow_nth: [u8; 7],
}

impl ValueSet {
    pub(crate) fn range(lo: u8, hi: u8) -> Self {
        let mut set = Self::default();
        for v in lo..=hi {
            set.bits |= 1 << v;
        }
        set
    }

    /// Plain values only.
    pub(crate) fn bits(bits: u64) -> Self {
        Self {
            bits,
            ..Self::default()
        }
    }

    pub(crate) fn single(v: u8) -> Self {
        Self {
            bits: 1 << v,
            ..Self::default()
        }
    }

    pub(crate) fn union(&mut self, other: &ValueSet) {
        self.bits |= other.bits;
        self.last |= other.last;
        self.last_weekday |= other.last_weekday;
        self.dow_last |= other.dow_last;
        for (mine, theirs) in self.dow_nth.iter_mut().zip(other.dow_nth.iter()) {
            *mine |= *theirs;
        }
    }

    /// Number of items, as `len()` of cronsim's set.
    pub(crate) fn len(&self) -> u32 {
        self.bits.count_ones()
            + u32::from(self.last)
            + u32::from(self.last_weekday)
            + self.dow_last.count_ones()
            + self.dow_nth.iter().map(|b| b.count_ones()).sum::<u32>()
    }

    pub(crate) fn is_only_last(&self) -> bool {
        *self
            == Self {
                last: true,
                ..Self::default()
            }
    }

    pub(crate) fn is_only_last_weekday(&self) -> bool {
        *self
            == Self {
                last_weekday: true,
                ..Self::default()
            }
    }

    /// Plain values in ascending order.
    pub(crate) fn values(&self) -> impl Iterator<Item = u8> + '_ {
        (0u8..64).filter(move |v| self.bits & (1 << v) != 0)
    }

    pub(crate) fn has(&self, v: u32) -> bool {
        v < 64 && self.bits & (1 << v) != 0
    }
}

/// Bits of [`Fields::flags`].
const LAST: u8 = 1;
const LAST_WEEKDAY: u8 = 2;
const DAY_AND: u8 = 4;
const FIXED: u8 = 8;

/// A compiled crontab, packed into 28 bytes (a copy lives in every schedule and in every
/// cursor over it): each field's plain values as bits, the day-of-month and day-of-week
/// specials, and the two flags cronsim derives from the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    /// Minutes 0-59, low and high halves (two `u32`s keep the struct 4-byte aligned).
    minutes: [u32; 2],
    /// Hours 0-23.
    hours: u32,
    /// Days of the month 1-31.
    days: u32,
    /// Months 1-12.
    months: u16,
    /// Days of the week 0-7 (`0` and `7` both Sunday).
    weekdays: u8,
    /// Day-of-week `nL` (bit = weekday folded mod 7).
    dow_last: u8,
    /// Day-of-week `n#k`: `dow_nth[weekday mod 7]` has bit `k` set.
    dow_nth: [u8; 7],
    /// [`LAST`], [`LAST_WEEKDAY`], [`DAY_AND`], [`FIXED`].
    flags: u8,
}

impl Fields {
    /// Packs the five parsed sets. `day_and` is the Vixie rule (day-of-month AND
    /// day-of-week when either field starts with `*`); `fixed` means neither minute nor
    /// hour starts with `*` (computed in local wall-clock time).
    ///
    /// Only the fields that can hold them keep their specials (the parser gives `L` and
    /// `LW` only to day-of-month, `nL` and `n#k` only to day-of-week), and every plain
    /// value is within its field's range, so the narrowing keeps every bit.
    pub(crate) fn new(
        [minutes, hours, days, months, weekdays]: [ValueSet; 5],
        day_and: bool,
        fixed: bool,
    ) -> Self {
        let mut flags = 0;
        for (set, bit) in [
            (days.last, LAST),
            (days.last_weekday, LAST_WEEKDAY),
            (day_and, DAY_AND),
            (fixed, FIXED),
        ] {
            if set {
                flags |= bit;
            }
        }
        Self {
            minutes: [minutes.bits as u32, (minutes.bits >> 32) as u32],
            hours: hours.bits as u32,
            days: days.bits as u32,
            months: months.bits as u16,
            weekdays: weekdays.bits as u8,
            dow_last: weekdays.dow_last,
            dow_nth: weekdays.dow_nth,
            flags,
        }
    }

    /// The selected minutes.
    pub(crate) fn minutes(&self) -> ValueSet {
        let [lo, hi] = self.minutes;
        ValueSet::bits(u64::from(lo) | (u64::from(hi) << 32))
    }

    /// The selected hours.
    pub(crate) fn hours(&self) -> ValueSet {
        ValueSet::bits(self.hours.into())
    }

    /// The selected months.
    pub(crate) fn months(&self) -> ValueSet {
        ValueSet::bits(self.months.into())
    }

    /// Neither minute nor hour starts with `*`: computed in local wall-clock time.
    pub(crate) fn fixed(&self) -> bool {
        self.flags & FIXED != 0
    }

    fn has_flag(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

/// What matching a day needs to know about it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayInfo {
    /// 1-31.
    pub(crate) day: u32,
    /// Days in its month.
    pub(crate) month_len: u32,
    /// 0 = Sunday .. 6 = Saturday.
    pub(crate) weekday: u32,
}

impl DayInfo {
    pub(crate) fn of(date: NaiveDate) -> Self {
        Self {
            day: date.day(),
            month_len: days_in_month(date.year(), date.month()),
            weekday: date.weekday().num_days_from_sunday(),
        }
    }

    /// The date of the last Monday-Friday of the month (cronsim's `last_weekday`).
    fn last_weekday_of_month(&self) -> u32 {
        // weekday of the last day of the month, 0 = Sunday
        let last_dow = (self.weekday + self.month_len - self.day) % 7;
        match last_dow {
            0 => self.month_len - 2,
            6 => self.month_len - 1,
            _ => self.month_len,
        }
    }
}

pub(crate) fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Fields {
    pub(crate) fn match_dom(&self, d: DayInfo) -> bool {
        if d.day < 32 && self.days & (1 << d.day) != 0 {
            return true;
        }
        if self.has_flag(LAST_WEEKDAY) && d.day >= 26 && d.day == d.last_weekday_of_month() {
            return true;
        }
        self.has_flag(LAST) && d.day == d.month_len
    }

    pub(crate) fn match_dow(&self, d: DayInfo) -> bool {
        let wd = d.weekday;
        let weekdays = u32::from(self.weekdays);
        if wd < 8 && (weekdays & (1 << wd) != 0 || (wd == 0 && weekdays & (1 << 7) != 0)) {
            return true;
        }
        if wd < 8 && self.dow_last & (1 << wd) != 0 && d.day + 7 > d.month_len {
            return true;
        }
        let idx = d.day.div_ceil(7);
        self.dow_nth
            .get(wd as usize)
            .is_some_and(|bits| idx < 8 && u32::from(*bits) & (1 << idx) != 0)
    }

    /// Whether the wall-clock minute `wall` matches all five fields (seconds ignored).
    pub(crate) fn matches_wall(&self, wall: chrono::NaiveDateTime) -> bool {
        use chrono::Timelike;
        self.months().has(wall.month())
            && self.hours().has(wall.hour())
            && self.minutes().has(wall.minute())
            && self.match_day(DayInfo::of(wall.date()))
    }

    /// Whether every hour of the day is selected (the hour field matches all of 0-23).
    pub(crate) fn every_hour(&self) -> bool {
        self.hours & 0x00FF_FFFF == 0x00FF_FFFF
    }

    pub(crate) fn match_day(&self, d: DayInfo) -> bool {
        if self.has_flag(DAY_AND) {
            self.match_dom(d) && self.match_dow(d)
        } else {
            self.match_dom(d) || self.match_dow(d)
        }
    }

    /// Whether some real date matches the day fields: tries every month with every
    /// weekday for its first day, in leap and common years (all of which occur within
    /// any 28-year span between 1901 and 2099).
    pub(crate) fn can_fire(&self) -> bool {
        for month in 1..=12u32 {
            if !self.months().has(month) {
                continue;
            }
            let lens: &[u32] = match month {
                2 => &[28, 29],
                4 | 6 | 9 | 11 => &[30],
                _ => &[31],
            };
            for &month_len in lens {
                for first in 0..7 {
                    for day in 1..=month_len {
                        let info = DayInfo {
                            day,
                            month_len,
                            weekday: (first + day - 1) % 7,
                        };
                        if self.match_day(info) {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_every_value_and_special() {
        let mut days = ValueSet::range(1, 31);
        days.last = true;
        days.last_weekday = true;
        let mut weekdays = ValueSet::range(0, 7);
        weekdays.dow_last = 0b101_0101;
        weekdays.dow_nth = [2, 4, 8, 16, 32, 6, 62];
        let minutes = ValueSet::range(0, 59);
        let hours = ValueSet::range(0, 23);
        let months = ValueSet::range(1, 12);
        let fields = Fields::new([minutes, hours, days, months, weekdays], true, false);
        assert_eq!(fields.minutes(), minutes);
        assert_eq!(fields.hours(), hours);
        assert_eq!(fields.months(), months);
        assert!(!fields.fixed());
        assert_eq!(
            fields,
            Fields {
                minutes: [u32::MAX, (1 << 28) - 1],
                hours: (1 << 24) - 1,
                days: u32::MAX - 1,
                months: 0b1_1111_1111_1110,
                weekdays: u8::MAX,
                dow_last: 0b101_0101,
                dow_nth: [2, 4, 8, 16, 32, 6, 62],
                flags: LAST | LAST_WEEKDAY | DAY_AND,
            }
        );

        let sparse = Fields::new(
            [
                ValueSet::single(59),
                ValueSet::single(23),
                ValueSet::single(31),
                ValueSet::single(12),
                ValueSet::single(7),
            ],
            false,
            true,
        );
        assert_eq!(sparse.minutes().values().collect::<Vec<_>>(), [59]);
        assert_eq!(sparse.hours().values().collect::<Vec<_>>(), [23]);
        assert_eq!(sparse.months().values().collect::<Vec<_>>(), [12]);
        assert!(sparse.fixed());
        // 31 March 2024 is a Sunday: day 31 and weekday 7 (Sunday) both match.
        let day = DayInfo::of(NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        assert!(sparse.match_dom(day) && sparse.match_dow(day));
    }

    #[test]
    fn fields_are_packed_small() {
        // A copy lives in every schedule and every cursor over it.
        assert_eq!(std::mem::size_of::<Fields>(), 28);
    }
}
