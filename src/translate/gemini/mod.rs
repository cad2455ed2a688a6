//! Google Gemini `generateContent` / `streamGenerateContent` ⇄ the canonical model.
//!
//! Requests (`request`: Gemini → canonical, `upstream`: canonical → Gemini), complete
//! responses (`response`) and streams (`decode`, `encode`), on the wire types of
//! `protocol::gemini`.
//!
//! # Tool-call ids
//!
//! Gemini function calls usually carry no id; a `functionResponse` pairs with its call
//! by name and position. Coming in, calls without an id get deterministic ones:
//! `toolu_gm_<n>` numbered in conversation order within a request, and
//! `toolu_gm_<responseId>_<n>` in a response (unique across turns, so a client's
//! history never holds the same id twice). Each `functionResponse` takes the id of the
//! first unanswered call of the same name in the preceding model turn (or the call
//! whose id it names). Going out, ids are not sent upstream: the `functionResponse`
//! gets the `name` of the `tool_use` its `tool_use_id` points to earlier in the history
//! (a result with no such call is a 400). Gemini *clients* do get the id on
//! `functionCall`, and an id they echo back is kept.
//!
//! # Thought signatures
//!
//! Gemini 3 rejects a conversation unless the `thoughtSignature` it put on a
//! `functionCall` part comes back on that part, and no signature may reach another
//! provider. The canonical model has no slot for it on `tool_use`, so it rides in the
//! tool id: `<base id>__ts_<base64url, unpadded, of the signature string's bytes>`,
//! which keeps ids within `^[a-zA-Z0-9_-]+$` and survives clients that keep only ids.
//! Towards Gemini the suffix is split off again into `thoughtSignature` on the part.
//! Model turns whose calls carry no signature (history from another provider) get the
//! documented dummy `skip_thought_signature_validator` on their first call.
//!
//! Signatures on other parts become canonical `thinking` blocks whose signature is
//! `"gemini:" + signature`: a signed thought part is one thinking block; a signature on
//! a non-thought part signs the thinking block still open before it, or else becomes an
//! empty thinking block after that part's text. Going back, a signed thinking block is
//! a thought part again, and an empty one re-attaches to the text part before it; with
//! no such part it is dropped towards an upstream (Gemini validates signatures only on
//! function calls, and rejects empty text parts) and sent to a client on an empty text
//! part, as Gemini streams it. Thinking blocks whose signature does not start with `gemini:`
//! (Anthropic's, or unsigned reasoning from OpenAI-style upstreams) are never sent to
//! Gemini.
//!
//! # Lossy corners
//!
//! - Image URLs become `fileData.fileUri`. Gemini accepts Files API and `gs://` URIs
//!   there; arbitrary https URLs may be refused (a gateway that must support them has
//!   to fetch and inline them). Coming in, `fileData` becomes a URL source, which an
//!   Anthropic upstream cannot fetch when it is a Files API URI.
//! - A user turn holding both tool results and new text is split into the
//!   `functionResponse` turn, a short placeholder model turn and a user turn with the
//!   text: Gemini keeps roles alternating, and text folded into a function-response
//!   turn makes Gemini 3 continue the tool output instead of answering.
//! - Tool results are text: Gemini `response` objects arrive as their JSON text (or the
//!   `output` / `error` string) and leave as `{"output": text}` / `{"error": text}`;
//!   images returned by a tool become `inlineData` parts beside the responses.
//! - Google Search is the canonical hosted web search, where the channel runs one
//!   (`search`); other hosted tools (`codeExecution`, `urlContext`, …) and Anthropic's
//!   other server tools are dropped, as are `seed`, penalties, safety settings,
//!   `cachedContent`, audio and video input (a 400), model output images and
//!   code-execution parts.
//! - Anthropic `stop_sequence` reads back as `STOP`; Gemini's tool-use prompt tokens
//!   count as input.

mod decode;
mod encode;
mod parts;
mod request;
mod response;
mod search;
mod signature;
mod upstream;

