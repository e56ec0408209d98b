//! How long Sentry asks us not to send check-ins, read from its answer's headers.
//!
//! `X-Sentry-Rate-Limits` is a comma-separated list of
//! `<seconds>:<category>;<category>…:<scope>[:<reason>[:<namespaces>]]`; an empty category
//! list limits every category. Check-ins are Relay's data category `monitor`
//! (getsentry/relay `relay-server/src/envelope/item.rs`: `ItemType::CheckIn =>
//! DataCategory::Monitor`; the header's grammar: `relay-server/src/utils/rate_limits.rs`,
//! `parse_rate_limits`). As in sentry-rust (`sentry/src/transports/ratelimit.rs`), the header
//! wins over `Retry-After` (seconds or an HTTP date), and a `429` with neither means 60 s.
use std::time::Duration;

/// Relay's rate-limit category of check-ins.
const CATEGORY: &str = "monitor";

/// The pause of a `429` that names no duration (the SDKs' default).
pub(crate) const DEFAULT_429_PAUSE: Duration = Duration::from_secs(60);

/// The headers of one answer that speak of rate limits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateLimitHeaders<'a> {
    /// `X-Sentry-Rate-Limits`.
    pub sentry: Option<&'a str>,
    /// `Retry-After`.
    pub retry_after: Option<&'a str>,
}

/// How long check-ins must wait after an answer with `status` and `headers`; `None` when
/// they need not.
pub(crate) fn pause(status: u16, headers: RateLimitHeaders<'_>) -> Option<Duration> {
    if let Some(header) = headers.sentry {
        return sentry_header(header);
    }
    if status != 429 {
        return None;
    }
    Some(
        headers
            .retry_after
            .and_then(retry_after)
            .unwrap_or(DEFAULT_429_PAUSE),
    )
}

/// The longest limit of `X-Sentry-Rate-Limits` that covers check-ins (their category or
/// all categories).
fn sentry_header(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|group| {
            let mut parts = group.trim().split(':');
            let seconds = seconds(parts.next()?)?;
            let categories = parts.next().unwrap_or("");
            let covers = categories.is_empty() || categories.split(';').any(|c| c == CATEGORY);
            covers.then_some(seconds)
        })
        .max()
}

/// `Retry-After`: seconds, or an HTTP date (taken relative to the system clock).
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Some(seconds) = seconds(value) {
        return Some(seconds);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let left = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

/// Non-negative seconds, fractions rounded up.
fn seconds(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs(seconds.ceil() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with<'a>(sentry: Option<&'a str>, retry_after: Option<&'a str>) -> RateLimitHeaders<'a> {
        RateLimitHeaders {
            sentry,
            retry_after,
        }
    }

    #[test]
    fn the_monitor_category_and_global_limits_apply() {
        let secs = Duration::from_secs;
        assert_eq!(
            pause(429, with(Some("60:monitor:organization:quota"), None)),
            Some(secs(60))
        );
        assert_eq!(pause(429, with(Some("30::key"), None)), Some(secs(30)));
        assert_eq!(
            pause(
                200,
                with(Some("10:error;monitor:project, 20::organization"), None)
            ),
            Some(secs(20))
        );
        assert_eq!(
            pause(429, with(Some("2.3:transaction;monitor:project"), None)),
            Some(secs(3))
        );
    }

    #[test]
    fn limits_of_other_categories_do_not_apply() {
        assert_eq!(
            pause(200, with(Some("60:error;transaction:project"), None)),
            None
        );
        assert_eq!(
            pause(429, with(Some("60:monitors:project"), Some("5"))),
            None
        );
    }

    #[test]
    fn retry_after_and_the_default_apply_only_without_the_sentry_header() {
        assert_eq!(
            pause(429, with(None, Some("7"))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(pause(429, with(None, None)), Some(DEFAULT_429_PAUSE));
        assert_eq!(
            pause(429, with(None, Some("soon"))),
            Some(DEFAULT_429_PAUSE)
        );
        assert_eq!(pause(503, with(None, Some("7"))), None);
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(90)).to_rfc2822();
        let paused = pause(429, with(None, Some(&later))).expect("a pause");
        assert!(paused > Duration::from_secs(80) && paused <= Duration::from_secs(90));
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(pause(429, with(None, Some(past))), Some(Duration::ZERO));
    }

    #[test]
    fn malformed_groups_are_skipped() {
        assert_eq!(
            pause(
                429,
                with(
                    Some("x:monitor:project, -5:monitor:project, 4:monitor"),
                    None
                )
            ),
            Some(Duration::from_secs(4))
        );
    }
}
