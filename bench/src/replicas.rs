//! `bench replicas`: several replicas of one service against one database.
//!
//! A throwaway PostgreSQL cluster and Redis server ([`crate::servers`]) are started; for each
//! size, three replica processes (this binary, as `bench replica-child '<spec>'`) run the
//! same unmonitored jobs every second, coordinated through the server, for a fixed window;
//! one process without a coordinator runs them too, for comparison. Each process records
//! when each run's body started; the parent merges the runs of all replicas and counts, per
//! job and tick of the window, the runs that never started (ticks lost) and those that
//! started more than once (runs duplicated), with the start lag of the others. While the
//! window runs, the server's statements (PostgreSQL's `pg_stat_statements`) or commands
//! (Redis's `INFO commandstats`) and the CPU time of its processes (from `/proc`) are
//! measured. Every process logs at INFO to a file, as a service would; the warnings in
//! those logs are counted.
use crate::lag::{analyze, LagReport, Recorder, Start, Window};
use crate::measure::{wall_nanos, NANOS_PER_SEC};
use crate::ours::Prepared;
use crate::report::thousands;
use crate::servers;
use anyhow::{bail, Context as _};
use sentry_schedule::coordinator::sqlx::{self, postgres::PgPool};
use sentry_schedule::coordinator::{Postgres, PostgresOptions, Redis, RedisOptions};
use sentry_schedule::Scheduler;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

const USAGE: &str = "\
usage: bench replicas [--full] [--secs N] [--jobs N,N,..] [--setups postgres,redis,alone]
                      [--keep-logs]
  three replicas against a throwaway PostgreSQL and Redis, beside one process without a
  coordinator; 100 and 1,000 jobs every second (and 10,000 with --full), N s each (default 30);
  --keep-logs keeps the replicas' logs and prints where";

/// Replica processes per coordinated setup.
const REPLICAS: usize = 3;
/// Time from spawning the processes to the first measured tick (start-up, table creation).
const WARMUP: Duration = Duration::from_secs(5);
/// How late a run may start and still count: the processes run this long after the last
/// measured tick. A run that has not started by then counts as lost.
const LATE_LIMIT: Duration = Duration::from_secs(10);
/// The lease the replicas use. A replica that loses a tick checks it again once the
/// winner's lease has run out; with a lease shorter than [`WARMUP`] those checks are part of
/// the measured window from its first tick, as they are in a service that has run for a
/// lease or longer (whatever the lease).
const LEASE: Duration = Duration::from_secs(3);

/// What a replica process runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChildSpec {
    /// `postgres://…` or `redis://…`; `None`: no coordinator.
    url: Option<String>,
    /// The PostgreSQL schema or Redis key prefix of this measurement.
    namespace: String,
    /// The replica's name (claim owner).
    replica: String,
    /// Jobs, every second.
    jobs: u32,
    /// The measured ticks; the process stops [`LATE_LIMIT`] after the last.
    window: Window,
    /// The file it logs to, at INFO, as a service would.
    log: PathBuf,
}

/// What a replica process ran: `(job, start, scheduled)` per run, wall-clock ns.
#[derive(Debug, Serialize, Deserialize)]
struct ChildReport {
    starts: Vec<(u32, i64, Option<i64>)>,
    overflow: u64,
}

/// The coordination a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Postgres,
    Redis,
    Alone,
}

impl Setup {
    fn label(self) -> String {
        match self {
            Setup::Postgres => format!("{REPLICAS} replicas + PostgreSQL"),
            Setup::Redis => format!("{REPLICAS} replicas + Redis"),
            Setup::Alone => "1 process, no coordinator".to_owned(),
        }
    }
}

/// One measured row.
struct Row {
    jobs: u32,
    setup: Setup,
    lag: LagReport,
    /// Statements (PostgreSQL) or client commands (Redis) per tick, and by kind.
    per_instant: Option<(f64, String)>,
    /// Server CPU as a fraction of one core.
    cpu: Option<f64>,
    /// Lines at WARN or above the processes logged, and how many of them were sqlx's slow
    /// acquire warnings.
    warnings: (u64, u64),
    load: String,
}

