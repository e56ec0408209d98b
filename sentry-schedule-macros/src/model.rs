//! Stage 2: the validated job. The options are checked by the schema the runtime's job
//! builder uses (`sentry_schedule_core::options`), each problem pointed at the key or
//! value it names; the fn's signature is checked here. All errors of one item are
//! collected before giving up.

use proc_macro2::Span;
use quote::ToTokens;
use sentry_schedule_core::options::{Problem, Target, ValidOptions};
use syn::{FnArg, ItemFn};

use crate::args::Args;
use crate::errors::{with_help, Errors};

/// A `#[scheduled]` item whose arguments and signature passed every check.
pub(crate) struct ScheduledFn {
    /// The user's fn, as written.
    pub(crate) item: ItemFn,
    /// Path of the runtime crate (`::sentry_schedule` unless `crate = "..."`).
    pub(crate) krate: syn::Path,
    /// The options, validated; those not given stay at the runtime's defaults.
    pub(crate) options: ValidOptions,
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
        let options = match args.options.validate() {
            Ok(options) => Some(options),
            Err(problems) => {
                for problem in &problems {
                    report(&args, problem, errors);
                }
                None
            }
        };
        let krate = args
            .krate
            .unwrap_or_else(|| syn::parse_quote!(::sentry_schedule));
        if !errors.is_empty() {
            return None;
        }
        Some(Self {
            item: item?,
            krate,
            options: options?,
        })
    }
}

/// One problem of the schema as a compile error at the token it names.
fn report(args: &Args, problem: &Problem, errors: &mut Errors) {
    let message = match &problem.help {
        Some(help) => with_help(&problem.message, help),
        None => problem.message.clone(),
    };
    match (problem.target, args.written(problem.key)) {
        (Target::Key, Some(written)) => errors.at_span(written.key, message),
        (Target::Value, Some(written)) => errors.at(&written.value, message),
        (Target::Item(i), Some(written)) => match written.items.get(i) {
            Some(item) => errors.at(item, message),
            None => errors.at(&written.value, message),
        },
        // A missing key is no news when a key could not be read: it may be that one.
        (Target::Attribute, _) if args.incomplete => {}
        _ => errors.at_span(Span::call_site(), message),
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
