//! Stage 1: the attribute's `key = value` arguments, each value kept with its span.
//!
//! Only the *form* of each value is checked here (string, integer, bool, path); what the
//! value means is checked in [`crate::model`]. Every problem is recorded in [`Errors`] and
//! parsing goes on, so one compile shows all of them.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitBool, LitInt, LitStr};

use crate::errors::{with_help, Errors};
use sentry_schedule_core::suggest;

/// Every key the attribute accepts, with an example value for error messages.
pub(crate) const KEYS: &[(&str, &str)] = &[
    ("cron", "\"0 12 * * *\""),
    ("every", "\"15m\""),
    ("slug", "\"daily-report\""),
    ("timezone", "\"Europe/Vienna\""),
    ("checkin_margin", "5"),
    ("max_runtime", "30"),
    ("failure_issue_threshold", "3"),
    ("recovery_threshold", "3"),
    ("owner", "\"team:6\""),
    ("monitor", "false"),
    ("run_at_startup", "true"),
    ("overlap", "\"skip\""),
    ("timeout", "\"10m\""),
    ("jitter", "\"30s\""),
    ("catch_up", "\"1h\""),
    ("crate", "\"sentry_schedule\""),
];

/// One argument: where its key was written and its value.
pub(crate) struct Arg<T> {
    /// Span of the key, for errors about the key as a whole.
    pub(crate) key: Span,
    /// The value as written (it carries its own span).
    pub(crate) value: T,
}

/// The attribute's arguments as written. A key that was given in a malformed way is
/// recorded as an error and left `None`.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) cron: Option<Arg<LitStr>>,
    pub(crate) every: Option<Arg<LitStr>>,
    pub(crate) slug: Option<Arg<LitStr>>,
    pub(crate) timezone: Option<Arg<LitStr>>,
    pub(crate) checkin_margin: Option<Arg<LitInt>>,
    pub(crate) max_runtime: Option<Arg<LitInt>>,
    pub(crate) failure_issue_threshold: Option<Arg<LitInt>>,
    pub(crate) recovery_threshold: Option<Arg<LitInt>>,
    pub(crate) owner: Option<Arg<LitStr>>,
    pub(crate) monitor: Option<Arg<LitBool>>,
    pub(crate) run_at_startup: Option<Arg<LitBool>>,
    pub(crate) overlap: Option<Arg<LitStr>>,
    pub(crate) timeout: Option<Arg<LitStr>>,
    pub(crate) jitter: Option<Arg<LitStr>>,
    pub(crate) catch_up: Option<Arg<LitStr>>,
    pub(crate) krate: Option<Arg<syn::Path>>,
    /// Whether a key was written that this stage could not read (malformed or unknown).
    /// Checks about *missing* keys are skipped then, so the user sees only real problems.
    pub(crate) incomplete: bool,
}

/// Parses the attribute's arguments. Never fails: problems go to `errors`.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| args.parse_one(meta, errors));
    if let Err(error) = parser.parse2(tokens) {
        args.incomplete = true;
        errors.push(error);
    }
    args
}

impl Args {
    fn parse_one(
        &mut self,
        meta: syn::meta::ParseNestedMeta<'_>,
        errors: &mut Errors,
    ) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
            self.incomplete = true;
            errors.at(
                &meta.path,
                with_help("expected a key such as `cron`", valid_keys()),
            );
            skip_value(&meta)?;
            return Ok(());
        };
        let span = meta.path.span();
        if !meta.input.peek(syn::Token![=]) {
            self.incomplete = true;
            let example = KEYS
                .iter()
                .find(|(name, _)| *name == key)
                .map_or_else(|| String::from("<value>"), |(_, ex)| (*ex).to_owned());
            errors.at_span(
                span,
                format!("expected `{key} = {example}`: every key takes a value"),
            );
            skip_value(&meta)?;
            return Ok(());
        }
        let expr: Expr = meta.value()?.parse()?;
        match key.as_str() {
            "cron" => self.set_str(&key, span, &expr, Slot::Cron, errors),
            "every" => self.set_str(&key, span, &expr, Slot::Every, errors),
            "slug" => self.set_str(&key, span, &expr, Slot::Slug, errors),
            "timezone" => self.set_str(&key, span, &expr, Slot::Timezone, errors),
            "owner" => self.set_str(&key, span, &expr, Slot::Owner, errors),
            "overlap" => self.set_str(&key, span, &expr, Slot::Overlap, errors),
            "timeout" => self.set_str(&key, span, &expr, Slot::Timeout, errors),
            "jitter" => self.set_str(&key, span, &expr, Slot::Jitter, errors),
            "catch_up" => self.set_str(&key, span, &expr, Slot::CatchUp, errors),
            "checkin_margin" => {
                let value = int_value(&key, &expr, errors);
                store(&mut self.checkin_margin, &key, span, value, errors);
            }
            "max_runtime" => {
                let value = int_value(&key, &expr, errors);
                store(&mut self.max_runtime, &key, span, value, errors);
            }
            "failure_issue_threshold" => {
                let value = int_value(&key, &expr, errors);
                store(&mut self.failure_issue_threshold, &key, span, value, errors);
            }
            "recovery_threshold" => {
                let value = int_value(&key, &expr, errors);
                store(&mut self.recovery_threshold, &key, span, value, errors);
            }
            "monitor" => {
                let value = bool_value(&key, &expr, errors);
                store(&mut self.monitor, &key, span, value, errors);
            }
            "run_at_startup" => {
                let value = bool_value(&key, &expr, errors);
                store(&mut self.run_at_startup, &key, span, value, errors);
            }
            "crate" => {
                let value = path_value(&expr, errors);
                store(&mut self.krate, &key, span, value, errors);
            }
            _ => {
                self.incomplete = true;
                errors.at_span(span, unknown_key_message(&key));
            }
        }
        Ok(())
    }

    fn set_str(&mut self, key: &str, span: Span, expr: &Expr, slot: Slot, errors: &mut Errors) {
        let value = str_value(key, expr, errors);
        let target = match slot {
            Slot::Cron => &mut self.cron,
            Slot::Every => &mut self.every,
            Slot::Slug => &mut self.slug,
            Slot::Timezone => &mut self.timezone,
            Slot::Owner => &mut self.owner,
            Slot::Overlap => &mut self.overlap,
            Slot::Timeout => &mut self.timeout,
            Slot::Jitter => &mut self.jitter,
            Slot::CatchUp => &mut self.catch_up,
        };
        store(target, key, span, value, errors);
    }
}

