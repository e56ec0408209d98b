macro_rules! nightly_job {
    ($name:ident, $cron:literal) => {
        #[sentry_schedule::scheduled(cron = $cron)]
        async fn $name() {}
    };
}

nightly_job!(vacuum_database, "0 2 * * *");
nightly_job!(rotate_logs, "30 2 * * *");

macro_rules! job_in_module {
    ($module:ident) => {
        mod $module {
            #[::sentry_schedule::scheduled(every = "1h", overlap = "allow")]
            pub async fn sync() -> Result<(), String> {
                Ok(())
            }
        }
    };
}

job_in_module!(crm);

fn main() {
    let _ = vacuum_database();
    let _ = rotate_logs();
    let _ = crm::sync();
}
