//! OpenAI Responses API ⇄ the canonical model.
//!
//! Ids: the response id is the gateway's (`resp_…`, given by the caller); output items
//! get `msg_<r>_<n>`, `fc_<r>_<n>`, `rs_<r>_<n>` and `ws_<r>_<n>`, where `<r>` is the response id
//! without `resp_` and `<n>` the item's output index, so the streamed and the complete
//! answer name items alike. A canonical tool id becomes the `call_id` unchanged, and a
//! `call_id` becomes the canonical tool id (sanitized), so calls and outputs pair up in
//! both directions. An upstream `resp_…` id is kept as the canonical message id.
//!
//! What does not cross (see `request.rs` for the request side):
//! - `reasoning` input items: OpenAI's `encrypted_content` is only valid at OpenAI, and
//!   a Responses→Responses conversation is passed through untranslated anyway. Thinking
//!   the gateway sealed there (`translate::sealed`) comes back as its thinking block.
//! - hosted tools (`web_search`, `file_search`, `mcp`, …) and their items: only
//!   function and custom tools are translated; the others are dropped rather than
//!   refused, since clients such as agents send them by default. The hosted web search
//!   is the exception between Responses and Anthropic, both ways (`web_search`). A `namespace` tool's
//!   tools are function tools `<namespace>__<name>` elsewhere, and their calls come back
//!   with `name` and `namespace` (`translate::tool_names`). A tool search the client
//!   runs (Codex's `tool_search`) is a function tool elsewhere (`tool_search`), and the
//!   tools an `additional_tools` input item gives (Codex's code mode) are declared with
//!   the request's own.
//! - `stop_sequences` (Responses has no `stop`), `top_k`, thinking signatures.

mod decode;
mod encode;
mod request;
mod response;
mod tool_search;
mod upstream;
mod web_search;

#[cfg(test)]
mod response_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tool_search_tests;
#[cfg(test)]
mod tool_tests;
#[cfg(test)]
mod web_search_tests;

use super::tool_names::ToolNames;
use super::{ApiError, TargetOptions};
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse, Usage};
use crate::protocol::openai_responses::{InputTokensDetails, OutputTokensDetails, ResponsesUsage};
use crate::translate::ErrorKind;

pub use decode::ResponsesDecoder;
pub use encode::ResponsesEncoder;

/// What a Responses request asked for that the gateway must honour or echo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponsesRequestInfo {
    pub model: String,
    pub stream: bool,
    /// `store` (default true): the gateway keeps the conversation for `previous_response_id`.
    pub store: bool,
    pub previous_response_id: Option<String>,
    /// Request fields echoed in the response object.
    pub instructions: Option<crate::protocol::Text>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_output_tokens: Option<u32>,
    pub metadata: Option<serde_json::Value>,
    pub tools: Option<Vec<crate::protocol::openai_responses::ResponsesTool>>,
    pub tool_choice: Option<serde_json::Value>,
    pub parallel_tool_calls: Option<bool>,
    /// `text` (output format) as requested.
    pub text: Option<serde_json::Value>,
    /// `reasoning` (`{effort, summary}`) as requested.
    pub reasoning: Option<serde_json::Value>,
    pub user: Option<String>,
    pub truncation: Option<String>,
    /// The request's tools renamed upstream (namespaced ones, names others refuse).
    pub tool_names: Option<std::sync::Arc<ToolNames>>,
    /// `include` asks for `reasoning.encrypted_content`: reasoning items carry the
    /// thinking they stand for, sealed (`translate::sealed`), for the client to send back.
    pub encrypted_reasoning: bool,
    /// `include` asks for `web_search_call.action.sources`: a search's pages are listed.
    pub web_search_sources: bool,
    /// The request declares a tool search the client runs (`tool_search`).
    pub tool_search: bool,
    /// The custom tools its input's `additional_tools` give (Codex's `exec`).
    pub input_custom_tools: Vec<String>,
}

impl ResponsesRequestInfo {
    /// Whether the upstream's tool `name` is one of the request's custom tools (free-text
    /// input): its calls go back as `custom_tool_call` items.
    pub fn is_custom_tool(&self, name: &str) -> bool {
        let (name, namespace) = self.client_tool(name);
        namespace.is_none()
            && (self.tools.iter().flatten().any(|t| t.kind == "custom" && t.name.as_deref() == Some(name))
                || self.input_custom_tools.iter().any(|t| t == name))
    }

    /// Whether the upstream's tool `name` is the client's tool search: its calls go back
    /// as `tool_search_call` items.
    pub fn is_tool_search(&self, name: &str) -> bool {
        self.tool_search && self.client_tool(name) == (tool_search::NAME, None)
    }

    /// The client's name and namespace of the tool the upstream calls `name`.
    pub fn client_tool<'a>(&'a self, name: &'a str) -> (&'a str, Option<&'a str>) {
        match &self.tool_names {
            Some(names) => names.client(name),
            None => (name, None),
        }
    }
}