pub use decode::GeminiDecoder;
pub use encode::{error_chunk, GeminiEncoder, JsonArray, SSE_KEEPALIVE};
pub use signature::base_tool_id;

use super::{ApiError, TargetOptions};
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse, Usage};
use crate::protocol::gemini::{FunctionCall, UsageMetadata};

/// The delay a Gemini error asks for before the next try: the `retryDelay` of its
/// `google.rpc.RetryInfo` detail (`"31s"`, `"0.5s"`). Gemini sends no `retry-after`.
pub fn retry_delay(body: &[u8]) -> Option<std::time::Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let delay = v.get("error")?.get("details")?.as_array()?.iter().find_map(|d| {
        let kind = d.get("@type")?.as_str()?;
        kind.ends_with("google.rpc.RetryInfo").then(|| d.get("retryDelay")?.as_str()).flatten()
    })?;
    let secs: f64 = delay.strip_suffix('s')?.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= 3600.0).then(|| std::time::Duration::from_secs_f64(secs))
}

/// The request a `countTokens` body counts: its `generateContentRequest` (without the
/// `model` it names: the URL does), or the body itself (`contents` alone).
pub fn count_tokens_request(body: &bytes::Bytes) -> Result<bytes::Bytes, ApiError> {
    let mut v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    match v.get_mut("generateContentRequest").map(serde_json::Value::take) {
        Some(serde_json::Value::Object(mut inner)) => {
            inner.shift_remove("model");
            Ok(bytes::Bytes::from(super::error::to_json(&inner)))
        }
        Some(_) => Err(ApiError::invalid("generateContentRequest must be an object")),
        None => Ok(body.clone()),
    }
}

/// The `countTokens` body a Gemini upstream takes for `body` (a generateContent
/// request): all of it, as `generateContentRequest` naming `model`.
pub fn count_tokens_upstream_body(body: &[u8], model: &str) -> Result<Vec<u8>, ApiError> {
    let mut inner: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    inner.insert("model".into(), format!("models/{model}").into());
    Ok(super::error::to_json(&serde_json::json!({ "generateContentRequest": inner })))
}

/// A Gemini request body (the model comes from the URL) as a canonical request, and
/// whether the client wants the model's thoughts in the answer
/// (`thinkingConfig.includeThoughts`).
pub fn request_to_canonical(body: &[u8], model: &str, stream: bool) -> Result<(MessagesRequest, bool), ApiError> {
    request::to_canonical(body, model, stream)
}

/// The Gemini request body for `req` (the model goes in the URL, `target.model`).
pub fn canonical_to_request(req: &MessagesRequest, target: &TargetOptions) -> Result<Vec<u8>, ApiError> {
    upstream::from_canonical(req, target)
}

/// A Gemini response body as a canonical message; `model` names the upstream model.
pub fn response_to_canonical(body: &[u8], model: &str) -> Result<MessagesResponse, ApiError> {
    response::to_canonical(body, model)
}

/// A canonical message as a Gemini response body; thinking becomes thought parts only
/// when the client asked for `thoughts`.
pub fn canonical_to_response(resp: &MessagesResponse, thoughts: bool) -> Vec<u8> {
    response::from_canonical(resp, thoughts)
}

/// Finish reasons that mean the answer was blocked (protocols.md §3.4). `OTHER`, an
/// unnamed stop, counts as one, as OpenAI-compatible Gemini front ends report it
/// (`content_filter`): the answer did not end on its own.
const REFUSAL_REASONS: [&str; 10] = [
    "OTHER",
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "LANGUAGE",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

/// Gemini `finishReason` (and whether function calls were made) → `stop_reason`.
/// Gemini finishes tool calls with `STOP`: their presence decides `tool_use`.
fn stop_reason_from_finish(finish_reason: Option<&str>, has_calls: bool) -> &'static str {
    match finish_reason {
        Some(r) if REFUSAL_REASONS.contains(&r) => "refusal",
        Some("MAX_TOKENS") => "max_tokens",
        _ if has_calls => "tool_use",
        _ => "end_turn",
    }
}

