//! Differential tests against Sentry's own pieces, installed from PyPI
//! (`pip install -r .ci/sentry/requirements.txt`: Django and the tzdata version matching
//! chrono-tz), run by `.ci/sentry/reference.py`:
//!
//! - slugs: a large random set of fn paths and arbitrary strings (unicode, whitespace,
//!   dashes, underscores, long) normalised by us and by Django's `slugify` plus Sentry's
//!   cut-and-strip must agree exactly; every derived slug must be a fixed point of Sentry's
//!   normalisation, and an explicit slug is accepted exactly when Sentry keeps it as it is;
//! - time zones: every zone we accept is one Sentry's validator accepts
//!   (`zoneinfo.available_timezones()` minus `Factory`, from the pinned tzdata only).
//!
//! Like the cronsim test, a missing Python or package fails the test. Set
//! `SENTRY_REFERENCE_PYTHON` to pick the interpreter, `SLUG_SEED` / `SLUG_CASES` for other
//! runs, and run with `--nocapture` for the figures.

use sentry_schedule_core::slug::{derive_slug, django_slugify, sentry_slug, validate_slug};
use sentry_schedule_core::timezone::parse_timezone;
mod support;
use support::{env_u64, tzdata_pypi_version, Reference, Rng};

const SEED: u64 = 0x5106_D1FF;
const CASES: usize = 6_000;

const SENTRY: Reference = Reference {
    script: ".ci/sentry/reference.py",
    requirements: ".ci/sentry/requirements.txt",
    packages: "Django, tzdata",
    python_var: "SENTRY_REFERENCE_PYTHON",
};

/// Characters beyond ASCII letters and digits, weighted towards what `slugify` treats
/// specially. Only characters of Unicode 14 or older (Python 3.11's `unicodedata`), so
/// both sides know their decompositions.
const SPECIAL: &[&str] = &[
    "-", "-", "--", "_", "_", "__", " ", "  ", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1c}",
    "\u{1f}", ".", ",", ":", "::", "/", "\\", "#", "!", "?", "'", "\"", "+", "=", "@", "*", "(",
    ")", "é", "É", "ü", "ñ", "ç", "ş", "ı", "İ", "ß", "ø", "Å", "Å", "e\u{301}", "ﬁ", "ﬂ", "ﬃ",
    "Ａ", "１", "²", "①", "Ⅻ", "㎒", "½", "™", "Ω", "λ", "д", "Ж", "日本", "仕事", "🦀", "\u{a0}",
    "\u{2003}", "\u{2028}", "–", "—", "\u{200d}", "\u{fe0f}", "ǅ", "ŉ", "ẞ",
];

fn random_string(rng: &mut Rng) -> String {
    let len = match rng.below(10) {
        0 => rng.range(40, 120) as usize,
        1 => 0,
        _ => rng.range(1, 30) as usize,
    };
    let mut s = String::new();
    while s.chars().count() < len {
        match rng.below(10) {
            0..=3 => s.push(char::from(b'a' + rng.below(26) as u8)),
            4 => s.push(char::from(b'A' + rng.below(26) as u8)),
            5 => s.push(char::from(b'0' + rng.below(10) as u8)),
            _ => s.push_str(rng.pick(SPECIAL)),
        }
    }
    s
}

/// A string of slug characters only (`a-z`, digits, `_`, `-`), often in normal form,
/// often one step off (a run of `-`, `-` or `_` at an end, longer than 50).
fn slug_like(rng: &mut Rng) -> String {
    let len = if rng.chance(10) {
        rng.range(45, 60)
    } else {
        rng.range(1, 20)
    };
    (0..len)
        .map(|_| match rng.below(12) {
            0 => '-',
            1 => '_',
            2 => char::from(b'0' + rng.below(10) as u8),
            _ => char::from(b'a' + rng.below(26) as u8),
        })
        .collect()
}