/// A custom tool's text, from the input of its call as a function tool elsewhere
/// (`{"input": text}`; no input is no text, anything else is passed on as its JSON
/// text).
fn custom_tool_input(input: &serde_json::Value) -> String {
    match input.get(request::CUSTOM_INPUT).unwrap_or(input) {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        other => crate::translate::tool_arguments(other),
    }
}

/// A function or custom tool call item's call id (its item id when it has none), name,
/// and input as a canonical `tool_use` takes it (a custom tool's text as
/// `{"input": text}`); `None` for other items.
fn tool_call_parts(
    item: crate::protocol::openai_responses::Item,
) -> Option<(Option<String>, String, serde_json::Value)> {
    use crate::protocol::openai_responses::Item;
    let (id, call_id, name, input) = match item {
        Item::FunctionCall { id, arguments, call_id, name, .. } => {
            (id, call_id, name, crate::translate::tool_input(&arguments))
        }
        Item::CustomToolCall { id, input, call_id, name, .. } => {
            (id, call_id, name, serde_json::json!({ request::CUSTOM_INPUT: input }))
        }
        _ => return None,
    };
    Some((Some(call_id).filter(|c| !c.is_empty()).or(id), name, input))
}

/// A custom tool's text as the arguments of its call as a function tool.
fn custom_tool_arguments(text: &str) -> String {
    serde_json::json!({ request::CUSTOM_INPUT: text }).to_string()
}

/// A Responses request body as a canonical request (`previous_response_id` is not
/// resolved here; the caller prepends the stored conversation).
pub fn request_to_canonical(body: &[u8]) -> Result<(MessagesRequest, ResponsesRequestInfo), ApiError> {
    request::to_canonical(body)
}

/// The Responses request body for `req`.
pub fn canonical_to_request(req: &MessagesRequest, target: &TargetOptions) -> Result<Vec<u8>, ApiError> {
    upstream::from_canonical(req, target)
}

/// A Responses `response` object as a canonical message.
pub fn response_to_canonical(body: &[u8]) -> Result<MessagesResponse, ApiError> {
    response::to_canonical(body)
}

/// A canonical message as a Responses `response` object with id `response_id`.
pub fn canonical_to_response(resp: &MessagesResponse, response_id: &str, info: &ResponsesRequestInfo) -> Vec<u8> {
    response::from_canonical(resp, response_id, info)
}

// ---------------------------------------------------------------- shared mappings

/// The id of output item `index` of response `response_id`, with `prefix` (`msg`, `fc`, `rs`).
fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{base}_{index}")
}

/// Canonical stop reason → response `status` and `incomplete_details.reason`. A refusal
/// is reported as `incomplete` / `content_filter`: when streaming, its text has already
/// gone out as `output_text` before the reason is known, so it cannot become a
/// `refusal` part; the complete answer says the same for consistency.
fn status_of(stop_reason: Option<&str>) -> (&'static str, Option<&'static str>) {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => ("incomplete", Some("max_output_tokens")),
        Some("refusal") => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

/// Responses has no stop reason: it follows from `status`, `incomplete_details`, and
/// whether the output holds function calls or refusals (protocols.md §1.4, §3.4).
fn stop_reason_of(status: Option<&str>, incomplete: Option<&str>, has_calls: bool, refused: bool) -> &'static str {
    if status == Some("incomplete") {
        return match incomplete {
            Some("content_filter") => "refusal",
            _ => "max_tokens",
        };
    }
    if has_calls {
        "tool_use"
    } else if refused {
        "refusal"
    } else {
        "end_turn"
    }
}

/// Responses usage → canonical: input excludes cache reads and writes.
fn usage_to_canonical(u: &ResponsesUsage) -> Usage {
    let cached = u.input_tokens_details.cached_tokens;
    let written = u.input_tokens_details.cache_write_tokens;
    Usage {
        input_tokens: u.input_tokens.saturating_sub(cached + written),
        output_tokens: u.output_tokens,
        cache_creation_input_tokens: Some(written),
        cache_read_input_tokens: Some(cached),
        reasoning_tokens: Some(u.output_tokens_details.reasoning_tokens).filter(|n| *n > 0),
        server_tool_use: None,
    }
}

/// Canonical usage → Responses: input includes cache reads and writes.
fn usage_from_canonical(u: &Usage) -> ResponsesUsage {
    let cached = u.cache_read_input_tokens.unwrap_or(0);
    let written = u.cache_creation_input_tokens.unwrap_or(0);
    let input = u.input_tokens + cached + written;
    ResponsesUsage {
        input_tokens: input,
        input_tokens_details: InputTokensDetails { cached_tokens: cached, cache_write_tokens: written },
        output_tokens: u.output_tokens,
        output_tokens_details: OutputTokensDetails { reasoning_tokens: u.reasoning_tokens.unwrap_or(0) },
        total_tokens: input + u.output_tokens,
    }
}

/// The `code` a Responses `error` object may carry for `kind` (the SDK's `ResponseError`
/// allows only a fixed set).
fn response_error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::RateLimit => "rate_limit_exceeded",
        _ => "server_error",
    }
}
