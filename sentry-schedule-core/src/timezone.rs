//! IANA time zone names, as Sentry's `monitor_config.timezone` accepts them.
use chrono_tz::{Tz, TZ_VARIANTS};

/// Parses an IANA time zone name (exact spelling, as Sentry requires); on a typo the
/// error suggests the closest names.
///
/// Sentry's rule: getsentry/sentry `src/sentry/monitors/validators.py`,
/// `ConfigValidator.timezone = ChoiceField(choices=sorted(AVAILABLE_TIMEZONES))`, with
/// `AVAILABLE_TIMEZONES` from `src/sentry/utils/dates.py` (`zoneinfo.available_timezones()`
/// minus `Factory`); the differential test `tests/sentry_differential.rs` compares the lists.
///
/// ```
/// use sentry_schedule_core::timezone::parse_timezone;
/// assert_eq!(parse_timezone("Europe/Vienna"), Ok(chrono_tz::Europe::Vienna));
/// let e = parse_timezone("europe/vienna").unwrap_err();
/// assert!(e.contains("did you mean `Europe/Vienna`?"), "{e}");
/// ```
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let base = format!(
        "unknown time zone `{name}`: expected an IANA name such as `Europe/Vienna` \
         or `UTC`"
    );
    match suggest(name) {
        Some(s) => Err(format!("{base}; did you mean `{s}`?")),
        None => Err(base),
    }
}

/// The closest known name: a case-insensitive match first, else the nearest by edit
/// distance if it is small relative to the name.
fn suggest(name: &str) -> Option<&'static str> {
    if name.len() > 64 {
        return None;
    }
    crate::suggest::closest(name, TZ_VARIANTS.iter().map(|tz| tz.name()), 1)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suggest::levenshtein;

    #[test]
    fn exact_names_parse() {
        assert_eq!(parse_timezone("UTC"), Ok(chrono_tz::UTC));
        assert_eq!(
            parse_timezone("Australia/Lord_Howe"),
            Ok(chrono_tz::Australia::Lord_Howe)
        );
    }

    #[test]
    fn typos_get_suggestions() {
        let e = parse_timezone("Europe/Viena").unwrap_err();
        assert!(e.contains("did you mean `Europe/Vienna`?"), "{e}");
        let e = parse_timezone("america/new_york").unwrap_err();
        assert!(e.contains("did you mean `America/New_York`?"), "{e}");
        let e = parse_timezone("Amerca/Sao_Paolo").unwrap_err();
        assert!(e.contains("did you mean `America/Sao_Paulo`?"), "{e}");
    }

    #[test]
    fn nonsense_gets_no_suggestion() {
        let e = parse_timezone("Mars/Olympus").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
        let e = parse_timezone("definitely not a zone").unwrap_err();
        assert!(
            e.starts_with("unknown time zone `definitely not a zone`"),
            "{e}"
        );
        assert!(!e.contains("did you mean"), "{e}");
        assert!(parse_timezone("").is_err());
    }

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
