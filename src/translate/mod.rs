//! Hub-and-spoke translation. The canonical model is the Anthropic Messages shape
//! (`protocol::anthropic`); each dialect converts to and from it. Same-dialect traffic
//! never comes here: it is passed through with only `model` rewritten (`passthrough`).

pub mod account_ids;
pub mod anthropic_request;
pub mod chat_canonical;
pub mod chat_request;
pub mod chat_response;
pub mod error;
pub mod gemini;
pub mod output_format;
pub mod passthrough;
pub mod request;
pub mod responses;
pub mod sealed;
pub mod stream;
pub mod tool_names;
pub(crate) mod web_search;

pub use error::{ApiError, ErrorKind};

/// Per-channel facts a request converter needs about its target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOptions {
    /// Model name to send upstream.
    pub model: String,
    /// `max_tokens` to send to an Anthropic upstream when the client gave none.
    pub default_max_tokens: u32,
    /// Upper bound on the output tokens asked of the upstream, if any.
    pub max_tokens_cap: Option<u32>,
    /// The upstream accepts reasoning parameters (`reasoning_effort` on OpenAI).
    pub reasoning: bool,
    /// Responses upstreams: `reasoning.summary` when the request thinks.
    pub reasoning_summary: Option<&'static str>,
    /// Anthropic upstreams: mark the prompt's prefix for caching when the client could
    /// not (`anthropic_request::cache_breakpoints`).
    pub prompt_caching: bool,
    /// Anthropic, Responses and Gemini upstreams: a hosted web search asked for in
    /// another dialect runs there (`web_search`); otherwise it is left out.
    pub hosted_web_search: bool,
    /// The channel's provider family: thinking marked as another family's is left out
    /// (`sealed::tag`).
    pub family: String,
}

impl TargetOptions {
    pub fn new(model: impl Into<String>) -> Self {
        TargetOptions {
            model: model.into(),
            default_max_tokens: 8192,
            max_tokens_cap: None,
            reasoning: false,
            reasoning_summary: None,
            prompt_caching: false,
            hosted_web_search: false,
            family: String::new(),
        }
    }

    pub(crate) fn cap(&self, n: u32) -> u32 {
        self.max_tokens_cap.map_or(n, |cap| n.min(cap))
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
pub fn finish_reason_from_stop(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop", // end_turn, stop_sequence, pause_turn
    }
}

/// OpenAI `finish_reason` → Anthropic `stop_reason`. Tool calls decide `tool_use` by
/// their presence, since forced-tool answers may finish with `stop`.
pub fn stop_reason_from_finish(finish_reason: &str, has_tool_calls: bool) -> &'static str {
    if has_tool_calls && matches!(finish_reason, "stop" | "tool_calls" | "function_call") {
        return "tool_use";
    }
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic usage → OpenAI usage: prompt tokens include cache reads and writes.
pub fn chat_usage_from_anthropic(u: &crate::protocol::anthropic::Usage) -> crate::protocol::openai_chat::ChatUsage {
    use crate::protocol::openai_chat::{ChatUsage, CompletionTokensDetails, PromptTokensDetails};
    let cache_read = u.cache_read_input_tokens.unwrap_or(0);
    let cache_write = u.cache_creation_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens + cache_read + cache_write;
    ChatUsage {
        prompt_tokens: prompt,
        completion_tokens: u.output_tokens,
        total_tokens: prompt + u.output_tokens,
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: cache_read,
            cache_write_tokens: (cache_write > 0).then_some(cache_write),
        }),
        completion_tokens_details: u
            .reasoning_tokens
            .map(|reasoning_tokens| CompletionTokensDetails { reasoning_tokens }),
    }
}

/// OpenAI usage → Anthropic usage: input excludes cached reads and writes.
pub fn anthropic_usage_from_chat(u: &crate::protocol::openai_chat::ChatUsage) -> crate::protocol::anthropic::Usage {
    let details = u.prompt_tokens_details.unwrap_or_default();
    let cache_write = details.cache_write_tokens.unwrap_or(0);
    crate::protocol::anthropic::Usage {
        input_tokens: u.prompt_tokens.saturating_sub(details.cached_tokens + cache_write),
        output_tokens: u.completion_tokens,
        cache_creation_input_tokens: Some(cache_write),
        cache_read_input_tokens: Some(details.cached_tokens),
        reasoning_tokens: u.completion_tokens_details.map(|d| d.reasoning_tokens).filter(|n| *n > 0),
        server_tool_use: None,
    }
}

/// FNV-1a of `bytes`: a stable short digest for names and ids made from longer ones.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A tool id as OpenAI takes it (Chat and Responses): without a Gemini signature, and
/// within 40 characters. A longer one (Gemini CLI's `<name>__<id>`, a long id from
/// another server) becomes `call_` and 16 hex digits of its digest, the same for a call
/// and its result.
pub(crate) fn openai_call_id(id: &str) -> std::borrow::Cow<'_, str> {
    let base = gemini::base_tool_id(id);
    if base.len() <= 40 {
        std::borrow::Cow::Borrowed(base)
    } else {
        std::borrow::Cow::Owned(format!("call_{:016x}", fnv1a(base.bytes())))
    }
}

/// The canonical id of a Chat upstream's tool call: its own, unless it has none, has
/// characters Anthropic refuses (Kimi's `functions.Bash:0`, which the next answer
/// repeats), or an earlier call of the same answer has it (`taken`); then a new one. A
/// client that keeps its history by tool id (Claude Code) would drop a call whose id it
/// has seen, and answer it as interrupted.
pub(crate) fn chat_call_id(upstream: &str, taken: impl Fn(&str) -> bool) -> String {
    let clean = upstream.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if upstream.is_empty() || !clean || taken(upstream) {
        generated_tool_id()
    } else {
        upstream.to_string()
    }
}