/// Entry point of `bench replicas`.
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let mut sizes = vec![100, 1_000];
    let mut secs = 30u32;
    let mut setups = vec![Setup::Postgres, Setup::Redis, Setup::Alone];
    let mut keep_logs = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--full" => sizes.push(10_000),
            "--secs" => {
                secs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .context(USAGE)?;
            }
            "--jobs" => {
                sizes = args
                    .next()
                    .map(|list| list.split(',').map(str::parse).collect::<Result<_, _>>())
                    .transpose()?
                    .context(USAGE)?;
            }
            "--setups" => {
                setups = args
                    .next()
                    .context(USAGE)?
                    .split(',')
                    .map(|name| match name {
                        "postgres" => Ok(Setup::Postgres),
                        "redis" => Ok(Setup::Redis),
                        "alone" => Ok(Setup::Alone),
                        _ => bail!("unknown setup `{name}`\n{USAGE}"),
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--keep-logs" => keep_logs = true,
            _ => bail!("unexpected argument `{arg}`\n{USAGE}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    eprintln!("bench: starting a throwaway PostgreSQL and Redis");
    let postgres = servers::Postgres::start()?;
    let redis = servers::Redis::start()?;
    eprintln!("bench: PostgreSQL in {}", postgres.path().display());
    let admin = runtime.block_on(async {
        let admin = PgPool::connect(&postgres.url).await?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&admin)
            .await?;
        anyhow::Ok(admin)
    })?;
    let logs = tempfile::tempdir().context("creating a directory for the replicas' logs")?;
    let logs = if keep_logs {
        let kept = logs.keep();
        eprintln!("bench: the replicas' logs are kept in {}", kept.display());
        Logs::Kept(kept)
    } else {
        Logs::Temporary(logs)
    };
    let load_at_start = load_average();
    let mut rows = Vec::new();
    for &jobs in &sizes {
        for &setup in &setups {
            eprintln!(
                "bench: {} jobs every second, {}, {secs} s (load average {})",
                thousands(jobs),
                setup.label(),
                load_average()
            );
            let namespace = format!("bench_{}_{jobs}", format!("{setup:?}").to_lowercase());
            let (url, server) = match setup {
                Setup::Postgres => {
                    runtime.block_on(
                        sqlx::query(&format!("CREATE SCHEMA {namespace}")).execute(&admin),
                    )?;
                    (
                        Some(postgres.url.clone()),
                        Server::Postgres(&postgres, &admin),
                    )
                }
                Setup::Redis => (Some(redis.url.clone()), Server::Redis(&redis)),
                Setup::Alone => (None, Server::None),
            };
            let processes = if setup == Setup::Alone { 1 } else { REPLICAS };
            rows.push(measure(
                &runtime,
                setup,
                jobs,
                secs,
                url,
                namespace,
                processes,
                server,
                logs.path(),
            )?);
        }
    }
    println!(
        "{REPLICAS} replicas of one service, unmonitored jobs every second, {secs} s per row, \
         lease {} s; {} cores, load average {load_at_start} at start\n",
        LEASE.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{}", render(&rows, secs));
    Ok(())
}

/// Where the replicas log: a temporary directory, or one kept for reading afterwards.
enum Logs {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

impl Logs {
    fn path(&self) -> &Path {
        match self {
            Logs::Temporary(dir) => dir.path(),
            Logs::Kept(dir) => dir,
        }
    }
}

/// The server a row measures, if any.
enum Server<'a> {
    Postgres(&'a servers::Postgres, &'a PgPool),
    Redis(&'a servers::Redis),
    None,
}

/// What a server did so far: statements or client commands, in all and by kind, and CPU time.
struct Usage {
    total: u64,
    /// Per kind: calls, and the server's execution time in ms (PostgreSQL only; 0 for Redis).
    by_kind: Vec<(String, u64, f64)>,
    cpu: Duration,
}

impl Server<'_> {
    fn usage(&self, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Option<Usage>> {
        Ok(match self {
            Server::Postgres(server, admin) => {
                // Named by what the coordinator's statements do, the others by their verb.
                let by_kind: Vec<(String, i64, f64)> = runtime.block_on(
                    sqlx::query_as(
                        "SELECT CASE \
                           WHEN query LIKE 'WITH input AS%INSERT%' THEN 'claim' \
                           WHEN query LIKE 'INSERT%' THEN 'claim one' \
                           WHEN query LIKE 'WITH t AS%SET lease_until = now() +%' \
                             THEN 'renew' \
                           WHEN query LIKE 'WITH t AS%SET finished_at%' THEN 'finish' \
                           WHEN query LIKE 'UPDATE%takeovers = takeovers + 1%' THEN 'take over' \
                           WHEN query LIKE 'SELECT slug, tick FROM%' THEN 'sweep' \
                           WHEN query LIKE 'SELECT held.owner%' OR query LIKE 'SELECT owner%' \
                             THEN 'holders' \
                           ELSE upper(split_part(ltrim(query), ' ', 1)) END, \
                         sum(calls)::int8, sum(total_exec_time)::float8 \
                         FROM pg_stat_statements \
                         WHERE query NOT LIKE '%pg_stat_statements%' GROUP BY 1 ORDER BY 1",
                    )
                    .fetch_all(*admin),
                )?;
                let by_kind: Vec<(String, u64, f64)> = by_kind
                    .into_iter()
                    .map(|(kind, n, ms)| (kind, u64::try_from(n).unwrap_or(0), ms))
                    .collect();
                Some(Usage {
                    total: by_kind.iter().map(|(_, n, _)| n).sum(),
                    by_kind,
                    cpu: server.cpu()?,
                })
            }
            Server::Redis(server) => {
                // What the clients sent: the scripts and the plain commands, not what the
                // scripts ran inside the server; nor this benchmark's own `INFO`.
                let by_kind: Vec<(String, u64, f64)> = server
                    .commands()?
                    .into_iter()
                    .filter(|(name, _)| {
                        matches!(name.as_str(), "EVALSHA" | "EVAL" | "SCRIPT|LOAD" | "PING")
                    })
                    .map(|(name, n)| (name, n, 0.0))
                    .collect();
                Some(Usage {
                    total: by_kind.iter().map(|(_, n, _)| n).sum(),
                    by_kind,
                    cpu: server.cpu(),
                })
            }
            Server::None => None,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn measure(
    runtime: &tokio::runtime::Runtime,
    setup: Setup,
    jobs: u32,
    secs: u32,
    url: Option<String>,
    namespace: String,
    processes: usize,
    server: Server<'_>,
    logs: &Path,
) -> anyhow::Result<Row> {
    let window = Window::starting_at_or_after(wall_nanos() + WARMUP.as_nanos() as i64, 1, secs);
    let logs: Vec<PathBuf> = (0..processes)
        .map(|i| logs.join(format!("{namespace}-{i}.log")))
        .collect();
    let children = logs
        .iter()
        .enumerate()
        .map(|(i, log)| {
            spawn_child(&ChildSpec {
                url: url.clone(),
                namespace: namespace.clone(),
                replica: format!("replica-{i}"),
                jobs,
                window,
                log: log.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The window's `secs` ticks are the instants from half a second before the first to
    // half a second after the last.
    sleep_until_wall(window.first - NANOS_PER_SEC / 2);
    let before = server.usage(runtime)?;
    sleep_until_wall(window.last() + NANOS_PER_SEC / 2);
    let after = server.usage(runtime)?;
    let measured = f64::from(secs);
    let mut starts = Vec::new();
    let mut overflow = 0;
    for child in children {
        let report = child.finish()?;
        overflow += report.overflow;
        starts.extend(report.starts.into_iter().map(|(job, at, scheduled)| Start {
            job,
            at,
            scheduled,
        }));
    }
    let lag = analyze(&starts, overflow, jobs, window);
    let mut warnings = (0, 0);
    for log in &logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        for line in text.lines() {
            if line.contains(" WARN ") || line.contains(" ERROR ") {
                warnings.0 += 1;
                if line.contains("exceeded slow threshold") {
                    warnings.1 += 1;
                }
            }
        }
    }
    let (per_instant, cpu) = match (before, after) {
        (Some(before), Some(after)) => {
            let kinds = after
                .by_kind
                .iter()
                .filter_map(|(kind, n, ms)| {
                    let (was, was_ms) = before
                        .by_kind
                        .iter()
                        .find(|(k, _, _)| k == kind)
                        .map_or((0, 0.0), |(_, n, ms)| (*n, *ms));
                    let delta = n.saturating_sub(was);
                    let per_instant = delta as f64 / measured;
                    let ms = (ms - was_ms) / measured;
                    (delta > 0).then(|| {
                        if ms > 0.0 {
                            format!("{kind} {per_instant:.1} in {ms:.1} ms")
                        } else {
                            format!("{kind} {per_instant:.1}")
                        }
                    })
                })
                .collect::<Vec<_>>()
                .join(", ");
            let total = after.total.saturating_sub(before.total) as f64 / measured;
            let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64() / measured;
            (Some((total, kinds)), Some(cpu))
        }
        _ => (None, None),
    };
    Ok(Row {
        jobs,
        setup,
        lag,
        per_instant,
        cpu,
        warnings,
        load: load_average(),
    })
}

/// A running replica process.
struct Child {
    child: std::process::Child,
    output: std::thread::JoinHandle<std::io::Result<String>>,
    spec: String,
}

fn spawn_child(spec: &ChildSpec) -> anyhow::Result<Child> {
    let spec = serde_json::to_string(spec)?;
    let (child, output) = crate::child::start("replica-child", &spec)?;
    Ok(Child {
        child,
        output,
        spec,
    })
}

impl Child {
    /// Waits for the process (it stops by itself after the window) and reads its report.
    fn finish(mut self) -> anyhow::Result<ChildReport> {
        let status = self.child.wait().context("waiting for a replica")?;
        let out = self
            .output
            .join()
            .map_err(|_| anyhow::anyhow!("the thread reading a replica's output panicked"))?
            .context("reading a replica's output")?;
        if !status.success() {
            bail!("replica `{}` failed with {status}", self.spec);
        }
        let line = out.lines().last().context("a replica printed nothing")?;
        serde_json::from_str(line).context("parsing a replica's report")
    }
}

/// Entry point of `bench replica-child '<spec>'`: one replica, until after the window.
pub(crate) fn child_main(args: &[String]) -> anyhow::Result<()> {
    let [json] = args else {
        bail!("usage: bench replica-child '<spec as JSON>'");
    };
    let spec: ChildSpec = serde_json::from_str(json).context("parsing the replica spec")?;
    let log = std::fs::File::create(&spec.log)
        .with_context(|| format!("creating {}", spec.log.display()))?;
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_writer(std::sync::Mutex::new(log))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(replica(spec))?;
    println!("{}", serde_json::to_string(&report)?);
    runtime.shutdown_background();
    Ok(())
}

async fn replica(spec: ChildSpec) -> anyhow::Result<ChildReport> {
    let ticks_before = WARMUP.as_secs() as usize + 2;
    let recorder = Recorder::new(spec.jobs, spec.window.ticks as usize + ticks_before + 4);
    let mut builder = Scheduler::builder();
    match &spec.url {
        Some(url) if url.starts_with("redis://") => {
            builder = builder.coordinator(Redis::open(
                url,
                RedisOptions {
                    prefix: spec.namespace.clone(),
                    replica_id: Some(spec.replica.clone()),
                    ..Default::default()
                },
            )?);
        }
        Some(url) => {
            builder = builder.coordinator(Postgres::connect_lazy(
                url,
                PostgresOptions {
                    schema: Some(spec.namespace.clone()),
                    replica_id: Some(spec.replica.clone()),
                    ..Default::default()
                },
            )?);
        }
        None => {}
    }
    let prepared = Prepared::on(
        builder.lease(LEASE),
        spec.jobs,
        "1s",
        move |index, ctx| async move { recorder.record(index, ctx.scheduled().timestamp_nanos_opt()) },
    )?;
    let running = prepared.launch();
    let end = spec.window.last() + LATE_LIMIT.as_nanos() as i64;
    if let Ok(left) = u64::try_from(end - wall_nanos()) {
        tokio::time::sleep(Duration::from_nanos(left)).await;
    }
    running.stop().await?;
    let (starts, overflow) = recorder.take();
    Ok(ChildReport {
        starts: starts
            .into_iter()
            .map(|s| (s.job, s.at, s.scheduled))
            .collect(),
        overflow,
    })
}

fn sleep_until_wall(target: i64) {
    if let Ok(left) = u64::try_from(target - wall_nanos()) {
        std::thread::sleep(Duration::from_nanos(left));
    }
}

/// The 1-minute load average.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().next().unwrap_or("?").to_owned()
}

fn ms(us: f64) -> String {
    if us < 10_000.0 {
        format!("{:.1}", us / 1_000.0)
    } else {
        format!("{:.0}", us / 1_000.0)
    }
}

/// The Markdown table of `rows`.
fn render(rows: &[Row], secs: u32) -> String {
    let mut out = String::from(
        "| jobs | setup | start lag p50 / p99 / max | ticks lost | runs duplicated | \
         statements per instant | database CPU | warnings logged | load after |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let lag = row.lag.lag.map_or("–".to_owned(), |p| {
            format!("{} / {} / {} ms", ms(p.p50_us), ms(p.p99_us), ms(p.max_us))
        });
        let statements = row
            .per_instant
            .as_ref()
            .map_or("–".to_owned(), |(n, kinds)| format!("{n:.0} ({kinds})"));
        let cpu = row
            .cpu
            .map_or("–".to_owned(), |c| format!("{:.0}% of a core", c * 100.0));
        out.push_str(&format!(
            "| {} | {} | {lag} | {} of {} | {} | {statements} | {cpu} | {} ({} slow acquire) | {} |\n",
            thousands(row.jobs),
            row.setup.label(),
            thousands_u64(row.lag.lost),
            thousands_u64(row.lag.expected),
            thousands_u64(row.lag.duplicates),
            thousands_u64(row.warnings.0),
            thousands_u64(row.warnings.1),
            row.load,
        ));
    }
    out.push_str(&format!(
        "\nstart lag: a run's body start minus its tick, over the runs of all replicas; ticks \
         lost: (job, tick) pairs of the {secs} measured ticks that no replica started within \
         {} s; \
         statements per instant: PostgreSQL's pg_stat_statements calls or the commands Redis \
         received from clients (scripts count once), per tick, in all and by kind (for PostgreSQL with the execution time per tick); database \
         CPU: user + system time of the server's processes over the window; warnings logged: lines \
         at WARN or above in the replicas' logs (each logs at INFO to a file, as a service \
         would)\n",
        LATE_LIMIT.as_secs()
    ));
    out
}

fn thousands_u64(n: u64) -> String {
    u32::try_from(n).map_or_else(|_| n.to_string(), thousands)
}
