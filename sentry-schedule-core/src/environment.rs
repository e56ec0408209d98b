//! The check-in `environment` (the Sentry client's `environment` option), as Sentry
//! accepts it.

use crate::limits::Violation;

/// Longest environment name, in characters: `ENVIRONMENT_NAME_MAX_LENGTH` in getsentry/sentry
/// `src/sentry/constants.py`, and `ENVIRONMENT_LENGTH` in getsentry/relay
/// `relay-monitors/src/lib.rs` (Relay drops a longer one before Sentry sees it).
pub const MAX_ENVIRONMENT_CHARS: usize = 64;

/// Characters an environment name must not contain: `ENVIRONMENT_NAME_PATTERN`
/// (`^[^\n\r\f\/]*$`) in getsentry/sentry `src/sentry/constants.py`, checked by
/// `Environment.is_valid_name` (`src/sentry/models/environment.py`).
pub const FORBIDDEN_ENVIRONMENT_CHARS: [char; 4] = ['/', '\n', '\r', '\u{c}'];

/// Checks the environment check-ins are sent with.
///
/// Sentry's monitor consumer drops every check-in whose environment fails
/// `Environment.is_valid_name` (more than 64 characters, or a `/`, `\n`, `\r` or `\f`):
/// `MonitorEnvironment.objects.ensure_environment` raises
/// `MonitorEnvironmentValidationFailed` (`monitors/consumers/monitor_consumer.py`). An
/// empty environment is not dropped but filed under `production` (`ensure_environment`;
/// Relay's `process_check_in` mirrors it), so the monitor would silently show another
/// environment than the one configured: refused as well.
///
/// ```
/// use sentry_schedule_core::environment::check_environment;
/// assert!(check_environment("production").is_ok());
/// assert!(check_environment("eu/staging").is_err());
/// ```
pub fn check_environment(environment: &str) -> Result<(), Violation> {
    const HELP: &str =
        "set the Sentry client's `environment` (or SENTRY_ENVIRONMENT) to a name of 1 to 64 \
         characters without `/`, line breaks or form feeds, e.g. `eu-staging`";
    if environment.is_empty() {
        return Err(Violation::new(
            "invalid environment ``: Sentry files check-ins with an empty environment under \
             `production`",
            HELP,
        ));
    }
    let chars = environment.chars().count();
    if chars > MAX_ENVIRONMENT_CHARS {
        return Err(Violation::new(
            format!(
                "invalid environment `{environment}`: {chars} characters, Sentry drops every \
                 check-in whose environment is longer than {MAX_ENVIRONMENT_CHARS}"
            ),
            HELP,
        ));
    }
    if let Some(c) = environment
        .chars()
        .find(|c| FORBIDDEN_ENVIRONMENT_CHARS.contains(c))
    {
        return Err(Violation::new(
            format!(
                "invalid environment {environment:?}: it contains {c:?}, and Sentry drops every \
                 check-in whose environment contains `/`, `\\n`, `\\r` or `\\f`"
            ),
            HELP,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for ok in [
            "production",
            "eu-staging",
            "a",
            "back\\slash",
            "with space",
            "tab\there",
            "ünïcödé",
        ] {
            assert!(check_environment(ok).is_ok(), "{ok:?}");
        }
        assert!(check_environment(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn rejected_names_say_why() {
        let e = check_environment("eu/staging").unwrap_err();
        assert!(e.message.contains("\"eu/staging\""), "{e}");
        assert!(e.message.contains("'/'"), "{e}");
        for bad in ["a\nb", "a\rb", "a\u{c}b"] {
            assert!(check_environment(bad).is_err(), "{bad:?}");
        }
        let e = check_environment(&"é".repeat(65)).unwrap_err();
        assert!(e.message.contains("65 characters"), "{e}");
        let e = check_environment("").unwrap_err();
        assert!(e.message.contains("production"), "{e}");
    }
}
