//! Check-in delivery: `jobs` monitored jobs due at one instant (`run_at_startup`) against a
//! local ingest endpoint, with default `ClientOptions` and sentry's reqwest transport; the
//! check-ins sent by the scheduler's own sender, or (the path before it) handed to sentry's
//! transport. tokio-cron-scheduler has no check-ins, so the comparison is with that path.
use anyhow::Context as _;
use sentry_schedule::{CheckInSender, Job, JobContext, Scheduler};
use sentry_schedule_tests::{count, Ingest, Mode};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Which path the check-ins take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Path {
    /// The scheduler's own queue and HTTP sender (the default).
    Ours,
    /// Each check-in handed to sentry's HTTP transport (`CheckInSender::ClientTransport`).
    Transport,
}

/// What one burst found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeliveryReport {
    /// Monitored jobs due together.
    pub jobs: u32,
    /// Check-ins the runs produced (two per run).
    pub expected: u64,
    /// `check_in` items the endpoint stored.
    pub delivered: u64,
    /// Envelopes the endpoint stored.
    pub envelopes: u64,
    /// HTTP requests the endpoint received.
    pub requests: u64,
    /// From the scheduler's start to the last stored check-in, ms.
    pub last_ms: f64,
    /// From the first request to the last, ms.
    pub sending_ms: f64,
    /// Check-ins our sender counted as dropped (0 on the transport path, which cannot tell).
    pub dropped: u64,
}

impl DeliveryReport {
    /// Check-ins delivered per second of sending.
    pub(crate) fn per_second(&self) -> f64 {
        self.delivered as f64 / (self.sending_ms / 1_000.0).max(1e-3)
    }

    /// `n` per 1,000 delivered check-ins.
    fn per_thousand(&self, n: u64) -> f64 {
        n as f64 * 1_000.0 / self.delivered.max(1) as f64
    }
}

/// How long the endpoint may stay quiet before the burst counts as over.
const QUIET: Duration = Duration::from_secs(3);

/// Runs one burst (in a child process: `sentry::init` binds the process's main hub).
pub(crate) async fn measure(path: Path, jobs: u32) -> anyhow::Result<DeliveryReport> {
    let ingest = Ingest::start(Mode::Accept);
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(ingest.dsn().parse().context("the ingest DSN")?);
    let _sentry = sentry::init(options);
    let burst = (0..jobs)
        .map(|i| {
            Job::builder(format!("burst-{i}"), "0 0 1 1 *")
                .run_at_startup(true)
                .run(|_ctx: JobContext| async {})
                .build()
                .context("building a burst job")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .check_in_sender(match path {
            Path::Ours => CheckInSender::Http,
            Path::Transport => CheckInSender::ClientTransport,
        })
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .jobs(burst)
        .build()
        .context("Scheduler::build")?;
    let counters = scheduler.check_ins();
    let expected = 2 * u64::from(jobs);
    let started = Instant::now();
    let running = tokio::spawn(scheduler.run());
    let watching = ingest.clone();
    tokio::task::spawn_blocking(move || {
        // Until every check-in arrived, or nothing arrived for `QUIET`.
        let seen = std::cell::Cell::new(0);
        while watching.wait_until(QUIET, |e| {
            let n = count(e, "check_in");
            let grew = n > seen.get();
            seen.set(n);
            grew
        }) {
            if seen.get() as u64 >= expected {
                return;
            }
        }
    })
    .await
    .context("watching the endpoint")?;
    let _ = stop.send(());
    running
        .await
        .context("the scheduler task died")?
        .context("Scheduler::run")?;
    let log = ingest.request_log();
    let accepted: Vec<Instant> = log
        .iter()
        .filter(|r| r.mode == Mode::Accept)
        .map(|r| r.at)
        .collect();
    let (first, last) = match (accepted.first(), accepted.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => (started, started),
    };
    let envelopes = ingest.envelopes();
    Ok(DeliveryReport {
        jobs,
        expected,
        delivered: count(&envelopes, "check_in") as u64,
        envelopes: envelopes.len() as u64,
        requests: log.len() as u64,
        last_ms: last.saturating_duration_since(started).as_secs_f64() * 1_000.0,
        sending_ms: last.saturating_duration_since(first).as_secs_f64() * 1_000.0,
        dropped: counters.snapshot().dropped.total(),
    })
}

/// The delivery table: ours against sentry's transport, and whether every check-in
/// arrived.
pub(crate) fn render(ours: &DeliveryReport, transport: &DeliveryReport, load: &str) -> String {
    let jobs = crate::report::thousands(ours.jobs);
    let mut out = format!(
        "Check-in delivery: {jobs} monitored jobs due at one instant, default ClientOptions, local endpoint (load average {load} at start)\n\n"
    );
    out.push_str(
        "| measurement | sentry-schedule sender | before: sentry's transport | target | met? |\n",
    );
    out.push_str("|---|---:|---:|---|---|\n");
    let of = |r: &DeliveryReport| format!("{} of {}", r.delivered, r.expected);
    let met = if ours.delivered == ours.expected && ours.dropped == 0 {
        "yes".to_owned()
    } else {
        format!("MISSED ({} dropped)", ours.dropped)
    };
    let rows: [(String, String, String, &str, String); 5] = [
        (
            format!("check-ins delivered, {jobs} jobs"),
            of(ours),
            of(transport),
            "all",
            met,
        ),
        (
            "time until the last check-in arrives".into(),
            format!("{:.0} ms", ours.last_ms),
            format!("{:.0} ms", transport.last_ms),
            "",
            String::new(),
        ),
        (
            "check-ins delivered per second (first to last request)".into(),
            format!("{:.0}", ours.per_second()),
            format!("{:.0}", transport.per_second()),
            "",
            String::new(),
        ),
        (
            "envelopes per 1,000 delivered check-ins".into(),
            format!("{:.0}", ours.per_thousand(ours.envelopes)),
            format!("{:.0}", transport.per_thousand(transport.envelopes)),
            "",
            String::new(),
        ),
        (
            "HTTP requests per 1,000 delivered check-ins".into(),
            format!("{:.0}", ours.per_thousand(ours.requests)),
            format!("{:.0}", transport.per_thousand(transport.requests)),
            "",
            String::new(),
        ),
    ];
    for (what, a, b, target, met) in rows {
        let _ = writeln!(out, "| {what} | {a} | {b} | {target} | {met} |");
    }
    out.push_str(
        "\n- One check-in per envelope and per request: Relay refuses an envelope with a second `check_in` item (`relay-server/src/utils/sizes.rs`); our sender pipelines 8 requests.\n",
    );
    out
}
