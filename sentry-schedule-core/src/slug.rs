//! Monitor slugs.
//!
//! Sentry identifies a monitor by its slug: lowercase letters, digits, `_` and `-`, not
//! entirely numeric, at most 50 characters. A job's slug is derived from its full path
//! (`module_path!()` plus the fn name), so it is readable, deterministic across builds
//! and machines, and distinct for distinct paths:
//!
//! 1. join the module path and the fn name with `::`;
//! 2. lowercase ASCII letters; turn `::` into `-` and keep `_` (Rust names cannot contain
//!    `-`, so this is one-to-one and `a::b_c` and `a_b::c` stay apart); turn any other
//!    character outside `[a-z0-9_]` into `-`;
//! 3. if step 2 lost information (upper-case letters, non-ASCII or other characters)
//!    or the result is longer than 50 characters, keep the rightmost (most specific)
//!    part, cut at a `-` where possible, and append `-` plus 8 hex digits of the
//!    FNV-1a hash of the full path, so distinct paths stay distinct.
//!
//! | path | slug |
//! |------|------|
//! | `my_app::jobs` + `send_report` | `my_app-jobs-send_report` |
//! | `billing` + `charge_cards` | `billing-charge_cards` |
//! | `my_app::reports::monthly::finance::emea` + `consolidate_quarterly_numbers` | `emea-consolidate_quarterly_numbers-265b660e` |
//!
//! The crate name is kept, since two crates may have the same module names. Should two
//! slugs still be equal (an explicit `slug` equal to a derived one, or two hashed slugs
//! colliding), the runtime refuses to start, naming both jobs, and `slug = "..."` sets
//! one explicitly.

use crate::hash::fnv1a64;

/// Longest slug Sentry keeps.
pub const MAX_SLUG_LEN: usize = 50;

/// Length of the `-xxxxxxxx` hash suffix.
const SUFFIX_LEN: usize = 9;

/// 8 hex digits of the FNV-1a hash of `text` (the two 32-bit halves xor-ed).
fn short_hash(text: &str) -> String {
    let h = fnv1a64(text.as_bytes());
    format!("{:08x}", (h >> 32) ^ (h & 0xffff_ffff))
}

