//! A service binary whose only job lives in a library crate, linked with one line. Runs the
//! operations command given on its command line (`list`, `run <slug>`).
sentry_schedule::link_jobs!(sentry_schedule_test_jobslib);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _sentry = sentry::init(sentry::ClientOptions::new());
    sentry_schedule::cli::run_all_or_command().await
}
