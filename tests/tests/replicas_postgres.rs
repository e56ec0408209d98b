//! Several replica processes against one PostgreSQL (`SENTRY_SCHEDULE_TEST_POSTGRES_URL`,
//! started by `.ci/services`): each tick runs exactly once, counted in the claim table and
//! in the check-ins received by a local ingest endpoint; a killed replica's tick is taken
//! over; a database outage skips ticks without duplicates and scheduling resumes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
mod replicas_support;
// A schema of its own for one test, shared with the coordination tests of `sentry-schedule`.
#[path = "../../sentry-schedule/tests/coordination_support/postgres.rs"]
mod postgres_support;

use chrono::{DateTime, Utc};
use postgres_support::Db;
use replicas_support::*;
use sentry_schedule::coordinator::sqlx::{self, Row};
use sentry_schedule::coordinator::{Coordinator, Postgres, PostgresOptions, RunStatus};
use sentry_schedule_tests::{Ingest, Mode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

impl Db {
    /// The claim rows of `slug`: tick → (owner, finished, status, takeovers, claimed_at,
    /// started_at).
    async fn rows(&self, slug: &str) -> BTreeMap<DateTime<Utc>, RowData> {
        sqlx::query(&format!(
            "SELECT tick, owner, finished_at IS NOT NULL AS finished, status, takeovers, \
             claimed_at, started_at FROM {}.sentry_schedule_claims WHERE slug = $1",
            self.schema
        ))
        .bind(slug)
        .fetch_all(&self.admin)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.get("tick"),
                RowData {
                    owner: row.get("owner"),
                    finished: row.get("finished"),
                    status: row.get("status"),
                    takeovers: i64::from(row.get::<i32, _>("takeovers")),
                    claimed_at: row.get("claimed_at"),
                    started_at: row.get("started_at"),
                },
            )
        })
        .collect()
    }
}

#[derive(Debug)]
struct RowData {
    owner: String,
    finished: bool,
    status: Option<String>,
    takeovers: i64,
    claimed_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
}

/// Asserts that the finished rows of `slug` are exactly the runs the replicas printed, each
/// owned by the replica that ran it, and that no unfinished row was run.
async fn assert_table_matches(db: &Db, lines: &Lines, slug: &str) {
    let rows = db.rows(slug).await;
    let done = lines.done(slug);
    let finished: BTreeMap<_, _> = rows.iter().filter(|(_, r)| r.finished).collect();
    assert_eq!(
        finished.keys().copied().copied().collect::<BTreeSet<_>>(),
        done.keys().copied().collect::<BTreeSet<_>>(),
        "{slug}: finished claim rows differ from the runs"
    );
    for (tick, row) in &finished {
        assert_eq!(
            Some(&vec![row.owner.clone()]),
            done.get(*tick),
            "{slug} {tick}"
        );
        assert_eq!(row.status.as_deref(), Some("ok"), "{slug} {tick}");
    }
    for (tick, row) in rows.iter().filter(|(_, r)| !r.finished) {
        // Claimed while the replicas shut down: not started by anyone.
        assert!(
            !lines.started(slug).contains_key(tick),
            "{slug} {tick}: {row:?}"
        );
    }
}

