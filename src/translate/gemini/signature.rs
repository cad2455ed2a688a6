//! Gemini thought signatures in canonical tool ids and thinking blocks (see the module
//! documentation of `translate::gemini`).

/// Separates the base tool id from the encoded signature.
const ID_SEPARATOR: &str = "__ts_";
/// Marks a canonical thinking signature as Gemini's.
const THINKING_PREFIX: &str = "gemini:";
/// Google's documented value for function calls whose history carries no signature.
pub(super) const DUMMY_SIGNATURE: &str = "skip_thought_signature_validator";

/// `<base>__ts_<base64url(signature)>`, or `base` alone without a signature.
pub(super) fn tool_id(base: &str, signature: Option<&str>) -> String {
    match signature.filter(|s| !s.is_empty()) {
        Some(sig) => format!("{base}{ID_SEPARATOR}{}", base64url_encode(sig.as_bytes())),
        None => base.to_string(),
    }
}

/// Splits a canonical tool id into its base id and the Gemini signature it carries.
/// An id whose suffix does not decode is someone else's id and stays whole.
pub(super) fn split_tool_id(id: &str) -> (&str, Option<String>) {
    if let Some((base, encoded)) = id.split_once(ID_SEPARATOR) {
        if let Some(sig) = base64url_decode(encoded).and_then(|b| String::from_utf8(b).ok()) {
            if !sig.is_empty() {
                return (base, Some(sig));
            }
        }
    }
    (id, None)
}

/// The tool id another provider gets: the base id, without the Gemini signature it may
/// carry (a signature is Gemini's alone, and runs to hundreds of characters where
/// OpenAI allows 40).
pub fn base_tool_id(id: &str) -> &str {
    if !id.contains(ID_SEPARATOR) {
        return id;
    }
    split_tool_id(id).0
}

/// The canonical thinking signature for a Gemini one.
pub(super) fn thinking_signature(signature: &str) -> String {
    format!("{THINKING_PREFIX}{signature}")
}

/// The Gemini signature inside a canonical thinking signature, if it is one.
pub(super) fn gemini_signature(signature: &str) -> Option<&str> {
    signature.strip_prefix(THINKING_PREFIX).filter(|s| !s.is_empty())
}

/// Unpadded base64url (RFC 4648 §5): tool ids allow `[a-zA-Z0-9_-]` only.
fn base64url_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        for (plain, encoded) in
            [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE")]
        {
            assert_eq!(base64url_encode(plain.as_bytes()), encoded);
            assert_eq!(base64url_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64url_decode("Zm9vY"), None);
        assert_eq!(base64url_decode("Zm+v"), None);
    }

    #[test]
    fn ids_carry_signatures_and_stay_valid_tool_ids() {
        let sig = "CiQB0e2Kb+/x9Q==";
        let id = tool_id("toolu_gm_1", Some(sig));
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{id}");
        assert_eq!(split_tool_id(&id), ("toolu_gm_1", Some(sig.to_string())));
        assert_eq!(tool_id("toolu_gm_1", None), "toolu_gm_1");
        assert_eq!(split_tool_id("toolu_01abc"), ("toolu_01abc", None));
        // Not ours: the suffix does not decode.
        assert_eq!(split_tool_id("call__ts_x"), ("call__ts_x", None));
    }
}
