//! Per-run overhead of our wrapper (hub, trace id, check-in payloads, span) against
//! calling the bare async fn, with a real sentry client whose transport discards envelopes.
use crate::child::Outcome;
use anyhow::Context as _;
use sentry_schedule::{Job, JobContext, Scheduler, TestClock};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// What an overhead run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OverheadReport {
    /// Runs of each kind.
    pub runs: u32,
    /// ns per call of the bare async fn.
    pub bare_ns: f64,
    /// ns per run through our wrapper.
    pub wrapped_ns: f64,
    /// Envelopes the wrapped runs handed to the transport.
    pub envelopes: u64,
}

impl OverheadReport {
    /// What our wrapper adds to a run, in µs.
    pub fn overhead_us(&self) -> f64 {
        (self.wrapped_ns - self.bare_ns) / 1_000.0
    }
}

/// A transport that counts and drops every envelope.
#[derive(Debug, Default)]
pub struct Discard {
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
    pub fn envelopes(&self) -> u64 {
        self.envelopes.load(Ordering::Relaxed)
    }
}

/// A sentry client with a DSN (so it is enabled and builds envelopes) whose transport is `discard`.
pub fn client(discard: &Arc<Discard>) -> anyhow::Result<sentry::ClientInitGuard> {
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some("https://public@127.0.0.1:9/1".parse()?);
    options.transport = Some(Arc::new(discard.clone()));
    options.release = Some("bench@1".into());
    options.environment = Some("bench".into());
    Ok(sentry::init(options))
}

/// The job body both paths run: nothing, so only the path around it is measured.
pub async fn job() -> Result<(), std::convert::Infallible> {
    std::hint::black_box(());
    Ok(())
}

/// ns per call of the bare async fn over `runs` calls.
pub async fn bare(runs: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        let _ = std::hint::black_box(job()).await;
    }
    start.elapsed().as_nanos() as f64 / f64::from(runs.max(1))
}

/// Measures both paths. Until sentry-schedule has a public way to run one job once,
/// the wrapped path is the whole scheduler path: one monitored job on `* * * * *` under
/// tokio's paused clock and a [`TestClock`], so minutes pass instantly and every tick is a
/// full run (tick computation, timer, spawn, hub, trace id, both check-ins, span). The
/// figure is therefore an upper bound of the wrapper's own cost.
pub async fn measure(runs: u32) -> anyhow::Result<Outcome> {
    let discard = Arc::new(Discard::default());
    let _guard = client(&discard)?;
    // Warm both paths up before timing them.
    bare(runs / 10 + 1).await;
    through_scheduler(runs / 10 + 1).await?;
    let before = discard.envelopes();
    let wrapped_ns = through_scheduler(runs).await?;
    let envelopes = discard.envelopes() - before;
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
        envelopes,
    }))
}

/// ns per run of one monitored `* * * * *` job driven by the paused clock, over `runs` runs.
async fn through_scheduler(runs: u32) -> anyhow::Result<f64> {
    let start = "2030-01-01T00:00:30Z"
        .parse()
        .map_err(|e| anyhow::anyhow!("start instant: {e}"))?;
    let clock = TestClock::new(start);
    let done = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Arc::new(std::sync::Mutex::new(Some(stop)));
    let counter = Arc::clone(&done);
    let job = Job::builder("bench-overhead", "* * * * *")
        .run(move |_ctx: JobContext| {
            let (counter, stop) = (Arc::clone(&counter), Arc::clone(&stop));
            async move {
                let result = job().await;
                if counter.fetch_add(1, Ordering::Relaxed) + 1 == u64::from(runs) {
                    if let Some(stop) = stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
                        let _ = stop.send(());
                    }
                }
                result
            }
        })
        .build()
        .context("building the overhead job")?;
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .clock(clock)
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .job(job)
        .build()
        .context("Scheduler::build")?;
    let started = Instant::now();
    scheduler.run().await.context("Scheduler::run")?;
    let elapsed = started.elapsed();
    let ran = done.load(Ordering::Relaxed);
    if ran != u64::from(runs) {
        anyhow::bail!("the overhead job ran {ran} times, expected {runs}");
    }
    Ok(elapsed.as_nanos() as f64 / f64::from(runs.max(1)))
}
