//! Hands a check-in to the client's transport, or prints it when Sentry is not set up.
use super::payload::{CheckIn, CheckInStatus};
use sentry::{Client, Envelope};
use std::io::Write;

/// Sends `check_in` through the transport of `client`.
///
/// Without a client, or with one that has no DSN (`sentry::init` with no DSN), the
/// check-in is printed as one line on stdout instead, so a first run without a Sentry
/// account shows what would have been sent; `failure` (why an `error` run failed, which
/// would otherwise be in the linked event) is appended to that line. Never blocks on the network: the client's
/// transport queues the envelope and sends it from its own thread, in order.
pub(crate) fn deliver(client: Option<&Client>, check_in: &CheckIn<'_>, failure: Option<&str>) {
    let client = match client {
        Some(client) if client.is_enabled() => client,
        _ => return print(&line(check_in, failure)),
    };
    let options = client.options();
    let item = check_in.to_json(options.environment.as_deref(), options.release.as_deref());
    match Envelope::from_bytes_raw(envelope_bytes(&item)) {
        Ok(envelope) => {
            // The client attaches pending client reports (counts of dropped data) to the
            // next envelope it sends, but cannot add them to a raw one: it prints a warning
            // and drops them. Where the run itself caused one (a transaction not sampled),
            // an empty envelope takes them first; with nothing pending, the transport
            // discards it unsent. Only then: while the endpoint hangs, every queued envelope
            // brings the transport's queue closer to full, and a flush on a full queue
            // blocks (sentry 0.49).
            if check_in.status != CheckInStatus::InProgress && tracing_enabled(client) {
                client.send_envelope(Envelope::new());
            }
            client.send_envelope(envelope);
        }
        Err(error) => tracing::error!(
            monitor = check_in.monitor_slug,
            status = check_in.status.as_str(),
            %error,
            "sentry-schedule could not build the check-in envelope"
        ),
    }
}

/// Whether the client samples transactions, so that an unsampled run's transaction is
/// counted in a client report.
fn tracing_enabled(client: &sentry::Client) -> bool {
    !matches!(
        client.options().traces_sampling_strategy,
        sentry::TracesSamplingStrategy::Disabled
    )
}

/// One envelope holding one `check_in` item: header line, item header line, payload.
fn envelope_bytes(item: &serde_json::Value) -> Vec<u8> {
    let payload = item.to_string();
    let sent_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let header = serde_json::json!({ "sent_at": sent_at });
    let item_header = serde_json::json!({ "type": "check_in", "length": payload.len() });
    format!("{header}\n{item_header}\n{payload}\n").into_bytes()
}

/// The no-DSN line: `[sentry-schedule] check-in  monitor=…  status=…  check_in_id=…`, then
/// `  duration=…s` on final check-ins and `  failure=…` on failed ones.
fn line(check_in: &CheckIn<'_>, failure: Option<&str>) -> String {
    let mut line = format!(
        "[sentry-schedule] check-in  monitor={}  status={}  check_in_id={}",
        check_in.monitor_slug,
        check_in.status.as_str(),
        check_in.check_in_id
    );
    if check_in.status != CheckInStatus::InProgress {
        if let Some(duration) = check_in.duration {
            line.push_str(&format!("  duration={:.2}s", duration.as_secs_f64()));
        }
    }
    if let Some(failure) = failure {
        line.push_str("  failure=");
        // One line per check-in, also for multi-line panic messages.
        line.extend(failure.chars().map(|c| if c == '\n' { ' ' } else { c }));
    }
    line
}

fn print(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}") {
        tracing::debug!(%error, "could not print the check-in line");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_lines() {
        let mut check_in = CheckIn {
            check_in_id: "0123456789abcdef0123456789abcdef",
            monitor_slug: "nightly",
            status: CheckInStatus::InProgress,
            duration: None,
            trace_id: "fedcba9876543210fedcba9876543210",
            monitor: None,
        };
        assert_eq!(
            line(&check_in, None),
            "[sentry-schedule] check-in  monitor=nightly  status=in_progress  \
             check_in_id=0123456789abcdef0123456789abcdef"
        );
        check_in.status = CheckInStatus::Error;
        check_in.duration = Some(std::time::Duration::from_millis(1234));
        assert_eq!(
            line(&check_in, Some("disk full\non /var")),
            "[sentry-schedule] check-in  monitor=nightly  status=error  \
             check_in_id=0123456789abcdef0123456789abcdef  duration=1.23s  failure=disk full on /var"
        );
    }

    #[test]
    fn envelope_has_header_item_header_and_payload_of_stated_length() {
        let item = serde_json::json!({ "monitor_slug": "ünïcode" });
        let bytes = envelope_bytes(&item);
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: serde_json::Value = serde_json::from_str(lines[0]).expect("header");
        assert!(header["sent_at"].is_string());
        let item_header: serde_json::Value = serde_json::from_str(lines[1]).expect("item header");
        assert_eq!(item_header["type"], "check_in");
        assert_eq!(item_header["length"], lines[2].len());
        assert_eq!(lines[2], r#"{"monitor_slug":"ünïcode"}"#);
    }
}