/// The check-ins of `slug` with `status`.
fn check_ins(ingest: &Ingest, slug: &str, status: &str) -> Vec<Value> {
    ingest
        .check_ins()
        .into_iter()
        .filter(|c| c["monitor_slug"] == slug && c["status"] == status)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_run_each_tick_once() {
    let Some(db) = Db::new().await else { return };
    let ingest = Ingest::start(Mode::Accept);
    let (url, schema, dsn) = (db.url.clone(), db.schema.clone(), ingest.dsn());
    let lines = tokio::task::spawn_blocking(move || run_three_replicas(&url, &schema, &dsn))
        .await
        .unwrap();

    assert_table_matches(&db, &lines, HEARTBEAT).await;
    assert_table_matches(&db, &lines, REPORT).await;
    // The history API reads the same table.
    let coordinator = Postgres::with_options(
        db.admin.clone(),
        PostgresOptions {
            schema: Some(db.schema.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let history = coordinator.history(HEARTBEAT, 1000).await.unwrap();
    let ok: BTreeSet<_> = history
        .iter()
        .filter(|r| r.status == Some(RunStatus::Ok))
        .map(|r| r.tick)
        .collect();
    assert_eq!(ok, lines.done(HEARTBEAT).into_keys().collect());

    // Only the winner of a tick sent check-ins: one pair per run of the monitored job, none
    // for the unmonitored one.
    let reports = lines.done(REPORT).len();
    wait_for_check_ins(&ingest, REPORT, "ok", reports);
    assert_eq!(check_ins(&ingest, REPORT, "ok").len(), reports);
    assert_eq!(check_ins(&ingest, REPORT, "in_progress").len(), reports);
    assert!(ingest
        .check_ins()
        .iter()
        .all(|c| c["monitor_slug"] == REPORT));
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_replica_tick_is_taken_over_once_its_lease_expires() {
    let Some(db) = Db::new().await else { return };
    let ingest = Ingest::start(Mode::Accept);
    let lines = Lines::default();
    let mut env = replica_env(&db.url, &db.schema, &ingest.dsn());
    for (key, value) in env.iter_mut() {
        match *key {
            "LEASE_MS" => *value = "2000".into(),
            "REPORT_MS" => *value = "5000".into(),
            "HEARTBEAT" => *value = "1h".into(),
            _ => {}
        }
    }
    let lines2 = lines.clone();
    let (victim, tick, taker) = tokio::task::spawn_blocking(move || {
        let lines = lines2;
        let mut replicas = start_three(&env, &lines);
        // The monitored job's catch-up tick starts on one replica: kill it mid-run.
        assert!(lines.wait_until(|l| !collect(l, REPORT, false).is_empty()));
        let first = lines.started(REPORT).into_iter().next().unwrap();
        let (tick, victim) = (first.0, first.1[0].clone());
        let index = replicas.iter().position(|r| r.name == victim).unwrap();
        replicas[index].kill();
        let mut victim_replica = replicas.remove(index);
        assert!(
            lines.wait_until(|l| collect(l, REPORT, true).contains_key(&tick)),
            "nobody took the tick over: {:?}\n{}",
            lines.all(),
            logs_of(&replicas)
        );
        let taker = lines.done(REPORT)[&tick][0].clone();
        stop_all(&mut replicas);
        victim_replica.wait();
        (victim, tick, taker)
    })
    .await
    .unwrap();

    assert_ne!(victim, taker);
    // Started twice (by the victim, then by the replica that took it over), ended once.
    assert_eq!(
        lines.started(REPORT)[&tick],
        vec![victim.clone(), taker.clone()]
    );
    assert_eq!(lines.done(REPORT)[&tick], vec![taker.clone()]);
    let rows = db.rows(REPORT).await;
    let row = &rows[&tick];
    assert!(row.finished, "{row:?}");
    assert_eq!(row.owner, taker);
    assert_eq!(row.status.as_deref(), Some("ok"));
    assert_eq!(row.takeovers, 1);
    // Taken over only after the lease had expired (database clock).
    assert!(
        row.started_at - row.claimed_at >= chrono::TimeDelta::milliseconds(2000),
        "{row:?}"
    );
    // Reported once as finished: one `ok` check-in for the run that was taken over.
    wait_for_check_ins(&ingest, REPORT, "ok", 1);
    assert_eq!(
        check_ins(&ingest, REPORT, "ok").len(),
        lines.done(REPORT).len()
    );
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_skips_ticks_without_duplicates_and_scheduling_resumes() {
    let Some(db) = Db::new().await else { return };
    let ingest = Ingest::start(Mode::Accept);
    let proxy = Proxy::start(socket_addr(&db.url)).await;
    let lines = Lines::default();
    let mut env = replica_env(&via(&db.url, proxy.addr), &db.schema, &ingest.dsn());
    for (key, value) in env.iter_mut() {
        match *key {
            // Longer than the outage: a run whose outcome could not be recorded keeps its
            // claim until the database is back, so nobody runs its tick again.
            "LEASE_MS" => *value = "10000".into(),
            "HEARTBEAT" => *value = "1s".into(),
            _ => {}
        }
    }
    let proxy = std::sync::Arc::new(proxy);
    let lines2 = lines.clone();
    let ingest2 = ingest.clone();
    let restored_at = tokio::task::spawn_blocking(move || {
        let (lines, ingest) = (lines2, ingest2);
        let mut replicas = start_three(&env, &lines);
        assert!(lines.wait_until(|l| collect(l, HEARTBEAT, true).len() >= 3));
        proxy.cut();
        // Every replica skips the ticks it cannot claim and captures an error event for each.
        let reported = ingest.wait_until(LIMIT, |envelopes| {
            sentry_schedule_tests::count(envelopes, "event") >= 6
        });
        assert!(reported, "no claim errors reported: {:?}", ingest.events());
        proxy.restore();
        let restored_at = Utc::now();
        assert!(
            lines.wait_until(|l| collect(l, HEARTBEAT, true)
                .keys()
                .filter(|t| **t > restored_at)
                .count()
                >= 3),
            "scheduling did not resume: {:?}\n{}",
            lines.all(),
            logs_of(&replicas)
        );
        stop_all(&mut replicas);
        restored_at
    })
    .await
    .unwrap();

    let ticks = assert_each_tick_once(&lines, HEARTBEAT);
    assert!(ticks.iter().filter(|t| **t > restored_at).count() >= 3);
    assert_table_matches(&db, &lines, HEARTBEAT).await;
    let events = ingest.events();
    assert!(
        events
            .iter()
            .all(|e| e["tags"]["monitor.slug"] == HEARTBEAT || e["tags"]["monitor.slug"] == REPORT),
        "{events:?}"
    );
    db.drop_schema().await;
}
