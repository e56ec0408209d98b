//! One measurement in its own process, so CPU and memory figures of the two schedulers
//! never mix: the parent re-executes this binary as `bench child '<spec as JSON>'`, the
//! child prints its outcome as one JSON line on stdout.
use crate::idle::IdleReport;
use crate::lag::{analyze, LagReport, Recorder, Window};
use crate::measure::{cpu_time, wall_nanos, NANOS_PER_SEC};
use crate::overhead::OverheadReport;
use crate::{delivery, idle, ours, overhead, tcs};
use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The scheduler being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Contender {
    /// sentry-schedule.
    Ours,
    /// tokio-cron-scheduler.
    Tcs,
}

/// What a child measures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Spec {
    /// `jobs` jobs due together every `period_secs`; `ticks` ticks are measured.
    Lag {
        /// Scheduler.
        contender: Contender,
        /// Jobs due on each tick.
        jobs: u32,
        /// Seconds between ticks.
        period_secs: u32,
        /// Measured ticks.
        ticks: u32,
    },
    /// `jobs` jobs whose next tick is hours away, watched for `secs`.
    Idle {
        /// Scheduler.
        contender: Contender,
        /// Registered jobs.
        jobs: u32,
        /// Seconds of idle CPU measured.
        secs: u32,
    },
    /// `runs` runs through our wrapper against `runs` calls of the bare fn.
    Overhead {
        /// Runs of each.
        runs: u32,
    },
    /// `jobs` monitored jobs due at one instant; their check-ins taken by `path`.
    Delivery {
        /// Our sender or sentry's transport.
        path: delivery::Path,
        /// Jobs due together.
        jobs: u32,
    },
}

/// What a child found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Outcome {
    /// Fire lag and lost runs.
    Lag(LagReport),
    /// Idle CPU and memory.
    Idle(IdleReport),
    /// Per-run overhead.
    Overhead(OverheadReport),
    /// Check-in delivery of a burst.
    Delivery(delivery::DeliveryReport),
    /// The scheduler cannot run this workload (the reason says why).
    Unavailable(String),
}

/// Time both schedulers get after start-up before the first measured tick.
const WARMUP: Duration = Duration::from_secs(1);

/// How long a child may take before it is killed and the benchmark fails: far more than
/// any measurement needs, so only a hung scheduler hits it.
const CHILD_DEADLINE: Duration = Duration::from_secs(300);

