//! The scenarios every [`Coordinator`] backend must pass, written once against the trait and
//! called from one thin test per backend (`postgres_<scenario>`, `redis_<scenario>`).

use chrono::{DateTime, TimeZone, Utc};
use sentry_schedule::coordinator::{
    Claim, ClaimToken, Coordinator, CoordinatorError, Holder, RunOutcome, RunStatus,
};
use std::sync::Arc;
use std::time::Duration;

/// A lease no scenario outlives.
pub(crate) const LONG: Duration = Duration::from_secs(600);

/// The store a scenario runs against: coordinators of named replicas that share it.
pub(crate) trait Store {
    /// A prepared coordinator of the replica `name`, recorded as the owner of its claims.
    async fn replica(&self, name: &str) -> Arc<dyn Coordinator>;
}

/// Ticks of the last hours, on the minute: recent enough for every backend's retention
/// (the Redis claim script drops index entries older than it).
pub(crate) fn tick(minute: u32) -> DateTime<Utc> {
    static BASE: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let hour_ago = Utc::now().timestamp() - 3600;
        Utc.timestamp_opt(hour_ago - hour_ago % 3600, 0).unwrap()
    });
    base + chrono::Duration::minutes(minute.into())
}

/// The token of a claim that must have been won.
pub(crate) fn won(claim: Claim) -> ClaimToken {
    match claim {
        Claim::Won(token) => token,
        Claim::Lost(held) => panic!("claim lost to {held:?}"),
        Claim::Paused => panic!("the job is paused"),
    }
}

/// Lets the backend's clock pass a zero-length lease (PostgreSQL timestamps have microsecond
/// resolution, Redis ones millisecond).
pub(crate) async fn let_lease_expire() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// The ticks of `slug` in the coordinator's history, latest first (at most 10).
pub(crate) async fn history_ticks(coordinator: &dyn Coordinator, slug: &str) -> Vec<DateTime<Utc>> {
    let history = coordinator.history(slug, 10).await.unwrap();
    history.into_iter().map(|r| r.tick).collect()
}

/// With the backend cut off, claims fail with a backend or timeout error (not a lost claim).
pub(crate) async fn claims_fail_while_unreachable(coordinator: &dyn Coordinator) {
    for minute in 2..4 {
        let error = coordinator
            .claim("job", tick(minute), LONG)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                CoordinatorError::Backend(_) | CoordinatorError::Timeout(_)
            ),
            "{error:?}"
        );
    }
}

