//! Same-dialect traffic: the body goes upstream byte for byte except the value of the
//! top-level `model`, so prompt-caching markers and fields this gateway does not know
//! survive untouched.

use super::ApiError;
use crate::protocol::json_de;
use crate::protocol::json_scan::{Scanner, StrSpan};
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
        match Self::scan(body) {
            Some(peek) => Ok(peek),
            None => Self::parse_full(body),
        }
    }

    /// [`Self::parse`] of a body of the usual shape, read with the [`Scanner`], which
    /// only checks the members other than `model`, `stream` and `metadata`: 15 µs for
    /// the bench's 80 KiB request where serde_json takes 20. `None` for anything
    /// [`Self::parse_full`] must decide: errors, escaped or repeated names, an empty or
    /// non-string model. What this accepts, `parse_full` reads the same.
    fn scan(body: &[u8]) -> Option<Self> {
        let mut s = Scanner::new(body);
        let (mut model, mut stream, mut metadata) = (None, None, None);
        s.object(|s, name| {
            match name {
                b"model" if model.is_none() => model = Some(s.string()?),
                b"stream" if stream.is_none() => stream = Some(bool_or_null(s)?),
                b"metadata" if metadata.is_none() => metadata = Some(peek_user_id(s)?),
                b"model" | b"stream" | b"metadata" => return None,
                _ => s.skip_value()?,
            }
            Some(())
        })?;
        if !s.at_end() {
            return None;
        }
        let span = model?;
        let model = string_at(&s, span)?;
        if model.is_empty() {
            return None;
        }
        let quoted = span.quoted();
        Some(RequestPeek {
            model,
            stream: stream.flatten().unwrap_or(false),
            user_id: metadata.flatten(),
            model_span: (quoted.start, quoted.end),
        })
    }

    /// [`Self::parse`] by serde_json: any body, and the error for a bad one.
    fn parse_full(body: &[u8]) -> Result<Self, ApiError> {
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

/// Adaptive thinking (`"thinking": {"type": "adaptive"}`, which Claude Code asks of Claude
/// 4.6 and later) in a body whose model is mapped to one that does not take it (see
/// `anthropic_request::takes_adaptive_thinking`): the body with `model` set to `model`
/// and `thinking` a budget instead, the one translated requests get (8192 tokens, or
/// half of `max_tokens` when that leaves no room, or `disabled` under Anthropic's
/// minimum of 1024), every other byte as it came. `None` when the body asks for no
/// adaptive thinking, or is one the scanner leaves to serde_json. The body is searched
/// for `"adaptive"` first: a full scan only for a body that may ask for it.
pub fn with_budgeted_thinking(body: &[u8], peek: &RequestPeek, model: &str) -> Option<Bytes> {
    memchr::memmem::find(body, b"\"adaptive\"")?;
    // One scan for both members; a name given twice is left as it is.
    let (mut thinking, mut max_tokens_text) = (None, None);
    let mut s = Scanner::new(body);
    s.object(|s, name| {
        let slot = match name {
            b"thinking" => &mut thinking,
            b"max_tokens" => &mut max_tokens_text,
            _ => return s.skip_value(),
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(s.raw_value()?);
        Some(())
    })?;
    if !s.at_end() {
        return None;
    }
    let thinking: &[u8] = thinking?;
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    if serde_json::from_slice::<Kind<'_>>(thinking).ok()?.kind != "adaptive" || !peek.can_set_model() {
        return None;
    }
    let max_tokens: Option<u64> = max_tokens_text.and_then(|m| serde_json::from_slice(m).ok());
    let replacement = budget_for_adaptive(max_tokens).to_string();
    // `thinking` borrows from `body`: its offset is the distance between the pointers.
    let start = (thinking.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let thinking_span = (start, start + thinking.len());
    let quoted = serde_json::to_string(model).ok()?;
    let mut edits = [(peek.model_span, quoted.as_str()), (thinking_span, replacement.as_str())];
    edits.sort_by_key(|((start, _), _)| *start);
    let mut out = BytesMut::with_capacity(body.len() + quoted.len() + replacement.len());
    let mut at = 0;
    for ((start, end), text) in edits {
        out.extend_from_slice(body.get(at..start)?);
        out.extend_from_slice(text.as_bytes());
        at = end;
    }
    out.extend_from_slice(body.get(at..)?);
    Some(out.freeze())
}

/// The `thinking` adaptive thinking becomes on a model that does not take it, under
/// `max_tokens` (see [`with_budgeted_thinking`]).
fn budget_for_adaptive(max_tokens: Option<u64>) -> serde_json::Value {
    let budget = u64::from(super::anthropic_request::ADAPTIVE_FALLBACK_BUDGET);
    let budget = match max_tokens {
        Some(max) if budget >= max => max / 2,
        _ => budget,
    };
    if budget >= 1024 {
        serde_json::json!({"type": "enabled", "budget_tokens": budget})
    } else {
        serde_json::json!({"type": "disabled"})
    }
}

/// The text of a string the scanner read: the bytes themselves without escapes,
/// unescaped as the typed reader unescapes them (`json_de`) with them.
fn string_at(s: &Scanner<'_>, span: StrSpan) -> Option<String> {
    let inside = std::str::from_utf8(s.slice(span)?).ok()?;
    if span.escaped {
        return json_de::unescape(inside).ok();
    }
    Some(inside.to_string())
}

/// `true`, `false` or `null`.
fn bool_or_null(s: &mut Scanner<'_>) -> Option<Option<bool>> {
    let value = match s.peek()? {
        b't' => Some(true),
        b'f' => Some(false),
        b'n' => None,
        _ => return None,
    };
    s.skip_value()?;
    Some(value)
}

/// `metadata`: `null`, or an object whose `user_id` is a string or `null`.
fn peek_user_id(s: &mut Scanner<'_>) -> Option<Option<String>> {
    if s.peek()? == b'n' {
        s.skip_value()?;
        return Some(None);
    }
    let mut user_id = None;
    s.object(|s, name| {
        match name {
            b"user_id" if user_id.is_none() => {
                user_id = Some(match s.peek()? {
                    b'"' => Some(s.string().and_then(|span| string_at(s, span))?),
                    b'n' => s.skip_value().map(|()| None)?,
                    _ => return None,
                })
            }
            b"user_id" => return None,
            _ => s.skip_value()?,
        }
        Some(())
    })?;
    Some(user_id.flatten())
}

/// Whether a body may hold thinking blocks (a byte scan; false means surely not).
pub fn mentions_thinking(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"thinking\"").is_some()
}

/// Whether a thinking signature is one the gateway made, not Anthropic: empty (thinking
/// from a provider that signs nothing) or `gemini:` (a Gemini signature it carries).
pub fn gateway_signed(signature: &str) -> bool {
    signature.is_empty() || signature.starts_with("gemini:")
}

/// Whether a thinking block of the body carries a signature the gateway made, not
/// Anthropic: empty (thinking from a provider that signs nothing) or `gemini:`. Such a
/// conversation was held with another provider; Anthropic refuses those blocks.
pub fn has_foreign_signature(body: &[u8]) -> bool {
    memchr::memmem::find_iter(body, b"\"signature\"").any(|at| {
        let rest = &body[at + b"\"signature\"".len()..];
        let rest = rest.trim_ascii_start().strip_prefix(b":").map_or(&b""[..], <[u8]>::trim_ascii_start);
        rest.starts_with(b"\"\"") || rest.starts_with(b"\"gemini:")
    })
}

/// Whether a Responses body holds reasoning items the gateway made (for a conversation
/// another provider answered): a seal (`llmrelay1.`) or one of its item ids,
/// `rs_<32 hex>_<n>` (OpenAI's own have no `_<n>`). A byte scan; false means surely not.
pub fn has_gateway_reasoning(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"llmrelay1.").is_some()
        || memchr::memmem::find_iter(body, b"\"rs_").any(|at| gateway_item_id(&body[at + 1..]))
}

