//! The identifiers of one run, drawn from a per-thread generator.
//!
//! A small generator per thread, seeded once from `rand`'s thread generator (itself seeded
//! from the OS): drawing costs no system call, unlike `Uuid::new_v4`, which asks the OS for
//! every id, and far less than the cryptographic thread generator. Check-in and trace ids
//! must be unique, not unpredictable.
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use sentry::protocol::TraceId;
use std::cell::RefCell;
use std::fmt;
use tinystr::TinyAsciiStr;

/// A value from this thread's generator (run ids, jitter).
pub(crate) fn random<T>() -> T
where
    rand::distr::StandardUniform: rand::distr::Distribution<T>,
{
    IDS.with_borrow_mut(|rng| rng.random())
}

thread_local! {
    /// This thread's id generator.
    static IDS: RefCell<SmallRng> = RefCell::new(SmallRng::from_rng(&mut rand::rng()));
}

/// The identifiers of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunIds {
    /// uuid v4 as 32 hex digits without dashes.
    pub(crate) check_in_id: HexId,
    /// Random, fresh for every run.
    pub(crate) trace_id: TraceId,
    /// `trace_id` as 32 lowercase hex digits.
    pub(crate) trace_id_hex: HexId,
}

impl RunIds {
    pub(crate) fn new() -> Self {
        let [check_in, trace]: [[u8; 16]; 2] = random();
        Self {
            check_in_id: HexId::of(uuid::Builder::from_random_bytes(check_in).into_uuid()),
            trace_id: TraceId::from(trace),
            // The same digits `TraceId`'s `Display` writes, through uuid's faster encoder.
            trace_id_hex: HexId::of(uuid::Uuid::from_bytes(trace)),
        }
    }
}

/// 16 bytes as 32 lowercase hex digits, held inline: no allocation per run. Text by its type
/// (an ASCII string), and 32 characters long by its only constructor: every one of the 32
/// bytes written is kept as a non-null ASCII character.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct HexId(TinyAsciiStr<32>);

/// Hashes the first 16 digits (60 random bits or more; equal ids have equal digits, so equal
/// hashes): hashing all 32 was a visible part of the test kit's cost per run, which keys
/// its pending check-ins by id.
impl std::hash::Hash for HexId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let digits = self.0.all_bytes();
        let mut first = [0; 16];
        first.copy_from_slice(&digits[..16]);
        state.write_u128(u128::from_le_bytes(first));
    }
}

impl HexId {
    fn of(id: uuid::Uuid) -> Self {
        let mut digits = [0u8; uuid::fmt::Simple::LENGTH];
        id.simple().encode_lower(&mut digits);
        // `encode_lower` wrote 32 hex digits; the replacement byte is never used.
        Self(TinyAsciiStr::from_utf8_lossy(&digits, b'0'))
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for HexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HexId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_in_ids_are_v4_uuids_and_ids_differ_between_runs() {
        let ids: Vec<RunIds> = (0..100).map(|_| RunIds::new()).collect();
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id.check_in_id.as_str()).expect("32 hex digits");
            assert_eq!(id.check_in_id.as_str().len(), 32);
            assert_eq!(uuid.get_version_num(), 4);
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
            assert_eq!(id.trace_id_hex.to_string(), id.trace_id.to_string());
        }
        let check_ins: std::collections::HashSet<_> = ids.iter().map(|id| id.check_in_id).collect();
        let traces: std::collections::HashSet<_> =
            ids.iter().map(|id| id.trace_id.to_string()).collect();
        assert_eq!(check_ins.len(), ids.len());
        assert_eq!(traces.len(), ids.len());
    }
}
