//! Compile-time checks of `#[scheduled]`: every bad input has a case in `tests/ui/fail`
//! whose `.stderr` shows the error pointed at the offending token; `tests/ui/pass` holds
//! the forms that must compile.
//!
//! The expected output depends on the rustc version; regenerate with
//! `TRYBUILD=overwrite cargo test -p sentry-schedule --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
