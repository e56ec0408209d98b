//! Check-in delivery end to end: the real sentry client with its default options, the
//! scheduler's own sender, a local ingest endpoint that accepts, rate-limits, fails or
//! hangs; the scheduler on tokio's paused clock. The clients have no panic integration: a
//! failing assertion's panic event would go to an endpoint that may hang, and dropping the
//! client would wait for it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed `expect` is a failed test"
)]
use sentry_schedule::{
    CheckInCounters, CheckInSender, CheckInStats, Job, JobContext, SchedulerBuilder,
    CHECK_IN_REQUESTS_IN_FLIGHT,
};
use sentry_schedule_tests::three_ticks::{DUE, RUN_FOR, START};
use sentry_schedule_tests::{
    bind, client, client_with, count, run_scheduler_with, Ingest, Mode, Request,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Bounds a failing wait on the ingest endpoint; passing tests never wait this long.
const LIMIT: Duration = Duration::from_secs(20);

/// Every run's check-ins in arrival order, by check-in id: each must be exactly
/// `in_progress` then one final status.
fn assert_per_run_order(check_ins: &[Value]) -> HashMap<String, Vec<String>> {
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    for check_in in check_ins {
        runs.entry(check_in["check_in_id"].as_str().expect("id").to_owned())
            .or_default()
            .push(check_in["status"].as_str().expect("status").to_owned());
    }
    for (id, statuses) in &runs {
        assert_eq!(statuses.len(), 2, "run {id}: {statuses:?}");
        assert_eq!(statuses[0], "in_progress", "run {id}: {statuses:?}");
        assert!(
            statuses[1] == "ok" || statuses[1] == "error",
            "run {id}: {statuses:?}"
        );
    }
    runs
}

#[tokio::test(start_paused = true)]
async fn a_thousand_jobs_due_together_deliver_all_2000_check_ins_in_order() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), false));
    let jobs = startup_jobs("job", 1000);

    let (_, counters) =
        run_scheduler_with(START, Duration::from_secs(10), jobs, |builder| builder).await;

    // The scheduler's shutdown drained the queue: everything is there already.
    let envelopes = ingest.envelopes();
    let check_ins = ingest.check_ins();
    println!(
        "1000 jobs due together: {} check-ins in {} envelopes, {} HTTP requests",
        check_ins.len(),
        envelopes.len(),
        ingest.requests()
    );
    assert_eq!(check_ins.len(), 2000);
    let runs = assert_per_run_order(&check_ins);
    assert_eq!(runs.len(), 1000);
    let slugs: std::collections::HashSet<&str> = check_ins
        .iter()
        .map(|c| c["monitor_slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs.len(), 1000);
    let stats = counters.snapshot();
    assert_eq!(
        (stats.queued, stats.sent, stats.pending),
        (2000, 2000, 0),
        "{stats:?}"
    );
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(ingest.errors().is_empty(), "{:?}", ingest.errors());
}

/// One monitored job on every minute, for three ticks, against an endpoint in `fault`:
/// its first run waits until the endpoint has seen the first check-in (so exactly that
/// one request meets the fault before anything else is sent); its last run ends the fault.
/// Every run must start on time, and all 6 check-ins arrive in order after recovery.
async fn recovers_from(fault: Mode) -> (Ingest, CheckInStats) {
    let ingest = Ingest::start(fault);
    let _hub = bind(client(&ingest.dsn(), false));
    let (job, starts) = {
        let ingest = ingest.clone();
        every_minute(move |run| {
            let ingest = ingest.clone();
            async move {
                if run == 1 {
                    // Real time; tokio's clock does not move while a blocking task runs.
                    let seen =
                        tokio::task::spawn_blocking(move || ingest.wait_for_requests(1, LIMIT));
                    assert!(seen.await.expect("wait"), "no check-in was sent");
                } else if run == DUE.len() {
                    ingest.set_mode(Mode::Accept);
                }
            }
        })
    };

    let (_, counters) = run_scheduler_with(START, RUN_FOR, vec![job], |builder| builder).await;

    assert_eq!(*starts.lock().expect("lock"), DUE, "runs started late");
    let arrived = ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 6);
    assert!(
        arrived,
        "{:#?} {:?}",
        ingest.check_ins(),
        counters.snapshot()
    );
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 6, "{check_ins:#?}");
    assert_eq!(assert_per_run_order(&check_ins).len(), 3);
    let log = ingest.request_log();
    assert_eq!(log[0].mode, fault, "the first request met the fault");
    let stats = counters.snapshot();
    assert_eq!((stats.queued, stats.sent), (6, 6), "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    (ingest, stats)
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_until_the_endpoint_recovers() {
    let (_, stats) = recovers_from(Mode::Status(500)).await;
    assert!(stats.retried >= 1, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_endpoint_delays_no_run_and_gets_every_check_in_once_it_recovers() {
    let (_, stats) = recovers_from(Mode::Hang).await;
    assert!(stats.retried >= 1, "{stats:?}");
}

/// `nightly-export` on every minute, recording when each run started (on tokio's clock,
/// from now); `body` makes the run's future from its number (1 for the first run).
fn every_minute<Fut>(
    body: impl Fn(usize) -> Fut + Send + Sync + 'static,
) -> (Job, Arc<Mutex<Vec<Duration>>>)
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let t0 = Instant::now();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&starts);
    let job = Job::builder("nightly-export", "* * * * *")
        .run(move |_ctx: JobContext| {
            let run = {
                let mut starts = recorded.lock().expect("lock");
                starts.push(t0.elapsed());
                starts.len()
            };
            body(run)
        })
        .build()
        .expect("valid job");
    (job, starts)
}

/// `n` monitored jobs `<prefix>-0000`, `<prefix>-0001`, … that run once at start-up and
/// succeed.
fn startup_jobs(prefix: &str, n: usize) -> Vec<Job> {
    (0..n)
        .map(|i| {
            Job::builder(format!("{prefix}-{i:04}"), "0 0 * * *")
                .run_at_startup(true)
                .run(|_ctx: JobContext| async {})
                .build()
                .expect("valid job")
        })
        .collect()
}

/// The unmonitored job `recovery` on `schedule` (it ends a fault, so it sends no
/// check-ins of its own); `body` makes each run's future.
fn recovery_job<Fut>(schedule: &str, body: impl Fn() -> Fut + Send + Sync + 'static) -> Job
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Job::builder("recovery", schedule)
        .monitor(false)
        .run(move |_ctx: JobContext| body())
        .build()
        .expect("valid job")
}

/// A scheduler of only the jobs it is given, its wall clock starting at [`START`] and
/// following tokio's, that shuts down after `run_for` on tokio's clock.
fn scheduler_for(run_for: Duration) -> SchedulerBuilder {
    sentry_schedule::Scheduler::builder()
        .registered_jobs(false)
        .clock(sentry_schedule::TestClock::new(
            START.parse().expect("start"),
        ))
        .shutdown_signal(tokio::time::sleep(run_for))
}

/// The request time-out of [`an_endpoint_silent_for_longer_than_the_request_timeout_recovers`]
/// (30 s by default; shorter here so the test takes seconds, not minutes).
const SHORT_TIMEOUT: Duration = Duration::from_secs(1);

/// An endpoint that accepts connections and reads every request but answers none, for
/// longer than the sender's request time-out: the first `in_progress` and at least one
/// retry are given up by the client at the time-out (the endpoint sees the client close
/// the connection), while the runs keep starting on their ticks. Then the endpoint
/// recovers: every check-in arrives, `in_progress` before final per run, with the
/// retries counted. Each step waits on what the endpoint or the counters saw.
#[tokio::test(start_paused = true)]
async fn an_endpoint_silent_for_longer_than_the_request_timeout_recovers() {
    let ingest = Ingest::start(Mode::Hang);
    let _hub = bind(client(&ingest.dsn(), false));
    let waited = Arc::new(Mutex::new(Vec::new()));
    let recovered_at = Arc::new(Mutex::new(None));
    let counters = Arc::new(std::sync::OnceLock::<CheckInCounters>::new());
    let (job, starts) = {
        let (ingest, waited, recovered_at, counters) = (
            ingest.clone(),
            Arc::clone(&waited),
            Arc::clone(&recovered_at),
            Arc::clone(&counters),
        );
        every_minute(move |run| {
            let (ingest, waited, recovered_at, counters) = (
                ingest.clone(),
                Arc::clone(&waited),
                Arc::clone(&recovered_at),
                Arc::clone(&counters),
            );
            async move {
                // The first request's check-in (run 1's `in_progress`) given up `n` times.
                let given_up = move |n: usize| {
                    move |log: &[Request]| {
                        let Some(first) = log.first().and_then(|r| r.check_ins.first()) else {
                            return false;
                        };
                        let attempts = log
                            .iter()
                            .filter(|r| r.abandoned_after.is_some() && r.check_ins.contains(first));
                        attempts.count() >= n
                    }
                };
                if run == 1 {
                    // Until the client gave up on the first `in_progress`.
                    let ingest = ingest.clone();
                    let done = tokio::task::spawn_blocking(move || {
                        ingest.wait_for_log(LIMIT, given_up(1))
                    });
                    let done = done.await.expect("wait");
                    waited.lock().expect("lock").push(("first timed out", done));
                } else if run == DUE.len() {
                    // Until its retry timed out too; then the endpoint recovers, and
                    // the run waits until all but its own final check-in are sent.
                    let silent = ingest.clone();
                    let done = tokio::task::spawn_blocking(move || {
                        silent.wait_for_log(LIMIT, given_up(2))
                    });
                    let done = done.await.expect("wait");
                    waited.lock().expect("lock").push(("retry timed out", done));
                    *recovered_at.lock().expect("lock") = Some(std::time::Instant::now());
                    ingest.set_mode(Mode::Accept);
                    let counters = counters.get().expect("counters");
                    let sent = counts_reach(counters, |stats| stats.sent >= 5).await;
                    waited
                        .lock()
                        .expect("lock")
                        .push(("sent after recovery", sent));
                }
            }
        })
    };
    let scheduler = scheduler_for(RUN_FOR)
        .check_in_request_timeout(SHORT_TIMEOUT)
        .jobs([job])
        .build()
        .expect("valid scheduler");
    let _ = counters.set(scheduler.check_ins());
    scheduler.run().await.expect("scheduler ran");

    let counters = counters.get().expect("counters");
    let log = ingest.request_log();
    assert_eq!(
        *waited.lock().expect("lock"),
        [
            ("first timed out", true),
            ("retry timed out", true),
            ("sent after recovery", true)
        ],
        "{log:#?} {:?}",
        counters.snapshot()
    );
    assert_eq!(*starts.lock().expect("lock"), DUE, "runs started late");
    // The client gave up on each unanswered request at its time-out, not sooner (the
    // endpoint's clock starts once it has read the request, a little after the client's).
    let given_up: Vec<Duration> = log.iter().filter_map(|r| r.abandoned_after).collect();
    assert!(given_up.len() >= 2, "{log:#?}");
    for after in &given_up {
        assert!(
            *after >= SHORT_TIMEOUT * 9 / 10,
            "given up after {after:?}: {log:#?}"
        );
    }
    // Silent for longer than two time-outs: the first attempt's and the retry's.
    let recovered_at = recovered_at.lock().expect("lock").expect("recovered");
    let silent = recovered_at.duration_since(log[0].at);
    assert!(silent > 2 * SHORT_TIMEOUT, "silent for {silent:?}");
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 6));
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 6, "{check_ins:#?}");
    assert_eq!(assert_per_run_order(&check_ins).len(), 3);
    let stats = counters.snapshot();
    assert_eq!((stats.queued, stats.sent), (6, 6), "{stats:?}");
    assert_eq!(stats.dropped.total(), 0, "{stats:?}");
    assert!(stats.retried >= 2, "{stats:?}");
    for r in &log {
        println!(
            "{:?} {:?} {:?} {:?}",
            r.at.duration_since(log[0].at),
            r.mode,
            r.check_ins,
            r.abandoned_after
        );
    }
    println!(
        "silent endpoint: silent {silent:?} with a {SHORT_TIMEOUT:?} request time-out, \
         {} requests given up, {} retried, all 6 check-ins delivered after recovery",
        given_up.len(),
        stats.retried
    );
}

