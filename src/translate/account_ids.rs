//! Account identifiers masked out of upstream error text before a client sees it.
//!
//! Upstream errors name the account behind the channel's key: Gemini's "API has not been
//! used in project 123456789" (again in `projects/123456789`, `?project=123456789` and
//! `containerInfo`), OpenAI's "Rate limit reached for gpt-4o in organization
//! org-AbC123". They tell a gateway's client nothing it can act on and identify the
//! operator's account, so each such identifier, wherever it recurs in the error, becomes
//! `…`. The operator still sees the upstream's words, masked, in the log; the account is
//! theirs to look up.

use std::borrow::Cow;

/// A phrase that introduces an identifier, and whether only digits count as one.
const INTRODUCERS: [(&[u8], IdShape); 4] = [
    (b"project ", IdShape::Digits),
    (b"projects/", IdShape::Token),
    (b"project=", IdShape::Token),
    (b"organization org-", IdShape::Token),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum IdShape {
    /// A project number: after "project " an English word must not be taken for one.
    Digits,
    /// Letters, digits, `-` and `_`.
    Token,
}

const MASK: &[u8] = "…".as_bytes();

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The identifiers `text` introduces, longest first (so that one that contains another
/// is masked whole).
fn identifiers(text: &[u8]) -> Vec<&[u8]> {
    let mut ids: Vec<&[u8]> = Vec::new();
    for (intro, shape) in INTRODUCERS {
        for at in memchr::memmem::find_iter(text, intro) {
            let rest = &text[at + intro.len()..];
            let len = match shape {
                IdShape::Digits => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
                IdShape::Token => rest.iter().take_while(|&&b| is_token_byte(b)).count(),
            };
            // Shorter runs are words or counts, not account identifiers.
            if len >= 4 && !ids.contains(&&rest[..len]) {
                ids.push(&rest[..len]);
            }
        }
    }
    ids.sort_by_key(|id| std::cmp::Reverse(id.len()));
    ids
}

/// `text` with every account identifier it names replaced by `…`, wherever it occurs as
/// a whole token; borrowed as it came when it names none.
pub fn mask(text: &[u8]) -> Cow<'_, [u8]> {
    let ids = identifiers(text);
    if ids.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_vec();
    for id in ids {
        let mut masked = Vec::with_capacity(out.len());
        let mut from = 0;
        for at in memchr::memmem::find_iter(&out, id) {
            let end = at + id.len();
            // `org-` and `projects/` lead into an identifier; a letter or digit before it
            // or any token byte after it makes it part of something longer.
            let whole =
                (at == 0 || !out[at - 1].is_ascii_alphanumeric()) && out.get(end).is_none_or(|&b| !is_token_byte(b));
            if whole {
                masked.extend_from_slice(&out[from..at]);
                masked.extend_from_slice(MASK);
                from = end;
            }
        }
        masked.extend_from_slice(&out[from..]);
        out = masked;
    }
    Cow::Owned(out)
}

/// [`mask`] for a message.
pub fn mask_str(text: &str) -> Cow<'_, str> {
    match mask(text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        // Only ASCII runs were replaced, by a whole UTF-8 character.
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemini_project_number_is_masked_wherever_it_recurs() {
        let body = br#"{"message":"Generative Language API has not been used in project 123456789 before. Enable it at https://console.developers.google.com/apis/api/x/overview?project=123456789","details":[{"metadata":{"consumer":"projects/123456789","containerInfo":"123456789"}}]}"#;
        assert_eq!(
            String::from_utf8(mask(body).into_owned()).unwrap(),
            r#"{"message":"Generative Language API has not been used in project … before. Enable it at https://console.developers.google.com/apis/api/x/overview?project=…","details":[{"metadata":{"consumer":"projects/…","containerInfo":"…"}}]}"#
        );
    }

    #[test]
    fn an_openai_organization_is_masked() {
        let m = "Rate limit reached for gpt-4o in organization org-AbC123xyz on tokens per min (TPM)";
        assert_eq!(mask_str(m), "Rate limit reached for gpt-4o in organization org-… on tokens per min (TPM)");
    }

    #[test]
    fn words_short_runs_and_partial_tokens_are_left_alone() {
        for text in ["the project before was fine", "project 12 of 40", "projects/abc", "no identifiers at all"] {
            assert!(matches!(mask_str(text), Cow::Borrowed(_)), "{text}");
        }
        // The number inside a longer token is not the project's.
        let m = "project 4242 and id 424299 and 4242";
        assert_eq!(mask_str(m), "project … and id 424299 and …");
    }

    #[test]
    fn an_identifier_inside_a_longer_one_is_masked_with_it() {
        let m = "projects/my-proj-1234 and project=my-proj";
        assert_eq!(mask_str(m), "projects/… and project=…");
    }
}
