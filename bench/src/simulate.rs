//! `bench simulate`: how fast the test kit simulates time. Ten `*/5 * * * *` jobs over one
//! year (105,120 ticks each, 1,051,200 runs, each with both check-ins through the kit's
//! in-memory Sentry) on tokio's paused clock, through the real dispatcher, once with the full
//! report (every check-in kept) and once with the light one (`keep_check_ins(false)`); the
//! target is under 2 s of wall time.
use sentry_schedule::testing::TestKit;
use sentry_schedule::Job;
use std::time::{Duration, Instant};

/// The wall time the simulated year must stay under.
const TARGET: Duration = Duration::from_secs(2);

/// Runs the simulation of `days` days (365 unless `--days N`) and prints its row.
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let days: i64 = match args {
        [] => 365,
        [flag, n] if flag == "--days" => n.parse()?,
        _ => anyhow::bail!("usage: bench simulate [--days N]"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
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
        "| simulated | report | runs | check-ins | wall time | CPU time | runs per second (wall) | target |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for (report, kit) in [
        ("full", TestKit::new()),
        ("light", TestKit::new().keep_check_ins(false)),
    ] {
        eprintln!("bench: simulating 10 jobs `*/5 * * * *` over {days} days, {report} report");
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
            "| {days} days, 10 jobs `*/5 * * * *` | {report} | {} | {} | {:.2} s | {:.2} s | {} | {} |",
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
