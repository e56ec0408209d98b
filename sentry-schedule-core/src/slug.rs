//! STUB — monitor slug rules.

/// Longest slug Sentry keeps.
pub const MAX_SLUG_LEN: usize = 50;

/// Derives the monitor slug of the fn `name` in module `module_path` (as `module_path!()` gives it).
pub fn derive_slug(module_path: &str, name: &str) -> String {
    format!("{}-{}", module_path.replace("::", "-"), name).replace('_', "-")
}

/// Checks an explicit slug; the error says what is allowed.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        Err("empty slug".into())
    } else {
        Ok(())
    }
}
