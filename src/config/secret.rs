//! Secrets (access keys, admin keys, upstream keys): never printed whole.

use subtle::ConstantTimeEq;

/// A secret string. `Debug` and `Display` show only a masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The last four characters behind an ellipsis (`…abcd`); shorter secrets show
    /// nothing but the ellipsis.
    pub fn masked(&self) -> String {
        let n = self.0.chars().count();
        if n < 12 {
            return "…".to_string();
        }
        let tail: String = self.0.chars().skip(n - 4).collect();
        format!("…{tail}")
    }

    /// A process-local fingerprint (keyed hash) that identifies the secret without
    /// revealing it; stable for the life of the process.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::BuildHasher;
        static STATE: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
        STATE.get_or_init(Default::default).hash_one(&self.0)
    }

    /// Compares in time independent of where the inputs differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let ours = self.0.as_bytes();
        if candidate.len() != ours.len() {
            // The length is not secret; the comparison still costs the same.
            let _ = ours.ct_eq(ours);
            return false;
        }
        ours.ct_eq(candidate).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_matches() {
        let s = Secret::new("sk-ant-0123456789abcd");
        assert_eq!(s.masked(), "…abcd");
        assert_eq!(format!("{s:?} {s}"), "Secret(…abcd) …abcd");
        assert!(s.matches(b"sk-ant-0123456789abcd"));
        assert!(!s.matches(b"sk-ant-0123456789abce"));
        assert!(!s.matches(b"sk-ant"));
        assert!(!s.matches(b""));
        assert_eq!(Secret::new("short").masked(), "…");
    }
}
