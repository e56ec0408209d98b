//! Monitor slugs, in the form Sentry keeps them.
//!
//! Sentry does not store the slug a check-in names but a normalised one: Relay cuts it
//! to 50 characters (`trim_slug` in getsentry/relay `relay-monitors/src/lib.rs`), then
//! Sentry's monitor consumer takes `slugify(slug)[:50].strip("-")`
//! (`CheckinItem.valid_monitor_slug` in getsentry/sentry `src/sentry/monitors/types.py`,
//! with Django's `django.utils.text.slugify`: NFKD, ASCII only, lowercase, drop what is not
//! a letter, digit, `_`, `-` or space, collapse runs of `-` and spaces into one `-`, strip
//! `-` and `_` at both ends). [`sentry_slug`] is that normalisation, proven equal to
//! Django's by the differential test `tests/sentry_differential.rs`.
//!
//! A slug is in *normal form* when Sentry keeps it unchanged: `sentry_slug(s) == s`.
//! Explicit slugs must already be in normal form ([`validate_slug`] suggests the normal
//! form otherwise), derived slugs are produced in normal form ([`derive_slug`]), and two
//! jobs whose slugs have one normal form are one monitor.
//!
//! A job's slug is derived from its full path (`module_path!()` plus the fn name), so it
//! is readable, deterministic across builds and machines, and distinct for distinct paths:
//!
//! 1. join the module path and the fn name with `::`;
//! 2. lowercase ASCII letters; turn `::` into `-` and keep `_` (Rust names cannot contain
//!    `-`, so this is one-to-one and `a::b_c` and `a_b::c` stay apart); turn any other
//!    character outside `[a-z0-9_]` into `-`;
//! 3. if step 2 lost information (upper-case letters, non-ASCII or other characters),
//!    the result is longer than 50 characters, or Sentry would change it (a name starting
//!    or ending in `_`, such as `trailing_`), keep the rightmost (most specific) part, cut
//!    at a `-` where possible, put it in normal form and append `-` plus 8 hex digits of the
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
use crate::limits::Violation;
use unicode_normalization::UnicodeNormalization;

/// Longest slug Sentry keeps: `MAX_SLUG_LENGTH` / `DEFAULT_SLUG_MAX_LENGTH` in Sentry,
/// `SLUG_LENGTH` in Relay.
pub const MAX_SLUG_LEN: usize = 50;

/// Length of the `-xxxxxxxx` hash suffix.
const SUFFIX_LEN: usize = 9;

/// 8 hex digits of the FNV-1a hash of `text` (the two 32-bit halves xor-ed).
fn short_hash(text: &str) -> String {
    let h = fnv1a64(text.as_bytes());
    format!("{:08x}", (h >> 32) ^ (h & 0xffff_ffff))
}

/// What Python's `re` counts as `\s` among ASCII characters: `\t\n\v\f\r`, the
/// separators `\x1c`-`\x1f`, and the space.
fn is_python_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\u{1c}'..='\u{1f}' | ' ')
}

/// Django's `slugify(value)` (`allow_unicode=False`, `django/utils/text.py`):
///
/// ```python
/// value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
/// value = re.sub(r"[^\w\s-]", "", value.lower())
/// return re.sub(r"[-\s]+", "-", value).strip("-_")
/// ```
///
/// ```
/// use sentry_schedule_core::slug::django_slugify;
/// assert_eq!(django_slugify(" Café -- Report_ "), "cafe-report");
/// ```
pub fn django_slugify(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for c in value.nfkd().filter(char::is_ascii) {
        let c = c.to_ascii_lowercase();
        if c == '-' || is_python_space(c) {
            if !in_run {
                out.push('-');
                in_run = true;
            }
        } else if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
            in_run = false;
        }
        // Anything else is removed by `[^\w\s-]` before runs are collapsed.
    }
    out.trim_matches(|c| c == '-' || c == '_').to_owned()
}

