//! Model-name patterns: `*` matches any run of characters, everything else literally.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPattern {
    raw: String,
}

impl ModelPattern {
    pub fn new(raw: impl Into<String>) -> Self {
        ModelPattern { raw: raw.into() }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn is_exact(&self) -> bool {
        !self.raw.contains('*')
    }

    pub fn matches(&self, name: &str) -> bool {
        glob(self.raw.as_bytes(), name.as_bytes())
    }
}

/// Iterative glob with `*` only; linear in practice, no recursion.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if p < pat.len() && pat[p] == s[i] {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
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
    }
}