/// An identifier as a Rust path segment may be spelled: `r#` raw names, leading and
/// trailing underscores, upper case, non-ASCII letters, long names.
fn identifier(rng: &mut Rng) -> String {
    const LETTERS: &[&str] = &[
        "a", "b", "c", "x", "job", "report", "_", "__", "é", "ß", "Ω", "日本", "ǅ", "ﬁ",
    ];
    let mut s = String::new();
    if rng.chance(5) {
        s.push_str("r#");
    }
    let parts = if rng.chance(5) {
        rng.range(10, 30)
    } else {
        rng.range(1, 5)
    };
    for _ in 0..parts {
        match rng.below(8) {
            0 => s.push(char::from(b'A' + rng.below(26) as u8)),
            1 => s.push(char::from(b'0' + rng.below(10) as u8)),
            2 | 3 => s.push_str(rng.pick(LETTERS)),
            _ => s.push(char::from(b'a' + rng.below(26) as u8)),
        }
    }
    s
}

fn fn_path(rng: &mut Rng) -> (String, String) {
    let segments = rng.range(1, 7);
    let module: Vec<String> = (0..segments).map(|_| identifier(rng)).collect();
    (module.join("::"), identifier(rng))
}

#[test]
fn slugs_agree_with_django_and_sentry() {
    let seed = env_u64("SLUG_SEED").unwrap_or(SEED);
    let cases = env_u64("SLUG_CASES").map_or(CASES, |n| n as usize);
    let mut rng = Rng(seed.max(1));
    // Explicit slugs: arbitrary strings, fn paths written as strings, and the edges of the
    // rule spelled out.
    let mut strings: Vec<String> = [
        "a--b",
        "-edge_",
        "trailing_",
        "_leading",
        "Nightly Backup",
        "",
        "---",
        "a_-_b",
        "a- -b",
        "ﬁ",
        "2024",
        "0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    strings.push(format!("{}_b", "a".repeat(49)));
    strings.push(format!("{}a_b", "ﬁ".repeat(24)));
    strings.push("x".repeat(50));
    strings.push("x".repeat(51));
    let mut paths = Vec::new();
    for _ in 0..cases {
        strings.push(random_string(&mut rng));
        strings.push(slug_like(&mut rng));
        let (module, name) = fn_path(&mut rng);
        strings.push(format!("{module}::{name}"));
        paths.push((module, name));
    }
    let derived: Vec<String> = paths.iter().map(|(m, n)| derive_slug(m, n)).collect();
    let explicit = strings.len();
    strings.extend(derived.iter().cloned());

    let input: String = strings
        .iter()
        .map(|s| serde_json::Value::from(s.as_str()).to_string() + "\n")
        .collect();
    let mut lines = SENTRY.run(&["slugs"], input).into_iter();
    let header = lines.next().expect("header line");
    let results: Vec<serde_json::Value> = lines.collect();
    assert_eq!(
        results.len(),
        strings.len(),
        "one reference line per string"
    );

    let mut mismatches = Vec::new();
    let (mut kept, mut accepted) = (0usize, 0usize);
    for (i, (s, theirs)) in strings.iter().zip(&results).enumerate() {
        let their_slugify = theirs["slugify"].as_str().expect("slugify");
        let their_sentry = theirs["sentry"].as_str().expect("sentry");
        if django_slugify(s) != their_slugify {
            mismatches.push(format!(
                "slugify({s:?}): ours {:?}, Django {their_slugify:?}",
                django_slugify(s)
            ));
        }
        if sentry_slug(s) != their_sentry {
            mismatches.push(format!(
                "Sentry's slug of {s:?}: ours {:?}, Sentry {their_sentry:?}",
                sentry_slug(s)
            ));
        }
        let sentry_keeps = their_sentry == s;
        kept += usize::from(sentry_keeps);
        if i < explicit {
            // Accepted exactly when Sentry keeps it and it is not empty (Relay refuses an
            // empty slug); slugs made only of digits included.
            let ours = validate_slug(s).is_ok();
            let expected = sentry_keeps && !s.is_empty();
            accepted += usize::from(ours);
            if ours != expected {
                mismatches.push(format!(
                    "explicit slug {s:?}: we {}, Sentry stores {their_sentry:?}",
                    if ours { "accept" } else { "reject" }
                ));
            }
        } else if !sentry_keeps {
            let (m, n) = &paths[i - explicit];
            mismatches.push(format!(
                "derived slug of `{m}::{n}` is {s:?}, but Sentry stores {their_sentry:?}"
            ));
        }
    }
    // Per string: `slugify`, Sentry's slug, and acceptance (explicit) or fixed point (derived).
    let total = 3 * strings.len();
    let summary = format!(
        "slug differential (seed {seed:#x}): {} strings ({cases} random strings, {cases} of \
         slug characters, {cases} fn paths as strings, {} edge cases; {accepted} accepted as \
         explicit slugs) and {} derived slugs ({kept} of all kept unchanged by Sentry), \
         {total} comparisons, agreement {}/{total} = {:.3}% (Django {})",
        strings.len(),
        explicit - 3 * cases,
        derived.len(),
        total - mismatches.len(),
        100.0 * (total - mismatches.len()) as f64 / total as f64,
        header["django"].as_str().unwrap_or("?"),
    );
    println!("{summary}");
    eprintln!("{summary}");
    for m in mismatches.iter().take(40) {
        eprintln!("MISMATCH {m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} disagreements with Django/Sentry",
        mismatches.len()
    );
}

#[test]
fn we_accept_exactly_the_zones_sentry_accepts() {
    let lines = SENTRY.run(&["zones"], String::new());
    let answer = lines.first().expect("one line");
    let their_tzdb = answer["tzdata"].as_str().unwrap_or("?");
    assert_eq!(
        their_tzdb,
        chrono_tz::IANA_TZDB_VERSION,
        "Python's tzdata ({their_tzdb}) differs from chrono-tz's ({}): `pip install tzdata=={}`",
        chrono_tz::IANA_TZDB_VERSION,
        tzdata_pypi_version(chrono_tz::IANA_TZDB_VERSION)
    );
    let sentry: std::collections::BTreeSet<&str> = answer["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| z.as_str().expect("zone name"))
        .collect();
    // What we might accept: chrono-tz's names, their other spellings, and Sentry's names.
    let mut candidates: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for name in chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()) {
        candidates.insert(name.to_owned());
        candidates.insert(name.to_lowercase());
        candidates.insert(name.to_uppercase());
        candidates.insert(name.replace('_', " "));
    }
    candidates.extend(sentry.iter().map(|z| (*z).to_owned()));
    candidates.extend(["Factory", "utc", "", " UTC"].map(str::to_owned));
    let ours: Vec<&str> = candidates
        .iter()
        .map(String::as_str)
        .filter(|name| parse_timezone(name).is_ok())
        .collect();
    let extra: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|z| !sentry.contains(z))
        .collect();
    let lacking: Vec<&str> = sentry
        .iter()
        .copied()
        .filter(|z| parse_timezone(z).is_err())
        .collect();
    let summary = format!(
        "time zone differential: of {} candidate names we accept {} zones, Sentry {} (tzdata \
         {their_tzdb}); {} of ours unknown to Sentry; Sentry zones we lack: {} {lacking:?}",
        candidates.len(),
        ours.len(),
        sentry.len(),
        extra.len(),
        lacking.len(),
    );
    println!("{summary}");
    eprintln!("{summary}");
    assert!(extra.is_empty(), "zones Sentry would refuse: {extra:?}");
    // With the same tz database on both sides (asserted above), the lists are equal: a zone
    // Sentry knows and we refuse is a monitor a user cannot declare.
    assert!(
        lacking.is_empty(),
        "zones Sentry accepts and we refuse: {lacking:?} (chrono-tz and .ci/sentry's tzdata \
         pin must name the same tz database release)"
    );
}