/// An id for a tool call the upstream sent without one. Random, not counted: a client
/// keeps the calls of every turn in its history, and two calls of one id there would
/// pair with each other's results (Anthropic refuses such a history).
pub(crate) fn generated_tool_id() -> String {
    format!("toolu_relay_{:016x}", fastrand::u64(..))
}

/// Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; other characters become `_`.
/// The same mapping is applied to ids in requests, so calls and results still pair.
pub fn sanitize_tool_id(id: String) -> String {
    if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return id;
    }
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// Image types the Messages API accepts.
pub(crate) const ANTHROPIC_IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// An image URL from an OpenAI-style client (a `data:` URL or a link) as an Anthropic
/// image source; data URLs of types the Messages API refuses are an error.
pub(crate) fn image_source(url: &str) -> Result<crate::protocol::anthropic::ImageSource, String> {
    use crate::protocol::anthropic::ImageSource;
    if url.starts_with("data:") {
        let (media_type, data) = split_data_url(url).ok_or("image_url is not a valid base64 data URL")?;
        if !ANTHROPIC_IMAGE_TYPES.contains(&media_type) {
            return Err(format!("image type '{media_type}' is not supported (jpeg, png, gif, webp)"));
        }
        return Ok(ImageSource::Base64 { media_type: media_type.to_string(), data: data.to_string() });
    }
    Ok(ImageSource::Url { url: url.to_string() })
}

/// `data:<media type>;base64,<data>` → (media type, data).
pub(crate) fn split_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// Tool-call arguments (a JSON string in OpenAI dialects) as canonical tool input (an
/// object). A model can emit invalid JSON; it is kept as a string under
/// `_raw_arguments` so nothing is lost.
pub(crate) fn tool_input(arguments: &str) -> serde_json::Value {
    if arguments.trim().is_empty() {
        return serde_json::Value::Object(Default::default());
    }
    match serde_json::from_str::<serde_json::Value>(arguments) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => serde_json::json!({ "_raw_arguments": arguments }),
    }
}

/// Canonical tool input as an OpenAI `arguments` string.
pub(crate) fn tool_arguments(input: &serde_json::Value) -> String {
    match input {
        serde_json::Value::Null => "{}".to_string(),
        v => serde_json::to_string(v).unwrap_or_else(|_| "{}".to_string()),
    }
}

/// The reasoning effort OpenAI's APIs get for a canonical request: its
/// `output_config.effort`, else its thinking budget (adaptive thinking as `medium`).
/// Thinking turned off (`disabled`: a Gemini client's `thinkingBudget: 0`, a `none` or
/// `minimal` effort) is `low`, the least effort every reasoning model takes (`minimal`
/// and `none` each exist on some models only). `None` leaves the model's default.
pub(crate) fn reasoning_effort(req: &crate::protocol::anthropic::MessagesRequest) -> Option<&'static str> {
    if let Some(effort) = req.output_config.as_ref().and_then(|c| c.effort.as_deref()) {
        return Some(match effort {
            "low" | "minimal" => "low",
            "medium" => "medium",
            _ => "high", // high, xhigh, max
        });
    }
    let thinking = req.thinking.as_ref()?;
    if thinking.kind == crate::protocol::anthropic::Thinking::DISABLED {
        return Some("low");
    }
    if !thinking.is_on() {
        return None;
    }
    Some(match thinking.budget_tokens {
        Some(b) if b < 4096 => "low",
        Some(b) if b < 16384 => "medium",
        Some(_) => "high",
        None => "medium", // adaptive
    })
}

/// Canonical thinking for an OpenAI-style reasoning effort: `none` and `minimal` turn it
/// off, `low`, `medium` and `high` (or more) are budgets of 1024, 4096 and 16384 tokens.
pub(crate) fn thinking_for_effort(effort: &str) -> crate::protocol::anthropic::Thinking {
    use crate::protocol::anthropic::Thinking;
    let budget = match effort {
        "none" | "minimal" => return Thinking::disabled(),
        "low" => 1024,
        "medium" => 4096,
        _ => 16384, // high, xhigh
    };
    Thinking { kind: "enabled".into(), budget_tokens: Some(budget) }
}

/// The request's tool choice as an upstream that runs only function tools takes it: a
/// choice forcing a hosted tool (a Responses client's web search, kept for Anthropic
/// and Responses upstreams) leaves the choice to the model.
pub(crate) fn function_tool_choice(
    req: &crate::protocol::anthropic::MessagesRequest,
) -> Option<crate::protocol::anthropic::ToolChoice> {
    use crate::protocol::anthropic::ToolChoice;
    let choice = req.tool_choice.as_ref()?;
    let hosted = |name: &str| req.tools.iter().flatten().any(|t| t.name == name && !t.is_custom());
    Some(match choice {
        ToolChoice::Tool { name, disable_parallel_tool_use } if hosted(name) => {
            ToolChoice::Auto { disable_parallel_tool_use: *disable_parallel_tool_use }
        }
        other => other.clone(),
    })
}

/// The arguments a streamed `tool_use` block carries at its start: input given whole
/// there (not the usual `{}`, which fragments follow), or none.
pub(crate) fn initial_arguments(input: &serde_json::Value) -> String {
    match input {
        serde_json::Value::Object(map) if !map.is_empty() => tool_arguments(input),
        _ => String::new(),
    }
}

/// Seconds since the Unix epoch, for OpenAI `created` fields.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod exchange_tests;
#[cfg(test)]
mod prepared_tests;
#[cfg(test)]
mod tests;
