//! Three replica processes against one Redis (`SENTRY_SCHEDULE_TEST_REDIS_URL`, started by
//! `.ci/services`): each tick runs exactly once, counted in the claim history kept in Redis
//! and in the check-ins received by a local ingest endpoint.
mod replicas_support;

use replicas_support::*;
use sentry_schedule::coordinator::{Coordinator, Redis, RedisOptions, RunStatus};
use sentry_schedule_tests::{Ingest, Mode};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_run_each_tick_once() {
    let Some(url) = server_url("SENTRY_SCHEDULE_TEST_REDIS_URL") else {
        return;
    };
    let ingest = Ingest::start(Mode::Accept);
    let prefix = unique_name("ssreplicas");
    let (u, p, dsn) = (url.clone(), prefix.clone(), ingest.dsn());
    let lines = tokio::task::spawn_blocking(move || run_three_replicas(&u, &p, &dsn))
        .await
        .unwrap();

    // The claims in Redis: every run recorded once, by the replica that ran it; nothing
    // else finished.
    let coordinator = Redis::open(
        &url,
        RedisOptions {
            prefix,
            ..Default::default()
        },
    )
    .unwrap();
    for slug in [HEARTBEAT, REPORT] {
        let history = coordinator.history(slug, 1000).await.unwrap();
        let done = lines.done(slug);
        let finished: BTreeSet<_> = history
            .iter()
            .filter(|r| r.finished_at.is_some())
            .map(|r| r.tick)
            .collect();
        assert_eq!(finished, done.keys().copied().collect(), "{slug}");
        for record in history.iter().filter(|r| r.finished_at.is_some()) {
            assert_eq!(record.status, Some(RunStatus::Ok), "{record:?}");
            assert_eq!(Some(&vec![record.owner.clone()]), done.get(&record.tick));
        }
    }

    let reports = lines.done(REPORT).len();
    wait_for_check_ins(&ingest, REPORT, "ok", reports);
    let check_ins = ingest.check_ins();
    let count = |status: &str| {
        check_ins
            .iter()
            .filter(|c| c["monitor_slug"] == REPORT && c["status"] == status)
            .count()
    };
    assert_eq!(count("ok"), reports);
    assert_eq!(count("in_progress"), reports);
    assert!(check_ins.iter().all(|c| c["monitor_slug"] == REPORT));
}
