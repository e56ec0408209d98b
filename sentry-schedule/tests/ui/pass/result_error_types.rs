use std::fmt;

use sentry_schedule::scheduled;

#[scheduled(cron = "0 1 * * *")]
async fn with_anyhow() -> anyhow::Result<()> {
    Ok(())
}

#[scheduled(cron = "0 2 * * *")]
async fn with_boxed_error() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum ReportError {
    #[error("the warehouse did not answer")]
    Unreachable,
}

#[scheduled(cron = "0 3 * * *")]
async fn with_thiserror() -> Result<(), ReportError> {
    Err(ReportError::Unreachable)
}

#[derive(Debug)]
struct HandWritten;

impl fmt::Display for HandWritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("hand-written error")
    }
}

#[scheduled(cron = "0 4 * * *")]
async fn with_plain_display() -> Result<(), HandWritten> {
    Ok(())
}

#[scheduled(cron = "0 5 * * *")]
async fn with_string() -> Result<(), String> {
    Ok(())
}

type JobResult = Result<(), ReportError>;

#[scheduled(cron = "0 6 * * *")]
async fn with_alias() -> JobResult {
    Ok(())
}

fn main() {}
