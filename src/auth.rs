//! Client authentication (pure): the access key comes in `x-api-key` or as an
//! `Authorization: Bearer` token, and is compared in constant time against every
//! configured key.

use crate::config::AccessKey;

/// The presented key: `x-api-key` first, then a Bearer token.
pub fn presented_key<'a>(x_api_key: Option<&'a [u8]>, authorization: Option<&'a [u8]>) -> Option<&'a [u8]> {
    if let Some(k) = x_api_key.filter(|k| !k.is_empty()) {
        return Some(k);
    }
    let auth = authorization?;
    let prefix = auth.get(..7)?;
    if !prefix.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = auth[7..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// The key a Gemini client gives as `?key=` in `query`, its `%XX` escapes decoded (a
/// `+` stays a `+`: keys hold no spaces, and clients send `+` both ways).
pub fn query_key(query: &str) -> Option<std::borrow::Cow<'_, [u8]>> {
    let raw = query.split('&').find_map(|p| p.strip_prefix("key="))?;
    Some(percent_encoding::percent_decode_str(raw).into())
}

/// The access key matching `presented`. Every key is compared, so the time taken
/// does not reveal which one (if any) matched.
pub fn authenticate<'a>(keys: &'a [AccessKey], presented: &[u8]) -> Option<&'a AccessKey> {
    let mut found = None;
    for k in keys {
        if k.key.matches(presented) && found.is_none() {
            found = Some(k);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn a_query_key_is_percent_decoded() {
        let key = |q| query_key(q).map(|k| String::from_utf8(k.into_owned()).unwrap());
        assert_eq!(key("alt=sse&key=Zm9v%2BYmFy%2FYmF6%3D%3D").as_deref(), Some("Zm9v+YmFy/YmF6=="));
        assert_eq!(key("key=Zm9v+YmFy/YmF6==&alt=sse").as_deref(), Some("Zm9v+YmFy/YmF6=="));
        assert_eq!(key("key=plain-key").as_deref(), Some("plain-key"));
        assert_eq!(key("alt=sse"), None);
    }

    #[test]
    fn header_forms() {
        assert_eq!(presented_key(Some(b"k1"), Some(b"Bearer k2")), Some(&b"k1"[..]));
        assert_eq!(presented_key(None, Some(b"Bearer  k2 ")), Some(&b"k2"[..]));
        assert_eq!(presented_key(None, Some(b"bearer k3")), Some(&b"k3"[..]));
        assert_eq!(presented_key(Some(b""), Some(b"Basic abc")), None);
        assert_eq!(presented_key(None, Some(b"Bearer ")), None);
        assert_eq!(presented_key(None, None), None);
    }

    #[test]
    fn matches_by_key() {
        let keys = vec![
            AccessKey { name: "alice".into(), key: Secret::new("alice-key-123456") },
            AccessKey { name: "bob".into(), key: Secret::new("bob-key-1234567") },
        ];
        assert_eq!(authenticate(&keys, b"bob-key-1234567").map(|k| k.name.as_str()), Some("bob"));
        assert!(authenticate(&keys, b"bob-key-123456").is_none());
        assert!(authenticate(&[], b"x").is_none());
    }
}