/// The endpoint holds every request until the test answers it. `first` (12:00) ends while
/// its `in_progress` is held; `second` (12:01) has its `in_progress` sent past `first`'s
/// waiting final and answered, then its final follows. By then `first`'s final must not
/// have been sent: it waits for the answer to its `in_progress`, and follows it once the
/// endpoint answers (12:02). Deterministic: every step waits on what the endpoint saw.
#[tokio::test(start_paused = true)]
async fn a_final_check_in_never_overtakes_its_in_progress() {
    let ingest = Ingest::start(Mode::Hold(None));
    let _hub = bind(client(&ingest.dsn(), false));
    // What the endpoint had seen when `second`'s final arrived, and each wait's outcome.
    let seen = Arc::new(Mutex::new(None::<Vec<Request>>));
    let waited = Arc::new(Mutex::new(Vec::new()));
    let step = |slug: &'static str, schedule: &'static str, monitor: bool| {
        let (ingest, seen, waited) = (ingest.clone(), Arc::clone(&seen), Arc::clone(&waited));
        Job::builder(slug, schedule)
            .monitor(monitor)
            .run(move |_ctx: JobContext| {
                let (ingest, seen, waited) = (ingest.clone(), seen.clone(), waited.clone());
                async move {
                    let ok = tokio::task::spawn_blocking(move || match slug {
                        // Until its `in_progress` is held (request 0).
                        "first" => ingest.wait_for_requests(1, LIMIT),
                        // Until its `in_progress` arrived (request 1), then answered.
                        "second" => {
                            let sent = ingest.wait_for_log(LIMIT, |log| {
                                log.iter().any(|r| r.has_check_in("second", "in_progress"))
                            });
                            let log = ingest.request_log();
                            if let Some(at) = log
                                .iter()
                                .position(|r| r.has_check_in("second", "in_progress"))
                            {
                                ingest.release(at);
                            }
                            sent
                        }
                        // Until `second`'s final arrived; then the endpoint recovers.
                        _ => {
                            let done = ingest.wait_for_log(LIMIT, |log| {
                                log.iter().any(|r| r.has_check_in("second", "ok"))
                            });
                            *seen.lock().expect("lock") = Some(ingest.request_log());
                            ingest.set_mode(Mode::Accept);
                            done
                        }
                    });
                    let ok = ok.await.expect("wait");
                    waited.lock().expect("lock").push((slug, ok));
                }
            })
            .build()
            .expect("valid job")
    };
    let jobs = vec![
        step("first", "0 12 * * *", true),
        step("second", "1 12 * * *", true),
        step("recovery", "2 12 * * *", false),
    ];

    let (_, counters) = run_scheduler_with(START, RUN_FOR, jobs, |builder| builder).await;

    assert_eq!(
        *waited.lock().expect("lock"),
        [("first", true), ("second", true), ("recovery", true)],
        "{:#?}",
        ingest.request_log()
    );
    let seen: Vec<(String, String)> = seen
        .lock()
        .expect("lock")
        .take()
        .expect("the recovery step ran")
        .into_iter()
        .flat_map(|r| r.check_ins)
        .map(|c| (c.monitor_slug, c.status))
        .collect();
    let pair = |slug: &str, status: &str| (slug.to_owned(), status.to_owned());
    assert_eq!(
        seen,
        [
            pair("first", "in_progress"),
            pair("second", "in_progress"),
            pair("second", "ok")
        ],
        "`first`'s final overtook its unanswered in_progress"
    );
    assert!(ingest.wait_until(LIMIT, |e| count(e, "check_in") >= 4));
    let check_ins = ingest.check_ins();
    assert_eq!(assert_per_run_order(&check_ins).len(), 2, "{check_ins:#?}");
    let stats = counters.snapshot();
    assert_eq!(
        (stats.queued, stats.sent, stats.pending),
        (4, 4, 0),
        "{stats:?}"
    );
}

