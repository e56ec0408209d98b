//! `bench simulate`: how fast the test kit simulates time. Ten `*/5 * * * *` jobs over one
//! year (105,120 ticks each, 1,051,200 runs, each with both check-ins through the kit's
//! in-memory Sentry) on tokio's paused clock, through the real dispatcher, with the full
//! report (every check-in kept) and the light one (`keep_check_ins(false)`), each on one
//! thread and split across two (`threads(2)`); the target is under 2 s of wall time on 2
//! cores. Each row runs in a process of its own, so none starts on the heap another left.
use sentry_schedule::testing::TestKit;
use sentry_schedule::Job;
use std::time::{Duration, Instant};

/// The wall time the simulated year must stay under.
const TARGET: Duration = Duration::from_secs(2);

const USAGE: &str = "usage: bench simulate [--days N] [--report full|light] [--threads 1|2]";

/// The rows: report and threads.
const ROWS: [(&str, usize); 4] = [("full", 1), ("light", 1), ("full", 2), ("light", 2)];

/// Prints the table of the rows chosen (all unless `--report` or `--threads`), each
/// measured in a child process (`bench simulate … --row`).
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let mut days: i64 = 365;
    let (mut only_report, mut only_threads, mut row) = (None, None, false);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag == "--row" {
            row = true;
            continue;
        }
        let value = args.next().map(String::as_str);
        match (flag.as_str(), value) {
            ("--days", Some(n)) => days = n.parse()?,
            ("--report", Some(report @ ("full" | "light"))) => only_report = Some(report),
            ("--threads", Some(n @ ("1" | "2"))) => only_threads = Some(n.parse::<usize>()?),
            _ => anyhow::bail!(USAGE),
        }
    }
    let chosen = ROWS.into_iter().filter(|(report, threads)| {
        only_report.is_none_or(|only| only == *report)
            && only_threads.is_none_or(|only| only == *threads)
    });
    if row {
        let (report, threads) = match chosen.collect::<Vec<_>>()[..] {
            [one] => one,
            _ => anyhow::bail!("--row needs one --report and one --threads"),
        };
        return measure(days, report, threads);
    }
    println!(
        "| simulated | report | threads | runs | check-ins | wall time | CPU time | runs per second (wall) | target |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for (report, threads) in chosen {
        eprintln!(
            "bench: simulating 10 jobs `*/5 * * * *` over {days} days, {report} report, {threads} thread(s)"
        );
        let output = std::process::Command::new(std::env::current_exe()?)
            .args(["simulate", "--days", &days.to_string(), "--report", report])
            .args(["--threads", &threads.to_string(), "--row"])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "the {report}/{threads} row failed: {}",
            output.status
        );
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
    Ok(())
}

/// Simulates `days` days with the `report` report on `threads` threads and prints the row.
fn measure(days: i64, report: &str, threads: usize) -> anyhow::Result<()> {
    // As `#[tokio::test(start_paused = true)]` builds it: the I/O driver too, which the
    // paused clock polls each time it moves.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let jobs = (0..10)
        .map(|i| Job::cron(format!("job-{i}"), "*/5 * * * *", |_| async {}))
        .collect::<Result<Vec<Job>, _>>()?;
    let from = "2027-01-01T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>()?;
    let to = from + chrono::TimeDelta::days(days);
    let kit = TestKit::new()
        .keep_check_ins(report == "full")
        .threads(threads);
    let (started, cpu_before) = (Instant::now(), crate::measure::cpu_time()?);
    let simulation = runtime.block_on(kit.simulate(jobs, from, to))?;
    let elapsed = started.elapsed();
    // CPU time too: on a shared machine the wall time includes waiting for a core.
    let cpu = crate::measure::cpu_time()?.saturating_sub(cpu_before);
    let runs = simulation.runs.len();
    // Counted from the statuses, which a light report keeps too.
    let check_ins: usize = simulation.runs.iter().map(|run| run.statuses().len()).sum();
    let expected = usize::try_from(days * 24 * 12 * 10)? - 10;
    anyhow::ensure!(
        runs == expected,
        "{runs} runs simulated, {expected} expected"
    );
    anyhow::ensure!(
        check_ins == 2 * runs,
        "{check_ins} check-ins for {runs} runs"
    );
    let per_second = runs as f64 / elapsed.as_secs_f64();
    println!(
        "| {days} days, 10 jobs `*/5 * * * *` | {report} | {threads} | {} | {} | {:.2} s | {:.2} s | {} | {} |",
        crate::report::thousands(u32::try_from(runs)?),
        crate::report::thousands(u32::try_from(check_ins)?),
        elapsed.as_secs_f64(),
        cpu.as_secs_f64(),
        crate::report::thousands(per_second as u32),
        if threads < 2 {
            // The target is for 2 cores; one thread shows what the split gains.
            "–".to_owned()
        } else if days < 365 {
            "(a year: < 2 s)".to_owned()
        } else if elapsed < TARGET {
            "met (< 2 s)".to_owned()
        } else {
            "MISSED (< 2 s)".to_owned()
        }
    );
    // The report's memory is given back to the system with the process, not timed here.
    std::process::exit(0)
}
