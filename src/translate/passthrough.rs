//! Same-dialect traffic: the body goes upstream byte for byte except the value of the
//! top-level `model`, so prompt-caching markers and fields this gateway does not know
//! survive untouched.

use super::ApiError;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What routing needs from a request body, read in one pass without building a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPeek {
    pub model: String,
    pub stream: bool,
    /// Anthropic `metadata.user_id` (a natural session-affinity key).
    pub user_id: Option<String>,
    /// Byte range of the `model` value (including its quotes) in the body.
    model_span: (usize, usize),
}

/// The model of a request body whose first member is `"model"` with a string value
/// without escapes, as Anthropic's and OpenAI's SDKs and Claude Code write it; `None` for any other
/// shape. A hint for routing before the body is read in full: nothing is validated.
pub fn leading_model(body: &[u8]) -> Option<&str> {
    let rest = skip_ws(body).strip_prefix(b"{")?;
    let rest = skip_ws(rest).strip_prefix(b"\"model\"")?;
    let rest = skip_ws(rest).strip_prefix(b":")?;
    let rest = skip_ws(rest).strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

fn skip_ws(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')).count();
    &b[n..]
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    metadata: Option<PeekMetadata>,
}

#[derive(Deserialize)]
struct PeekMetadata {
    #[serde(default)]
    user_id: Option<String>,
}

impl RequestPeek {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let peek: Peek<'_> = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
        let raw = peek.model.ok_or_else(|| ApiError::invalid("model: field required"))?;
        let model: String =
            serde_json::from_str(raw.get()).map_err(|_| ApiError::invalid("model: must be a string"))?;
        if model.is_empty() {
            return Err(ApiError::invalid("model: must not be empty"));
        }
        // `raw` borrows from `body`, so its offset is the distance between the pointers.
        let start = (raw.get().as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        let end = start + raw.get().len();
        if end > body.len() {
            return Err(ApiError::invalid("model: unexpected encoding"));
        }
        Ok(RequestPeek {
            model,
            stream: peek.stream.unwrap_or(false),
            user_id: peek.metadata.and_then(|m| m.user_id),
            model_span: (start, end),
        })
    }

    /// For dialects whose model and stream switch are not in the body (Gemini).
    pub fn given(model: String, stream: bool) -> Self {
        Self::read(model, stream, None)
    }

    /// What a full parse of the body found; the body's `model` cannot be replaced in
    /// place then.
    pub fn read(model: String, stream: bool, user_id: Option<String>) -> Self {
        RequestPeek { model, stream, user_id, model_span: (0, 0) }
    }

    /// Whether [`Self::with_model`] can set the model in the body's text.
    pub fn can_set_model(&self) -> bool {
        self.model_span != (0, 0)
    }

    /// The body with `model` replaced by `new_model`; the original bytes when equal.
    pub fn with_model(&self, body: &Bytes, new_model: &str) -> Bytes {
        if new_model == self.model || self.model_span == (0, 0) {
            return body.clone();
        }
        let quoted = serde_json::to_string(new_model).unwrap_or_else(|_| format!("\"{new_model}\""));
        let (start, end) = self.model_span;
        let mut out = BytesMut::with_capacity(body.len() - (end - start) + quoted.len());
        out.extend_from_slice(&body[..start]);
        out.extend_from_slice(quoted.as_bytes());
        out.extend_from_slice(&body[end..]);
        out.freeze()
    }
}

/// Whether a body may hold thinking blocks (a byte scan; false means surely not).
pub fn mentions_thinking(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"thinking\"").is_some()
}