/// Monitored jobs of [`arrive_while_the_others_wait`], and how many of them fail.
const MONITORED: usize = 200;
const FAILING: usize = 20;

/// Events and check-ins don't wait for each other. 200 monitored jobs run at start-up, 20
/// of them fail (each failure an error event, sent by the client's own transport), and
/// the application captures an event outside the jobs once the burst is under way. The
/// client samples transactions (at rate 0), so final check-ins also make it send envelopes
/// for its client reports. The endpoint holds every request carrying an item of type
/// `held`; what the other kind sends must all arrive meanwhile, and the held kind after.
async fn arrive_while_the_others_wait(held: &'static str) -> (Ingest, CheckInStats) {
    let ingest = Ingest::start(Mode::Hold(Some(held)));
    let _hub = bind(client_with(&ingest.dsn(), false, |o| {
        o.traces_sample_rate(0.0)
    }));
    let app = sentry::Hub::current();
    let counters = Arc::new(std::sync::OnceLock::<CheckInCounters>::new());
    let waited = Arc::new(Mutex::new(Vec::new()));
    let jobs = (0..MONITORED).map(|n| {
        Job::builder(format!("job-{n:03}"), "0 0 * * *")
            .run_at_startup(true)
            .run(move |_ctx: JobContext| async move {
                if n % (MONITORED / FAILING) == 0 {
                    Err(anyhow::anyhow!("job-{n:03} failed"))
                } else {
                    Ok(())
                }
            })
            .build()
            .expect("valid job")
    });
    // The application's own event, once the endpoint holds a request of the `held` kind.
    let application = {
        let (ingest, waited) = (ingest.clone(), Arc::clone(&waited));
        tokio::spawn(async move {
            let holding = tokio::task::spawn_blocking(move || {
                ingest.wait_for_log(LIMIT, |log| {
                    log.iter().any(|r| match held {
                        "check_in" => !r.check_ins.is_empty(),
                        _ => r.events > 0,
                    })
                })
            });
            let holding = holding.await.expect("wait");
            waited
                .lock()
                .expect("lock")
                .push(("burst under way", holding));
            app.capture_message("application event during the burst", sentry::Level::Warning);
        })
    };
    let events = FAILING + 1;
    let check_ins = 2 * MONITORED as u64;
    let recovery = {
        let (ingest, counters, waited) =
            (ingest.clone(), Arc::clone(&counters), Arc::clone(&waited));
        recovery_job("0 12 * * *", move || {
            let (ingest, counters, waited) =
                (ingest.clone(), Arc::clone(&counters), Arc::clone(&waited));
            async move {
                let counters = counters.get().expect("counters").clone();
                let events_arrived = {
                    let ingest = ingest.clone();
                    move || ingest.wait_until(LIMIT, |e| count(e, "event") >= events)
                };
                // The other kind, all of it, while the held kind waits.
                let (others, none_held) = if held == "check_in" {
                    let all = tokio::task::spawn_blocking(events_arrived.clone());
                    let all = all.await.expect("wait");
                    (all, ingest.check_ins().is_empty())
                } else {
                    let all = counts_reach(&counters, move |s| s.sent >= check_ins).await;
                    (all, ingest.events().is_empty())
                };
                waited
                    .lock()
                    .expect("lock")
                    .push(("others arrived", others));
                waited
                    .lock()
                    .expect("lock")
                    .push(("none held arrived", none_held));
                ingest.set_mode(Mode::Accept);
                // Then the held kind.
                let then = if held == "check_in" {
                    counts_reach(&counters, move |s| s.sent >= check_ins).await
                } else {
                    let all = tokio::task::spawn_blocking(events_arrived);
                    all.await.expect("wait")
                };
                waited.lock().expect("lock").push(("held arrived", then));
            }
        })
    };
    let scheduler = scheduler_for(RUN_FOR)
        .jobs(jobs.chain([recovery]))
        .build()
        .expect("valid scheduler");
    let _ = counters.set(scheduler.check_ins());
    scheduler.run().await.expect("scheduler ran");
    application.await.expect("the application task");

    let stats = counters.get().expect("counters").snapshot();
    assert_eq!(
        *waited.lock().expect("lock"),
        [
            ("burst under way", true),
            ("others arrived", true),
            ("none held arrived", true),
            ("held arrived", true)
        ],
        "{} events, {stats:?}",
        ingest.events().len()
    );
    let stored = ingest.events();
    assert_eq!(stored.len(), events, "{stored:#?}");
    let mut failed: Vec<&str> = stored
        .iter()
        .filter_map(|e| e["tags"]["monitor.slug"].as_str())
        .collect();
    failed.sort_unstable();
    let expected: Vec<String> = (0..MONITORED)
        .step_by(MONITORED / FAILING)
        .map(|n| format!("job-{n:03}"))
        .collect();
    assert_eq!(failed, expected);
    assert!(
        stored
            .iter()
            .any(|e| e["message"] == "application event during the burst"
                || e["logentry"]["message"] == "application event during the burst"),
        "{stored:#?}"
    );
    let check_ins = ingest.check_ins();
    assert_eq!(check_ins.len(), 2 * MONITORED);
    assert_eq!(assert_per_run_order(&check_ins).len(), MONITORED);
    assert_eq!(
        (stats.queued, stats.sent, stats.dropped.total()),
        (2 * MONITORED as u64, 2 * MONITORED as u64, 0),
        "{stats:?}"
    );
    (ingest, stats)
}

