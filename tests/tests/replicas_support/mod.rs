//! Helpers of the multi-replica tests: replica processes of the `replica` binary, their
//! output lines, server URLs and a TCP proxy that can cut a server off.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bounds a failing wait; passing tests never wait this long.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

// Server URLs, unique names and the TCP proxy are shared with the coordination tests of
// the `sentry-schedule` package: one copy of the code, included from there.
#[path = "../../../sentry-schedule/tests/coordination_support/mod.rs"]
mod coordination_support;
#[allow(unused_imports)] // each test binary uses some of them
pub(crate) use coordination_support::{server_url, socket_addr, unique_name, via, Proxy};

/// What a replica printed: a run started (`RUN`) or ended (`DONE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub done: bool,
    pub replica: String,
    pub slug: String,
    pub tick: DateTime<Utc>,
    /// When the test read the line.
    pub seen: Instant,
}

fn parse(line: &str) -> Option<Line> {
    let (kind, rest) = line.split_once(' ')?;
    let done = match kind {
        "RUN" => false,
        "DONE" => true,
        _ => return None,
    };
    let fields: BTreeMap<&str, &str> = rest.split(' ').filter_map(|f| f.split_once('=')).collect();
    Some(Line {
        done,
        replica: fields.get("replica")?.to_string(),
        slug: fields.get("slug")?.to_string(),
        tick: fields.get("tick")?.parse().ok()?,
        seen: Instant::now(),
    })
}

/// The lines of every replica, in the order the test read them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Lines {
    inner: Arc<(Mutex<Vec<Line>>, Condvar)>,
}

impl Lines {
    pub(crate) fn all(&self) -> Vec<Line> {
        self.inner.0.lock().unwrap().clone()
    }

    fn push(&self, line: Line) {
        self.inner.0.lock().unwrap().push(line);
        self.inner.1.notify_all();
    }

    /// Blocks until `done` holds for the lines (or [`LIMIT`] passed); whether it holds.
    pub(crate) fn wait_until(&self, done: impl Fn(&[Line]) -> bool) -> bool {
        let deadline = Instant::now() + LIMIT;
        let mut lines = self.inner.0.lock().unwrap();
        loop {
            if done(&lines) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            lines = self.inner.1.wait_timeout(lines, left).unwrap().0;
        }
    }

    /// The runs of `slug` that ended, by tick, with the replicas that ran them.
    pub(crate) fn done(&self, slug: &str) -> BTreeMap<DateTime<Utc>, Vec<String>> {
        collect(&self.all(), slug, true)
    }

    /// The runs of `slug` that started, by tick, with the replicas that started them.
    pub(crate) fn started(&self, slug: &str) -> BTreeMap<DateTime<Utc>, Vec<String>> {
        collect(&self.all(), slug, false)
    }
}

pub(crate) fn collect(
    lines: &[Line],
    slug: &str,
    done: bool,
) -> BTreeMap<DateTime<Utc>, Vec<String>> {
    let mut by_tick: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.slug == slug && l.done == done) {
        by_tick
            .entry(line.tick)
            .or_default()
            .push(line.replica.clone());
    }
    by_tick
}

