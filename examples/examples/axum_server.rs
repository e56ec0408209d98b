//! The scheduler beside an axum web server, in one process, stopping together on Ctrl-C.
//!
//! ```sh
//! cargo run --example axum_server
//! curl http://127.0.0.1:3000/          # the rates the job refreshed
//! ```
//!
//! The job and the handlers share one value: the scheduler gets it with `.state(...)`,
//! axum with `.with_state(...)`. On Ctrl-C (or SIGTERM) both stop: the server finishes its
//! requests, the scheduler lets running jobs finish (within its shutdown timeout), sends
//! their final check-ins and flushes the Sentry client.

use axum::extract::State as AxumState;
use axum::routing::get;
use axum::Router;
use sentry_schedule::{scheduled, Scheduler, State};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// What the web server shows and the job refreshes.
#[derive(Clone, Default)]
struct Rates {
    eur_usd: Arc<RwLock<Option<f64>>>,
}

/// Every minute (and once at start-up): refreshes the rate the server shows.
#[scheduled(cron = "* * * * *", run_at_startup = true)]
async fn refresh_rates(rates: State<Rates>) -> Result<(), String> {
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

/// Completes once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Reads SENTRY_DSN from the environment; without it, check-ins are printed instead.
    let _sentry = sentry::init(sentry::ClientOptions::new().maybe_release(sentry::release_name!()));

    // One shutdown signal for both: Ctrl-C or SIGTERM flips it.
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_requested().await;
        let _ = stop_tx.send(true);
    });

    let rates = Rates::default();
    let scheduler = Scheduler::builder()
        .state(rates.clone())
        .shutdown_signal(stopped(stop.clone()))
        .build()?;

    let app = Router::new().route("/", get(show_rates)).with_state(rates);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let server = axum::serve(listener, app).with_graceful_shutdown(stopped(stop));

    let (served, scheduled) = tokio::join!(server, scheduler.run());
    served?;
    scheduled?;
    println!("server and scheduler stopped");
    Ok(())
}

async fn shutdown_requested() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