/// An Anthropic body with every `thinking` and `redacted_thinking` block removed from
/// assistant turns and `model` set. Their signatures are only valid at the provider
/// that issued them. When the current turn (the last assistant message) lost blocks,
/// extended thinking is turned off for the request: the API requires that turn to start
/// with its original thinking block when thinking is on.
pub fn without_thinking(body: &[u8], model: &str) -> Result<Bytes, ApiError> {
    use serde_json::Value;
    let mut v: Value =
        crate::protocol::from_json(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    let mut last_turn_stripped = false;
    if let Some(messages) = v.get_mut("messages").and_then(Value::as_array_mut) {
        let last_assistant = messages.iter().rposition(|m| m.get("role").and_then(Value::as_str) == Some("assistant"));
        for (i, m) in messages.iter_mut().enumerate() {
            if m.get("role").and_then(Value::as_str) != Some("assistant") {
                continue;
            }
            if let Some(blocks) = m.get_mut("content").and_then(Value::as_array_mut) {
                let before = blocks.len();
                blocks.retain(|b| {
                    !matches!(b.get("type").and_then(Value::as_str), Some("thinking" | "redacted_thinking"))
                });
                if blocks.len() != before && Some(i) == last_assistant {
                    last_turn_stripped = true;
                }
            }
        }
    }
    if let Value::Object(map) = &mut v {
        map.insert("model".to_string(), Value::String(model.to_string()));
        if last_turn_stripped {
            map.remove("thinking");
        }
    }
    serde_json::to_vec(&v).map(Bytes::from).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_model_is_read_only_from_the_first_member_as_a_plain_string() {
        assert_eq!(leading_model(br#"{"model":"claude-sonnet-4-5","messages":[]}"#), Some("claude-sonnet-4-5"));
        assert_eq!(leading_model(b"\r\n{ \"model\"\t:\n \"m\" }"), Some("m"));
        assert_eq!(leading_model(br#"{"model":"","x":1}"#), Some(""));
        for body in [
            &br#"{"messages":[],"model":"m"}"#[..],
            br#"{"model":"cl\u0061ude"}"#,
            br#"{"model":"a\"b"}"#,
            br#"{"model":null}"#,
            br#"{"model":"unterminated"#,
            br#"{"models":"m"}"#,
            br#"["model","m"]"#,
            b"",
            b"{\"model\":\"\xff\"}",
        ] {
            assert_eq!(leading_model(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn thinking_blocks_are_stripped_and_thinking_disabled_for_the_open_turn() {
        let body = br#"{"model":"a","thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"S1"},{"type":"text","text":"x"}]},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"D"},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}"#;
        assert!(mentions_thinking(body));
        let out = without_thinking(body, "b").unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"b","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"x"}]},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}"#
        );
        assert!(!mentions_thinking(br#"{"model":"a","messages":[]}"#));
    }

    #[test]
    fn replaces_only_the_model_value() {
        let body = Bytes::from_static(
            br#"{"messages":[{"role":"user","content":"model"}], "model" : "claude-x","x_unknown":{"model":"keep"},"stream":true}"#,
        );
        let peek = RequestPeek::parse(&body).unwrap();
        assert_eq!(peek.model, "claude-x");
        assert!(peek.stream);
        let out = peek.with_model(&body, "gpt-4o");
        assert_eq!(
            &out[..],
            br#"{"messages":[{"role":"user","content":"model"}], "model" : "gpt-4o","x_unknown":{"model":"keep"},"stream":true}"#
        );
    }

    #[test]
    fn escaped_model_names_round_trip() {
        let body = Bytes::from_static(br#"{"model":"a\"b","metadata":{"user_id":"u1"}}"#);
        let peek = RequestPeek::parse(&body).unwrap();
        assert_eq!(peek.model, "a\"b");
        assert_eq!(peek.user_id.as_deref(), Some("u1"));
        assert_eq!(&peek.with_model(&body, "c\\d")[..], br#"{"model":"c\\d","metadata":{"user_id":"u1"}}"#);
    }

    #[test]
    fn same_model_keeps_the_buffer() {
        let body = Bytes::from_static(br#"{"model":"m"}"#);
        let peek = RequestPeek::parse(&body).unwrap();
        let out = peek.with_model(&body, "m");
        assert_eq!(out.as_ptr(), body.as_ptr());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(RequestPeek::parse(b"{}").unwrap_err().message, "model: field required");
        assert_eq!(RequestPeek::parse(br#"{"model":3}"#).unwrap_err().message, "model: must be a string");
        assert!(RequestPeek::parse(b"{").unwrap_err().message.starts_with("request body is not valid JSON"));
    }
}
