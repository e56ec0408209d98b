//! Stage 2: the validated job. Every value is checked with the same code the runtime
//! uses (`sentry-schedule-core`), every error is pointed at the token that caused it, and
//! all errors of one item are collected before giving up.

use std::time::Duration;

use proc_macro2::Span;
use quote::ToTokens;
use sentry_schedule_core::{duration, limits, slug, timezone, Schedule, ScheduleError};
use syn::{FnArg, ItemFn, LitInt, LitStr};

use crate::args::{Arg, Args};
use crate::errors::{with_help, Errors};

/// A `#[scheduled]` item whose arguments and signature passed every check.
pub(crate) struct ScheduledFn {
    /// The user's fn, as written.
    pub(crate) item: ItemFn,
    /// Path of the runtime crate (`::sentry_schedule` unless `crate = "..."`).
    pub(crate) krate: syn::Path,
    /// How the schedule was written.
    pub(crate) schedule: ScheduleKind,
    /// The options the user gave; the rest stay at the runtime's defaults.
    pub(crate) options: Options,
}

/// The schedule key and its (valid) text.
pub(crate) enum ScheduleKind {
    /// `cron = "..."`
    Cron(String),
    /// `every = "..."`
    Every(String),
}

/// `overlap = "..."`
#[derive(Clone, Copy)]
pub(crate) enum Overlap {
    Skip,
    Allow,
    Replace,
}

/// The validated options; `None` means "not given".
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) slug: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) monitor: Option<bool>,
    pub(crate) checkin_margin: Option<u32>,
    pub(crate) max_runtime: Option<u32>,
    pub(crate) failure_issue_threshold: Option<u32>,
    pub(crate) recovery_threshold: Option<u32>,
    pub(crate) owner: Option<String>,
    pub(crate) run_at_startup: Option<bool>,
    pub(crate) overlap: Option<Overlap>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) jitter: Option<Duration>,
    pub(crate) catch_up: Option<Duration>,
}

impl ScheduledFn {
    /// Checks the arguments and the fn. `None` when anything was wrong; every problem is
    /// in `errors` then.
    /// The arguments are checked also when the item could not be read as a fn.
    pub(crate) fn from_parts(
        args: Args,
        item: Option<ItemFn>,
        errors: &mut Errors,
    ) -> Option<Self> {
        if let Some(item) = &item {
            check_signature(item, errors);
        }
        let monitored = args.monitor.as_ref().is_none_or(|arg| arg.value.value);
        let schedule = check_schedule(&args, monitored, errors);
        let options = check_options(&args, monitored, errors);
        let krate = args
            .krate
            .map_or_else(|| syn::parse_quote!(::sentry_schedule), |arg| arg.value);
        if !errors.is_empty() {
            return None;
        }
        Some(Self {
            item: item?,
            krate,
            schedule: schedule?,
            options,
        })
    }
}

fn check_signature(item: &ItemFn, errors: &mut Errors) {
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            with_help(
                "a #[scheduled] job must be an `async fn`",
                format!("write `async fn {}()`", sig.ident),
            ),
        );
    }
    if let Some(unsafety) = sig.unsafety {
        errors.at(
            unsafety,
            "a #[scheduled] job cannot be `unsafe`: the scheduler calls it with no way to uphold its safety contract",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            "a #[scheduled] job cannot have an `extern` ABI: it is called from Rust by the scheduler",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            "a #[scheduled] job cannot be generic: the scheduler calls it with no way to choose its parameters",
        );
    }
    // A method (with `self`) or an associated fn naming `Self` (in its signature, or in
    // its body outside items of its own) sits in an `impl` block, where the registration
    // cannot be placed: one error at the method instead of rustc's errors about the
    // generated code. An associated fn mentioning neither cannot be told from a free fn:
    // the attribute sees only the fn, not the block around it.
    let in_impl = sig
        .inputs
        .iter()
        .find_map(|input| match input {
            FnArg::Receiver(receiver) => Some(receiver.to_token_stream()),
            FnArg::Typed(_) => None,
        })
        .or_else(|| first_self_type(sig.to_token_stream()))
        .or_else(|| first_self_type(item.block.to_token_stream()));
    if let Some(at) = in_impl {
        errors.at(
            at,
            with_help(
                format!(
                    "#[scheduled] applies to free fns, not to methods or associated fns of an \
                     `impl` block: the scheduler has no value or type to call `{}` on",
                    sig.ident
                ),
                "move the attribute to a free `async fn` outside the `impl` block, which \
                 calls the method or associated fn",
            ),
        );
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(_) => {}
            // Any pattern works (`State(pool): State<Pool>`): the fn destructures its own
            // arguments. The type is checked by rustc against `JobParam`, at the type.
            FnArg::Typed(param) => {
                if let syn::Type::ImplTrait(ty) = &*param.ty {
                    errors.at(
                        ty,
                        with_help(
                            "a #[scheduled] job cannot take `impl Trait`: the scheduler has to know the parameter's type",
                            "take `sentry_schedule::State<T>` or `sentry_schedule::JobContext`",
                        ),
                    );
                }
            }
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(
            variadic,
            "a #[scheduled] job cannot be variadic: it takes `State<T>` and `JobContext` parameters",
        );
    }
}