/// One replica process.
pub(crate) struct Replica {
    pub name: String,
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Starts the `replica` binary as `name` with `env`; its lines go to `lines`.
    pub(crate) fn start(name: &str, env: &[(&str, String)], lines: &Lines) -> Replica {
        let mut command = Command::new(env!("CARGO_BIN_EXE_replica"));
        command
            .env("REPLICA", name)
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the replica binary");
        let stdout = child.stdout.take().unwrap();
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(line) = parse(&line) {
                    lines.push(line);
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err_lines = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                err_lines.lock().unwrap().push(line);
            }
        });
        Replica {
            name: name.to_owned(),
            child,
            stderr,
        }
    }

    /// What it logged so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// `kill -9`.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the replica");
        let _ = self.child.wait();
    }

    /// SIGTERM: a graceful shutdown.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded by [`LIMIT`]) for the process to exit.
    pub(crate) fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the replica") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("replica {} did not exit:\n{}", self.name, self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then asserts a clean exit without any panic.
    pub(crate) fn stop_cleanly(&mut self) {
        self.terminate();
        self.assert_clean_exit();
    }

    /// Waits (bounded by [`LIMIT`]) for the process to exit, then asserts it exited with
    /// success and without any panic.
    fn assert_clean_exit(&mut self) {
        let status = self.wait();
        let stderr = self.stderr();
        assert!(
            status.success(),
            "replica {} exited with {status}:\n{stderr}",
            self.name
        );
        assert!(
            !stderr.contains("panicked"),
            "replica {} panicked:\n{stderr}",
            self.name
        );
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts every tick of `slug` started once and ended once, on the same replica; returns the
/// ticks.
pub(crate) fn assert_each_tick_once(lines: &Lines, slug: &str) -> Vec<DateTime<Utc>> {
    let started = lines.started(slug);
    let done = lines.done(slug);
    for (tick, replicas) in &started {
        assert_eq!(
            replicas.len(),
            1,
            "{slug} tick {tick} started on {replicas:?}"
        );
        assert_eq!(
            done.get(tick),
            Some(replicas),
            "{slug} tick {tick} started on {replicas:?} but ended on {:?}",
            done.get(tick)
        );
    }
    assert_eq!(
        started.len(),
        done.len(),
        "{slug}: runs that ended without starting"
    );
    started.into_keys().collect()
}

/// The unmonitored sub-minute job of the replica binary.
pub(crate) const HEARTBEAT: &str = "replicas-heartbeat";
/// The monitored job of the replica binary.
pub(crate) const REPORT: &str = "replicas-report";

/// The environment of a replica against `url`, namespace `namespace`, reporting to `dsn`.
pub(crate) fn replica_env(url: &str, namespace: &str, dsn: &str) -> Vec<(&'static str, String)> {
    vec![
        ("COORDINATOR_URL", url.to_owned()),
        ("NAMESPACE", namespace.to_owned()),
        ("SENTRY_DSN", dsn.to_owned()),
        ("LEASE_MS", "3000".to_owned()),
        ("HEARTBEAT", "2s".to_owned()),
        ("REPORT_MS", "300".to_owned()),
        ("CATCH_UP_SECS", "120".to_owned()),
    ]
}

/// Starts replicas `a`, `b`, `c` with `env`.
pub(crate) fn start_three(env: &[(&str, String)], lines: &Lines) -> Vec<Replica> {
    ["a", "b", "c"]
        .iter()
        .map(|name| Replica::start(name, env, lines))
        .collect()
}

/// Stops every replica with SIGTERM at once, then asserts each exited cleanly.
pub(crate) fn stop_all(replicas: &mut [Replica]) {
    for replica in replicas.iter() {
        replica.terminate();
    }
    for replica in replicas.iter_mut() {
        replica.assert_clean_exit();
    }
}

/// Three replicas for at least 11 ticks of the heartbeat and one run of the monitored job
/// (its catch-up tick at start-up), then a graceful shutdown; returns what they printed after
/// What each of `replicas` logged, one after the other, for a failure message.
pub(crate) fn logs_of(replicas: &[Replica]) -> String {
    replicas
        .iter()
        .map(|r| format!("--- replica {}:\n{}", r.name, r.stderr()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// asserting that every tick of both jobs ran exactly once, the heartbeat without a gap.
pub(crate) fn run_three_replicas(url: &str, namespace: &str, dsn: &str) -> Lines {
    let lines = Lines::default();
    let mut replicas = start_three(&replica_env(url, namespace, dsn), &lines);
    let enough = lines.wait_until(|l| {
        collect(l, HEARTBEAT, true).len() >= 11 && !collect(l, REPORT, true).is_empty()
    });
    if !enough {
        panic!(
            "the replicas did not run enough ticks: {:?}\n{}",
            lines.all(),
            logs_of(&replicas)
        );
    }
    stop_all(&mut replicas);

    let heartbeats = assert_each_tick_once(&lines, HEARTBEAT);
    assert!(heartbeats.len() >= 11, "{heartbeats:?}");
    for pair in heartbeats.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::TimeDelta::seconds(2),
            "a heartbeat tick was skipped or doubled: {heartbeats:?}"
        );
    }
    let reports = assert_each_tick_once(&lines, REPORT);
    assert!(!reports.is_empty());
    lines
}

/// The `check_in` payloads of `envelopes` for monitor `slug` with `status`.
pub(crate) fn check_ins_in(
    envelopes: &[sentry_schedule_tests::Envelope],
    slug: &str,
    status: &str,
) -> Vec<serde_json::Value> {
    envelopes
        .iter()
        .flat_map(|e| &e.items)
        .filter(|item| item.ty == "check_in")
        .filter_map(|item| item.json().ok())
        .filter(|c: &serde_json::Value| c["monitor_slug"] == slug && c["status"] == status)
        .collect()
}

/// Waits (bounded) until `ingest` holds at least `n` check-ins of `slug` with `status`.
pub(crate) fn wait_for_check_ins(
    ingest: &sentry_schedule_tests::Ingest,
    slug: &str,
    status: &str,
    n: usize,
) {
    let arrived = ingest.wait_until(LIMIT, |envelopes| {
        check_ins_in(envelopes, slug, status).len() >= n
    });
    assert!(
        arrived,
        "expected {n} `{status}` check-ins of {slug}: {:?}",
        ingest.check_ins()
    );
}