/// Every check-in request is held (the sender's 8 in flight, the rest queued): all the
/// jobs' error events and the application's event arrive meanwhile.
#[tokio::test(start_paused = true)]
async fn events_arrive_while_check_in_requests_hang() {
    arrive_while_the_others_wait("check_in").await;
}

/// Every event request is held (the client's transport sends one at a time, so it waits
/// on the first): all 400 check-ins arrive meanwhile.
#[tokio::test(start_paused = true)]
async fn check_ins_arrive_while_event_requests_hang() {
    arrive_while_the_others_wait("event").await;
}

/// Ten unsampled runs ending together (transactions sampled at rate 0): the client counts
/// each transaction it drops in a client report, sent with the next envelope. One empty
/// envelope carries the reports of a burst, at most one a second; the reports of runs
/// that end after it are carried by the shutdown's flush. All ten reach Sentry.
#[tokio::test(start_paused = true)]
async fn the_client_reports_of_a_burst_all_reach_sentry() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client_with(&ingest.dsn(), false, |o| {
        o.traces_sample_rate(0.0)
    }));
    let jobs = startup_jobs("unsampled", 10);

    run_scheduler_with(START, Duration::from_secs(10), jobs, |builder| builder).await;

    let dropped = |e: &[sentry_schedule_tests::Envelope]| -> u64 {
        e.iter()
            .flat_map(|e| &e.items)
            .filter(|i| i.ty == "client_report")
            .filter_map(|i| i.json().ok())
            .flat_map(|r| {
                r["discarded_events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|d| d["reason"] == "sample_rate" && d["category"] == "transaction")
            .map(|d| d["quantity"].as_u64().unwrap_or(0))
            .sum()
    };
    let all = ingest.wait_until(LIMIT, |e| dropped(e) >= 10);
    assert!(all, "{} of 10 reported", dropped(&ingest.envelopes()));
    assert_eq!(dropped(&ingest.envelopes()), 10);
}

/// A `429` whose `X-Sentry-Rate-Limits` limits the `monitor` category for 2 s (and whose
/// `Retry-After` says 1 s, which the header overrides): nothing is sent for 2 s after it.
#[tokio::test(start_paused = true)]
async fn rate_limits_pause_sending_as_long_as_sentry_asks() {
    let limited = Mode::RateLimited {
        retry_after: Some("1"),
        rate_limits: Some("2:monitor;error:project:quota_exceeded"),
    };
    let (ingest, stats) = recovers_from(limited).await;
    assert!(stats.rate_limited >= 1 && stats.retried >= 1, "{stats:?}");
    let log = ingest.request_log();
    for (limited_at, next) in log.iter().zip(&log[1..]) {
        if limited_at.mode == limited {
            let gap = next.at.duration_since(limited_at.at);
            assert!(
                gap >= Duration::from_secs(2),
                "sent again after {gap:?}: {log:#?}"
            );
        }
    }
}

/// The endpoint holds every request until the test lets it answer. Eight `holder` jobs
/// started at start-up fill the sender's [`CHECK_IN_REQUESTS_IN_FLIGHT`] requests with
/// their `in_progress` check-ins, so nothing else can be sent; the queue's capacity is
/// forced to those plus 6. Then 20 jobs, one per minute, push 40 check-ins into the 6
/// places: the oldest waiting `in_progress` goes first, then (only finals waiting) a new
/// `in_progress` or the oldest final. Worked out by hand: the queue ends with the finals
/// of jobs 14 to 19; 34 dropped. At 12:20 the endpoint answers and the 6 are delivered;
/// the holders end at 12:25 and their finals follow.
#[tokio::test(start_paused = true)]
async fn at_capacity_the_oldest_in_progress_check_ins_are_dropped_first() {
    let ingest = Ingest::start(Mode::Hold(None));
    let _hub = bind(client(&ingest.dsn(), false));
    let (warnings, _logs) = Warnings::capture();
    let counters = Arc::new(std::sync::OnceLock::<CheckInCounters>::new());
    let waited = Arc::new(Mutex::new(Vec::new()));
    let holders = (0..CHECK_IN_REQUESTS_IN_FLIGHT).map(|n| {
        let (ingest, waited) = (ingest.clone(), Arc::clone(&waited));
        Job::builder(format!("holder-{n}"), "0 0 * * *")
            .run_at_startup(true)
            .run(move |_ctx: JobContext| {
                let (ingest, waited) = (ingest.clone(), Arc::clone(&waited));
                async move {
                    // Until every holder's `in_progress` is held in flight.
                    let full = tokio::task::spawn_blocking(move || {
                        ingest.wait_for_requests(CHECK_IN_REQUESTS_IN_FLIGHT, LIMIT)
                    });
                    let full = full.await.expect("wait");
                    waited.lock().expect("lock").push(("in flight", full));
                    // Past the burst and the recovery (tokio's clock).
                    tokio::time::sleep(Duration::from_secs(26 * 60)).await;
                }
            })
            .build()
            .expect("valid job")
    });
    let burst = (0..20).map(|minute| {
        Job::builder(format!("job-{minute:02}"), format!("{minute} 12 * * *"))
            .run(|_ctx: JobContext| async {})
            .build()
            .expect("valid job")
    });
    let recovery = {
        let (ingest, counters, waited) =
            (ingest.clone(), Arc::clone(&counters), Arc::clone(&waited));
        recovery_job("20 12 * * *", move || {
            let (ingest, counters, waited) =
                (ingest.clone(), Arc::clone(&counters), Arc::clone(&waited));
            async move {
                ingest.set_mode(Mode::Accept);
                // Until the holders' in_progress and the 6 left are sent, before the
                // holders end and push their finals.
                let counters = counters.get().expect("counters").clone();
                let sent = counts_reach(&counters, |stats| stats.sent >= 14).await;
                waited.lock().expect("lock").push(("recovered", sent));
            }
        })
    };
    let scheduler = scheduler_for(Duration::from_secs(31 * 60))
        .check_in_queue_capacity(CHECK_IN_REQUESTS_IN_FLIGHT + 6)
        // Held requests must not time out, whatever the machine's speed.
        .check_in_request_timeout(Duration::from_secs(3600))
        .jobs(holders.chain(burst).chain([recovery]))
        .build()
        .expect("valid scheduler");
    let _ = counters.set(scheduler.check_ins());
    scheduler.run().await.expect("scheduler ran");

    let counters = counters.get().expect("counters");
    let mut expected_waits = vec![("in flight", true); CHECK_IN_REQUESTS_IN_FLIGHT];
    expected_waits.push(("recovered", true));
    assert_eq!(
        *waited.lock().expect("lock"),
        expected_waits,
        "{:?}",
        counters.snapshot()
    );
    let holders = 2 * CHECK_IN_REQUESTS_IN_FLIGHT;
    let arrived = ingest.wait_until(LIMIT, |e| count(e, "check_in") >= holders + 6);
    assert!(
        arrived,
        "{:#?} {:?}",
        ingest.check_ins(),
        counters.snapshot()
    );
    // Sent side by side once the endpoint answered: compared in slug order.
    let mut delivered: Vec<(String, String)> = ingest
        .check_ins()
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().expect(key).to_owned();
            (text("monitor_slug"), text("status"))
        })
        .filter(|(slug, _)| slug.starts_with("job-"))
        .collect();
    delivered.sort();
    let expected: Vec<(String, String)> = (14..20)
        .map(|minute| (format!("job-{minute:02}"), "ok".to_owned()))
        .collect();
    let stats = counters.snapshot();
    assert_eq!(delivered, expected, "{stats:?}");
    assert_eq!(
        assert_per_run_order(
            &ingest
                .check_ins()
                .into_iter()
                .filter(|c| c["monitor_slug"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("holder-")))
                .collect::<Vec<_>>()
        )
        .len(),
        CHECK_IN_REQUESTS_IN_FLIGHT
    );
    let holders = holders as u64;
    assert_eq!(
        (
            stats.queued,
            stats.sent,
            stats.dropped.queue_full,
            stats.pending
        ),
        (40 + holders, 6 + holders, 34, 0),
        "{stats:?}"
    );
    assert_eq!(stats.dropped.total(), 34, "{stats:?}");
    // Each drop is one warning naming the monitor.
    let logged = warnings.text();
    let drops: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("check-in queue full"))
        .collect();
    assert_eq!(drops.len(), 34, "{logged}");
    for minute in 0..20 {
        let monitor = format!("monitor=job-{minute:02}");
        let expected = if minute < 14 { 2 } else { 1 };
        let found = drops.iter().filter(|line| line.contains(&monitor)).count();
        assert_eq!(found, expected, "{monitor}: {logged}");
    }
    // In the order worked out by hand: the `in_progress` of jobs 0 to 5, oldest first,
    // while one waits; then each new `in_progress` itself and the oldest final.
    let field = |line: &str, key: &str| {
        let at = line
            .find(key)
            .map(|at| at + key.len())
            .unwrap_or(line.len());
        line[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned()
    };
    let order: Vec<(String, String)> = drops
        .iter()
        .map(|line| (field(line, "monitor="), field(line, "status=")))
        .collect();
    let mut expected: Vec<(String, String)> = (0..6)
        .map(|n| (format!("job-{n:02}"), "in_progress".to_owned()))
        .collect();
    for n in 6..20 {
        expected.push((format!("job-{n:02}"), "in_progress".to_owned()));
        expected.push((format!("job-{:02}", n - 6), "ok".to_owned()));
    }
    assert_eq!(order, expected, "{logged}");
}

