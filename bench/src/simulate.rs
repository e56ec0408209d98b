//! `bench simulate`: how fast the test kit simulates time. Ten `*/5 * * * *` jobs over one
//! year (105,120 ticks each, 1,051,200 runs, each with both check-ins through the kit's
//! in-memory Sentry) on tokio's paused clock, through the real dispatcher, with the full
//! report (every check-in kept) and the light one (`keep_check_ins(false)`), each on one
//! thread and split across two (`threads(2)`); the target is under 2 s of wall time on 2
//! cores.
use sentry_schedule::testing::TestKit;
use sentry_schedule::Job;
use std::time::{Duration, Instant};

/// The wall time the simulated year must stay under.
const TARGET: Duration = Duration::from_secs(2);

/// Runs the simulation of `days` days (365 unless `--days N`) and prints its row.
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let mut days: i64 = 365;
    let (mut only_report, mut only_threads) = (None, None);
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().map(String::as_str);
        match (flag.as_str(), value) {
            ("--days", Some(n)) => days = n.parse()?,
            ("--report", Some(report @ ("full" | "light"))) => {
                only_report = Some(report.to_owned())
            }
            ("--threads", Some(n)) => only_threads = Some(n.parse::<usize>()?),
            _ => anyhow::bail!(
                "usage: bench simulate [--days N] [--report full|light] [--threads N]"
            ),
        }
    }
    // As `#[tokio::test(start_paused = true)]` builds it: the I/O driver too, which the
    // paused clock polls each time it moves.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let jobs = || -> Result<Vec<Job>, sentry_schedule::Error> {
        (0..10)
            .map(|i| Job::cron(format!("job-{i}"), "*/5 * * * *", |_| async {}))
            .collect()
    };
    let from = "2027-01-01T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>()?;
    let to = from + chrono::TimeDelta::days(days);
    println!(
        "| simulated | report | threads | runs | check-ins | wall time | CPU time | runs per second (wall) | target |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    let kits = [
        ("full", 1, TestKit::new()),
        ("light", 1, TestKit::new().keep_check_ins(false)),
        ("full", 2, TestKit::new().threads(2)),
        ("light", 2, TestKit::new().keep_check_ins(false).threads(2)),
    ];
    let chosen = kits.into_iter().filter(|(report, threads, _)| {
        only_report.as_deref().is_none_or(|only| only == *report)
            && only_threads.is_none_or(|only| only == *threads)
    });
    for (report, threads, kit) in chosen {
        eprintln!(
            "bench: simulating 10 jobs `*/5 * * * *` over {days} days, {report} report, {threads} thread(s)"
        );
        let (started, cpu_before) = (Instant::now(), crate::measure::cpu_time()?);
        let simulation = runtime.block_on(kit.simulate(jobs()?, from, to))?;
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
            if days < 365 {
                "(a year: < 2 s)".to_owned()
            } else if elapsed < TARGET {
                "met (< 2 s)".to_owned()
            } else {
                "MISSED (< 2 s)".to_owned()
            }
        );
    }
    Ok(())
}
