//! Per-run overhead of our wrapper (hub, trace id, check-in payloads, span) against
//! calling the bare async fn, with a real sentry client whose transport discards envelopes.
use crate::child::Outcome;
use anyhow::Context as _;
use sentry_schedule::{CheckInSender, Job, JobContext, Scheduler, TestClock};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What an overhead run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OverheadReport {
    /// Runs of each kind.
    pub runs: u32,
    /// ns per call of the bare async fn.
    pub bare_ns: f64,
    /// ns per run through our wrapper.
    pub wrapped_ns: f64,
    /// ns per run of the same job with monitoring off (no check-ins).
    pub unmonitored_ns: f64,
    /// Envelopes the wrapped runs handed to the transport.
    pub envelopes: u64,
}

impl OverheadReport {
    /// What sentry-schedule adds to a run over calling the bare fn, in µs.
    pub(crate) fn overhead_us(&self) -> f64 {
        (self.wrapped_ns - self.bare_ns) / 1_000.0
    }
}

/// A transport that counts and drops every envelope.
#[derive(Debug, Default)]
pub(crate) struct Discard {
    envelopes: AtomicU64,
}

impl sentry::Transport for Discard {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        drop(envelope);
        self.envelopes.fetch_add(1, Ordering::Relaxed);
    }
}

impl Discard {
    /// Envelopes received so far.
    pub(crate) fn envelopes(&self) -> u64 {
        self.envelopes.load(Ordering::Relaxed)
    }
}

/// A sentry client with a DSN (so it is enabled and builds envelopes) whose transport is `discard`.
pub(crate) fn client(discard: &Arc<Discard>) -> anyhow::Result<sentry::ClientInitGuard> {
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some("https://public@127.0.0.1:9/1".parse()?);
    options.transport = Some(Arc::new(discard.clone()));
    options.release = Some("bench@1".into());
    options.environment = Some("bench".into());
    Ok(sentry::init(options))
}

/// The job body both paths run: nothing, so only the path around it is measured.
pub(crate) async fn job() -> Result<(), std::convert::Infallible> {
    std::hint::black_box(());
    Ok(())
}

/// ns per call of the bare async fn over `runs` calls.
pub(crate) async fn bare(runs: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        let _ = std::hint::black_box(job()).await;
    }
    start.elapsed().as_nanos() as f64 / f64::from(runs.max(1))
}

/// Measures both paths. Until sentry-schedule has a public way to run one job once,
/// the wrapped path is the whole scheduler path: [`JOBS`] monitored jobs on `* * * * *`
/// under tokio's paused clock and a [`TestClock`], so minutes pass instantly and every
/// tick is a full run (timer, tick computation, spawn, hub, trace id, both check-ins,
/// span). The figure is therefore an upper bound of the wrapper's own cost.
pub(crate) async fn measure(runs: u32) -> anyhow::Result<Outcome> {
    let discard = Arc::new(Discard::default());
    let _guard = client(&discard)?;
    // Warm both paths up before timing them.
    bare(runs / 10 + 1).await;
    through_scheduler(runs / 10 + 1, true).await?;
    let before = discard.envelopes();
    let wrapped_ns = through_scheduler(runs, true).await?;
    let envelopes = discard.envelopes() - before;
    let unmonitored_ns = through_scheduler(runs, false).await?;
    let bare_ns = bare(runs).await;
    let expected = 2 * u64::from(runs);
    if envelopes < expected {
        anyhow::bail!(
            "{runs} monitored runs handed {envelopes} envelopes to the transport, expected at least {expected} (in_progress + final check-in)"
        );
    }
    Ok(Outcome::Overhead(OverheadReport {
        runs,
        bare_ns,
        wrapped_ns,
        unmonitored_ns,
        envelopes,
    }))
}

/// Jobs sharing each minute in the overhead run, so the scheduler's per-minute costs that
/// are not per run (its clock watch wakes every few seconds) are spread thin.
const JOBS: u32 = 1_000;

/// ns per run of [`JOBS`] jobs on `* * * * *` driven by the paused clock, over at least
/// `runs` runs (whole minutes).
async fn through_scheduler(runs: u32, monitored: bool) -> anyhow::Result<f64> {
    let jobs = JOBS.min(runs.max(1));
    let total = u64::from(runs.div_ceil(jobs) * jobs);
    let start = "2030-01-01T00:00:30Z"
        .parse()
        .map_err(|e| anyhow::anyhow!("start instant: {e}"))?;
    let done = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Arc::new(std::sync::Mutex::new(Some(stop)));
    let counter = Arc::clone(&done);
    let body = move |_ctx: JobContext| {
        let (counter, stop) = (Arc::clone(&counter), Arc::clone(&stop));
        async move {
            let result = job().await;
            if counter.fetch_add(1, Ordering::Relaxed) + 1 == total {
                if let Some(stop) = stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    let _ = stop.send(());
                }
            }
            result
        }
    };
    let jobs = (0..jobs)
        .map(|i| {
            Job::builder(format!("bench-overhead-{i}"), "* * * * *")
                .monitor(monitored)
                .run(body.clone())
                .build()
                .context("building the overhead job")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        // The client's discarding transport takes the check-ins (no network in the figure).
        .check_in_sender(CheckInSender::ClientTransport)
        .clock(TestClock::new(start))
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .jobs(jobs)
        .build()
        .context("Scheduler::build")?;
    let started = Instant::now();
    scheduler.run().await.context("Scheduler::run")?;
    let elapsed = started.elapsed();
    let ran = done.load(Ordering::Relaxed);
    if ran < total {
        anyhow::bail!("the overhead jobs ran {ran} times, expected {total}");
    }
    Ok(elapsed.as_nanos() as f64 / ran as f64)
}
