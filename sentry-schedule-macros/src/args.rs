//! Stage 1: the attribute's `key = value` arguments, each value kept with its span.
//!
//! Only the *form* of each value is checked here (string, integer, bool, path); what the
//! value means is checked in [`crate::model`]. Every problem is recorded in [`Errors`] and
//! parsing goes on, so one compile shows all of them.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use sentry_schedule_core::options::{find_key, JobOptions, Value, ValueKind, KEYS};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit};

use crate::errors::{with_help, Errors};
use sentry_schedule_core::suggest;

/// Where one key was written: its key and its value, for errors about either.
pub(crate) struct Written {
    /// The key, as named in the schema.
    pub(crate) name: &'static str,
    /// Span of the key.
    pub(crate) key: Span,
    /// The value's tokens.
    pub(crate) value: TokenStream,
    /// The tokens of each item of a list value (empty for other values).
    pub(crate) items: Vec<TokenStream>,
}

/// The attribute's arguments: the options as given (the schema's [`JobOptions`]), where
/// each key was written, and `crate`.
#[derive(Default)]
pub(crate) struct Args {
    /// Every option read, for validation by the schema.
    pub(crate) options: JobOptions,
    /// Every key written, in order (each at most once).
    pub(crate) written: Vec<Written>,
    /// `crate = "..."`
    pub(crate) krate: Option<syn::Path>,
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
        let Some(name) = meta.path.get_ident().map(ToString::to_string) else {
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
            let example = find_key(&name).map_or("<value>", |key| key.example);
            errors.at_span(
                span,
                format!("expected `{name} = {example}`: every key takes a value"),
            );
            skip_value(&meta)?;
            return Ok(());
        }
        let expr: Expr = meta.value()?.parse()?;
        let Some(key) = find_key(&name) else {
            self.incomplete = true;
            errors.at_span(span, unknown_key_message(&name));
            return Ok(());
        };
        if self.written.iter().any(|w| w.name == key.name) {
            errors.at_span(
                span,
                format!("`{name}` is given twice; give each key at most once"),
            );
            return Ok(());
        }
        let value = match key.kind {
            ValueKind::Path => {
                self.krate = path_value(&expr, errors);
                None
            }
            ValueKind::Str => str_value(key.name, &expr, errors).map(Value::Str),
            ValueKind::Int => int_value(key.name, &expr, errors).map(Value::Int),
            ValueKind::Bool => bool_value(key.name, &expr, errors).map(Value::Bool),
            ValueKind::StrList => str_list_value(key.name, &expr, errors).map(Value::List),
        };
        let items = match list(&expr) {
            Some(array) => array.elems.iter().map(ToTokens::to_token_stream).collect(),
            None => Vec::new(),
        };
        self.written.push(Written {
            name: key.name,
            key: span,
            value: expr.to_token_stream(),
            items,
        });
        if let Some(value) = value {
            // The kind was read from the same schema entry, so it always fits.
            let _ = self.options.set(key.name, value);
        }
        Ok(())
    }

    /// Where `name` was written, if it was.
    pub(crate) fn written(&self, name: &str) -> Option<&Written> {
        self.written.iter().find(|w| w.name == name)
    }
}

fn example(key: &str) -> String {
    let value = find_key(key).map_or("", |key| key.example);
    format!("`{key} = {value}`")
}

fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn str_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<String> {
    match literal(expr) {
        Some(Lit::Str(lit)) => Some(lit.value()),
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

fn int_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<u64> {
    match literal(expr) {
        Some(Lit::Int(lit)) => match lit.base10_parse::<u64>() {
            Ok(value) => Some(value),
            Err(_) => {
                let digits = lit.base10_digits();
                errors.at(
                    lit,
                    format!("invalid {key} {digits}: the number is too large"),
                );
                None
            }
        },
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

fn bool_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<bool> {
    match literal(expr) {
        Some(Lit::Bool(lit)) => Some(lit.value),
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

fn list(expr: &Expr) -> Option<&syn::ExprArray> {
    match expr {
        Expr::Array(array) if array.attrs.is_empty() => Some(array),
        Expr::Group(group) => list(&group.expr),
        _ => None,
    }
}

/// `["a", "b"]`: every item a string literal (each wrong one reported at itself).
fn str_list_value(key: &str, expr: &Expr, errors: &mut Errors) -> Option<Vec<String>> {
    let Some(array) = list(expr) else {
        errors.at(
            expr,
            format!(
                "expected a list of string literals for `{key}`, e.g. {}",
                example(key)
            ),
        );
        return None;
    };
    let mut items = Some(Vec::with_capacity(array.elems.len()));
    for item in &array.elems {
        match literal(item) {
            Some(Lit::Str(lit)) => {
                if let Some(items) = &mut items {
                    items.push(lit.value());
                }
            }
            _ => {
                errors.at(
                    item,
                    format!(
                        "expected a string literal in `{key}`, e.g. {}",
                        example(key)
                    ),
                );
                items = None;
            }
        }
    }
    items
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
    let names: Vec<&str> = KEYS.iter().map(|key| key.name).collect();
    format!("valid keys: {}", names.join(", "))
}

fn unknown_key_message(key: &str) -> String {
    let closest = suggest::closest(key, KEYS.iter().map(|key| key.name), 1);
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
