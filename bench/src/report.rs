//! The side-by-side table: both figures, their ratio, our target and whether it is met.
use crate::child::Outcome;
use crate::idle::IdleReport;
use crate::lag::LagReport;
use crate::overhead::OverheadReport;
use std::fmt::Write as _;

/// Every outcome of one benchmark run.
#[derive(Debug)]
pub(crate) struct Results {
    /// `(jobs, ours, tokio-cron-scheduler)` per size.
    pub lag: Vec<(u32, Outcome, Outcome)>,
    /// Idle run of each scheduler.
    pub idle: (Outcome, Outcome),
    /// Our wrapper against the bare fn.
    pub overhead: Outcome,
    /// Seconds the idle CPU was measured over.
    pub idle_secs: u32,
}

/// One line of the table. Every figure is "lower is better".
struct Row {
    what: String,
    ours: Result<f64, String>,
    tcs: Option<f64>,
    unit: Unit,
    /// Our absolute target, if the row has one.
    target: Option<f64>,
    /// Whether equal to tokio-cron-scheduler counts as ahead (true where 0 is the best there is).
    tie_is_ahead: bool,
}

#[derive(Clone, Copy)]
enum Unit {
    Ms,
    Runs(u64),
    MsPerMin,
    Us,
    KiB,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Ms => format!("{} ms", sig(v)),
            Unit::Runs(of) => format!("{v:.0} of {of}"),
            Unit::MsPerMin => format!("{} ms/min", sig(v)),
            Unit::Us => format!("{} µs", sig(v)),
            Unit::KiB => format!("{} KiB", sig(v)),
        }
    }
}

