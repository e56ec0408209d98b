//! Benchmarks sentry-schedule side by side with tokio-cron-scheduler.
//!
//! `cargo run --release -p bench` measures, for both schedulers on the same workloads,
//! each in its own child process: fire lag and lost runs with 1, 100, 1,000 and 10,000
//! jobs due in the same second; idle CPU and memory with 10,000 jobs whose next tick is
//! hours away; and the per-run overhead of our wrapper over the bare async fn. It prints
//! one Markdown table with both figures, their ratio, and whether each of our targets is
//! met. `--quick` is the reduced version CI runs. A missed target prints MISSED but
//! exits 0; only errors exit non-zero.
//!
//! It also measures check-in delivery: 10,000 monitored jobs due at one instant (1,000
//! with `--quick`) against a local ingest endpoint, through our sender and through
//! sentry's transport (`bench delivery [--quick]` runs only that).
//!
//! `cargo run --release -p bench -- compile-time` reports the build-time cost of the
//! `#[scheduled]` attribute on 500 fns.
//!
//! `cargo run --release -p bench -- replicas [--full]` measures three replicas against a
//! throwaway PostgreSQL and Redis beside one process without a coordinator (not part of
//! `--quick`).
//!
//! `cargo run --release -p bench -- simulate [--days N] [--report full|light] [--threads N]`
//! measures the test kit: ten `*/5 * * * *` jobs over a simulated year on tokio's paused
//! clock (the light-report rows are also part of the full and quick runs).
#![warn(missing_docs)]

mod child;
mod compile_time;
mod delivery;
mod idle;
mod lag;
mod measure;
mod ours;
mod overhead;
mod replicas;
mod report;
mod servers;
mod simulate;
mod tcs;

