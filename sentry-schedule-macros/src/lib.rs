//! The `#[scheduled]` attribute of `sentry-schedule`.
//!
//! Use it through the runtime crate (`sentry_schedule::scheduled`): the code it generates
//! calls items of `sentry_schedule::__private`, which is why this crate is pinned with `=`.
//!
//! The macro works in three stages, each collecting its errors so that one compile shows
//! all of them: `args` reads `key = value` pairs, `model` validates them with the
//! runtime's own rules (`sentry-schedule-core`) together with the fn's signature, and
//! `expand` emits the registration. The user's fn is always emitted unchanged, also when
//! there are errors, so its name keeps resolving.
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod args;
mod errors;
mod expand;
mod model;

use errors::Errors;

/// Registers an `async fn` as a recurring job, run by `sentry_schedule::run_all()` and
/// watched by Sentry Crons.
///
/// ```ignore
/// use sentry_schedule::scheduled;
///
/// #[scheduled(cron = "0 12 * * *", timezone = "Europe/Vienna")]
/// async fn send_daily_sales_report() -> anyhow::Result<()> {
///     // ...
///     Ok(())
/// }
///
/// #[scheduled(every = "15m", checkin_margin = 2, max_runtime = 10, overlap = "skip")]
/// async fn refresh_exchange_rates() {
///     // ...
/// }
/// ```
///
/// # The fn
///
/// A job is a free `async fn` without generics or `self`, private or `pub`, in any
/// module (also inside `macro_rules!`). It may take, in any order and by value:
///
/// - `State<T>`: a value registered with `Scheduler::builder().state(value)`, e.g. a
///   database pool (shared through an `Arc`; patterns such as `State(pool): State<Pool>`
///   work). A job asking for a `T` that was never registered makes the scheduler's
///   `build()` fail, naming the job and the type, before any job runs.
/// - `JobContext`: the run's slug, scheduled instant, check-in id, trace id and
///   cancellation token.
///
/// ```ignore
/// #[scheduled(cron = "0 3 * * *")]
/// async fn purge_sessions(db: State<PgPool>, ctx: JobContext) -> anyhow::Result<()> {
///     sqlx::query("DELETE FROM sessions WHERE expires_at < now()").execute(&*db).await?;
///     Ok(())
/// }
/// ```
///
/// It returns `()` or `Result<(), E>` where
/// `E: Display + Debug + Send + 'static` — `anyhow::Error`,
/// `Box<dyn std::error::Error + Send + Sync>` and `thiserror` types all fit. Its future
/// must be `Send + 'static` (don't hold an `Rc` or a `std::sync::MutexGuard` across an
/// `.await`). The fn is left exactly as written; the attribute only adds a registration
/// next to it, so the fn can still be called directly, e.g. from tests.
///
/// Associated fns (inside an `impl` block) are not supported. A method (`self`) or an
/// associated fn that names `Self` (in its signature or body) gets one error there; one
/// naming neither cannot be told from a free fn by the attribute, which sees only the fn,
/// so rustc's errors about the generated code appear instead (`` `const` items in this
/// context need a name `` and "cannot find function").
///
/// # Keys
///
/// Exactly one of `cron` or `every` is required; everything else is optional.
///
/// | Key | Type | Default | Meaning |
/// |-----|------|---------|---------|
/// | `cron` | string | — | A 5-field crontab expression, or one of `@yearly @annually @monthly @weekly @daily @hourly`. Interpreted like Debian cron (and Sentry's server). Example: `cron = "*/5 9-17 * * MON-FRI"`. |
/// | `every` | string | — | A fixed interval with unit `s`, `m`, `h` or `d`; ticks are aligned to the Unix epoch in UTC. Example: `every = "15m"`. At most `365000d`: Sentry computes the next expected check-in with dateutil's `rrule`, which ends at the year 9999. Intervals under a minute (or not a whole number of minutes) need `monitor = false`: Sentry accepts at most 6 check-ins per minute per monitor and counts whole minutes. |
/// | `slug` | string | derived from the fn's path | The Sentry monitor slug, in the normal form Sentry keeps (Django's `slugify`, at most 50 characters): lowercase `a-z`, `0-9`, `_` and single `-` between them, no `-` or `_` at either end. The error for another form names the normal one. |
/// | `timezone` | string | `"UTC"` | IANA time zone the `cron` expression is read in (cron only: `every` ticks are aligned to the Unix epoch). Example: `timezone = "Europe/Vienna"`. |
/// | `checkin_margin` | integer (minutes) | Sentry's default (1) | How late a run may start before Sentry reports it missed. `1..=40320` (Sentry's `MAX_MARGIN`). |
/// | `max_runtime` | integer (minutes) | Sentry's default (30) | How long a run may take before Sentry marks it failed. `1..=35791`: Sentry's `MAX_TIMEOUT` is 40320, but a check-in reports at most 2^31 − 1 ms. |
/// | `failure_issue_threshold` | integer | Sentry's default (1) | Consecutive failed runs before Sentry opens an issue. `1..=720`. |
/// | `recovery_threshold` | integer | Sentry's default (1) | Consecutive successful runs before Sentry resolves the issue. `1..=720`. |
/// | `owner` | string | none | `"team:<numeric id>"` or `"user:<numeric id>"`, e.g. `"team:6"` (the ids Sentry's API lists under `/teams/` and `/members/` → `user.id`). |
/// | `monitor` | bool | `true` | `false` runs the job without check-ins and without a Sentry monitor. |
/// | `run_at_startup` | bool | `false` | `true` runs the job once as soon as the scheduler starts, besides its schedule. |
/// | `overlap` | string | `"skip"` | What happens when a tick comes while the previous run still runs: `"skip"` the new tick, `"allow"` both runs, or `"replace"` the old run (it is cancelled and reported as `error`). |
/// | `timeout` | duration string | none | Cancels a run that takes longer, reporting it as `error`: its token fires, and a job that ignores it is dropped after the scheduler's cancel grace (5 s unless `SchedulerBuilder::cancel_grace` sets it). At most `max_runtime` (30 minutes when not set) and 2^31 − 1 ms. Example: `timeout = "10m"`. |
/// | `jitter` | duration string | none | Delays each run by a random amount below it, to spread load. Example: `jitter = "30s"`. |
/// | `catch_up` | duration string | none | After downtime, a tick missed less than this long ago still runs once. Example: `catch_up = "1h"`. |
/// | `crate` | path (string or bare) | `::sentry_schedule` | Where the `sentry-schedule` crate is, when it was renamed or re-exported. Example: `crate = "my_jobs::sentry_schedule"`. |
///
/// Durations are a whole number followed by `s`, `m`, `h` or `d` (`"30s"`, `"10m"`,
/// `"1h"`, `"2d"`).
///
/// # Checked while compiling
///
/// Every mistake below is a compile error pointed at the offending token, and all errors
/// of one item come out in the same compile:
///
/// - the cron expression (the field that is wrong and its allowed range; seconds fields,
///   `@reboot`, `a-a/n` and expressions that can never fire such as `0 0 30 2 *` are
///   rejected), the interval, the time zone, the slug, the owner and every duration;
/// - values outside what Sentry's server accepts (`checkin_margin` in `1..=40320`,
///   `max_runtime` in `1..=35791`, thresholds in `1..=720`, `owner` as `team:<id>` /
///   `user:<id>`, `every` up to `365000d`, `timeout` up to 2^31 − 1 ms, a `slug` not in
///   Sentry's normal form);
/// - unknown or repeated keys (the error lists the valid keys), a missing or doubled
///   schedule, a value of the wrong type (`checkin_margin = "2"`);
/// - settings that contradict the monitor: a sub-minute `every` without
///   `monitor = false`; a `timeout` longer than `max_runtime`, or than Sentry's default
///   of 30 minutes without one (Sentry would mark the run failed while it still runs); a
///   `jitter` longer than the check-in margin (Sentry would
///   report the run late); a `timezone` on an `every` schedule (it would do nothing).
///   With `monitor = false`, the keys that only configure the
///   monitor (`checkin_margin`, `max_runtime`, `failure_issue_threshold`,
///   `recovery_threshold`, `owner`) are errors, since they would do nothing;
/// - a fn that is not `async`, takes `self` or `impl Trait`, is generic, takes a
///   parameter of another type than `State<T>` / `JobContext` (pointed at the type),
///   returns another type than `()` / `Result<(), E>` (pointed at the return type), or
///   whose future is not `Send` (pointed at the fn's name). Type errors come from rustc
///   and appear once the attribute's own errors are fixed.
#[proc_macro_attribute]
pub fn scheduled(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match try_expand(args.into(), item.clone()) {
        Ok(registration) => {
            let mut tokens = item;
            tokens.extend(registration);
            tokens.into()
        }
        Err(error) => {
            // The fn exactly as written, plus the errors: its name keeps resolving.
            let mut tokens = item;
            tokens.extend(error.into_compile_error());
            tokens.into()
        }
    }
}

