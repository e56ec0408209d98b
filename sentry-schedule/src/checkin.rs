//! Sentry check-in payloads and their delivery through the client's transport. (Owner: run side.)