/// What the scheduler logged (a `tracing` writer).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<u8>>>);

impl Warnings {
    /// Captures this thread's warnings (and those of threads that take its subscriber)
    /// while the guard lives.
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let warnings = Self::default();
        let guard = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::WARN)
                .with_ansi(false)
                .with_writer(warnings.clone())
                .finish(),
        );
        (warnings, guard)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl std::io::Write for Warnings {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Warnings {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// With [`CheckInSender::ClientTransport`] check-ins go through the client's own transport:
/// here sentry's `TestTransport`, which keeps them in memory.
#[tokio::test(start_paused = true)]
async fn a_configured_client_transport_receives_the_check_ins() {
    let (statuses, stats) =
        check_ins_of_a_test_transport(|b| b.check_in_sender(CheckInSender::ClientTransport)).await;
    assert_eq!(statuses, ["in_progress", "ok"]);
    assert_eq!((stats.to_transport, stats.queued), (2, 0), "{stats:?}");
}

/// With the default sender too, a client of sentry's test kit (its DSN names a host under
/// `.invalid`, which never resolves) gets the check-ins in its own transport: tests written
/// with `sentry::test` keep working without setting anything.
#[tokio::test(start_paused = true)]
async fn a_test_kit_client_receives_the_check_ins_by_default() {
    let (statuses, stats) = check_ins_of_a_test_transport(|b| b).await;
    assert_eq!(statuses, ["in_progress", "ok"]);
    assert_eq!((stats.to_transport, stats.queued), (2, 0), "{stats:?}");
}

/// Runs one start-up job with a client on sentry's `TestTransport` and the test kit's DSN;
/// the statuses of the check-ins the transport received, and the counters.
async fn check_ins_of_a_test_transport(
    configure: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
) -> (Vec<String>, CheckInStats) {
    let transport = sentry::test::TestTransport::new();
    let options = sentry::ClientOptions::new()
        .dsn("https://public@sentry.invalid/1")
        .transport(transport.clone());
    let _hub = bind(Arc::new(sentry::Client::from(options)));
    let job = startup_rollup();

    let (_, counters) =
        run_scheduler_with(START, Duration::from_secs(10), vec![job], configure).await;

    let statuses: Vec<String> = transport
        .fetch_and_clear_envelopes()
        .iter()
        .flat_map(|envelope| {
            let mut bytes = Vec::new();
            envelope.to_writer(&mut bytes).expect("serialize");
            sentry_schedule_tests::parse_envelope(&bytes)
                .expect("parse")
                .items
        })
        .filter(|item| item.ty == "check_in")
        .map(|item| {
            item.json().expect("json")["status"]
                .as_str()
                .expect("status")
                .to_owned()
        })
        .collect();
    (statuses, counters.snapshot())
}

/// An endpoint that never answers: the shutdown's flush waits its bound (5 s, real time)
/// and then counts what is unsent, the `in_progress` in flight and the final waiting
/// behind it, and names both in warnings.
#[tokio::test(start_paused = true)]
async fn what_the_shutdown_flush_cannot_send_is_counted() {
    let ingest = Ingest::start(Mode::Hang);
    let _hub = bind(client(&ingest.dsn(), false));
    let (warnings, _logs) = Warnings::capture();
    let job = startup_rollup();

    let real = std::time::Instant::now();
    let (_, counters) =
        run_scheduler_with(START, Duration::from_secs(10), vec![job], |builder| builder).await;
    let real = real.elapsed();

    let stats = counters.snapshot();
    assert_eq!(
        (
            stats.queued,
            stats.sent,
            stats.dropped.shutdown,
            stats.pending
        ),
        (2, 0, 2, 0),
        "{stats:?}"
    );
    assert!(ingest.requests() >= 1, "the in_progress was sent");
    assert!(real < Duration::from_secs(10), "the flush took {real:?}");
    assert_unsent_rollup_named(&warnings.text());
}

/// The client's `http_proxy` carries the check-ins: the DSN names a host that cannot
/// resolve, the endpoint stands in as the proxy (it gets `POST http://sentry.invalid/…`).
#[tokio::test(start_paused = true)]
async fn check_ins_go_through_the_clients_http_proxy() {
    let proxy = Ingest::start(Mode::Accept);
    let _hub = bind(client_with(
        "http://public@sentry.invalid/1",
        false,
        |options| options.http_proxy(proxy.url()),
    ));
    let job = startup_rollup();

    let (_, counters) =
        run_scheduler_with(START, Duration::from_secs(10), vec![job], |builder| builder).await;

    let statuses: Vec<Value> = proxy
        .check_ins()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses, ["in_progress", "ok"], "{:?}", proxy.errors());
    assert_eq!(counters.snapshot().sent, 2);
}

/// Whether `counters` reach `done` within [`LIMIT`] (real time: the sender runs on its own
/// thread).
async fn counts_reach(
    counters: &CheckInCounters,
    done: impl Fn(&CheckInStats) -> bool + Send + 'static,
) -> bool {
    let counters = counters.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + LIMIT;
        while !done(&counters.snapshot()) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    })
    .await
    .expect("wait")
}

