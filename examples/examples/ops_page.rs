//! The HTTP ops page (feature `web` of sentry-schedule) mounted in an axum server: every job
//! with its schedule in plain language, next and last runs, the next 24 hours as a chart,
//! and "Run now", "Pause" and "Resume" behind a bearer token.
//!
//! ```sh
//! OPS_TOKEN=s3cret cargo run --example ops_page --features web
//! # open http://127.0.0.1:3000/ops/ (the token goes in the page's token field)
//! curl http://127.0.0.1:3000/ops/api/jobs
//! curl -X POST -H 'Authorization: Bearer s3cret' http://127.0.0.1:3000/ops/api/jobs/nightly-backup/run
//!
//! # A PNG of the page, taken with headless Chromium (`chromium` on PATH, or CHROMIUM):
//! cargo run --example ops_page --features web -- --screenshot docs/ops-page.png
//! ```
//!
//! With `--screenshot` the scheduler's clock is fixed at Monday 2026-03-02 06:00 UTC, a few
//! jobs run once first and one is paused, so the picture shows outcomes and is the same
//! every time.
//! Without `OPS_TOKEN` the page is read-only. `LISTEN` sets the address.
use axum::Router;
use sentry_schedule::chrono::{DateTime, Utc};
use sentry_schedule::web::{self, WebOptions};
use sentry_schedule::{Job, JobContext, Scheduler, TestClock};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The demo's jobs: a few usual ones, five at 03:00 (a cluster), one failing, one off.
fn jobs() -> anyhow::Result<Vec<Job>> {
    let ok = |_: JobContext| async {
        tokio::time::sleep(Duration::from_millis(120)).await;
        Ok::<(), String>(())
    };
    let mut jobs = vec![
        Job::builder("nightly-backup", "30 2 * * *")
            .timezone("Europe/Vienna")
            .run(ok)
            .build()?,
        Job::builder("send-daily-sales-report", "0 12 * * *")
            .timezone("Europe/Vienna")
            .run(ok)
            .build()?,
        Job::builder("sync-exchange-rates", "*/15 * * * *")
            .run(ok)
            .build()?,
        Job::builder("weekly-digest", "0 9 * * MON")
            .timezone("America/New_York")
            .run(ok)
            .build()?,
        Job::builder("month-end-close", "0 23 L * *")
            .run(ok)
            .build()?,
        Job::builder("refresh-reports", "0 3 * * *")
            .run(|_: JobContext| async { Err::<(), String>("warehouse unreachable".into()) })
            .build()?,
        Job::builder("legacy-import", "0 5 * * *").run(ok).build()?,
    ];
    for slug in [
        "export-invoices",
        "rebuild-search-index",
        "prune-audit-log",
        "rotate-api-keys",
    ] {
        jobs.push(Job::builder(slug, "0 3 * * *").run(ok).build()?);
    }
    Ok(jobs)
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let screenshot = match args.as_slice() {
        [] => None,
        [flag, path] if flag == "--screenshot" => Some(path.clone()),
        _ => {
            eprintln!("usage: ops_page [--screenshot PATH.png]");
            return Ok(ExitCode::from(2));
        }
    };

    let mut builder = Scheduler::builder()
        .registered_jobs(false)
        .jobs(jobs()?)
        .disable_jobs(["legacy-import"]);
    if screenshot.is_some() {
        let start: DateTime<Utc> = "2026-03-02T06:00:00Z".parse()?;
        builder = builder.clock(TestClock::new(start));
    }
    let scheduler = builder.build()?;
    let mut options = WebOptions::new().title("billing-service · scheduled jobs");
    match std::env::var("OPS_TOKEN") {
        Ok(token) => options = options.bearer_token(token),
        // The picture shows the action buttons; no server outlives it.
        Err(_) if screenshot.is_some() => options = options.bearer_token("screenshot-only"),
        Err(_) => {}
    }
    let app = Router::new().nest("/ops", web::router(scheduler.handle(), options));

    match screenshot {
        Some(path) => {
            for slug in ["nightly-backup", "refresh-reports", "sync-exchange-rates"] {
                println!("{}", scheduler.run_now(slug).await?);
            }
            let until: DateTime<Utc> = "2026-03-09T06:00:00Z".parse()?;
            scheduler.pause("month-end-close", Some(until)).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/ops", listener.local_addr()?);
            tokio::spawn(async move { axum::serve(listener, app).await });
            let taken = take_screenshot(&url, &path).await?;
            Ok(if taken {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        None => {
            let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            println!("ops page on http://{}/ops/", listener.local_addr()?);
            let shutdown = sentry_schedule::shutdown_signal();
            let server = axum::serve(listener, app).with_graceful_shutdown(shutdown.clone());
            let (served, scheduled) = tokio::join!(server, scheduler.run());
            served?;
            scheduled?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Headless Chromium's picture of `url`, written to `path`.
async fn take_screenshot(url: &str, path: &str) -> anyhow::Result<bool> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let path = std::path::absolute(path)?;
    let url = url.to_owned();
    let status = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1400,1420",
            ])
            .arg(format!("--screenshot={}", path.display()))
            .arg(url)
            .status()
    })
    .await??;
    Ok(status.success())
}
