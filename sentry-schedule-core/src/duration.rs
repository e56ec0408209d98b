//! Human durations such as `30s`, `10m`, `1h`, `2d`.
use std::time::Duration;

const HELP: &str = "expected a positive whole number followed by a unit s, m, h or d, e.g. `30s`, `10m`, `1h`, `2d`";

/// Parses `<number><unit>` with unit `s` (seconds), `m` (minutes), `h` (hours) or `d`
/// (days). Zero, signs, fractions, spaces and overflowing values are rejected.
///
/// ```
/// use sentry_schedule_core::duration::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
/// assert!(parse_duration("0s").is_err());
/// assert!(parse_duration("1.5h").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let Some(unit) = s.chars().last() else {
        return Err(format!("empty duration: {HELP}"));
    };
    let number = &s[..s.len() - unit.len_utf8()];
    let multiplier: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ if unit.is_ascii_digit() => {
            return Err(format!("invalid duration `{s}`: missing unit; {HELP}"))
        }
        _ => return Err(format!("invalid duration unit `{unit}` in `{s}`: {HELP}")),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid duration `{s}`: {HELP}"));
    }
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{s}`: the number is too large"))?;
    if n == 0 {
        return Err(format!("invalid duration `{s}`: must be greater than zero"));
    }
    let secs = n
        .checked_mul(multiplier)
        .ok_or_else(|| format!("invalid duration `{s}`: the number is too large"))?;
    Ok(Duration::from_secs(secs))
}

/// A duration in the units [`parse_duration`] reads, largest first (`10m`, `1h30m`,
/// `45s`); fractions of a second and zero as seconds (`1.5s`, `0s`).
///
/// ```
/// use sentry_schedule_core::duration::display;
/// use std::time::Duration;
/// assert_eq!(display(Duration::from_secs(5400)), "1h30m");
/// ```
pub fn display(d: Duration) -> String {
    if d.subsec_nanos() != 0 || d.is_zero() {
        return format!("{}s", d.as_secs_f64());
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("007m"), Ok(Duration::from_secs(420)));
    }

    #[test]
    fn rejects_zero_garbage_and_overflow() {
        for bad in [
            "",
            "0s",
            "0m",
            "s",
            "15",
            "15x",
            "-5m",
            "+5m",
            "1.5h",
            " 5m",
            "5m ",
            "5 m",
            "5M",
            "m5",
            "5mm",
            "１m",
            "18446744073709551616s",
            "18446744073709551615d",
            "5é",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn errors_say_what_is_expected() {
        let e = parse_duration("15x").unwrap_err();
        assert!(e.contains("unit `x`") && e.contains("s, m, h or d"), "{e}");
        let e = parse_duration("0m").unwrap_err();
        assert!(e.contains("greater than zero"), "{e}");
        let e = parse_duration("15").unwrap_err();
        assert!(e.contains("missing unit"), "{e}");
    }
}
