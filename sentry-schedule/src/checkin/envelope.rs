//! The envelope of one check-in: header line, item header line, payload.
//!
//! One `check_in` item per envelope: Relay refuses (`413`) an envelope holding a second one
//! (getsentry/relay `relay-server/src/utils/sizes.rs`, `check_envelope_size_limits`: the
//! `check_in` limit has `total_count: 1`). Check-ins due together therefore cannot be
//! batched; the sender pipelines several requests instead.

/// The envelope bytes of one `check_in` item whose JSON is `payload`, `sent_at` now.
pub(crate) fn envelope(payload: &[u8]) -> Vec<u8> {
    // Written directly: neither line has anything to escape (an RFC 3339 time, a number).
    let sent_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let header = format!(r#"{{"sent_at":"{sent_at}"}}"#);
    let item_header = format!(r#"{{"type":"check_in","length":{}}}"#, payload.len());
    let mut bytes = Vec::with_capacity(header.len() + item_header.len() + payload.len() + 3);
    for part in [header.as_bytes(), item_header.as_bytes(), payload] {
        bytes.extend_from_slice(part);
        bytes.push(b'\n');
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_header_item_header_and_payload_of_stated_length() {
        let payload = serde_json::json!({ "monitor_slug": "ünïcode" }).to_string();
        let bytes = envelope(payload.as_bytes());
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: serde_json::Value = serde_json::from_str(lines[0]).expect("header");
        let sent_at = header["sent_at"].as_str().expect("sent_at");
        let parsed = chrono::DateTime::parse_from_rfc3339(sent_at).expect("RFC 3339");
        assert!((chrono::Utc::now() - parsed.to_utc()).num_seconds().abs() < 60);
        assert_eq!(sent_at.len(), "2026-01-01T00:00:00.000Z".len(), "{sent_at}");
        let item_header: serde_json::Value = serde_json::from_str(lines[1]).expect("item header");
        assert_eq!(item_header["type"], "check_in");
        assert_eq!(item_header["length"], lines[2].len());
        assert_eq!(lines[2], r#"{"monitor_slug":"ünïcode"}"#);
    }
}
