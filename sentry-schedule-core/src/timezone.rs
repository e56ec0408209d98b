//! STUB — IANA time zone names.
use chrono_tz::Tz;

/// Parses an IANA time zone name; the error says what was expected.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!(
            "unknown time zone `{name}`: expected an IANA name such as `Europe/Vienna` or `UTC`"
        )
    })
}