/// Whether `text` starts with an item id the gateway makes: `rs_`, 32 hex digits, `_`
/// and digits, then the closing quote.
fn gateway_item_id(text: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"rs_") else { return false };
    let hex = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let Some(rest) = rest.get(hex..).filter(|_| hex == 32).and_then(|r| r.strip_prefix(b"_")) else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest.get(digits) == Some(&b'"')
}

/// A Responses body without the reasoning items the gateway made, and with `model` set.
/// OpenAI cannot read a seal, and answers 404 for a reasoning item it did not keep
/// (`store: false`): those items are another provider's reasoning, which OpenAI cannot
/// continue anyway.
pub fn without_gateway_reasoning(body: &[u8], model: &str) -> Result<Bytes, ApiError> {
    use serde_json::Value;
    let mut v: Value =
        crate::protocol::from_json(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    if let Some(items) = v.get_mut("input").and_then(Value::as_array_mut) {
        items.retain(|item| {
            let reasoning = item.get("type").and_then(Value::as_str) == Some("reasoning");
            let sealed =
                item.get("encrypted_content").and_then(Value::as_str).is_some_and(|c| c.starts_with("llmrelay1."));
            let ours =
                item.get("id").and_then(Value::as_str).is_some_and(|id| gateway_item_id(format!("{id}\"").as_bytes()));
            !(reasoning && (sealed || ours))
        });
    }
    if let Value::Object(map) = &mut v {
        map.insert("model".to_string(), Value::String(model.to_string()));
    }
    serde_json::to_vec(&v).map(Bytes::from).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))
}

