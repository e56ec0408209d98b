//! Collects every error of one item so they all come out in one compile.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Errors gathered while checking one `#[scheduled]` item.
#[derive(Default)]
pub(crate) struct Errors {
    collected: Option<syn::Error>,
}

impl Errors {
    /// Adds an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.collected {
            Some(collected) => collected.combine(error),
            None => self.collected = Some(error),
        }
    }

    /// Adds an error spanned at `tokens`.
    pub(crate) fn at<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an error at `span`.
    pub(crate) fn at_span<M: Display>(&mut self, span: Span, message: M) {
        self.push(syn::Error::new(span, message));
    }

    /// Whether nothing went wrong so far.
    pub(crate) fn is_empty(&self) -> bool {
        self.collected.is_none()
    }

    /// `Ok` when no error was added, else all of them.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.collected {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// An error message followed by a `help:` line, rendered the way rustc renders its own.
pub(crate) fn with_help(message: impl Display, help: impl Display) -> String {
    format!("{message}\nhelp: {help}")
}