/// Six replicas claim each of 20 ticks at once: one wins each, the others see a running
/// claim; the history names the winner. Returns the winner of each tick (`replica-<i>`), by
/// minute, for the backend's own checks.
pub(crate) async fn concurrent_claims_of_a_tick_have_exactly_one_winner(
    store: &impl Store,
) -> Vec<String> {
    let mut replicas = Vec::new();
    for i in 0..6 {
        replicas.push(store.replica(&format!("replica-{i}")).await);
    }
    let mut winners_by_minute = Vec::new();
    for minute in 0..20 {
        let claims: Vec<_> = replicas
            .iter()
            .map(|replica| {
                let replica = replica.clone();
                tokio::spawn(async move { replica.claim("report", tick(minute), LONG).await })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, claim) in claims.into_iter().enumerate() {
            match claim.await.unwrap().unwrap() {
                Claim::Won(_) => winners.push(format!("replica-{i}")),
                Claim::Paused => panic!("paused"),
                Claim::Lost(held) => {
                    assert!(!held.finished);
                    assert!(held.retry_in > LONG - Duration::from_secs(60));
                }
            }
        }
        assert_eq!(winners.len(), 1, "tick {minute}: winners {winners:?}");
        let history = replicas[0].history("report", 1).await.unwrap();
        assert_eq!(history[0].tick, tick(minute));
        assert_eq!(history[0].owner, winners[0]);
        winners_by_minute.push(winners.remove(0));
    }
    assert_eq!(replicas[0].history("report", 100).await.unwrap().len(), 20);
    winners_by_minute
}

/// A crashed replica's expired lease is taken over by exactly one of six replicas; the
/// crashed one's token then neither renews nor finishes the tick.
pub(crate) async fn an_expired_lease_is_taken_over_by_exactly_one_replica(store: &impl Store) {
    let crashed = store.replica("crashed").await;
    let old = won(crashed
        .claim("report", tick(1), Duration::ZERO)
        .await
        .unwrap());
    let_lease_expire().await;

    let mut replicas = Vec::new();
    for i in 0..6 {
        replicas.push(store.replica(&format!("replica-{i}")).await);
    }
    let attempts: Vec<_> = replicas
        .iter()
        .map(|replica| {
            let replica = replica.clone();
            tokio::spawn(async move { replica.take_over("report", tick(1), LONG).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for (i, attempt) in attempts.into_iter().enumerate() {
        if let Claim::Won(token) = attempt.await.unwrap().unwrap() {
            tokens.push((i, token));
        }
    }
    assert_eq!(tokens.len(), 1);
    let (winner, token) = tokens.remove(0);
    assert_ne!(token.token, old.token);

    // The crashed replica wakes up: its token no longer renews nor finishes the tick.
    assert!(!crashed.renew(&old, LONG).await.unwrap());
    let outcome = RunOutcome::new(RunStatus::Ok, Duration::from_millis(1500));
    assert!(!crashed.finish(&old, &outcome).await.unwrap());
    assert!(replicas[winner].finish(&token, &outcome).await.unwrap());
    let history = crashed.history("report", 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].takeovers, 1);
    assert_eq!(history[0].status, Some(RunStatus::Ok));
    assert_eq!(history[0].owner, format!("replica-{winner}"));
    assert!(history[0].started_at > history[0].claimed_at);
}

/// A running lease is not taken over and its holder renews it; an expired lease not yet
/// taken over can still be renewed by its holder, and then is not taken over either.
pub(crate) async fn a_running_lease_is_not_taken_over_and_renew_keeps_it(store: &impl Store) {
    let a = store.replica("a").await;
    let b = store.replica("b").await;
    let running = won(a.claim("report", tick(1), LONG).await.unwrap());
    let Claim::Lost(held) = b.take_over("report", tick(1), LONG).await.unwrap() else {
        panic!("took over a running lease")
    };
    assert_eq!(held.owner, "a");
    assert!(!held.finished);
    assert!(held.retry_in <= LONG && held.retry_in > LONG - Duration::from_secs(60));
    assert!(a.renew(&running, LONG).await.unwrap());

    let token = won(a.claim("report", tick(2), Duration::ZERO).await.unwrap());
    let_lease_expire().await;
    // Expired but not yet taken over: the holder can still renew it.
    assert!(a.renew(&token, LONG).await.unwrap());
    assert!(matches!(
        b.take_over("report", tick(2), LONG).await.unwrap(),
        Claim::Lost(_)
    ));
}

/// `finish` records the outcome once; the history lists a slug's claims latest first, with
/// owners, outcomes and durations; a finished tick is neither claimed, taken over nor renewed
/// again.
pub(crate) async fn finish_records_the_outcome_and_the_history(store: &impl Store) {
    let a = store.replica("a").await;
    let b = store.replica("b").await;
    let first = won(a.claim("report", tick(1), LONG).await.unwrap());
    let second = won(b.claim("report", tick(2), LONG).await.unwrap());
    let _third = won(a.claim("report", tick(3), LONG).await.unwrap());
    let _other = won(a.claim("cleanup", tick(4), LONG).await.unwrap());
    assert!(a
        .finish(
            &first,
            &RunOutcome::new(RunStatus::Ok, Duration::from_millis(1234))
        )
        .await
        .unwrap());
    let failed = RunOutcome {
        status: RunStatus::Error,
        duration: Duration::from_millis(42),
        message: Some("SMTP server refused the connection".into()),
    };
    assert!(b.finish(&second, &failed).await.unwrap());
    // Finishing twice records nothing more.
    assert!(!b.finish(&second, &failed).await.unwrap());

    let history = b.history("report", 10).await.unwrap();
    let ticks: Vec<_> = history.iter().map(|r| r.tick).collect();
    assert_eq!(ticks, [tick(3), tick(2), tick(1)]);
    let [running, error, ok] = &history[..] else {
        panic!()
    };
    assert_eq!((running.status, running.finished_at), (None, None));
    assert_eq!(running.owner, "a");
    assert_eq!(error.status, Some(RunStatus::Error));
    assert_eq!(error.duration, Some(Duration::from_millis(42)));
    assert_eq!(
        error.message.as_deref(),
        Some("SMTP server refused the connection")
    );
    assert_eq!(error.owner, "b");
    assert_eq!(ok.status, Some(RunStatus::Ok));
    assert_eq!(ok.duration, Some(Duration::from_millis(1234)));
    assert_eq!(ok.message, None);
    assert!(ok.finished_at.unwrap() >= ok.started_at);
    assert_eq!(b.history("report", 1).await.unwrap().len(), 1);

    // A finished tick is neither claimed nor taken over again.
    let Claim::Lost(held) = b.claim("report", tick(1), LONG).await.unwrap() else {
        panic!()
    };
    assert!(held.finished);
    assert_eq!(held.retry_in, Duration::ZERO);
    assert!(matches!(
        b.take_over("report", tick(1), LONG).await.unwrap(),
        Claim::Lost(Holder { finished: true, .. })
    ));
    assert!(!a.renew(&first, LONG).await.unwrap());

    assert_eq!(a.last_claimed_tick("report").await.unwrap(), Some(tick(3)));
    assert_eq!(a.last_claimed_tick("nothing").await.unwrap(), None);
    let claimed = history_ticks(&*a, "report").await;
    assert!(claimed.contains(&tick(2)));
    assert!(!claimed.contains(&tick(5)));
}

/// Ticks `0..count` of `job-<i>` for jobs `0..jobs`, as `claim_many` takes them.
fn batch(jobs: usize, minute: u32, slugs: &[String]) -> Vec<(&str, DateTime<Utc>)> {
    slugs[..jobs]
        .iter()
        .map(|slug| (slug.as_str(), tick(minute)))
        .collect()
}

/// Six replicas claim the same 300 ticks in one batch each, at once, each in another order,
/// for five instants: every tick is won exactly once, each answer is about its own tick, the
/// losers name the winner, and the history agrees.
pub(crate) async fn concurrent_batches_win_each_tick_exactly_once(store: &impl Store) {
    const JOBS: usize = 300;
    let slugs: Arc<Vec<String>> = Arc::new((0..JOBS).map(|j| format!("job-{j}")).collect());
    let mut replicas = Vec::new();
    for i in 0..6 {
        replicas.push(store.replica(&format!("replica-{i}")).await);
    }
    for minute in 0..5 {
        let claims: Vec<_> = replicas
            .iter()
            .enumerate()
            .map(|(i, replica)| {
                let replica = replica.clone();
                let slugs = slugs.clone();
                tokio::spawn(async move {
                    let mut ticks = batch(JOBS, minute, &slugs);
                    // Each replica asks in another order (rotated, every other one reversed).
                    ticks.rotate_left(i * 37 % JOBS);
                    if i % 2 == 1 {
                        ticks.reverse();
                    }
                    let asked: Vec<(String, DateTime<Utc>)> =
                        ticks.iter().map(|(s, t)| ((*s).to_owned(), *t)).collect();
                    let answers = replica.claim_many(&ticks, LONG).await.unwrap();
                    (asked, answers)
                })
            })
            .collect();
        let mut winners: std::collections::HashMap<String, Vec<String>> = Default::default();
        let mut losers: Vec<(String, String)> = Vec::new();
        for (i, claim) in claims.into_iter().enumerate() {
            let (asked, answers) = claim.await.unwrap();
            assert_eq!(answers.len(), JOBS);
            for ((slug, tick), answer) in asked.into_iter().zip(answers) {
                match answer {
                    Claim::Won(token) => {
                        assert_eq!((token.slug.as_str(), token.tick), (slug.as_str(), tick));
                        winners
                            .entry(slug)
                            .or_default()
                            .push(format!("replica-{i}"));
                    }
                    Claim::Lost(held) => {
                        assert!(!held.finished);
                        assert!(held.retry_in > LONG - Duration::from_secs(60));
                        losers.push((slug, held.owner));
                    }
                    Claim::Paused => panic!("{slug} paused"),
                }
            }
        }
        assert_eq!(winners.len(), JOBS, "minute {minute}: ticks without winner");
        for (slug, won_by) in &winners {
            assert_eq!(
                won_by.len(),
                1,
                "{slug} at minute {minute} won by {won_by:?}"
            );
        }
        assert_eq!(losers.len(), JOBS * 5);
        for (slug, owner) in &losers {
            assert_eq!(
                owner, &winners[slug][0],
                "{slug}: a loser names another owner"
            );
        }
        for slug in ["job-0", "job-150", "job-299"] {
            let history = replicas[0].history(slug, 1).await.unwrap();
            assert_eq!(history[0].tick, tick(minute));
            assert_eq!(history[0].owner, winners[slug][0]);
        }
    }
}

/// A batch mixing new, running and finished ticks answers each in place; renewing and
/// finishing in batches answer per token (a token taken over answers `false` and changes
/// nothing), finishing twice records once, and the history holds each outcome.
pub(crate) async fn batches_answer_each_tick_in_place(store: &impl Store) {
    let a = store.replica("a").await;
    let b = store.replica("b").await;
    let running = won(b.claim("running", tick(1), LONG).await.unwrap());
    let done = won(b.claim("done", tick(1), LONG).await.unwrap());
    let ok = RunOutcome::new(RunStatus::Ok, Duration::from_millis(10));
    assert!(b.finish(&done, &ok).await.unwrap());
    let answers = a
        .claim_many(
            &[
                ("new-1", tick(1)),
                ("running", tick(1)),
                ("new-2", tick(1)),
                ("done", tick(1)),
                ("new-1", tick(2)),
            ],
            LONG,
        )
        .await
        .unwrap();
    let [Claim::Won(new1), Claim::Lost(held_running), Claim::Won(new2), Claim::Lost(held_done), Claim::Won(new1b)] =
        &answers[..]
    else {
        panic!("{answers:?}")
    };
    assert_eq!((new1.slug.as_str(), new1.tick), ("new-1", tick(1)));
    assert_eq!((new2.slug.as_str(), new2.tick), ("new-2", tick(1)));
    assert_eq!((new1b.slug.as_str(), new1b.tick), ("new-1", tick(2)));
    assert_eq!(held_running.owner, "b");
    assert!(!held_running.finished);
    assert_eq!(held_done.owner, "b");
    assert!(held_done.finished);
    assert!(a.claim_many(&[], LONG).await.unwrap().is_empty());

    // `short` expires and is taken over by b: a's token of it is stale from then on.
    let short = won(a.claim("short", tick(1), Duration::ZERO).await.unwrap());
    let_lease_expire().await;
    let taken = won(b.take_over("short", tick(1), LONG).await.unwrap());
    let tokens = [new1.clone(), short.clone(), new2.clone(), running.clone()];
    assert_eq!(
        a.renew_many(&tokens, LONG).await.unwrap(),
        // `running` is b's claim, renewed through b's token whichever replica sends it.
        [true, false, true, true]
    );
    assert!(a.renew_many(&[], LONG).await.unwrap().is_empty());
    let failed = RunOutcome {
        status: RunStatus::Error,
        duration: Duration::from_millis(42),
        message: Some("disk full".into()),
    };
    let runs = [
        (new1.clone(), ok.clone()),
        (short.clone(), ok.clone()),
        (new2.clone(), failed.clone()),
    ];
    assert_eq!(a.finish_many(&runs).await.unwrap(), [true, false, true]);
    assert_eq!(a.finish_many(&runs).await.unwrap(), [false, false, false]);
    assert!(a.finish_many(&[]).await.unwrap().is_empty());
    // Finished claims are no longer renewed.
    assert_eq!(a.renew_many(&tokens[..1], LONG).await.unwrap(), [false]);

    let record = |slug: &'static str| {
        let a = a.clone();
        async move { a.history(slug, 1).await.unwrap().remove(0) }
    };
    let first = record("new-1").await;
    assert_eq!(first.tick, tick(2), "newest first");
    let first = a.history("new-1", 2).await.unwrap().remove(1);
    assert_eq!(
        (first.status, first.duration),
        (Some(RunStatus::Ok), Some(Duration::from_millis(10)))
    );
    let second = record("new-2").await;
    assert_eq!(second.status, Some(RunStatus::Error));
    assert_eq!(second.message.as_deref(), Some("disk full"));
    let short = record("short").await;
    assert_eq!((short.owner.as_str(), short.status), ("b", None));
    assert!(b.finish(&taken, &ok).await.unwrap());
}

/// The sweep's query lists exactly the unfinished claims of the asked slugs whose lease has
/// expired, with a tick at or after `since`.
pub(crate) async fn expired_claims_are_exactly_the_expired_unfinished_ones(store: &impl Store) {
    let a = store.replica("a").await;
    let ok = RunOutcome::new(RunStatus::Ok, Duration::from_millis(1));
    let expired_1 = won(a.claim("job", tick(10), Duration::ZERO).await.unwrap());
    let _expired_2 = won(a.claim("other", tick(11), Duration::ZERO).await.unwrap());
    let _too_old = won(a.claim("job", tick(5), Duration::ZERO).await.unwrap());
    let _not_asked = won(a.claim("unasked", tick(10), Duration::ZERO).await.unwrap());
    let _running = won(a.claim("job", tick(11), LONG).await.unwrap());
    let finished = won(a.claim("job", tick(12), Duration::ZERO).await.unwrap());
    assert!(a.finish(&finished, &ok).await.unwrap());
    let_lease_expire().await;

    let mut expired = a
        .expired_claims(&["job", "other", "never-claimed"], tick(10))
        .await
        .unwrap();
    expired.sort();
    assert_eq!(
        expired,
        [("job".to_owned(), tick(10)), ("other".to_owned(), tick(11))]
    );
    assert!(a.expired_claims(&[], tick(0)).await.unwrap().is_empty());
    // Renewed, it is no longer expired; taken over, neither.
    assert!(a.renew(&expired_1, LONG).await.unwrap());
    let b = store.replica("b").await;
    won(b.take_over("other", tick(11), LONG).await.unwrap());
    let expired = b.expired_claims(&["job", "other"], tick(10)).await.unwrap();
    assert!(expired.is_empty(), "{expired:?}");
    let mut older = b.expired_claims(&["job"], tick(0)).await.unwrap();
    older.sort();
    assert_eq!(older, [("job".to_owned(), tick(5))]);
}

/// A replica renews its claims while it writes outcomes of the same claims, each batch in
/// another order (as its renewal task and outcome writer do): neither waits on the other
/// crosswise (a deadlock the server would break by failing one), and every outcome is
/// recorded.
pub(crate) async fn renewing_while_finishing_the_same_claims_never_deadlocks(store: &impl Store) {
    const JOBS: usize = 300;
    let a = store.replica("a").await;
    for minute in 0..5 {
        let slugs: Vec<String> = (0..JOBS).map(|j| format!("job-{j}")).collect();
        let ticks = batch(JOBS, minute, &slugs);
        let tokens: Vec<ClaimToken> = a
            .claim_many(&ticks, LONG)
            .await
            .unwrap()
            .into_iter()
            .map(won)
            .collect();
        let mut runs: Vec<(ClaimToken, RunOutcome)> = tokens
            .iter()
            .map(|t| (t.clone(), RunOutcome::new(RunStatus::Ok, Duration::ZERO)))
            .collect();
        runs.reverse();
        let renewing = {
            let (a, tokens) = (a.clone(), tokens.clone());
            tokio::spawn(async move { a.renew_many(&tokens, LONG).await })
        };
        let finishing = {
            let a = a.clone();
            tokio::spawn(async move { a.finish_many(&runs).await })
        };
        let renewed = renewing.await.unwrap().expect("renewing failed");
        let finished = finishing.await.unwrap().expect("finishing failed");
        assert!(
            finished.iter().all(|f| *f),
            "minute {minute}: an outcome was not recorded"
        );
        assert_eq!(renewed.len(), JOBS);
    }
}

/// Fencing tokens strictly increase with every claim (alone or in a batch) and every take-over
/// of a job's ticks, whichever replica wins; a lost claim gets none; the history shows the
/// current owner's.
pub(crate) async fn fencing_tokens_grow_with_every_claim_and_take_over(store: &impl Store) {
    let a = store.replica("a").await;
    let b = store.replica("b").await;
    let mut last = 0;
    let mut grows = |token: &ClaimToken| {
        assert!(
            token.fencing_token > last,
            "token {} of {}@{} after {last}",
            token.fencing_token,
            token.slug,
            token.tick
        );
        last = token.fencing_token;
    };
    // Claims by either replica.
    for minute in 0..4 {
        let replica = if minute % 2 == 0 { &a } else { &b };
        grows(&won(replica
            .claim("report", tick(minute), LONG)
            .await
            .unwrap()));
    }
    // A batch: each won claim of the job gets a new token, above every earlier one (tokens
    // are per job: another job's may be lower).
    let batch = [("report", tick(4)), ("other", tick(4)), ("report", tick(5))];
    let claims: Vec<ClaimToken> = b
        .claim_many(&batch, LONG)
        .await
        .unwrap()
        .into_iter()
        .map(won)
        .collect();
    let (fourth, fifth) = (claims[0].fencing_token, claims[2].fencing_token);
    assert_ne!(fourth, fifth);
    assert!(fourth.min(fifth) > last, "{fourth}, {fifth} after {last}");
    assert!(claims[1].fencing_token > 0);
    last = fourth.max(fifth);
    let mut grows = |token: &ClaimToken| {
        assert!(
            token.fencing_token > last,
            "{} after {last}",
            token.fencing_token
        );
        last = token.fencing_token;
    };
    // A lost claim gets nothing; a take-over gets a token above the holder's, twice over.
    assert!(matches!(
        a.claim("report", tick(5), LONG).await.unwrap(),
        Claim::Lost(_)
    ));
    let stalled = won(a.claim("report", tick(6), Duration::ZERO).await.unwrap());
    grows(&stalled);
    let_lease_expire().await;
    let first = won(b
        .take_over("report", tick(6), Duration::ZERO)
        .await
        .unwrap());
    grows(&first);
    let_lease_expire().await;
    let second = won(a.take_over("report", tick(6), LONG).await.unwrap());
    grows(&second);
    let history = a.history("report", 1).await.unwrap();
    assert_eq!(history[0].tick, tick(6));
    assert_eq!(history[0].fencing_token, Some(second.fencing_token));
    // A later tick, after the take-overs, is above them all.
    grows(&won(b.claim("report", tick(7), LONG).await.unwrap()));
}
