//! STUB — human durations such as `30s`, `10m`, `1h`, `2d`.
use std::time::Duration;

/// Parses `<number><unit>` with unit `s`, `m`, `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration `{s}`: expected e.g. `30s`, `10m`, `1h`, `2d`"))?;
    let mult = match unit { "s" => 1, "m" => 60, "h" => 3600, "d" => 86400, _ => return Err(format!("invalid duration unit in `{s}`: expected s, m, h or d")) };
    Ok(Duration::from_secs(n * mult))
}
