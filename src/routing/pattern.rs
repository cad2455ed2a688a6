//! Model-name patterns: `*` matches any run of characters, everything else literally.

/// A pattern as configured, split at its stars when it has any. Patterns are matched
/// several times per request (routing, the model map), so the split is made once, at
/// load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPattern {
    raw: String,
    /// The text around and between the stars (`a*b*c`: `a`, `b`, `c`), or `None` for
    /// an exact name. A name matches when it starts with the first piece, ends with
    /// the last and holds the others in order in between: with `*` as the only
    /// wildcard, taking each piece at its first place is never worse than a later one.
    pieces: Option<Box<[Box<str>]>>,
}

impl ModelPattern {
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let pieces = raw.contains('*').then(|| raw.split('*').map(Box::from).collect());
        ModelPattern { raw, pieces }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn is_exact(&self) -> bool {
        self.pieces.is_none()
    }

    /// How specific the pattern is: its characters other than stars (`claude-opus-*`
    /// says more than `claude-*`).
    pub fn literal_len(&self) -> usize {
        self.raw.len() - self.raw.matches('*').count()
    }

    pub fn matches(&self, name: &str) -> bool {
        let Some(pieces) = &self.pieces else { return self.raw == name };
        // A pattern with a star splits into two pieces or more.
        let [first, middle @ .., last] = &pieces[..] else { return false };
        // The suffix is taken from what follows the prefix, so the two never overlap
        // (`a*a` does not match `a`).
        let Some(rest) = name.strip_prefix(&**first).and_then(|r| r.strip_suffix(&**last)) else { return false };
        let mut rest = rest.as_bytes();
        for piece in middle {
            match memchr::memmem::find(rest, piece.as_bytes()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| ModelPattern::new(p).matches(s);
        assert!(m("*", "anything"));
        assert!(m("*", ""));
        assert!(m("claude-*", "claude-opus-4-8"));
        assert!(!m("claude-*", "gpt-4o"));
        assert!(m("claude-*-4-*", "claude-opus-4-8"));
        assert!(m("*haiku*", "claude-haiku-4-5"));
        assert!(m("gpt-4o", "gpt-4o"));
        assert!(!m("gpt-4o", "gpt-4o-mini"));
        assert!(!m("a*b", "acbd"));
        assert!(m("a**b", "ab"));
        assert!(!m("a*a", "a"));
        assert!(m("a*a", "aa"));
        assert!(ModelPattern::new("x*").pieces.is_some() && ModelPattern::new("x").is_exact());
    }

    /// Glob with `*` by backtracking over every split: the reference the split pieces
    /// are checked against.
    fn reference(pat: &[u8], s: &[u8]) -> bool {
        match pat.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| reference(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && reference(rest, &s[1..]),
        }
    }

    #[test]
    fn matches_as_a_backtracking_glob_on_every_small_case() {
        // Every pattern and name of up to 5 bytes over a small alphabet, patterns with
        // stars.
        fn all(alphabet: &[u8], max: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last.iter().flat_map(|p| alphabet.iter().map(move |&c| format!("{p}{}", c as char))).collect();
                out.extend(last.iter().cloned());
            }
            out
        }
        let (patterns, names) = (all(b"ab*", 5), all(b"ab", 5));
        let mut checked = 0;
        for p in &patterns {
            let pattern = ModelPattern::new(p.as_str());
            for n in &names {
                assert_eq!(pattern.matches(n), reference(p.as_bytes(), n.as_bytes()), "{p:?} {n:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 364 * 63);
    }
}
