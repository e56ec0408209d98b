//! (Owner: scheduler side.)
