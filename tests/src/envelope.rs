//! Decoding Sentry envelopes: a header line, then items of an item-header line and a
//! payload (`length` bytes when given, otherwise up to the next newline).
use serde_json::Value;

/// One received envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The envelope header.
    pub header: Value,
    /// Its items, in order.
    pub items: Vec<Item>,
}

/// One envelope item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The item's `type` (`event`, `check_in`, `transaction`, ...).
    pub ty: String,
    /// The item header.
    pub header: Value,
    /// The raw payload.
    pub payload: Vec<u8>,
}

impl Item {
    /// The payload parsed as JSON.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

/// Decodes an envelope body.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let (header, mut rest) = split_line(body);
    let header = serde_json::from_slice(header).map_err(|e| format!("envelope header: {e}"))?;
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (item_header, after) = split_line(rest);
        if item_header.is_empty() {
            rest = after;
            continue;
        }
        let item_header: Value =
            serde_json::from_slice(item_header).map_err(|e| format!("item header: {e}"))?;
        let ty = item_header["type"]
            .as_str()
            .ok_or("item header without type")?
            .to_owned();
        let (payload, after) = match item_header["length"].as_u64() {
            Some(length) => {
                let length = usize::try_from(length).map_err(|e| e.to_string())?;
                let payload = after
                    .get(..length)
                    .ok_or_else(|| format!("{ty} item shorter than its length {length}"))?;
                let after = after.get(length..).unwrap_or_default();
                (payload, after.strip_prefix(b"\n").unwrap_or(after))
            }
            None => split_line(after),
        };
        items.push(Item {
            ty,
            header: item_header,
            payload: payload.to_vec(),
        });
        rest = after;
    }
    Ok(Envelope { header, items })
}

fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_with_and_without_length() {
        let body = b"{\"event_id\":\"x\"}\n{\"type\":\"check_in\",\"length\":9}\n{\"a\":\"\n\"}\n{\"type\":\"event\"}\n{\"b\":2}\n";
        let envelope = parse_envelope(body).expect("parses");
        assert_eq!(envelope.header["event_id"], "x");
        assert_eq!(envelope.items.len(), 2);
        assert_eq!(envelope.items[0].ty, "check_in");
        assert_eq!(envelope.items[0].payload, b"{\"a\":\"\n\"}");
        assert_eq!(envelope.items[1].ty, "event");
        assert_eq!(envelope.items[1].json().expect("json")["b"], 2);
    }

    #[test]
    fn truncated_item_is_an_error() {
        let body = b"{}\n{\"type\":\"check_in\",\"length\":50}\n{}\n";
        assert!(parse_envelope(body).is_err());
    }
}