/// Finish reasons that say the model's tool call failed (it wrote a malformed one, one
/// of a tool it was not given, too many, or one without its signature).
const TOOL_CALL_FAILURES: [&str; 4] =
    ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE"];

/// An answer that ended on a failed tool call with nothing said: an error (a server
/// error, which the gateway retries elsewhere, and a client may retry), not an empty
/// turn an agent would take for the end of its work.
fn tool_call_failure(finish_reason: Option<&str>, finish_message: Option<&str>) -> Option<ApiError> {
    let reason = finish_reason.filter(|r| TOOL_CALL_FAILURES.contains(r))?;
    let detail = finish_message.filter(|m| !m.is_empty()).map(|m| format!(": {m}")).unwrap_or_default();
    Some(ApiError::new(super::ErrorKind::Api, format!("upstream's tool call failed ({reason}){detail}")))
}

/// Canonical `stop_reason` → Gemini `finishReason`.
fn finish_reason_from_stop(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "MAX_TOKENS",
        Some("refusal") => "SAFETY",
        _ => "STOP", // end_turn, stop_sequence, tool_use, pause_turn
    }
}

/// Gemini usage → canonical: the prompt count includes cached tokens, and output is
/// candidates plus thoughts.
fn canonical_usage(u: &UsageMetadata) -> Usage {
    let cached = u.cached_content_token_count.unwrap_or(0);
    let prompt = u.prompt_token_count.unwrap_or(0) + u.tool_use_prompt_token_count.unwrap_or(0);
    Usage {
        input_tokens: prompt.saturating_sub(cached),
        output_tokens: u.candidates_token_count.unwrap_or(0) + u.thoughts_token_count.unwrap_or(0),
        cache_creation_input_tokens: Some(0),
        cache_read_input_tokens: Some(cached),
        reasoning_tokens: u.thoughts_token_count.filter(|n| *n > 0),
        server_tool_use: None,
    }
}

/// Canonical usage → Gemini: the prompt count includes cache reads and writes, and
/// candidates exclude thoughts.
fn usage_metadata(u: &Usage) -> UsageMetadata {
    let cache_read = u.cache_read_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens + cache_read + u.cache_creation_input_tokens.unwrap_or(0);
    let thoughts = u.reasoning_tokens.map(|n| n.min(u.output_tokens));
    UsageMetadata {
        prompt_token_count: Some(prompt),
        candidates_token_count: Some(u.output_tokens - thoughts.unwrap_or(0)),
        cached_content_token_count: (cache_read > 0).then_some(cache_read),
        tool_use_prompt_token_count: None,
        thoughts_token_count: thoughts,
        total_token_count: Some(prompt + u.output_tokens),
    }
}

/// Ids of one Gemini response: its message id and its tool calls' ids.
#[derive(Debug, Clone, Default)]
struct ResponseIds {
    /// `responseId`, or a random token when the upstream sent none.
    token: String,
    calls: u32,
}

impl ResponseIds {
    fn new(response_id: Option<&str>) -> Self {
        let token = match response_id.filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None => std::iter::repeat_with(fastrand::alphanumeric).take(24).collect(),
        };
        ResponseIds { token, calls: 0 }
    }

    /// The `responseId`, or the random token standing for it.
    fn token(&self) -> &str {
        &self.token
    }

    /// The canonical message id: the `responseId` itself, or `msg_gm_<random>`.
    fn message_id(&self, response_id: Option<&str>) -> String {
        match response_id.filter(|id| !id.is_empty()) {
            Some(id) => id.to_string(),
            None => format!("msg_gm_{}", self.token),
        }
    }

    /// The base id of the next call (without its signature).
    fn call_id(&mut self, call: &FunctionCall) -> String {
        self.calls += 1;
        match call.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => super::sanitize_tool_id(id.to_string()),
            None => super::sanitize_tool_id(format!("toolu_gm_{}_{}", self.token, self.calls)),
        }
    }
}

#[cfg(test)]
mod response_tests;
#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