/// Which thinking blocks `without_thinking` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strip {
    /// Every one: the conversation was held with another provider family.
    All,
    /// Those whose signature the gateway made (`has_foreign_signature`).
    Foreign,
}

/// An Anthropic body with `thinking` and `redacted_thinking` blocks removed from
/// assistant turns (all of them, or those with a foreign signature) and `model` set.
/// Signatures are only valid at the provider that issued them. When the current turn
/// (the last assistant message) lost blocks, extended thinking is turned off for the
/// request: the API requires that turn to start with its original thinking block when
/// thinking is on. Adaptive thinking becomes a budget for a model that does not take it
/// (see [`with_budgeted_thinking`]).
pub fn without_thinking(body: &[u8], model: &str, strip: Strip) -> Result<Bytes, ApiError> {
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
                blocks.retain(|b| match b.get("type").and_then(Value::as_str) {
                    Some("thinking") if strip == Strip::Foreign => {
                        let signature = b.get("signature").and_then(Value::as_str).unwrap_or_default();
                        !gateway_signed(signature)
                    }
                    Some("thinking" | "redacted_thinking") => strip == Strip::Foreign,
                    _ => true,
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
        let adaptive = map.get("thinking").and_then(|t| t.get("type")).is_some_and(|t| t == "adaptive");
        if adaptive && !super::anthropic_request::takes_adaptive_thinking(model) {
            let budget = budget_for_adaptive(map.get("max_tokens").and_then(Value::as_u64));
            map.insert("thinking".to_string(), budget);
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
        let out = without_thinking(body, "b", Strip::All).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"b","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"x"}]},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}"#
        );
        assert!(!mentions_thinking(br#"{"model":"a","messages":[]}"#));
    }

    #[test]
    fn only_thinking_the_gateway_signed_is_stripped_when_the_session_is_unknown() {
        assert!(!has_foreign_signature(br#"{"messages":[{"content":[{"type":"thinking","signature":"EqQB"}]}]}"#));
        assert!(has_foreign_signature(br#"[{"type":"thinking","signature":"gemini:QUJD"}]"#));
        assert!(has_foreign_signature(b"[{\"type\": \"thinking\", \"signature\" : \"\"}]"));
        assert!(!has_foreign_signature(br#"{"signature":"#));
        let body = br#"{"model":"a","thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"EqQB"},{"type":"redacted_thinking","data":"D"},{"type":"text","text":"x"}]},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"thinking","thinking":"g","signature":"gemini:QUJD"},{"type":"thinking","thinking":"o","signature":""},{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}"#;
        let out = without_thinking(body, "b", Strip::Foreign).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"model":"b","messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"EqQB"},{"type":"redacted_thinking","data":"D"},{"type":"text","text":"x"}]},{"role":"user","content":"q2"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]}]}"#
        );
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

    /// Bodies of every shape `scan` reads itself.
    const BODIES: &[&str] = &[
        r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"hi \"there\"\n"}]}"#,
        r#"{"messages":[],"stream":true,"model":"a\u0022b","metadata":{"user_id":"u\u0031","n":[1,{"x":null}]}}"#,
        "{ \"stream\" : false ,\n \"metadata\" : null, \"model\" : \"m\", \"t\": [ -1.5e3, true ] }",
        r#"{"model":"gpt-4o","metadata":{"user_id":null},"stream":null,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}"#,
    ];

    #[test]
    fn the_scan_reads_usual_bodies_as_serde_json_does() {
        for body in BODIES {
            let scanned = RequestPeek::scan(body.as_bytes());
            assert!(scanned.is_some(), "{body}");
            assert_eq!(scanned, RequestPeek::parse_full(body.as_bytes()).ok(), "{body}");
        }
        for doc in crate::protocol::json_scan::SAMPLES {
            if let Some(peek) = RequestPeek::scan(doc.as_bytes()) {
                assert_eq!(Ok(peek), RequestPeek::parse_full(doc.as_bytes()), "{doc}");
            }
        }
    }

    #[test]
    fn what_the_scan_reads_serde_json_reads_the_same_at_every_broken_byte() {
        let (mut scanned, mut total) = (0, 0);
        for body in BODIES.iter().chain(crate::protocol::json_scan::SAMPLES) {
            for doc in crate::protocol::json_scan::mutations(body.as_bytes()) {
                total += 1;
                if let Some(peek) = RequestPeek::scan(&doc) {
                    scanned += 1;
                    assert_eq!(Ok(peek), RequestPeek::parse_full(&doc), "{}", String::from_utf8_lossy(&doc));
                }
            }
        }
        assert!(scanned > 1000 && total - scanned > 1000, "{scanned} of {total}");
    }

    #[test]
    fn repeated_escaped_or_empty_fields_go_to_serde_json() {
        for body in [
            r#"{"model":"a","model":"b"}"#,
            r#"{"model":"a","stream":true,"stream":false}"#,
            r#"{"model":"a","metadata":{"user_id":"u","user_id":"v"}}"#,
            r#"{"model":"a","metadata":null,"metadata":null}"#,
            r#"{"mod\u0065l":"a"}"#,
            r#"{"model":""}"#,
            r#"{"model":3}"#,
            r#"{"model":"a","stream":1}"#,
            r#"{"model":"a","metadata":[]}"#,
            r#"["a",true]"#,
        ] {
            assert_eq!(RequestPeek::scan(body.as_bytes()), None, "{body}");
        }
        assert_eq!(
            RequestPeek::parse(br#"{"model":"a","model":"b"}"#).unwrap_err().message.split(" at ").next(),
            Some("request body is not valid JSON: duplicate field `model`")
        );
        assert_eq!(RequestPeek::parse(br#"{"mod\u0065l":"a"}"#).unwrap().model, "a");
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(RequestPeek::parse(b"{}").unwrap_err().message, "model: field required");
        assert_eq!(RequestPeek::parse(br#"{"model":3}"#).unwrap_err().message, "model: must be a string");
        assert!(RequestPeek::parse(b"{").unwrap_err().message.starts_with("request body is not valid JSON"));
    }

    #[test]
    fn adaptive_thinking_becomes_a_budget_for_a_model_that_does_not_take_it() {
        let budgeted = |body: &str| {
            let peek = RequestPeek::parse(body.as_bytes()).unwrap();
            with_budgeted_thinking(body.as_bytes(), &peek, "glm-4.6").map(|b| String::from_utf8(b.to_vec()).unwrap())
        };
        // Every other byte as it came, whichever member comes first.
        assert_eq!(
            budgeted(r#"{"model":"claude-opus-4-6","max_tokens":32000,"thinking": {"type":"adaptive"} ,"output_config":{"effort":"high"},"x":[1]}"#).as_deref(),
            Some(r#"{"model":"glm-4.6","max_tokens":32000,"thinking": {"type":"enabled","budget_tokens":8192} ,"output_config":{"effort":"high"},"x":[1]}"#)
        );
        assert_eq!(
            budgeted(r#"{"thinking":{"type":"adaptive"},"max_tokens":4000,"model":"claude-opus-4-6"}"#).as_deref(),
            Some(r#"{"thinking":{"type":"enabled","budget_tokens":2000},"max_tokens":4000,"model":"glm-4.6"}"#)
        );
        assert_eq!(
            budgeted(r#"{"model":"claude-opus-4-6","max_tokens":1500,"thinking":{"type":"adaptive"}}"#).as_deref(),
            Some(r#"{"model":"glm-4.6","max_tokens":1500,"thinking":{"type":"disabled"}}"#)
        );
        // "adaptive" elsewhere, thinking of another kind, or none: nothing to do.
        for body in [
            r#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"\"adaptive\""}]}"#,
            r#"{"model":"m","thinking":{"type":"enabled","budget_tokens":2048},"metadata":{"k":"adaptive"}}"#,
            r#"{"model":"m","messages":[]}"#,
        ] {
            assert_eq!(budgeted(body), None, "{body}");
        }
        // A full rewrite (thinking stripped) turns it into a budget too.
        let body = br#"{"model":"claude-opus-4-6","max_tokens":32000,"thinking":{"type":"adaptive"},"messages":[]}"#;
        let v: serde_json::Value =
            serde_json::from_slice(&without_thinking(body, "claude-sonnet-4-5", Strip::All).unwrap()).unwrap();
        assert_eq!(v["thinking"], serde_json::json!({"type": "enabled", "budget_tokens": 8192}));
        let v: serde_json::Value =
            serde_json::from_slice(&without_thinking(body, "claude-opus-4-7", Strip::All).unwrap()).unwrap();
        assert_eq!(v["thinking"], serde_json::json!({"type": "adaptive"}));
    }
}
