//! An idle scheduler with ten thousand jobs costs almost no CPU: no polling tick, every
//! the dispatcher sleeps until the earliest deadline, and the clock watch is the only
//! periodic wake-up.
//! (Its own test binary, so no other test shares the process while CPU time is measured.)
#![cfg(target_os = "linux")]
use sentry_schedule::{Job, JobContext, Scheduler};
use std::time::Duration;
use tokio::sync::oneshot;

const JOBS: usize = 10_000;

/// CPU time (user + system) this process has used, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("procfs");
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .expect("stat format");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; the fields after `)` start at 3.
    let field = |i: usize| -> u64 {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .expect("tick field")
    };
    field(11) + field(12)
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn ten_thousand_idle_jobs_use_almost_no_cpu() {
    let rss_before = rss_kib();
    let jobs = (0..JOBS).map(|i| {
        Job::cron(
            format!("yearly-{i:05}"),
            "0 0 1 1 *",
            |_: JobContext| async {},
        )
        .expect("valid job")
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let scheduler = Scheduler::builder()
        .registered_jobs(false)
        .jobs(jobs)
        .shutdown_signal(async move {
            let _ = stopped.await;
        })
        .build()
        .expect("valid scheduler");
    let handle = tokio::spawn(scheduler.run());
    // Let the dispatcher compute every first deadline and go to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "{JOBS} scheduled jobs: resident memory +{} KiB",
        rss_kib().saturating_sub(rss_before)
    );
    let window = Duration::from_secs(3);
    let before = cpu_ticks();
    tokio::time::sleep(window).await;
    let used = cpu_ticks() - before;
    // Clock ticks are 10 ms on Linux (USER_HZ = 100).
    println!("{JOBS} idle jobs used {used} CPU ticks (10 ms each) in {window:?}");
    assert!(used <= 15, "{used} ticks of CPU in {window:?} while idle");

    let _ = stop.send(());
    handle
        .await
        .expect("scheduler task")
        .expect("scheduler result");
}