/// Three significant digits, without exponent.
fn sig(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

impl Row {
    /// `Ok(())` when met, otherwise why not.
    fn verdict(&self) -> Result<(), String> {
        let ours = self
            .ours
            .as_ref()
            .map_err(|why| format!("not measured: {why}"))?;
        let mut missed = Vec::new();
        if let Some(target) = self.target {
            if *ours > target {
                missed.push(format!("above target {}", self.unit.show(target)));
            }
        }
        if let Some(tcs) = self.tcs {
            let ahead = if self.tie_is_ahead {
                *ours <= tcs
            } else {
                *ours < tcs
            };
            if !ahead {
                missed.push("not ahead of tokio-cron-scheduler".to_owned());
            }
        }
        if missed.is_empty() {
            Ok(())
        } else {
            Err(missed.join("; "))
        }
    }

    fn ratio(&self) -> String {
        match (&self.ours, self.tcs) {
            (Ok(ours), Some(tcs)) if *ours > 0.0 => format!("{}×", sig(tcs / ours)),
            (Ok(ours), Some(tcs)) if *ours == 0.0 && tcs > 0.0 => "∞".to_owned(),
            (Ok(_), Some(_)) => "=".to_owned(),
            _ => "—".to_owned(),
        }
    }
}

fn lag_rows(jobs: u32, ours: &Outcome, tcs: &Outcome) -> Vec<Row> {
    let ours_lag = lag_of(ours);
    let tcs_lag = lag_of(tcs).ok();
    let target_p99 = match jobs {
        1_000 => Some(2.0),
        10_000 => Some(10.0),
        _ => None,
    };
    let pick = |r: &LagReport, f: fn(&crate::measure::Percentiles) -> f64| {
        r.lag.as_ref().map(|p| f(p) / 1_000.0)
    };
    let row = |name: &str, f: fn(&crate::measure::Percentiles) -> f64, target| Row {
        what: format!("fire lag {name}, {}", jobs_label(jobs)),
        ours: ours_lag
            .clone()
            .and_then(|r| pick(&r, f).ok_or_else(|| "no run started".to_owned())),
        tcs: tcs_lag.as_ref().and_then(|r| pick(r, f)),
        unit: Unit::Ms,
        target,
        tie_is_ahead: false,
    };
    let expected = ours_lag
        .as_ref()
        .ok()
        .or(tcs_lag.as_ref())
        .map(|r| r.expected)
        .unwrap_or(0);
    vec![
        row("p50", |p| p.p50_us, None),
        row("p99", |p| p.p99_us, target_p99),
        row("max", |p| p.max_us, None),
        Row {
            what: format!("runs lost, {}", jobs_label(jobs)),
            ours: ours_lag.clone().map(|r| r.lost as f64),
            tcs: tcs_lag.as_ref().map(|r| r.lost as f64),
            unit: Unit::Runs(expected),
            target: Some(0.0),
            tie_is_ahead: true,
        },
    ]
}

fn lag_of(outcome: &Outcome) -> Result<LagReport, String> {
    match outcome {
        Outcome::Lag(r) => Ok(r.clone()),
        Outcome::Unavailable(why) => Err(why.clone()),
        other => Err(format!("unexpected outcome {other:?}")),
    }
}

fn idle_of(outcome: &Outcome) -> Result<IdleReport, String> {
    match outcome {
        Outcome::Idle(r) => Ok(r.clone()),
        Outcome::Unavailable(why) => Err(why.clone()),
        other => Err(format!("unexpected outcome {other:?}")),
    }
}

/// What the overhead row says of sentry-schedule's `metrics` feature in this build.
const METRICS: &str = if cfg!(feature = "metrics") {
    ", feature metrics on, no recorder"
} else {
    ""
};

/// The overhead measurement as one line: µs per run over the bare fn, and the raw figures.
pub(crate) fn overhead_line(outcome: &Outcome) -> String {
    match overhead_of(outcome) {
        Ok(r) => format!(
            "per-run overhead of sentry-schedule (monitored job{METRICS}): {} µs ({} runs; monitored {} ns/run, unmonitored {} ns/run, bare fn {} ns)",
            sig(r.overhead_us()),
            r.runs,
            sig(r.wrapped_ns),
            sig(r.unmonitored_ns),
            sig(r.bare_ns)
        ),
        Err(e) => format!("per-run overhead: failed: {e}"),
    }
}

fn overhead_of(outcome: &Outcome) -> Result<OverheadReport, String> {
    match outcome {
        Outcome::Overhead(r) => Ok(r.clone()),
        Outcome::Unavailable(why) => Err(why.clone()),
        other => Err(format!("unexpected outcome {other:?}")),
    }
}

/// `1` → `1 job`, `10000` → `10,000 jobs`.
fn jobs_label(jobs: u32) -> String {
    if jobs == 1 {
        "1 job".to_owned()
    } else {
        format!("{} jobs", thousands(jobs))
    }
}

/// `10000` → `10,000`.
pub(crate) fn thousands(n: u32) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders the table as Markdown, followed by notes on anything irregular.
pub(crate) fn render(results: &Results) -> String {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (jobs, ours, tcs) in &results.lag {
        rows.extend(lag_rows(*jobs, ours, tcs));
        for (name, outcome) in [("sentry-schedule", ours), ("tokio-cron-scheduler", tcs)] {
            if let Ok(r) = lag_of(outcome) {
                if r.duplicates + r.early + r.off_grid + r.overflow > 0 {
                    notes.push(format!(
                        "{name}, {} jobs: {} duplicate runs, {} early starts, {} runs reported for an instant off the schedule, {} starts not recorded",
                        thousands(*jobs), r.duplicates, r.early, r.off_grid, r.overflow
                    ));
                }
            }
        }
    }
    let cpu_per_run: Vec<String> = results
        .lag
        .iter()
        .map(|(jobs, ours, tcs)| {
            let cpu = |o: &Outcome| {
                lag_of(o)
                    .ok()
                    .and_then(|r| r.cpu_us_per_run)
                    .map_or_else(|| "n/a".to_owned(), |us| format!("{} µs", sig(us)))
            };
            format!("{} {} vs {}", jobs_label(*jobs), cpu(ours), cpu(tcs))
        })
        .collect();
    notes.push(format!(
        "CPU per run while the lag was measured (sentry-schedule vs tokio-cron-scheduler, process user+sys ÷ runs started): {}",
        cpu_per_run.join("; ")
    ));
    let (ours_idle, tcs_idle) = (idle_of(&results.idle.0), idle_of(&results.idle.1));
    let idle_jobs = ours_idle
        .as_ref()
        .map(|r| r.jobs)
        .or(tcs_idle.as_ref().map(|r| r.jobs))
        .unwrap_or(0);
    rows.push(Row {
        what: format!(
            "idle CPU, {} jobs (user+sys over {} s, per minute)",
            thousands(idle_jobs),
            results.idle_secs
        ),
        ours: ours_idle.clone().map(|r| r.cpu_ms_per_min),
        tcs: tcs_idle.as_ref().ok().map(|r| r.cpu_ms_per_min),
        unit: Unit::MsPerMin,
        target: Some(10.0),
        tie_is_ahead: false,
    });
    let overhead = overhead_of(&results.overhead);
    rows.push(Row {
        what: format!(
            "per-run overhead of sentry-schedule (monitored job{})",
            METRICS
        ),
        ours: overhead.clone().map(|r| r.overhead_us()),
        tcs: None,
        unit: Unit::Us,
        target: Some(20.0),
        tie_is_ahead: false,
    });
    rows.push(Row {
        what: format!(
            "memory per registered job ({} jobs, RSS delta)",
            thousands(idle_jobs)
        ),
        ours: ours_idle.clone().map(|r| r.kib_per_job()),
        tcs: tcs_idle.as_ref().ok().map(|r| r.kib_per_job()),
        unit: Unit::KiB,
        target: Some(2.0),
        tie_is_ahead: false,
    });
    for (name, idle) in [
        ("sentry-schedule", &ours_idle),
        ("tokio-cron-scheduler", &tcs_idle),
    ] {
        if let Ok(r) = idle {
            notes.push(format!(
                "memory, {name}: {} KiB for {} jobs, of which {} KiB before the scheduler started (jobs built and registered)",
                sig(r.rss_delta_bytes as f64 / 1024.0),
                thousands(r.jobs),
                sig(r.rss_prepared_bytes as f64 / 1024.0)
            ));
        }
    }
    notes.push(format!(
        "inline sizes: sentry_schedule::Job {} B, Schedule {} B (heap parts not included)",
        std::mem::size_of::<sentry_schedule::Job>(),
        std::mem::size_of::<sentry_schedule::Schedule>()
    ));
    if let Ok(r) = &overhead {
        notes.push(format!(
            "per-run overhead: {} runs of 1,000 jobs on `* * * * *` under tokio's paused clock on one thread, whole scheduler path (timer, tick, spawn, hub, trace, span, check-ins) minus the bare fn ({} ns); monitored {} µs/run ({} envelopes discarded), unmonitored {} µs/run; tokio-cron-scheduler has no Sentry wrapper to compare",
            r.runs,
            sig(r.bare_ns),
            sig(r.wrapped_ns / 1_000.0),
            r.envelopes,
            sig(r.unmonitored_ns / 1_000.0)
        ));
    }

    let mut out = String::new();
    out.push_str("| measurement | sentry-schedule | tokio-cron-scheduler | ratio (tcs ÷ ours) | our target | met? |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    let mut missed = 0;
    let mut unmeasured: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.ours.as_ref().err().map(String::as_str))
        .collect();
    unmeasured.dedup();
    for why in unmeasured {
        notes.push(format!("not measured: {why}"));
    }
    for row in &rows {
        let ours = match &row.ours {
            Ok(v) => row.unit.show(*v),
            Err(_) => "n/a".to_owned(),
        };
        let tcs = row.tcs.map_or_else(|| "—".to_owned(), |v| row.unit.show(v));
        let mut target = match (row.target, row.unit) {
            (Some(_), Unit::Runs(_)) => "none lost".to_owned(),
            (Some(t), unit) => format!("≤ {}", unit.show(t)),
            (None, _) => String::new(),
        };
        if row.tcs.is_some() {
            let ahead = if row.tie_is_ahead {
                "not behind tcs"
            } else {
                "ahead of tcs"
            };
            target = if target.is_empty() {
                ahead.to_owned()
            } else {
                format!("{target}, {ahead}")
            };
        }
        let met = match row.verdict() {
            Ok(()) => "yes".to_owned(),
            Err(why) => {
                missed += 1;
                format!("MISSED ({why})")
            }
        };
        let _ = writeln!(
            out,
            "| {} | {ours} | {tcs} | {} | {target} | {met} |",
            row.what,
            row.ratio()
        );
    }
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    let _ = writeln!(
        out,
        "\n{} of {} targets met{}",
        rows.len() - missed,
        rows.len(),
        if missed > 0 {
            " — MISSED targets are listed above"
        } else {
            ""
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1), "1");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn verdicts() {
        let row = |ours: f64, tcs: Option<f64>, target: Option<f64>, tie| Row {
            what: String::new(),
            ours: Ok(ours),
            tcs,
            unit: Unit::Ms,
            target,
            tie_is_ahead: tie,
        };
        assert!(row(1.0, Some(2.0), Some(2.0), false).verdict().is_ok());
        assert!(row(3.0, Some(5.0), Some(2.0), false).verdict().is_err());
        assert!(row(1.0, Some(1.0), None, false).verdict().is_err());
        assert!(row(0.0, Some(0.0), Some(0.0), true).verdict().is_ok());
        assert_eq!(row(2.0, Some(500.0), None, false).ratio(), "250×");
        assert_eq!(row(0.0, Some(3.0), None, true).ratio(), "∞");
    }
}
