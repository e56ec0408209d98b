//! "Did you mean ...?": the known names closest to a mistyped one.

/// The candidates within a small edit distance of `wanted` (case-insensitive), closest
/// first (ties: shorter, then alphabetical), at most `max` of them. A candidate equal to
/// `wanted` ignoring case always comes first.
///
/// The allowed distance grows with the name: a third of its length, between 1 and 4.
///
/// ```
/// use sentry_schedule_core::suggest::closest;
/// let slugs = ["nightly-export", "nightly-import", "hourly-sync"];
/// assert_eq!(closest("nightly-exprot", slugs, 3), ["nightly-export", "nightly-import"]);
/// assert!(closest("weekly-report", slugs, 3).is_empty());
/// ```
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let wanted = wanted.to_lowercase();
    let len = wanted.chars().count();
    if len == 0 || len > 128 {
        return Vec::new();
    }
    let limit = (len / 3).clamp(1, 4);
    let mut near: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let d = levenshtein(&wanted, &c.to_lowercase());
            (d <= limit).then_some((d, c))
        })
        .collect();
    near.sort_by(|(da, a), (db, b)| da.cmp(db).then(a.len().cmp(&b.len())).then(a.cmp(b)));
    near.dedup_by(|(_, a), (_, b)| a == b);
    near.into_iter().take(max).map(|(_, c)| c).collect()
}

/// The number of single-character insertions, deletions, substitutions and swaps of two
/// neighbours turning `a` into `b` (the optimal string alignment distance, so that a
/// typed-too-fast `JNU` is one step from `JUN`).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && *ca == b[j - 1] && a[i - 1] == *cb {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("jnu", "jun"), 1);
        assert_eq!(levenshtein("ca", "abc"), 3);
    }

    #[test]
    fn case_differences_are_free_and_far_names_are_dropped() {
        assert_eq!(
            closest("Report", ["report", "repeat"], 5),
            ["report", "repeat"]
        );
        assert!(closest("x", ["report"], 5).is_empty());
        assert!(closest("", ["a"], 5).is_empty());
        assert_eq!(
            closest("abcd", ["abce", "abcf", "abcg"], 2),
            ["abce", "abcf"]
        );
    }
}