use child::{Contender, Spec};
use report::{thousands, Results};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "\
usage: bench [--quick]          fire lag, runs lost, idle CPU, per-run overhead, memory, check-in delivery, the test kit's year
       bench delivery [--quick]  check-in delivery only
       bench overhead [--quick]  per-run overhead only (build with `--features metrics` for the
                                 row with sentry-schedule's metrics compiled in, no recorder)
       bench compile-time [--fns N]   build time with and without #[scheduled] (default 500 fns)
       bench replicas [--full] [--secs N] [--jobs N,..]   3 replicas + PostgreSQL / Redis
       bench simulate [--days N] [--report full|light] [--threads 1|2]
                                      the test kit: 10 jobs `*/5 * * * *` over a simulated year (default 365 days)";

/// Sizes of one benchmark run.
#[derive(Debug, Clone)]
struct Plan {
    quick: bool,
    sizes: Vec<u32>,
    period_secs: u32,
    ticks: u32,
    idle_jobs: u32,
    idle_secs: u32,
    overhead_runs: u32,
    delivery_jobs: u32,
}

impl Plan {
    fn full() -> Self {
        Self {
            quick: false,
            sizes: vec![1, 100, 1_000, 10_000],
            period_secs: 1,
            ticks: 10,
            idle_jobs: 10_000,
            idle_secs: 60,
            overhead_runs: 200_000,
            delivery_jobs: 10_000,
        }
    }

    fn quick() -> Self {
        Self {
            quick: true,
            ticks: 2,
            idle_secs: 10,
            overhead_runs: 20_000,
            delivery_jobs: 1_000,
            ..Self::full()
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("child") => child::main(args.get(1..).unwrap_or_default()),
        Some("compile-time") => compile_time::main(args.get(1..).unwrap_or_default()),
        Some("replicas") => replicas::main(args.get(1..).unwrap_or_default()),
        Some("replica-child") => replicas::child_main(args.get(1..).unwrap_or_default()),
        Some("simulate") => simulate::main(args.get(1..).unwrap_or_default()),
        None => run(Plan::full()),
        Some("--quick") if args.len() == 1 => run(Plan::quick()),
        Some("delivery") if args.len() == 1 => run_delivery(&Plan::full()),
        Some("delivery") if args.len() == 2 && args[1] == "--quick" => run_delivery(&Plan::quick()),
        Some("overhead") if args.len() == 1 => run_overhead(&Plan::full()),
        Some("overhead") if args.len() == 2 && args[1] == "--quick" => run_overhead(&Plan::quick()),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(_) => Err(anyhow::anyhow!("unexpected arguments {args:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(plan: Plan) -> anyhow::Result<()> {
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = load_average();
    let mut lag = Vec::new();
    for &jobs in &plan.sizes {
        let measure = |contender| {
            eprintln!(
                "bench: fire lag, {contender:?}, {} jobs every {} s, {} ticks",
                thousands(jobs),
                plan.period_secs,
                plan.ticks
            );
            child::spawn(&Spec::Lag {
                contender,
                jobs,
                period_secs: plan.period_secs,
                ticks: plan.ticks,
            })
        };
        let ours = measure(Contender::Ours)?;
        let tcs = measure(Contender::Tcs)?;
        lag.push((jobs, ours, tcs));
    }
    eprintln!(
        "bench: idle CPU and memory, {} jobs, {} s, both schedulers at once (separate processes)",
        thousands(plan.idle_jobs),
        plan.idle_secs
    );
    let idle = std::thread::scope(|scope| {
        let spawn_idle = |contender| {
            let spec = Spec::Idle {
                contender,
                jobs: plan.idle_jobs,
                secs: plan.idle_secs,
            };
            scope.spawn(move || child::spawn(&spec))
        };
        let (ours, tcs) = (spawn_idle(Contender::Ours), spawn_idle(Contender::Tcs));
        let join = |h: std::thread::ScopedJoinHandle<'_, anyhow::Result<child::Outcome>>| {
            h.join()
                .map_err(|_| anyhow::anyhow!("idle measurement thread panicked"))?
        };
        anyhow::Ok((join(ours)?, join(tcs)?))
    })?;
    let overhead = measure_overhead(&plan)?;
    let results = Results {
        lag,
        idle,
        overhead,
        idle_secs: plan.idle_secs,
    };
    println!(
        "sentry-schedule vs tokio-cron-scheduler, {} run on {cores} cores (load average {load} at start); lag: jobs every {} s, {} ticks each; idle: {} s\n",
        if plan.quick { "--quick" } else { "full" },
        plan.period_secs,
        plan.ticks,
        plan.idle_secs
    );
    println!("{}", report::render(&results));
    run_delivery(&plan)?;
    // The test kit's year, light report, on one thread and split across two.
    println!();
    simulate::main(&["--report".to_owned(), "light".to_owned()])?;
    eprintln!("bench: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The per-run overhead alone, as the row of the full report, with whether sentry-schedule's
/// `metrics` feature is compiled into this build (no recorder is ever installed here).
fn run_overhead(plan: &Plan) -> anyhow::Result<()> {
    println!("{}", report::overhead_line(&measure_overhead(plan)?));
    Ok(())
}

/// The per-run overhead, measured in a child process.
fn measure_overhead(plan: &Plan) -> anyhow::Result<child::Outcome> {
    eprintln!(
        "bench: per-run overhead, {} runs",
        thousands(plan.overhead_runs)
    );
    child::spawn(&Spec::Overhead {
        runs: plan.overhead_runs,
    })
}

/// The check-in delivery table: one burst through our sender, one through sentry's transport.
fn run_delivery(plan: &Plan) -> anyhow::Result<()> {
    let load = load_average();
    let burst = |path| {
        eprintln!(
            "bench: check-in delivery, {path:?}, {} monitored jobs at one instant",
            thousands(plan.delivery_jobs)
        );
        match child::spawn(&Spec::Delivery {
            path,
            jobs: plan.delivery_jobs,
        })? {
            child::Outcome::Delivery(report) => Ok(report),
            other => Err(anyhow::anyhow!("unexpected outcome {other:?}")),
        }
    };
    let ours = burst(delivery::Path::Ours)?;
    let transport = burst(delivery::Path::Transport)?;
    println!("{}", delivery::render(&ours, &transport, &load));
    Ok(())
}

/// The 1-minute load average, as `/proc/loadavg` says.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_owned()
}