/// Derives the monitor slug of the fn `name` in module `module_path` (as
/// `module_path!()` gives it). See the [module docs](self) for the rule.
///
/// ```
/// use sentry_schedule_core::slug::derive_slug;
/// assert_eq!(derive_slug("my_app::jobs", "send_report"), "my_app-jobs-send_report");
/// ```
pub fn derive_slug(module_path: &str, name: &str) -> String {
    let full = format!("{module_path}::{name}");
    let mut lossy = false;
    let mut readable = String::with_capacity(full.len());
    let mut rest = full.as_str();
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            readable.push('-');
            rest = after;
            continue;
        }
        match c {
            'a'..='z' | '0'..='9' | '_' => readable.push(c),
            'A'..='Z' => {
                readable.push(c.to_ascii_lowercase());
                lossy = true;
            }
            _ => {
                readable.push('-');
                lossy = true;
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    if !lossy && readable.len() <= MAX_SLUG_LEN {
        return readable;
    }
    let keep = MAX_SLUG_LEN - SUFFIX_LEN;
    let mut tail = if readable.len() > keep {
        // `readable` is ASCII, so any index is a char boundary.
        let cut = &readable[readable.len() - keep..];
        match cut.find('-') {
            // Start at a word boundary unless that throws away most of it.
            Some(i) if i + 1 < cut.len() && i < keep / 2 => &cut[i + 1..],
            _ => cut,
        }
    } else {
        readable.as_str()
    };
    tail = tail.trim_matches('-');
    if tail.is_empty() {
        format!("job-{}", short_hash(&full))
    } else {
        format!("{tail}-{}", short_hash(&full))
    }
}

/// Checks an explicit slug; the error says what is allowed.
///
/// ```
/// use sentry_schedule_core::slug::validate_slug;
/// assert!(validate_slug("nightly-backup").is_ok());
/// assert!(validate_slug("Nightly Backup").is_err());
/// ```
pub fn validate_slug(slug: &str) -> Result<(), String> {
    const ALLOWED: &str = "lowercase letters a-z, digits 0-9, `_` and `-`, at most 50 characters, \
                           not only digits";
    if slug.is_empty() {
        return Err(format!("empty slug: expected {ALLOWED}"));
    }
    if let Some(c) = slug
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
    {
        return Err(format!(
            "invalid slug `{slug}`: character `{c}` is not allowed; expected {ALLOWED}"
        ));
    }
    if slug.len() > MAX_SLUG_LEN {
        return Err(format!(
            "invalid slug `{slug}`: {} characters, Sentry keeps at most {MAX_SLUG_LEN}",
            slug.len()
        ));
    }
    if !slug.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "invalid slug `{slug}`: expected at least one letter or digit"
        ));
    }
    if slug.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "invalid slug `{slug}`: Sentry refuses slugs made only of digits; add a letter"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        assert_eq!(
            derive_slug("my_app::jobs", "send_report"),
            "my_app-jobs-send_report"
        );
        assert_eq!(
            derive_slug("billing", "charge_cards"),
            "billing-charge_cards"
        );
        // `::` and `_` stay apart.
        assert_eq!(derive_slug("a", "b_c"), "a-b_c");
        assert_eq!(derive_slug("a_b", "c"), "a_b-c");
    }

    #[test]
    fn long_paths_keep_the_specific_end_and_a_hash() {
        let path = "my_app::reports::monthly::finance::emea";
        let slug = derive_slug(path, "consolidate_quarterly_numbers");
        assert!(slug.len() <= MAX_SLUG_LEN, "{slug}");
        assert!(
            slug.starts_with("emea-consolidate_quarterly_numbers-"),
            "{slug}"
        );
        // The suffix computed independently (FNV-1a 64 of the path, halves xor-ed).
        assert_eq!(slug, "emea-consolidate_quarterly_numbers-265b660e");
        assert!(validate_slug(&slug).is_ok());
        // Another long path with the same tail stays distinct.
        let other = derive_slug(
            "my_app::reports::monthly::finance::apac::emea",
            "consolidate_quarterly_numbers",
        );
        assert_ne!(slug, other);
        assert!(
            other.starts_with("apac-emea-consolidate_quarterly_numbers-"),
            "{other}"
        );
    }

    #[test]
    fn the_hash_is_fnv1a_of_the_full_path() {
        // Hand-checkable: fnv1a64("a::B") folded to 32 bits.
        let h = crate::hash::fnv1a64(b"a::B");
        let expected = format!("a-b-{:08x}", (h >> 32) ^ (h & 0xffff_ffff));
        assert_eq!(derive_slug("a", "B"), expected);
    }

    #[test]
    fn lossy_characters_get_a_hash_so_paths_stay_distinct() {
        let upper = derive_slug("app", "Job");
        let lower = derive_slug("app", "job");
        assert_eq!(lower, "app-job");
        assert_ne!(upper, lower);
        assert!(upper.starts_with("app-job-"), "{upper}");
        let cafe1 = derive_slug("app", "café");
        let cafe2 = derive_slug("app", "cafè");
        assert_ne!(cafe1, cafe2);
        assert!(validate_slug(&cafe1).is_ok() && validate_slug(&cafe2).is_ok());
    }

    #[test]
    fn derived_slugs_are_always_valid() {
        let long = "x".repeat(200);
        for (m, n) in [
            ("a", "b"),
            ("crate::__private", "_job"),
            (long.as_str(), "run"),
            ("app", &long),
            ("日本", "仕事"),
            ("app::r#type", "r#fn"),
        ] {
            let slug = derive_slug(m, n);
            assert!(validate_slug(&slug).is_ok(), "{m}::{n} -> {slug}");
        }
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            derive_slug(
                "a::very::long::module::path::that::goes::on",
                "and_on_and_on_forever"
            ),
            derive_slug(
                "a::very::long::module::path::that::goes::on",
                "and_on_and_on_forever"
            )
        );
    }

    #[test]
    fn validate_says_what_is_allowed() {
        assert!(validate_slug("nightly-backup_2").is_ok());
        for bad in [
            "",
            "Nightly",
            "a b",
            "a.b",
            "é",
            "---",
            "123",
            &"a".repeat(51),
        ] {
            let e = validate_slug(bad).expect_err(bad);
            assert!(!e.is_empty());
        }
        assert!(validate_slug(&"a".repeat(50)).is_ok());
        assert!(validate_slug("UPPER")
            .unwrap_err()
            .contains("`U` is not allowed"));
        assert!(validate_slug("123").unwrap_err().contains("only of digits"));
        assert!(validate_slug(&"a".repeat(51))
            .unwrap_err()
            .contains("at most 50"));
    }
}