/// The first `Self` in `tokens` (a signature or a body), if any. `impl`, `trait` and
/// `macro_rules!` items of the fn's own body, up to their braces, are skipped: a `Self`
/// there is theirs, and valid in a free fn.
fn first_self_type(tokens: proc_macro2::TokenStream) -> Option<proc_macro2::TokenStream> {
    use proc_macro2::{Delimiter, TokenTree};
    let mut in_own_item = false;
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident)
                if ident == "impl" || ident == "trait" || ident == "macro_rules" =>
            {
                in_own_item = true;
            }
            TokenTree::Group(group) if in_own_item && group.delimiter() == Delimiter::Brace => {
                in_own_item = false;
            }
            _ if in_own_item => {}
            TokenTree::Ident(ident) if ident == "Self" => {
                return Some(TokenTree::Ident(ident).into());
            }
            TokenTree::Group(group) => {
                if let Some(found) = first_self_type(group.stream()) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn check_schedule(args: &Args, monitored: bool, errors: &mut Errors) -> Option<ScheduleKind> {
    match (&args.cron, &args.every) {
        (Some(_), Some(every)) => {
            errors.at_span(
                every.key,
                with_help(
                    "give either `cron` or `every`, not both",
                    "`cron = \"0 12 * * *\"` runs at wall-clock times; `every = \"15m\"` runs at a fixed interval",
                ),
            );
            None
        }
        (Some(cron), None) => {
            let text = cron.value.value();
            match Schedule::cron(&text) {
                Ok(_) => Some(ScheduleKind::Cron(text)),
                Err(error) => {
                    errors.at(&cron.value, schedule_error("cron", &error));
                    None
                }
            }
        }
        (None, Some(every)) => {
            let text = every.value.value();
            match Schedule::every(&text) {
                Ok(schedule) => match schedule.sentry_schedule() {
                    Err(error) if monitored => {
                        errors.at(
                            &every.value,
                            with_optional_help(&error.message, error.help.as_ref()),
                        );
                        None
                    }
                    _ => Some(ScheduleKind::Every(text)),
                },
                Err(error) => {
                    errors.at(&every.value, schedule_error("every", &error));
                    None
                }
            }
        }
        (None, None) => {
            if !args.incomplete {
                errors.at_span(
                    Span::call_site(),
                    with_help(
                        "missing schedule: a #[scheduled] job needs `cron = \"...\"` or `every = \"...\"`",
                        "e.g. `#[scheduled(cron = \"0 12 * * *\")]` (daily at noon) or `#[scheduled(every = \"15m\")]`",
                    ),
                );
            }
            None
        }
    }
}

/// The core's message names the field and what it allows; without a field it gets the
/// key as context.
fn schedule_error(key: &str, error: &ScheduleError) -> String {
    let message = match error.field {
        Some(field) if error.message.contains(field) => error.message.clone(),
        _ if error.message.starts_with("invalid ") => error.message.clone(),
        _ => format!("invalid `{key}`: {}", error.message),
    };
    with_optional_help(&message, error.help.as_ref())
}

fn with_optional_help(message: &str, help: Option<&String>) -> String {
    match help {
        Some(help) => with_help(message, help),
        None => message.to_owned(),
    }
}

fn check_options(args: &Args, monitored: bool, errors: &mut Errors) -> Options {
    let mut options = Options {
        monitor: args.monitor.as_ref().map(|arg| arg.value.value),
        run_at_startup: args.run_at_startup.as_ref().map(|arg| arg.value.value),
        ..Options::default()
    };
    if let Some(arg) = &args.slug {
        let text = arg.value.value();
        match slug::validate_slug(&text) {
            Ok(()) => options.slug = Some(text),
            Err(v) => errors.at(&arg.value, with_help(v.message, v.help)),
        }
    }
    if let (Some(arg), Some(_)) = (&args.timezone, &args.every) {
        errors.at_span(
            arg.key,
            with_help(
                "`timezone` has no effect on `every`: intervals are aligned to the Unix epoch in UTC",
                "remove `timezone`, or use `cron` for wall-clock times, e.g. `cron = \"0 6 * * *\", timezone = \"Europe/Vienna\"`",
            ),
        );
    }
    if let Some(arg) = &args.timezone {
        let text = arg.value.value();
        match timezone::parse_timezone(&text) {
            Ok(_) => options.timezone = Some(text),
            Err(message) => errors.at(&arg.value, message),
        }
    }
    if let Some(arg) = &args.owner {
        let text = arg.value.value();
        match limits::check_owner(&text) {
            Ok(()) => options.owner = Some(text),
            Err(v) => errors.at(&arg.value, with_help(v.message, v.help)),
        }
    }
    options.checkin_margin = minutes(
        args.checkin_margin.as_ref(),
        "checkin_margin",
        limits::check_checkin_margin,
        errors,
    );
    options.max_runtime = minutes(
        args.max_runtime.as_ref(),
        "max_runtime",
        limits::check_max_runtime,
        errors,
    );
    options.failure_issue_threshold = minutes(
        args.failure_issue_threshold.as_ref(),
        "failure_issue_threshold",
        |v| limits::check_threshold("failure_issue_threshold", v),
        errors,
    );
    options.recovery_threshold = minutes(
        args.recovery_threshold.as_ref(),
        "recovery_threshold",
        |v| limits::check_threshold("recovery_threshold", v),
        errors,
    );
    if let Some(arg) = &args.overlap {
        options.overlap = match arg.value.value().as_str() {
            "skip" => Some(Overlap::Skip),
            "allow" => Some(Overlap::Allow),
            "replace" => Some(Overlap::Replace),
            other => {
                errors.at(
                    &arg.value,
                    with_help(
                        format!("unknown overlap policy `{other}`"),
                        "expected `\"skip\"` (default: a tick that comes while the previous run still runs is skipped), \
                         `\"allow\"` (runs may overlap) or `\"replace\"` (the old run is cancelled)",
                    ),
                );
                None
            }
        };
    }
    options.timeout = duration_value(args.timeout.as_ref(), "timeout", errors);
    if let (Some(arg), Some(timeout)) = (&args.timeout, options.timeout) {
        if let Err(v) = limits::check_timeout(timeout, &arg.value.value()) {
            errors.at(&arg.value, with_help(v.message, v.help));
            options.timeout = None;
        }
    }
    options.jitter = duration_value(args.jitter.as_ref(), "jitter", errors);
    options.catch_up = duration_value(args.catch_up.as_ref(), "catch_up", errors);

    if monitored {
        check_fits_monitor(args, &options, errors);
    } else {
        reject_monitor_keys(args, errors);
    }
    options
}

/// A whole-number option, checked with the runtime's range rule.
fn minutes(
    arg: Option<&Arg<LitInt>>,
    key: &str,
    check: impl Fn(u64) -> Result<(), limits::Violation>,
    errors: &mut Errors,
) -> Option<u32> {
    let arg = arg?;
    let Ok(value) = arg.value.base10_parse::<u64>() else {
        let digits = arg.value.base10_digits();
        errors.at(
            &arg.value,
            format!("invalid {key} {digits}: the number is too large"),
        );
        return None;
    };
    if let Err(v) = check(value) {
        errors.at(&arg.value, with_help(v.message, v.help));
        return None;
    }
    match u32::try_from(value) {
        Ok(value) => Some(value),
        Err(_) => {
            errors.at(&arg.value, format!("`{key}` is too large"));
            None
        }
    }
}

/// A duration option (`"30s"`, `"10m"`, ...), checked with the runtime's parser.
fn duration_value(arg: Option<&Arg<LitStr>>, key: &str, errors: &mut Errors) -> Option<Duration> {
    let arg = arg?;
    let text = arg.value.value();
    match duration::parse_duration(&text) {
        Ok(value) if u64::try_from(value.as_millis()).is_ok() => Some(value),
        Ok(_) => {
            errors.at(&arg.value, format!("`{key} = \"{text}\"` is too long"));
            None
        }
        Err(message) => {
            errors.at(&arg.value, format!("invalid `{key}`: {message}"));
            None
        }
    }
}

/// Run-control options that Sentry's monitor would contradict (the rules live in
/// `sentry_schedule_core::limits`, shared with the runtime's job builder).
fn check_fits_monitor(args: &Args, options: &Options, errors: &mut Errors) {
    if let (Some(arg), Some(timeout)) = (&args.timeout, options.timeout) {
        if let Err(c) = limits::check_timeout_fits(timeout, &arg.value.value(), options.max_runtime)
        {
            errors.at(&arg.value, with_help(c.message, c.help));
        }
    }
    if let (Some(arg), Some(jitter)) = (&args.jitter, options.jitter) {
        if let Err(c) =
            limits::check_jitter_fits(jitter, &arg.value.value(), options.checkin_margin)
        {
            errors.at(&arg.value, with_help(c.message, c.help));
        }
    }
}

/// With `monitor = false` there is no Sentry monitor; keys that only configure it
/// would silently do nothing, so they are errors.
fn reject_monitor_keys(args: &Args, errors: &mut Errors) {
    let keys = [
        (
            "checkin_margin",
            args.checkin_margin.as_ref().map(|a| a.key),
        ),
        ("max_runtime", args.max_runtime.as_ref().map(|a| a.key)),
        (
            "failure_issue_threshold",
            args.failure_issue_threshold.as_ref().map(|a| a.key),
        ),
        (
            "recovery_threshold",
            args.recovery_threshold.as_ref().map(|a| a.key),
        ),
        ("owner", args.owner.as_ref().map(|a| a.key)),
    ];
    debug_assert!(keys
        .iter()
        .zip(limits::MONITOR_ONLY_OPTIONS)
        .all(|((key, _), shared)| *key == shared));
    for (key, span) in keys {
        if let Some(span) = span {
            let c = limits::monitor_only_option(key);
            errors.at_span(span, with_help(c.message, c.help));
        }
    }
}