/// A scheduler with one start-up job `rollup`, built for `run_now` (never `run`).
fn run_now_scheduler() -> sentry_schedule::Scheduler {
    let job = Job::builder("rollup", "0 0 * * *")
        .run(|_ctx: JobContext| async {})
        .build()
        .expect("valid job");
    sentry_schedule::Scheduler::builder()
        .registered_jobs(false)
        .clock(sentry_schedule::TestClock::new(
            START.parse().expect("start"),
        ))
        .jobs([job])
        .build()
        .expect("valid scheduler")
}

/// `run_now` from code, then the scheduler dropped without a flush: the sender keeps
/// draining on its own thread, and both check-ins arrive.
#[tokio::test(start_paused = true)]
async fn run_now_from_code_delivers_its_check_ins_after_the_scheduler_is_dropped() {
    let ingest = Ingest::start(Mode::Accept);
    let _hub = bind(client(&ingest.dsn(), false));
    let scheduler = run_now_scheduler();
    let counters = scheduler.check_ins();
    scheduler.run_now("rollup").await.expect("known slug");
    drop(scheduler);
    let arrived = counts_reach(&counters, |stats| stats.sent >= 2).await;
    assert!(arrived, "{:?}", counters.snapshot());
    let statuses: Vec<Value> = ingest
        .check_ins()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses, ["in_progress", "ok"]);
    let stats = counters.snapshot();
    assert_eq!((stats.sent, stats.dropped.total()), (2, 0), "{stats:?}");
}