/// The string-valued keys.
#[derive(Clone, Copy)]
enum Slot {
    Cron,
    Every,
    Slug,
    Timezone,
    Owner,
    Overlap,
    Timeout,
    Jitter,
    CatchUp,
}

/// The one place that rejects a repeated key.
fn store<T>(
    slot: &mut Option<Arg<T>>,
    key: &str,
    span: Span,
    value: Option<T>,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at_span(
            span,
            format!("`{key}` is given twice; give each key at most once"),
        );
        return;
    }
    if let Some(value) = value {
        *slot = Some(Arg { key: span, value });
    }
}

fn example(key: &str) -> String {
    let value = KEYS
        .iter()
        .find(|(name, _)| *name == key)
        .map_or("", |(_, ex)| *ex);
    format!("`{key} = {value}`")
}

fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn str_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<LitStr> {
    match literal(expr) {
        Some(Lit::Str(lit)) => Some(lit.clone()),
        _ => {
            errors.at(
                expr,
                format!(
                    "expected a string literal for `{key}`, e.g. {}",
                    example(key)
                ),
            );
            None
        }
    }
}

fn int_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<LitInt> {
    match literal(expr) {
        Some(Lit::Int(lit)) => Some(lit.clone()),
        _ => {
            errors.at(
                expr,
                format!(
                    "expected a whole number for `{key}` (minutes for margins and runtimes), e.g. {}",
                    example(key)
                ),
            );
            None
        }
    }
}

fn bool_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<LitBool> {
    match literal(expr) {
        Some(Lit::Bool(lit)) => Some(lit.clone()),
        _ => {
            errors.at(
                expr,
                format!(
                    "expected `true` or `false` for `{key}`, e.g. {}",
                    example(key)
                ),
            );
            None
        }
    }
}

/// `crate = "path"` or `crate = path`.
fn path_value(expr: &Expr, errors: &mut Errors) -> Option<syn::Path> {
    let parsed = match expr {
        Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => Ok(path.path.clone()),
        _ => match literal(expr) {
            Some(Lit::Str(lit)) => lit.parse::<syn::Path>(),
            _ => Err(syn::Error::new_spanned(expr, "")),
        },
    };
    match parsed {
        Ok(path) => Some(path),
        Err(_) => {
            errors.at(
                expr,
                "expected the path the `sentry-schedule` crate is reachable under, \
                 e.g. `crate = \"sentry_schedule\"` or `crate = \"::my_reexport::sentry_schedule\"`",
            );
            None
        }
    }
}

/// Consumes whatever follows a key that has no `= value`, so parsing can go on.
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::token::Paren)
        || meta.input.peek(syn::token::Bracket)
        || meta.input.peek(syn::token::Brace)
    {
        meta.input.parse::<proc_macro2::Group>()?;
    } else if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    }
    Ok(())
}

fn valid_keys() -> String {
    let names: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
    format!("valid keys: {}", names.join(", "))
}

fn unknown_key_message(key: &str) -> String {
    let closest = suggest::closest(key, KEYS.iter().map(|(name, _)| *name), 1);
    let message = match closest.first() {
        Some(name) => format!("unknown key `{key}`; did you mean `{name}`?"),
        None => format!("unknown key `{key}`"),
    };
    with_help(message, valid_keys())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_suggests_the_close_one() {
        assert!(unknown_key_message("timzone").contains("did you mean `timezone`?"));
        assert!(!unknown_key_message("color").contains("did you mean"));
    }
}
