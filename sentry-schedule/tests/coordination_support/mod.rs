//! Helpers of the coordination tests: server URLs, a TCP proxy that can cut the line, a job
//! that records the ticks it ran and a shutdown signal on its run, and the scenarios every
//! coordinator backend runs.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

pub(super) mod scenarios;

use chrono::{DateTime, Utc};
use sentry_schedule::coordinator::Coordinator;
use sentry_schedule::{Job, JobBuilder, JobContext, SchedulerBuilder};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The URL in `var`, or `None` (test skipped) when the servers were not started. Under
/// `CI=true`, or `SENTRY_SCHEDULE_REQUIRE_SERVICES=1` (which `.ci/test` sets), a missing URL
/// fails the test: the run that was meant to start the servers (`.ci/services`) did not.
pub(crate) fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var("CI").as_deref() == Ok("true")
                || std::env::var("SENTRY_SCHEDULE_REQUIRE_SERVICES").as_deref() == Ok("1");
            assert!(
                !required,
                "{var} is not set: run `eval \"$(bash .ci/services)\"` before the tests"
            );
            eprintln!("skipped: {var} is not set (start the servers with .ci/services)");
            None
        }
    }
}

/// A unique lower-case name for a test's schema, table or key prefix.
pub(crate) fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

/// A TCP proxy in front of a real server. `cut()` drops every open connection and refuses new
/// ones (the server looks down to its clients); `restore()` lets them through again.
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let down = down.clone();
            let links = links.clone();
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            }
        });
        Proxy {
            addr,
            down,
            links,
            accept,
        }
    }

    pub(crate) fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub(crate) fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `host:port` of a `scheme://user:pass@host:port/...` URL, resolved.
pub(crate) fn socket_addr(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    use std::net::ToSocketAddrs;
    host_port.to_socket_addrs().unwrap().next().unwrap()
}

/// `url` with its `host:port` replaced by `addr`.
pub(crate) fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let creds = authority
        .rsplit_once('@')
        .map(|(c, _)| format!("{c}@"))
        .unwrap_or_default();
    format!("{scheme}://{creds}{addr}/{path}")
}

/// The ticks a job ran, in the order it ran them.
pub(super) type Runs = Arc<Mutex<Vec<DateTime<Utc>>>>;

/// `builder` finished into an unmonitored job whose every run records its tick in `runs`,
/// then notifies `ran`.
pub(super) fn recording_job(builder: JobBuilder, runs: &Runs, ran: &Arc<Notify>) -> Job {
    let (runs, ran) = (runs.clone(), ran.clone());
    builder
        .monitor(false)
        .run(move |ctx: JobContext| {
            let (runs, ran) = (runs.clone(), ran.clone());
            async move {
                runs.lock().unwrap().push(ctx.scheduled());
                ran.notify_one();
            }
        })
        .build()
        .unwrap()
}

/// A shutdown signal: resolves once `ran` is notified, or after `limit` (which bounds a
/// failing test).
pub(super) fn when_notified(ran: &Arc<Notify>, limit: Duration) -> impl Future<Output = ()> + Send {
    let ran = ran.clone();
    async move {
        let _ = tokio::time::timeout(limit, ran.notified()).await;
    }
}

/// Runs `job` on `builder` (without registered jobs) with `coordinator` until `signal`.
pub(super) async fn run_coordinated(
    builder: SchedulerBuilder,
    coordinator: impl Coordinator,
    job: Job,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    builder
        .registered_jobs(false)
        .coordinator(coordinator)
        .shutdown_signal(signal)
        .job(job)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
}

/// What the test's thread logged through `tracing`, as text (one line per event).
#[derive(Clone, Default)]
pub(super) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Captures the events of this thread at `level` and above until the guard is dropped.
    pub(super) fn capture(&self, level: tracing::Level) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(level)
                .with_writer(move || writer.clone())
                .finish(),
        )
    }

    /// The lines logged so far.
    pub(super) fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
