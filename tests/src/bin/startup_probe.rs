//! A service binary without jobs of its own, for the start-up tests: it depends on the
//! library crate with a job (`sentry-schedule-test-jobslib`) but never uses it, so that job
//! is not linked, as happens to a service whose jobs live in a crate it forgets to link.
//!
//! `PROBE=run` runs `run_all` from a `main` returning `Result<(), sentry_schedule::Error>`;
//! `PROBE=list` runs the `list` command. `PROBE_SENTRY=none` skips `sentry::init`.
#[tokio::main]
async fn main() -> Result<std::process::ExitCode, sentry_schedule::Error> {
    let _sentry = match std::env::var("PROBE_SENTRY").as_deref() {
        Ok("none") => None,
        _ => Some(sentry::init(sentry::ClientOptions::new())),
    };
    match std::env::var("PROBE").as_deref() {
        Ok("list") => Ok(sentry_schedule::Scheduler::builder()
            .build()?
            .run_or_command(["list"])
            .await),
        _ => {
            sentry_schedule::run_all().await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
