extern crate sentry_schedule as renamed;

mod jobs {
    #[renamed::scheduled(cron = "0 12 * * *", crate = "renamed")]
    pub async fn with_string_path() {}

    #[renamed::scheduled(cron = "0 13 * * *", crate = ::renamed)]
    pub async fn with_bare_path() {}
}

fn main() {
    let _ = jobs::with_string_path();
    let _ = jobs::with_bare_path();
}
