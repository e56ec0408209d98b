//! Idle CPU and memory: many jobs whose next tick is hours away.
use crate::child::{Contender, Prepared};
use crate::measure::{cpu_time, rss_bytes};
use chrono::{Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Time the scheduler gets to settle after start-up before CPU is measured.
const SETTLE: Duration = Duration::from_secs(2);

/// What an idle run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdleReport {
    /// Registered jobs.
    pub jobs: u32,
    /// Seconds the CPU time was measured over.
    pub secs: f64,
    /// User + system CPU time in that span, scaled to one minute, in ms.
    pub cpu_ms_per_min: f64,
    /// Resident memory after registering and starting the jobs, minus before, in bytes.
    pub rss_delta_bytes: i64,
    /// The part of it present before the scheduler was started (jobs built and registered).
    pub rss_prepared_bytes: i64,
}

impl IdleReport {
    /// Resident memory per registered job, in KiB.
    pub(crate) fn kib_per_job(&self) -> f64 {
        self.rss_delta_bytes as f64 / 1024.0 / f64::from(self.jobs.max(1))
    }
}

/// Registers `jobs` daily jobs three hours from now, lets them settle, then measures
/// CPU time over `secs` seconds and the memory they hold.
pub(crate) async fn measure(
    contender: Contender,
    jobs: u32,
    secs: u32,
) -> anyhow::Result<IdleReport> {
    let hour = (Utc::now().hour() + 3) % 24;
    let rss_before = rss_bytes()?;
    let prepared = Prepared::daily(contender, jobs, hour).await?;
    let rss_prepared = rss_bytes()?;
    let running = prepared.launch().await?;
    tokio::time::sleep(SETTLE).await;
    let rss_after = rss_bytes()?;
    let cpu_before = cpu_time()?;
    let wall_before = Instant::now();
    tokio::time::sleep(Duration::from_secs(u64::from(secs))).await;
    let cpu = cpu_time()?.saturating_sub(cpu_before);
    let elapsed = wall_before.elapsed().as_secs_f64();
    running.stop().await?;
    Ok(IdleReport {
        jobs,
        secs: elapsed,
        cpu_ms_per_min: cpu.as_secs_f64() * 1_000.0 * 60.0 / elapsed,
        rss_delta_bytes: rss_after as i64 - rss_before as i64,
        rss_prepared_bytes: rss_prepared as i64 - rss_before as i64,
    })
}
