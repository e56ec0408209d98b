//! Differential test against cronsim, the Python library Sentry's server uses to
//! predict check-ins: random expressions covering every feature (and invalid ones) ×
//! time zones with unusual DST rules × start instants around DST transitions. Every
//! case must agree on acceptance and on the next 8 fire instants.
//!
//! Needs Python with `pip install -r .ci/cronsim/requirements.txt` (cronsim and the
//! tzdata version matching chrono-tz). Set `CRONSIM_PYTHON` to pick the interpreter.
//! Run with `--nocapture` to see the agreement figure. `CRONSIM_SEED` and
//! `CRONSIM_EXPRESSIONS` change the generator's seed and size for extra runs. `CRONSIM_CASES_OUT=<file>`
//! saves the cases (the reference script's input) for replaying a disagreement.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use sentry_schedule_core::Schedule;
mod support;
use support::{env_u64, tzdata_pypi_version, Reference, Rng};

const EXPRESSIONS: usize = 6_000;
const SEED: u64 = 0x5EED_C0DE_2025;
const NEXT: usize = 8;

const ZONES: [&str; 16] = [
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Havana",
    "Australia/Lord_Howe",
    "Asia/Hebron",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "UTC",
    "America/Santiago",
    "Africa/Casablanca",
    "America/St_Johns",
    "Asia/Tehran",
    "Europe/Berlin",
    "Australia/Adelaide",
];

#[derive(Clone, Copy, PartialEq)]
enum F {
    Minute,
    Hour,
    Dom,
    Month,
    Dow,
}

