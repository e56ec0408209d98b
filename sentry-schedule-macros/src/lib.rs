//! STUB — the `#[scheduled]` attribute. Use it through `sentry_schedule::scheduled`.
#![warn(missing_docs)]
use proc_macro::TokenStream;

/// Registers an async fn as a scheduled job.
#[proc_macro_attribute]
pub fn scheduled(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