/// This binary started as `bench <subcommand> '<json>'`, and a thread reading all it
/// prints on stdout (its stderr is ours).
pub(crate) fn start(
    subcommand: &str,
    json: &str,
) -> anyhow::Result<(Child, JoinHandle<std::io::Result<String>>)> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let mut child = Command::new(exe)
        .arg(subcommand)
        .arg(json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a child process")?;
    let mut stdout = child.stdout.take().context("the child's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    Ok((child, reader))
}

/// Runs `spec` in a child process and returns its outcome.
pub(crate) fn spawn(spec: &Spec) -> anyhow::Result<Outcome> {
    let json = serde_json::to_string(spec)?;
    let (mut child, reader) = start("child", &json)?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for a child")? {
            break status;
        }
        if started.elapsed() > CHILD_DEADLINE {
            // Best effort: the error below is what matters.
            let _ = child.kill();
            let _ = child.wait();
            bail!("child `{json}` did not finish within {CHILD_DEADLINE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the thread reading a child's output panicked"))?
        .context("reading the child's output")?;
    if !status.success() {
        bail!("child `{json}` failed with {status}");
    }
    let line = stdout
        .lines()
        .last()
        .with_context(|| format!("child `{json}` printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("child `{json}` printed `{line}`"))
}

/// Entry point of `bench child '<spec>'`.
pub(crate) fn main(args: &[String]) -> anyhow::Result<()> {
    let [json] = args else {
        bail!("usage: bench child '<spec as JSON>'");
    };
    let spec: Spec = serde_json::from_str(json).context("parsing the child spec")?;
    // The overhead run is serial by nature and uses the paused clock; the others run on
    // the multi-threaded runtime a service would use.
    let runtime = match spec {
        Spec::Overhead { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .context("building the tokio runtime")?;
    let outcome = runtime.block_on(measure(spec))?;
    println!("{}", serde_json::to_string(&outcome)?);
    // Don't wait for the schedulers' background tasks.
    runtime.shutdown_background();
    Ok(())
}

async fn measure(spec: Spec) -> anyhow::Result<Outcome> {
    match spec {
        Spec::Lag {
            contender,
            jobs,
            period_secs,
            ticks,
        } => lag(contender, jobs, period_secs, ticks)
            .await
            .map(Outcome::Lag),
        Spec::Idle {
            contender,
            jobs,
            secs,
        } => idle::measure(contender, jobs, secs)
            .await
            .map(Outcome::Idle),
        Spec::Overhead { runs } => overhead::measure(runs).await,
        Spec::Delivery { path, jobs } => delivery::measure(path, jobs).await.map(Outcome::Delivery),
    }
}

async fn lag(
    contender: Contender,
    jobs: u32,
    period_secs: u32,
    ticks: u32,
) -> anyhow::Result<LagReport> {
    // Room for the runs before the window too (warm-up and alignment), and a few more.
    let before_window = (WARMUP.as_secs() / u64::from(period_secs.max(1))) as usize + 2;
    let recorder = Recorder::new(jobs, ticks as usize + before_window + 4);
    let running = Running::every(contender, jobs, period_secs, recorder).await?;
    let not_before = wall_nanos() + WARMUP.as_nanos() as i64;
    let window = Window::starting_at_or_after(not_before, period_secs, ticks);
    let period = i64::from(period_secs) * NANOS_PER_SEC;
    // CPU is measured from half a period before the first measured tick to the end.
    let cpu_from = window.first - period / 2;
    sleep_until_wall(cpu_from).await;
    let cpu_before = cpu_time()?;
    // A run more than a period late counts as lost.
    sleep_until_wall(window.last() + period).await;
    let cpu = cpu_time()?.saturating_sub(cpu_before);
    running.stop().await?;
    let (starts, overflow) = recorder.take();
    let mut report = analyze(&starts, overflow, jobs, window);
    let runs = starts.iter().filter(|s| s.at >= cpu_from).count().max(1);
    report.cpu_us_per_run = Some(cpu.as_secs_f64() * 1e6 / runs as f64);
    Ok(report)
}

async fn sleep_until_wall(target: i64) {
    let left = target - wall_nanos();
    if let Ok(left) = u64::try_from(left) {
        tokio::time::sleep(Duration::from_nanos(left)).await;
    }
}

/// Either scheduler, built with its jobs but not started.
pub(crate) enum Prepared {
    /// sentry-schedule.
    Ours(ours::Prepared),
    /// tokio-cron-scheduler.
    Tcs(tcs::Prepared),
}

impl Prepared {
    /// `jobs` jobs due daily at `hour`:00 UTC.
    pub(crate) async fn daily(contender: Contender, jobs: u32, hour: u32) -> anyhow::Result<Self> {
        Ok(match contender {
            Contender::Ours => Self::Ours(ours::prepare_daily(jobs, hour).await?),
            Contender::Tcs => Self::Tcs(tcs::prepare_daily(jobs, hour).await?),
        })
    }

    /// Starts it.
    pub(crate) async fn launch(self) -> anyhow::Result<Running> {
        Ok(match self {
            Self::Ours(prepared) => Running::Ours(prepared.launch()),
            Self::Tcs(prepared) => Running::Tcs(prepared.launch().await?),
        })
    }
}

/// Either scheduler, started.
pub(crate) enum Running {
    /// sentry-schedule.
    Ours(ours::Running),
    /// tokio-cron-scheduler.
    Tcs(tcs::Running),
}

impl Running {
    /// Starts `jobs` jobs due together every `period_secs` seconds.
    pub(crate) async fn every(
        contender: Contender,
        jobs: u32,
        period_secs: u32,
        recorder: &'static Recorder,
    ) -> anyhow::Result<Self> {
        Ok(match contender {
            Contender::Ours => Self::Ours(ours::start_every(jobs, period_secs, recorder).await?),
            Contender::Tcs => Self::Tcs(tcs::start_every(jobs, period_secs, recorder).await?),
        })
    }

    /// Stops it.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        match self {
            Self::Ours(running) => running.stop().await,
            Self::Tcs(running) => running.stop().await,
        }
    }
}
