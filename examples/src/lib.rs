//! Examples of sentry-schedule live in `examples/`.