impl F {
    fn lo(self) -> i64 {
        match self {
            F::Dom | F::Month => 1,
            _ => 0,
        }
    }
    fn hi(self) -> i64 {
        match self {
            F::Minute => 59,
            F::Hour => 23,
            F::Dom => 31,
            F::Month => 12,
            F::Dow => 7,
        }
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn random_case(rng: &mut Rng, s: &str) -> String {
    match rng.below(3) {
        0 => s.to_ascii_lowercase(),
        1 => s.to_ascii_uppercase(),
        _ => {
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        }
    }
}

/// A value, biased towards the hours and minutes where DST changes happen.
fn value(rng: &mut Rng, f: F) -> i64 {
    match f {
        F::Hour if rng.chance(60) => rng.range(0, 3),
        F::Minute if rng.chance(50) => *[0i64, 0, 15, 30, 30, 45, 59, 1, 29, 31]
            .get(rng.below(10) as usize)
            .unwrap_or(&0),
        F::Dom if rng.chance(30) => rng.range(26, 31),
        _ => rng.range(f.lo(), f.hi()),
    }
}

fn value_text(rng: &mut Rng, f: F, v: i64) -> String {
    match f {
        F::Month if rng.chance(30) => random_case(rng, MONTHS[(v - 1) as usize]),
        F::Dow if v < 7 && rng.chance(30) => random_case(rng, DAYS[v as usize]),
        _ => v.to_string(),
    }
}

/// One comma-free term of a field.
fn term(rng: &mut Rng, f: F) -> String {
    let span = f.hi() - f.lo() + 1;
    // Occasional invalid terms.
    if rng.chance(3) {
        return match rng.below(10) {
            0 => (f.hi() + 1 + rng.range(0, 3)).to_string(),
            1 => "*/0".to_owned(),
            2 => {
                let a = rng.range(f.lo() + 1, f.hi());
                format!("{a}-{}", rng.range(f.lo(), a - 1))
            }
            3 => "".to_owned(),
            4 => rng
                .pick(&[
                    "?", "5W", "W", "1-", "-1", "*/", "/5", "**", "L5", "#2", "1#", "LL",
                ])
                .to_owned(),
            5 => format!("{}#{}", rng.range(0, 7), rng.pick(&["0", "6", "", "x"])),
            6 => rng.pick(&["L", "LW", "2L", "1W", "L-3"]).to_owned(),
            7 => format!(
                "{}/{}",
                rng.range(f.lo(), f.hi()),
                rng.pick(&["a", "-1", "1/2", ""])
            ),
            8 => {
                if f.lo() > 0 {
                    "0".to_owned()
                } else {
                    "-0".to_owned()
                }
            }
            _ => {
                let name = rng_pick_name(rng);
                random_case(rng, name)
            }
        };
    }
    match rng.below(if matches!(f, F::Dom | F::Dow) { 12 } else { 10 }) {
        0 | 1 => "*".to_owned(),
        2 => format!("*/{}", rng.range(1, span + 5)),
        3 | 4 => {
            let v = value(rng, f);
            value_text(rng, f, v)
        }
        5 => {
            let a = value(rng, f);
            let b = rng.range(a, f.hi());
            format!("{}-{}", value_text(rng, f, a), value_text(rng, f, b))
        }
        6 => {
            let a = rng.range(f.lo(), f.hi() - 1);
            let b = rng.range(a + 1, f.hi());
            format!(
                "{}-{}/{}",
                value_text(rng, f, a),
                value_text(rng, f, b),
                rng.range(1, span)
            )
        }
        7 => {
            let a = value(rng, f);
            format!("{}/{}", value_text(rng, f, a), rng.range(1, span))
        }
        8 => format!("*/{}", rng.range(1, 4)),
        9 => {
            let v = value(rng, f);
            v.to_string()
        }
        _ => match f {
            F::Dom => rng
                .pick(&["L", "LW", "l", "lw", "L/2", "LW/3", "L,15", "1,L"])
                .to_owned(),
            F::Dow => match rng.below(3) {
                0 => format!("{}L", rng.range(0, 7)),
                1 => {
                    let d = rng.range(0, 7);
                    let name = if d < 7 && rng.chance(50) {
                        random_case(rng, DAYS[d as usize])
                    } else {
                        d.to_string()
                    };
                    format!("{name}#{}", rng.range(1, 5))
                }
                _ => "7".to_owned(),
            },
            _ => "*".to_owned(),
        },
    }
}

fn rng_pick_name(rng: &mut Rng) -> &'static str {
    if rng.chance(50) {
        MONTHS[rng.below(12) as usize]
    } else {
        DAYS[rng.below(7) as usize]
    }
}

fn field(rng: &mut Rng, f: F) -> String {
    let n = match rng.below(10) {
        0..=6 => 1,
        7 | 8 => 2,
        _ => 3,
    };
    (0..n).map(|_| term(rng, f)).collect::<Vec<_>>().join(",")
}

fn expression(rng: &mut Rng) -> String {
    match rng.below(100) {
        0..=3 => rng
            .pick(&[
                "@yearly",
                "@annually",
                "@monthly",
                "@weekly",
                "@daily",
                "@hourly",
            ])
            .to_owned(),
        4 => rng
            .pick(&["@reboot", "@midnight", "@DAILY", "@every", "@daily 1"])
            .to_owned(),
        5 => format!("0 {}", expression5(rng)),
        6 => format!("0 {} 2030", expression5(rng)),
        7 => rng
            .pick(&[
                "0 0 30 2 *",
                "0 0 31 4,6 *",
                "0 0 31 2,4,6,9,11 *",
                "0 0 30,31 feb *",
                "0 0 */30 * MON#2",
                "0 0 */30 2 5L",
                "* * * *",
                "",
                "0 0 29 2 *",
                "0 0 L 2 *",
                "0 0 31 * *",
                "0 0 30 2 MON",
            ])
            .to_owned(),
        _ => expression5(rng),
    }
}

fn expression5(rng: &mut Rng) -> String {
    // Fixed expressions (minute and hour without a leading `*`) get the DST quirks.
    let fixed = rng.chance(50);
    let mut minute = field(rng, F::Minute);
    let mut hour = field(rng, F::Hour);
    if fixed {
        while minute.starts_with('*') {
            minute = field(rng, F::Minute);
        }
        while hour.starts_with('*') {
            hour = field(rng, F::Hour);
        }
    }
    let dom = if rng.chance(40) {
        "*".to_owned()
    } else {
        field(rng, F::Dom)
    };
    let month = if rng.chance(60) {
        "*".to_owned()
    } else {
        field(rng, F::Month)
    };
    let dow = if rng.chance(50) {
        "*".to_owned()
    } else {
        field(rng, F::Dow)
    };
    let sep = if rng.chance(5) { "  \t" } else { " " };
    [minute, hour, dom, month, dow].join(sep)
}

fn offset_secs(tz: Tz, t: i64) -> i32 {
    let utc = DateTime::from_timestamp(t, 0)
        .expect("in range")
        .naive_utc();
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
}

/// UTC instants (seconds) where the zone's UTC offset changes, 2016-2027.
fn transitions(tz: Tz) -> Vec<i64> {
    let from = Utc
        .with_ymd_and_hms(2016, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let to = Utc
        .with_ymd_and_hms(2028, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let next = t + 3_600;
        if offset_secs(tz, t) != offset_secs(tz, next) {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if offset_secs(tz, mid) == offset_secs(tz, t) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(hi);
        }
        t = next;
    }
    out
}

fn start_instant(rng: &mut Rng, transitions: &[i64]) -> i64 {
    if transitions.is_empty() || rng.chance(5) {
        let from = Utc
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp();
        return from + rng.range(0, 3 * 365 * 86_400);
    }
    let t = transitions[rng.below(transitions.len() as u64) as usize];
    let start = match rng.below(6) {
        0 => t + rng.range(-1, 1),
        1 => t + rng.range(-3 * 3_600, 3 * 3_600),
        2 => t + rng.range(-26 * 3_600, 2 * 3_600),
        3 => t + rng.range(-8 * 86_400, 86_400),
        4 => t + rng.range(-90 * 60, 90 * 60) / 60 * 60,
        _ => t - 3_600 * rng.range(0, 48),
    };
    // Sometimes whole minutes (as Sentry's reference times), sometimes not.
    if rng.chance(50) {
        start.div_euclid(60) * 60
    } else {
        start
    }
}

/// How many generated expressions use each feature (printed with the summary).
#[derive(Debug, Default)]
struct Features {
    nickname: usize,
    wrong_field_count: usize,
    fixed: usize,
    step: usize,
    range: usize,
    list: usize,
    names: usize,
    dom_l: usize,
    dom_lw: usize,
    dow_last: usize,
    dow_nth: usize,
    dow_7: usize,
    both_days_restricted: usize,
    rejected_by_us: usize,
}

impl Features {
    fn count(&mut self, expr: &str) {
        let up = expr.to_ascii_uppercase();
        let f: Vec<&str> = up.split_whitespace().collect();
        self.rejected_by_us += usize::from(Schedule::cron(expr).is_err());
        if up.starts_with('@') {
            self.nickname += 1;
            return;
        }
        if f.len() != 5 {
            self.wrong_field_count += 1;
            return;
        }
        let has = |i: usize, pat: &dyn Fn(&str) -> bool| f.get(i).is_some_and(|x| pat(x));
        self.fixed += usize::from(!f[0].starts_with('*') && !f[1].starts_with('*'));
        self.step += usize::from(up.contains('/'));
        self.range += usize::from(up.contains('-'));
        self.list += usize::from(up.contains(','));
        self.names += usize::from(
            f[3..]
                .iter()
                .any(|x| x.chars().any(|c| c.is_ascii_alphabetic() && c != 'L')),
        );
        self.dom_lw += usize::from(has(2, &|x| x.contains("LW")));
        self.dom_l += usize::from(has(2, &|x| x.contains('L') && !x.contains("LW")));
        self.dow_last += usize::from(has(4, &|x| x.contains('L')));
        self.dow_nth += usize::from(has(4, &|x| x.contains('#')));
        self.dow_7 += usize::from(has(4, &|x| x.split([',', '-', '/']).any(|t| t == "7")));
        self.both_days_restricted += usize::from(!f[2].starts_with('*') && !f[4].starts_with('*'));
    }
}

struct Case {
    expr: String,
    zone: &'static str,
    start: i64,
}

const CRONSIM: Reference = Reference {
    script: ".ci/cronsim/reference.py",
    requirements: ".ci/cronsim/requirements.txt",
    packages: "cronsim, tzdata",
    python_var: "CRONSIM_PYTHON",
};

fn reference(cases: &[Case]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let input: String = cases
        .iter()
        .map(|c| {
            serde_json::json!({"expr": c.expr, "zone": c.zone, "start": c.start, "n": NEXT})
                .to_string()
                + "\n"
        })
        .collect();
    if let Ok(path) = std::env::var("CRONSIM_CASES_OUT") {
        std::fs::write(&path, &input).expect("write CRONSIM_CASES_OUT");
    }
    let mut lines = CRONSIM.run(&[], input).into_iter();
    let header = lines.next().expect("header line");
    (header, lines.collect())
}

fn fmt_instants(v: &[i64], tz: Tz) -> String {
    v.iter()
        .map(|t| {
            let d = DateTime::from_timestamp(*t, 0).expect("in range");
            format!(
                "{} ({})",
                d.format("%Y-%m-%dT%H:%M:%SZ"),
                d.with_timezone(&tz).format("%H:%M %Z")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn agrees_with_cronsim() {
    let seed = env_u64("CRONSIM_SEED").unwrap_or(SEED);
    let expressions = env_u64("CRONSIM_EXPRESSIONS").map_or(EXPRESSIONS, |n| n as usize);
    let mut rng = Rng(seed.max(1));
    let zones: Vec<(&'static str, Tz, Vec<i64>)> = ZONES
        .iter()
        .map(|name| {
            let tz: Tz = name.parse().expect("known zone");
            (*name, tz, transitions(tz))
        })
        .collect();
    let mut cases = Vec::new();
    let mut features = Features::default();
    for _ in 0..expressions {
        let expr = expression(&mut rng);
        features.count(&expr);
        for (zone, _, trans) in &zones {
            let start = start_instant(&mut rng, trans);
            cases.push(Case {
                expr: expr.clone(),
                zone,
                start,
            });
        }
    }

    let (header, results) = reference(&cases);
    let their_tzdb = header["tzdata"].as_str().unwrap_or("?");
    assert_eq!(
        their_tzdb,
        chrono_tz::IANA_TZDB_VERSION,
        "Python's tzdata ({their_tzdb}) differs from chrono-tz's bundled tz database ({}): \
         `pip install tzdata=={}`",
        chrono_tz::IANA_TZDB_VERSION,
        tzdata_pypi_version(chrono_tz::IANA_TZDB_VERSION)
    );
    assert_eq!(results.len(), cases.len(), "one reference line per case");

    let mut mismatches = Vec::new();
    let (mut accepted, mut rejected, mut second_pass_starts) = (0usize, 0usize, 0usize);
    let mut cronsim_hangs = 0usize;
    let mut hang_answers = Vec::new();
    for (case, theirs) in cases.iter().zip(&results) {
        let tz: Tz = case.zone.parse().expect("known zone");
        let start = DateTime::from_timestamp(case.start, 0).expect("in range");
        let ours = Schedule::cron(&case.expr);
        let problem = match (&ours, theirs.get("ok")) {
            (Err(_), None) => {
                rejected += 1;
                None
            }
            (Err(e), Some(_)) => Some(format!("we reject ({e}), cronsim accepts")),
            (Ok(_), None) => Some(format!(
                "we accept, cronsim rejects ({})",
                theirs["rejected"].as_str().unwrap_or("?")
            )),
            (Ok(schedule), Some(list)) => {
                accepted += 1;
                let expected: Vec<i64> = list
                    .as_array()
                    .expect("array")
                    .iter()
                    .map(|v| v.as_i64().expect("int"))
                    .collect();
                let hang = theirs.get("hang").is_some();
                if hang {
                    cronsim_hangs += 1;
                }
                // Where cronsim loops forever we must still answer: one more instant.
                let want = if hang { expected.len() + 1 } else { NEXT };
                let mut raw: Vec<i64> = schedule
                    .cronsim_sequence(start, tz)
                    .take(want)
                    .map(|d| d.timestamp())
                    .collect();
                if hang {
                    if raw.len() < want {
                        mismatches.push(format!(
                            "`{}` in {}: cronsim loops forever and so do we",
                            case.expr, case.zone
                        ));
                    } else if let Some(extra) = raw.pop() {
                        hang_answers.push(format!(
                            "`{}` in {} from {}: cronsim loops forever after {} instants; we answer {}",
                            case.expr,
                            case.zone,
                            start.format("%Y-%m-%dT%H:%M:%SZ"),
                            expected.len(),
                            fmt_instants(&[extra], tz)
                        ));
                    }
                }
                // `upcoming` is cronsim's sequence made strictly increasing from `start`.
                let mut last = case.start;
                let strict: Vec<i64> = expected
                    .iter()
                    .copied()
                    .filter(|t| {
                        let keep = *t > last;
                        if keep {
                            last = *t;
                        }
                        keep
                    })
                    .collect();
                if strict.len() != expected.len() {
                    second_pass_starts += 1;
                }
                let upcoming: Vec<i64> = schedule
                    .upcoming(start, tz)
                    .take(strict.len())
                    .map(|d| d.timestamp())
                    .collect();
                if raw != expected {
                    Some(format!(
                        "next {NEXT} differ\n    ours:    {}\n    cronsim: {}",
                        fmt_instants(&raw, tz),
                        fmt_instants(&expected, tz)
                    ))
                } else if upcoming != strict {
                    Some(format!(
                        "upcoming() is not cronsim's sequence after start\n    ours:    {}\n    cronsim: {}",
                        fmt_instants(&upcoming, tz),
                        fmt_instants(&strict, tz)
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            mismatches.push(format!(
                "`{}` in {} from {} ({}): {problem}",
                case.expr,
                case.zone,
                start.format("%Y-%m-%dT%H:%M:%SZ"),
                start.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z")
            ));
        }
    }

    let agree = cases.len() - mismatches.len();
    let summary = format!(
        "cronsim differential (seed {seed:#x}): {} cases ({expressions} expressions x {} zones; {accepted} \
         accepted, {rejected} rejected by both; {second_pass_starts} starts where cronsim's \
         first instant is not after the start; {cronsim_hangs} where cronsim loops forever), \
         agreement {agree}/{} = {:.3}% (cronsim {}, tzdata {})",
        cases.len(),
        ZONES.len(),
        cases.len(),
        100.0 * agree as f64 / cases.len() as f64,
        header["cronsim"].as_str().unwrap_or("?"),
        their_tzdb,
    );
    println!("{summary}");
    eprintln!("{summary}");
    println!("expressions with: {features:?}");
    for h in &hang_answers {
        println!("CRONSIM LOOPS {h}");
    }
    for m in mismatches.iter().take(40) {
        eprintln!("MISMATCH {m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} disagreements with cronsim",
        mismatches.len()
    );
}