/// The slug Sentry stores for a check-in naming `slug`: Relay's cut to 50 characters,
/// then Sentry's `slugify(slug)[:50].strip("-")` (see the [module docs](self)).
///
/// ```
/// use sentry_schedule_core::slug::sentry_slug;
/// assert_eq!(sentry_slug("a--b"), "a-b");
/// assert_eq!(sentry_slug("-edge_"), "edge");
/// assert_eq!(sentry_slug("Nightly Backup"), "nightly-backup");
/// ```
pub fn sentry_slug(slug: &str) -> String {
    let cut: String = slug.chars().take(MAX_SLUG_LEN).collect();
    let slug = django_slugify(&cut);
    // `slugify`'s output is ASCII, so any index is a char boundary.
    slug[..slug.len().min(MAX_SLUG_LEN)]
        .trim_matches('-')
        .to_owned()
}

/// The normal form of `slug`: [`sentry_slug`] applied until Sentry keeps the result
/// unchanged (a slug cut at 50 characters can end in `_`, which the next `slugify`
/// strips). Empty when nothing of `slug` survives.
pub fn normal_form(slug: &str) -> String {
    let mut current = sentry_slug(slug);
    // Each step keeps or shortens an ASCII string of at most 50 characters.
    for _ in 0..=MAX_SLUG_LEN {
        let next = sentry_slug(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Derives the monitor slug of the fn `name` in module `module_path` (as
/// `module_path!()` gives it), in normal form. See the [module docs](self) for the rule.
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
    if !lossy && readable.len() <= MAX_SLUG_LEN && sentry_slug(&readable) == readable {
        return readable;
    }
    let keep = MAX_SLUG_LEN - SUFFIX_LEN;
    let tail = if readable.len() > keep {
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
    // In normal form (no runs of `-`, no `-` or `_` at either end), so that the tail, a
    // `-` and hex digits are kept by Sentry as they are.
    let tail = django_slugify(tail);
    if tail.is_empty() {
        format!("job-{}", short_hash(&full))
    } else {
        format!("{tail}-{}", short_hash(&full))
    }
}

/// Checks an explicit slug: it must be in normal form (Sentry keeps it unchanged); the
/// error suggests the normal form.
///
/// Nothing else is asked of it. Slugs made only of digits (`2024`) are accepted as Sentry's
/// check-in path accepts them: Relay only cuts the slug and refuses an empty one
/// (`process_check_in` in getsentry/relay `relay-monitors/src/lib.rs`), and the monitor
/// consumer creates the monitor with `Monitor.objects.update_or_create(slug=...)` on the
/// normalised slug, without the API's slug field and its rule against numeric slugs
/// (`_ensure_monitor_with_config` in getsentry/sentry
/// `src/sentry/monitors/consumers/monitor_consumer.py`; `SentrySerializerSlugField` checks
/// only slugs sent to the REST API).
///
/// ```
/// use sentry_schedule_core::slug::validate_slug;
/// assert!(validate_slug("nightly-backup").is_ok());
/// let e = validate_slug("Nightly Backup").unwrap_err();
/// assert!(e.help.contains("`nightly-backup`"), "{e}");
/// ```
pub fn validate_slug(slug: &str) -> Result<(), Violation> {
    const FORM: &str = "Sentry keeps a slug only if Django's `slugify` leaves it unchanged \
                        within 50 characters: lowercase a-z, digits, `_` and single `-` between \
                        them, not starting or ending with `-` or `_`";
    if slug.is_empty() {
        return Err(Violation::new(
            "empty slug: Sentry drops check-ins without a monitor slug",
            "give a slug such as `nightly-backup`, or leave `slug` out to derive it from the fn path",
        ));
    }
    if sentry_slug(slug) != slug {
        let normal = normal_form(slug);
        if normal.is_empty() {
            return Err(Violation::new(
                format!(
                    "invalid slug `{slug}`: nothing of it is left after Sentry's normalisation"
                ),
                format!("{FORM}; e.g. `nightly-backup`"),
            ));
        }
        return Err(Violation::new(
            format!(
                "invalid slug `{slug}`: Sentry would show it as `{normal}`, so the monitor would \
                 not match the slug the code uses"
            ),
            format!("write `{normal}`: {FORM}"),
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
    fn validate_requires_the_normal_form_and_suggests_it() {
        assert!(validate_slug("nightly-backup_2").is_ok());
        assert!(validate_slug(&"a".repeat(50)).is_ok());
        for (bad, normal) in [
            ("Nightly", "nightly"),
            ("a b", "a-b"),
            ("a.b", "ab"),
            ("a--b", "a-b"),
            ("-edge_", "edge"),
            ("trailing_", "trailing"),
            ("é", "e"),
            ("Café Report", "cafe-report"),
        ] {
            let e = validate_slug(bad).expect_err(bad);
            assert!(
                e.message
                    .contains(&format!("Sentry would show it as `{normal}`")),
                "{bad}: {e}"
            );
            assert!(
                e.help.starts_with(&format!("write `{normal}`")),
                "{bad}: {e}"
            );
        }
        // Relay cuts to 50 characters before `slugify` strips the `_` now at the end.
        let long = format!("{}_b", "a".repeat(49));
        assert_eq!(sentry_slug(&long), "a".repeat(49));
        // NFKD can lengthen a slug ("ﬁ" is "fi"): Sentry's cut after `slugify` can then
        // leave a `_` at the end, which the next normalisation strips.
        let ligatures = format!("{}a_b", "ﬁ".repeat(24));
        assert_eq!(sentry_slug(&ligatures), format!("{}a_", "fi".repeat(24)));
        assert_eq!(normal_form(&ligatures), format!("{}a", "fi".repeat(24)));
        let e = validate_slug(&ligatures).unwrap_err();
        assert!(
            e.help.starts_with(&format!("write `{}a`", "fi".repeat(24))),
            "{e}"
        );
        for nothing in ["---", "_", "日本", "!!"] {
            let e = validate_slug(nothing).expect_err(nothing);
            assert!(e.message.contains("nothing of it is left"), "{e}");
        }
        assert!(validate_slug("")
            .unwrap_err()
            .message
            .starts_with("empty slug"));
        // Sentry's check-in path keeps numeric slugs as they are.
        for digits in ["123", "2024", "0"] {
            assert_eq!(validate_slug(digits), Ok(()), "{digits}");
        }
    }

    #[test]
    fn slugify_matches_djangos_documented_behaviour() {
        assert_eq!(django_slugify("Hello, World!"), "hello-world");
        assert_eq!(django_slugify("spam & eggs"), "spam-eggs");
        assert_eq!(
            django_slugify(" multiple---dash and  space "),
            "multiple-dash-and-space"
        );
        assert_eq!(
            django_slugify("\t whitespace-in-value \n"),
            "whitespace-in-value"
        );
        assert_eq!(django_slugify("underscore_in-value"), "underscore_in-value");
        assert_eq!(
            django_slugify("__strip__underscore-value___"),
            "strip__underscore-value"
        );
        assert_eq!(django_slugify("--strip-dash-value---"), "strip-dash-value");
        assert_eq!(
            django_slugify("__strip-mixed-value---"),
            "strip-mixed-value"
        );
        assert_eq!(
            django_slugify("_ -strip-mixed-value _-"),
            "strip-mixed-value"
        );
        assert_eq!(django_slugify("spam & ıçüş"), "spam-cus");
        assert_eq!(django_slugify("foo ıç bar"), "foo-c-bar");
        assert_eq!(django_slugify("    foo ıç bar"), "foo-c-bar");
        assert_eq!(django_slugify("你好"), "");
        assert_eq!(django_slugify("İstanbul"), "istanbul");
    }

    #[test]
    fn derived_slugs_are_in_normal_form() {
        for (m, n) in [
            ("app", "trailing_"),
            ("app", "_leading"),
            ("_app", "job"),
            ("app::__private", "_"),
            ("日本", "仕事"),
            ("app", "a__b"),
            ("a", &"b".repeat(60)),
            ("a", &format!("{}_c", "b".repeat(46))),
        ] {
            let slug = derive_slug(m, n);
            assert_eq!(sentry_slug(&slug), slug, "{m}::{n}");
            assert!(validate_slug(&slug).is_ok(), "{m}::{n} -> {slug}");
        }
        let trailing = derive_slug("app", "trailing_");
        assert!(trailing.starts_with("app-trailing-"), "{trailing}");
        assert_ne!(trailing, derive_slug("app", "trailing"));
        assert_eq!(derive_slug("app", "a__b"), "app-a__b");
    }
}
