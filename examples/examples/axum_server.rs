//! The scheduler beside an axum web server in one process: one shutdown signal for both, and
//! the `list`/`run` operations commands on the same binary.
//!
//! ```sh
//! cargo run --example axum_server --features axum
//! curl http://127.0.0.1:3000/                                   # the rate the job refreshed
//! curl http://127.0.0.1:3000/metrics                            # the scheduler's metrics, Prometheus format
//! cargo run --example axum_server --features axum -- list       # the jobs, then exit
//! cargo run --example axum_server --features axum -- run axum_server-refresh_rates
//! ```
//!
//! The job and the handlers share one value: the scheduler gets it with `.state(...)`, axum
//! with `.with_state(...)`. `sentry_schedule::shutdown_signal()` resolves on Ctrl-C or
//! SIGTERM, and its clones resolve together: one goes to axum's `with_graceful_shutdown`, one
//! to the scheduler. On the signal the server finishes its requests, and the scheduler lets
//! running jobs finish (within its shutdown timeout), sends their final check-ins and flushes
//! the Sentry client. `LISTEN` sets the address (default `127.0.0.1:3000`).
//!
//! `/metrics` serves the scheduler's metrics (feature `metrics` of sentry-schedule) in the
//! Prometheus text format: the recorder of `metrics-exporter-prometheus` is installed before
//! the scheduler runs, and the handler renders it.

use axum::extract::State as AxumState;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sentry_schedule::{scheduled, Scheduler, State};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

/// What the web server shows and the job refreshes.
#[derive(Clone, Default)]
struct Rates {
    eur_usd: Arc<RwLock<Option<f64>>>,
}

/// Every minute (and once at start-up): refreshes the rate the server shows. The rate
/// service takes two seconds to answer.
#[scheduled(cron = "* * * * *", run_at_startup = true)]
async fn refresh_rates(rates: State<Rates>) -> Result<(), String> {
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let fetched = 1.08;
    *rates.eur_usd.write().map_err(|e| e.to_string())? = Some(fetched);
    println!("refresh_rates: EUR/USD {fetched}");
    Ok(())
}

async fn show_rates(AxumState(rates): AxumState<Rates>) -> String {
    match rates.eur_usd.read().map(|r| *r) {
        Ok(Some(rate)) => format!("EUR/USD {rate}\n"),
        Ok(None) => "no rates yet\n".to_owned(),
        Err(_) => "rates unavailable\n".to_owned(),
    }
}

/// The Prometheus text format of everything recorded so far.
async fn show_metrics(AxumState(prometheus): AxumState<PrometheusHandle>) -> String {
    // Histograms are summarised on upkeep: run it before each scrape.
    prometheus.run_upkeep();
    prometheus.render()
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    // Reads SENTRY_DSN from the environment; without it, check-ins are printed instead.
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));

    // Before the scheduler runs: its metric handles are registered with this recorder.
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    // Ctrl-C or SIGTERM, shared by the server and the scheduler.
    let shutdown = sentry_schedule::shutdown_signal();

    let rates = Rates::default();
    let scheduler = Scheduler::builder()
        .state(rates.clone())
        .shutdown_signal(shutdown.clone())
        .build()?;

    // `list`, `run <slug>` and `help` run here and exit; no arguments runs the service.
    if let Some(exit) = scheduler.run_command(std::env::args().skip(1)).await {
        return Ok(exit);
    }

    let app = Router::new()
        .route("/", get(show_rates))
        .with_state(rates)
        .merge(
            Router::new()
                .route("/metrics", get(show_metrics))
                .with_state(prometheus),
        );
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);

    let (served, scheduled) = tokio::join!(server, scheduler.run());
    served?;
    scheduled?;
    println!("server and scheduler stopped");
    Ok(ExitCode::SUCCESS)
}
