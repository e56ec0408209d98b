//! The runtime's blocking pool belongs to the application, which may keep every thread of
//! it busy. The scheduler uses it for the last stretch before an instant and for the Sentry
//! flush at shutdown: with the pool taken, jobs still run, their check-ins still go out, and
//! shutdown still ends (the flush gives up after its bound instead of waiting for a thread).
use sentry_schedule::{Job, JobContext, Scheduler};
use sentry_schedule_tests::{bind, client, Ingest, Mode};
use std::time::Duration;

/// Far more than the flush's bound (5 s plus 2 s); reached only if shutdown hangs.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn jobs_run_and_shutdown_ends_while_every_blocking_thread_is_taken() {
    let ingest = Ingest::start(Mode::Accept);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let _hub = bind(client(&ingest.dsn(), false));
    let ended = runtime.block_on(async move {
        // Takes the only blocking thread until the scheduler has stopped.
        let hog = tokio::task::spawn_blocking(move || {
            let _ = release_rx.recv();
        });
        let (ran_tx, mut ran_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let job = Job::builder("while-the-pool-is-busy", "1m")
            .run_at_startup(true)
            .run(move |_ctx: JobContext| {
                let _ = ran_tx.send(());
                async {}
            })
            .build()
            .expect("valid job");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let scheduler = Scheduler::builder()
            .registered_jobs(false)
            .job(job)
            .shutdown_signal(async move {
                let _ = stop_rx.await;
            })
            .build()
            .expect("valid scheduler");
        let running = tokio::spawn(scheduler.run());
        let ran = tokio::time::timeout(LIMIT, ran_rx.recv()).await;
        let _ = stop_tx.send(());
        let ended = tokio::time::timeout(LIMIT, running).await;
        let _ = release_tx.send(());
        let _ = hog.await;
        (
            ran.is_ok(),
            ended.map(|joined| joined.map(|result| result.is_ok())),
        )
    });
    assert!(ended.0, "the job did not run");
    assert!(
        matches!(ended.1, Ok(Ok(true))),
        "shutdown did not end cleanly within {LIMIT:?}: {:?}",
        ended.1
    );
    assert!(
        ingest.wait_until(Duration::from_secs(10), |envelopes| {
            sentry_schedule_tests::count(envelopes, "check_in") >= 2
        }),
        "both check-ins of the run reach the endpoint: {:?}",
        ingest.check_ins()
    );
}
