//! Stage 3: the registration code emitted after the user's (unchanged) fn.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;

use sentry_schedule_core::options::{Overlap, ScheduleSource, ValidOptions};

use crate::model::ScheduledFn;

/// The `const _: () = { ... };` block holding the runner and the `inventory::submit!`.
pub(crate) fn registration(job: &ScheduledFn) -> TokenStream {
    let krate = &job.krate;
    let private = quote!(#krate::__private);
    let ident = &job.item.sig.ident;
    let name = ident.unraw().to_string();
    let runner = syn::Ident::new("__sentry_schedule_run", Span::mixed_site());
    let item_id = syn::Ident::new("__SENTRY_SCHEDULE_ITEM", Span::mixed_site());

    // Bound checks spanned at the user's tokens, so rustc's errors point there: the
    // future must be `Send + 'static` (the cast to `dyn Future + Send`, at the fn's name),
    // its output a `JobOutput` (`into_job_future`, at the return type). Casting first means
    // `into_job_future` can only fail on the output, so no error is reported twice.
    let at_name = ident.span();
    let output_span = match &job.item.sig.output {
        syn::ReturnType::Default => None,
        syn::ReturnType::Type(_, ty) => Some(first_and_last_span(ty)),
    };
    let future = syn::Ident::new(
        "__sentry_schedule_future",
        at_name.resolved_at(Span::mixed_site()),
    );
    let send_check = quote_spanned! {at_name=>
        let #future: ::core::pin::Pin<
            ::std::boxed::Box<dyn ::core::future::Future<Output = _> + ::core::marker::Send + 'static>,
        > = ::std::boxed::Box::pin(#future);
    };
    let into_job_future = match output_span {
        None => quote_spanned! {at_name=> #private::into_job_future(#future) },
        Some((first, last)) => {
            // rustc points a bound error at the argument expression; an expression whose
            // first token carries the span of the return type's first token and whose last
            // token that of its last one makes the error underline the whole type.
            let future = syn::Ident::new("__sentry_schedule_future", Span::mixed_site());
            let arm = syn::Ident::new("__sentry_schedule_output", Span::mixed_site());
            let body = quote_spanned! {last=> { #arm => #arm } };
            let scrutinee = quote_spanned! {first=> match #future };
            quote!(#private::into_job_future(#scrutinee #body))
        }
    };
    // One argument per parameter, taken from the run's context by its type's `JobParam`
    // impl. The call is spanned at the type, so an unsupported type is an error there;
    // the state checks reuse the same spans, and rustc reports an identical error once.
    let ctx = syn::Ident::new("__sentry_schedule_ctx", Span::mixed_site());
    let mut args = Vec::new();
    let mut takes = Vec::new();
    let mut requires = Vec::new();
    for (i, input) in job.item.sig.inputs.iter().enumerate() {
        let syn::FnArg::Typed(param) = input else {
            continue;
        };
        let ty = &param.ty;
        let arg = syn::Ident::new(&format!("__sentry_schedule_arg{i}"), Span::mixed_site());
        let (first, last) = first_and_last_span(ty);
        let job_param = quote_spanned! {last=> #private::JobParam };
        let qualified = quote_spanned! {first=> <#ty as #job_param> };
        takes.push(quote! {
            let #arg = match #qualified::from_context(#ctx) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => return #private::failed_run(error),
            };
        });
        requires.push(quote!(#qualified::check));
        args.push(arg);
    }

    let location = quote_spanned! {ident.span()=>
        file: ::core::file!(),
        line: ::core::line!(),
    };

    let schedule = match &job.options.source {
        ScheduleSource::Cron(text) => quote!(#private::ScheduleSpec::Cron(#text)),
        ScheduleSource::Every(text) => quote!(#private::ScheduleSpec::Every(#text)),
    };
    let options = options(&private, &job.options);

    // A `#[cfg]` below the attribute removes the fn; it must remove its registration too.
    let cfgs = job
        .item
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"));

    quote! {
        #(#cfgs)*
        const _: () = {
            #[allow(deprecated, clippy::all, clippy::pedantic)]
            fn #runner(#ctx: &#private::JobContext) -> #private::JobFuture {
                #(#takes)*
                let #future = #ident(#(#args),*);
                #send_check
                #into_job_future
            }

            // The fn item's type, by which `testing::job(fn)` finds this job.
            #[allow(deprecated)]
            const #item_id: fn() -> ::core::any::TypeId = #private::fn_item_id(&#ident);

            #private::inventory::submit! {
                #private::StaticJob {
                    name: #name,
                    module_path: ::core::module_path!(),
                    #location
                    schedule: #schedule,
                    options: #options,
                    run: #runner,
                    item: #item_id,
                    requires: &[#(#requires as #private::StateCheck),*],
                }
            }
        };
    }
}

/// Spans of the first and the last token of `tokens`.
fn first_and_last_span(tokens: &impl ToTokens) -> (Span, Span) {
    let mut spans = tokens.to_token_stream().into_iter().map(|tt| tt.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    let last = spans.last().unwrap_or(first);
    (first, last)
}

/// `StaticOptions { <keys given>, ..StaticOptions::DEFAULT }`.
fn options(private: &TokenStream, options: &ValidOptions) -> TokenStream {
    let some = |value: TokenStream| quote!(::core::option::Option::Some(#value));
    let millis = |d: std::time::Duration| {
        // The schema only accepts durations whose milliseconds fit in a u64.
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        some(quote!(::core::time::Duration::from_millis(#ms)))
    };
    let mut fields = Vec::new();
    let mut field = |key: &str, value: TokenStream| {
        let key = syn::Ident::new(key, Span::call_site());
        fields.push(quote!(#key: #value));
    };
    if let Some(v) = &options.slug {
        field("slug", some(quote!(#v)));
    }
    if let Some(v) = &options.timezone {
        let name = v.name();
        field("timezone", some(quote!(#name)));
    }
    if !options.monitor {
        field("monitor", quote!(false));
    }
    if let Some(v) = options.checkin_margin {
        field("checkin_margin", some(quote!(#v)));
    }
    if let Some(v) = options.max_runtime {
        field("max_runtime", some(quote!(#v)));
    }
    if let Some(v) = options.failure_issue_threshold {
        field("failure_issue_threshold", some(quote!(#v)));
    }
    if let Some(v) = options.recovery_threshold {
        field("recovery_threshold", some(quote!(#v)));
    }
    if let Some(v) = &options.owner {
        field("owner", some(quote!(#v)));
    }
    if let Some(v) = options.run_at_startup {
        field("run_at_startup", quote!(#v));
    }
    if let Some(v) = options.overlap {
        let variant = match v {
            Overlap::Skip => quote!(Skip),
            Overlap::Allow => quote!(Allow),
            Overlap::Replace => quote!(Replace),
        };
        field("overlap", quote!(#private::Overlap::#variant));
    }
    if let Some(v) = options.timeout {
        field("timeout", millis(v));
    }
    if let Some(v) = options.jitter {
        field("jitter", millis(v));
    }
    if let Some(v) = options.catch_up {
        field("catch_up", millis(v));
    }
    if let Some(retry) = &options.retry {
        let retries = retry.retries;
        field("retries", some(quote!(#retries)));
        field("backoff", millis(retry.backoff));
        field("backoff_max", millis(retry.backoff_max));
    }
    if let Some(v) = &options.environments {
        field("environments", some(quote!(&[#(#v),*])));
    }
    quote! {
        #private::StaticOptions {
            #(#fields,)*
            ..#private::StaticOptions::DEFAULT
        }
    }
}