fn try_expand(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let item = match syn::parse2::<syn::Item>(item) {
        Ok(syn::Item::Fn(item)) => Some(item),
        Ok(other) => {
            errors.at(
                &other,
                "#[scheduled] applies to an `async fn`, e.g. `#[scheduled(cron = \"0 12 * * *\")] async fn report() { ... }`",
            );
            None
        }
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let job = model::ScheduledFn::from_parts(args, item, &mut errors);
    errors.finish()?;
    match job {
        Some(job) => Ok(expand::registration(&job)),
        // Unreachable in practice: no job means an error was recorded.
        None => Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[scheduled] could not read this item",
        )),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use proptest::prelude::*;

    use super::try_expand;

    fn expand(args: &str, item: &str) -> syn::Result<String> {
        let args: TokenStream = args.parse().expect("test args lex");
        let item: TokenStream = item.parse().expect("test item lexes");
        try_expand(args, item).map(|tokens| tokens.to_string())
    }

    fn error_count(args: &str, item: &str) -> usize {
        match expand(args, item) {
            Ok(_) => 0,
            Err(error) => error.into_iter().count(),
        }
    }

    #[test]
    fn a_valid_job_expands_to_a_registration() {
        let tokens = expand(
            r#"every = "15m", timeout = "90s", overlap = "replace""#,
            "async fn job() {}",
        )
        .expect("valid job");
        assert!(tokens.contains("inventory :: submit !"), "{tokens}");
        assert!(
            tokens.contains("ScheduleSpec :: Every (\"15m\")"),
            "{tokens}"
        );
        assert!(
            tokens.contains("Duration :: from_millis (90000u64)"),
            "{tokens}"
        );
        assert!(tokens.contains("Overlap :: Replace"), "{tokens}");
        assert!(tokens.contains("StaticOptions :: DEFAULT"), "{tokens}");
    }

    #[test]
    fn the_crate_path_replaces_sentry_schedule() {
        let tokens = expand(
            r#"cron = "@daily", crate = "::renamed""#,
            "async fn job() {}",
        )
        .expect("valid job");
        assert!(tokens.contains(":: renamed :: __private"), "{tokens}");
        assert!(!tokens.contains(":: sentry_schedule ::"), "{tokens}");
    }

    #[test]
    fn every_problem_of_one_item_is_reported() {
        // Unknown key, bad cron, bad time zone, margin 0, not async, `impl Trait` parameter.
        let count = error_count(
            r#"cron = "0 25 * * *", timezone = "Mars/Olympus", checkin_margin = 0, colour = 1"#,
            "fn job(x: impl Send) {}",
        );
        assert_eq!(count, 6);
    }

    #[test]
    fn arguments_are_checked_even_on_a_non_fn_item() {
        let count = error_count(r#"cron = "61 * * * *""#, "struct Job;");
        assert_eq!(count, 2);
    }

    #[test]
    fn a_missing_schedule_is_not_reported_after_an_unreadable_key() {
        assert_eq!(error_count("colour = 1", "async fn job() {}"), 1);
        assert_eq!(error_count("", "async fn job() {}"), 1);
    }

    proptest! {
        // The macro answers every input with tokens or errors; it never panics.
        #[test]
        fn never_panics_on_any_arguments(args in "[a-z_=,\" 0-9*/@:()-]{0,40}") {
            if let Ok(args) = args.parse::<TokenStream>() {
                let item: TokenStream = "async fn job() {}".parse().expect("item lexes");
                let _ = try_expand(args, item);
            }
        }

        #[test]
        fn never_panics_on_any_cron(cron in "[0-9A-Za-z*/,#@ -]{0,30}") {
            let args = quote::quote!(cron = #cron);
            let item: TokenStream = "async fn job() {}".parse().expect("item lexes");
            let _ = try_expand(args, item);
        }

        #[test]
        fn never_panics_on_any_item(item in "[a-z(){}<>:&,;'_ ]{0,40}") {
            if let Ok(item) = item.parse::<TokenStream>() {
                let args: TokenStream = "cron = \"@daily\"".parse().expect("args lex");
                let _ = try_expand(args, item);
            }
        }
    }
}