/// `run_now`'s check-ins against an endpoint that never answers, the scheduler dropped
/// unflushed: within the drain bound (5 s, real time) both are counted as dropped and a
/// warning names the monitor.
#[tokio::test(start_paused = true)]
async fn a_scheduler_dropped_with_check_ins_pending_counts_and_names_them() {
    let ingest = Ingest::start(Mode::Hang);
    let _hub = bind(client(&ingest.dsn(), false));
    let (warnings, _logs) = Warnings::capture();
    let scheduler = run_now_scheduler();
    let counters = scheduler.check_ins();
    scheduler.run_now("rollup").await.expect("known slug");
    drop(scheduler);
    let counted = counts_reach(&counters, |stats| stats.dropped.shutdown >= 2).await;
    let stats = counters.snapshot();
    assert!(counted, "{stats:?}");
    assert_eq!(
        (stats.queued, stats.sent, stats.pending),
        (2, 0, 0),
        "{stats:?}"
    );
    assert_unsent_rollup_named(&warnings.text());
}

/// Warnings (`logged`) that name `rollup` for a check-in still in flight and for one still
/// waiting when a flush bound passed.
#[track_caller]
fn assert_unsent_rollup_named(logged: &str) {
    let in_flight = logged
        .lines()
        .any(|l| l.contains("WARN") && l.contains("in flight") && l.contains("monitors=rollup"));
    let waiting = logged.lines().any(|l| {
        l.contains("WARN")
            && l.contains("not sent within the flush bound")
            && (l.contains("monitor=\"rollup\"") || l.contains("monitor=rollup"))
    });
    assert!(in_flight && waiting, "{logged}");
}

/// One monitored job, `rollup`, that runs once at start-up and succeeds: two check-ins.
fn startup_rollup() -> Job {
    Job::builder("rollup", "0 0 * * *")
        .run_at_startup(true)
        .run(|_ctx: JobContext| async {})
        .build()
        .expect("valid job")
}
