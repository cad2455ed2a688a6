//! OpenAI Responses API: requests, `response` objects, stream events.
//!
//! One item type serves input and output (`message`, `function_call`,
//! `function_call_output`, `reasoning`): a client replays output items as input. Input
//! messages may omit `type` (the SDK's "easy" message), so items read as `message` when
//! they have a `role` and no `type`. Fields the API may send as `null` read as defaults.

use super::Text;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;

/// `null` reads as the default, like a missing field.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResponsesRequest {
    #[serde(default)]
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<ResponsesInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ResponsesTool>>,
    /// `"none" | "auto" | "required" | {type:"function", name} | {type:"allowed_tools", …} | hosted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// `{format: {type: text | json_object | json_schema, …}, verbosity}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// What the answer is to include besides its output (`reasoning.encrypted_content`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
}

/// `input`: a string (one user message) or a list of items.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ResponsesInput {
    Text(String),
    Items(Vec<Item>),
}

/// Read in one pass, without an intermediate `Value` tree: a Codex request's input is
/// most of its size.
impl<'de> Deserialize<'de> for ResponsesInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResponsesInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("input as a string or an array of items")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(ResponsesInput::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(ResponsesInput::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                loop {
                    let i = items.len();
                    match seq.next_element::<Item>() {
                        Ok(Some(item)) => items.push(item),
                        Ok(None) => return Ok(ResponsesInput::Items(items)),
                        Err(e) => return Err(de::Error::custom(format!("input[{i}]: {e}"))),
                    }
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A tool definition: flat `{type:"function", name, description, parameters, strict}`,
/// a custom tool `{type:"custom", name, description, format}` whose input is free text
/// (Codex's `apply_patch`), or a hosted tool (`web_search`, `file_search`, …) whose
/// other fields are not read (but for `web_search`'s, which the gateway writes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResponsesTool {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kept as text: schemas are most of a tool list's size and cross dialects as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<super::RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// A custom tool's input format: `{type:"text"}` or `{type:"grammar", syntax,
    /// definition}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// A `namespace` tool's tools (Codex groups an MCP server's tools so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ResponsesTool>>,
    /// `web_search`: `{allowed_domains}`, and the user's approximate location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_location: Option<Value>,
    /// `web_search`: `false` keeps the search to OpenAI's cached index (Codex's
    /// `web_search = "cached"`): no live page is fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_web_access: Option<bool>,
    /// `tool_search`: who runs the search, `client` (Codex's, over its deferred MCP
    /// tools) or the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReasoningConfig {
    /// `none | minimal | low | medium | high | xhigh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto | concise | detailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

// ---------------------------------------------------------------- items

/// Deserialized by `fast_de` in one pass when `type` is the first key (see there).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    Message {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        content: ItemContent,
        /// `user | assistant | system | developer`.
        role: String,
    },
    FunctionCall {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        /// A JSON string.
        arguments: String,
        call_id: String,
        name: String,
        /// The `namespace` tool whose tool this is (Codex's MCP servers).
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    FunctionCallOutput {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        call_id: String,
        output: ItemContent,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A call of a custom tool: its input is free text.
    CustomToolCall {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        call_id: String,
        name: String,
        input: String,
    },
    CustomToolCallOutput {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        call_id: String,
        output: ItemContent,
    },
    Reasoning {
        id: String,
        summary: Vec<SummaryPart>,
        /// Raw reasoning text (`reasoning_text` parts), sent by some servers.
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Vec<SummaryPart>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// A reference to an item stored at OpenAI.
    ItemReference { id: String },
    /// A hosted web search the server ran: `action` is `{type: "search", query,
    /// queries?, sources?: [{type: "url", url}]}` (or `open_page`, `find`).
    WebSearchCall {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<Value>,
    },
    /// A tool search the client runs (Codex's `tool_search`, `execution: "client"`):
    /// `arguments` is an object, `{query, limit?}`.
    ToolSearchCall {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        call_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        execution: Option<String>,
        arguments: Value,
    },
    /// What a client's tool search found: `namespace` and function tools the model may
    /// call from then on.
    ToolSearchOutput {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        call_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        execution: Option<String>,
        tools: Vec<ResponsesTool>,
    },
    /// Tools given in the input rather than in `tools` (Codex's code-mode models: a
    /// `functions` namespace with the `exec` custom tool, and other namespaces).
    AdditionalTools {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        tools: Vec<ResponsesTool>,
    },
    /// Hosted-tool calls and outputs, …
    Other,
}

impl Item {
    /// The type name, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Message { .. } => "message",
            Item::FunctionCall { .. } => "function_call",
            Item::FunctionCallOutput { .. } => "function_call_output",
            Item::CustomToolCall { .. } => "custom_tool_call",
            Item::CustomToolCallOutput { .. } => "custom_tool_call_output",
            Item::Reasoning { .. } => "reasoning",
            Item::ItemReference { .. } => "item_reference",
            Item::WebSearchCall { .. } => "web_search_call",
            Item::ToolSearchCall { .. } => "tool_search_call",
            Item::ToolSearchOutput { .. } => "tool_search_output",
            Item::AdditionalTools { .. } => "additional_tools",
            Item::Other => "other",
        }
    }

    /// The item's own id (`msg_…`, `fc_…`, `rs_…`), if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message { id, .. }
            | Item::FunctionCall { id, .. }
            | Item::FunctionCallOutput { id, .. }
            | Item::CustomToolCall { id, .. }
            | Item::CustomToolCallOutput { id, .. }
            | Item::WebSearchCall { id, .. }
            | Item::ToolSearchCall { id, .. }
            | Item::ToolSearchOutput { id, .. }
            | Item::AdditionalTools { id, .. } => id.as_deref(),
            Item::Reasoning { id, .. } | Item::ItemReference { id } => Some(id.as_str()),
            Item::Other => None,
        }
    }
}

/// Message content and `function_call_output.output`: a string or content parts.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ItemContent {
    Text(Text),
    Parts(Vec<ContentPart>),
}

impl Default for ItemContent {
    fn default() -> Self {
        ItemContent::Parts(Vec::new())
    }
}

/// Deserialized by `fast_de` in one pass when `type` is the first key (see there).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    InputText {
        text: Text,
    },
    OutputText {
        annotations: Vec<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        logprobs: Option<Vec<Value>>,
        text: Text,
    },
    Refusal {
        refusal: String,
    },
    InputImage {
        /// An https URL or a `data:` URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        /// `low | high | auto`.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    InputFile {
        /// A `data:` URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
    },
    Other,
}

/// A reasoning summary part (`summary_text`) or raw reasoning part (`reasoning_text`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SummaryPart {
    #[serde(rename = "type", default = "summary_text")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub text: String,
}

fn summary_text() -> String {
    "summary_text".to_string()
}

impl SummaryPart {
    pub fn summary(text: impl Into<String>) -> Self {
        SummaryPart { kind: summary_text(), text: text.into() }
    }
}

// ---------------------------------------------------------------- response object

/// The `response` object. Serialized with every field the API itself writes (nulls
/// included), so strict client models find what they require.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponseObject {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default = "response_object")]
    pub object: String,
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub created_at: u64,
    /// `completed | failed | in_progress | cancelled | queued | incomplete`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub background: bool,
    #[serde(default)]
    pub error: Option<ResponseError>,
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    pub instructions: Option<Value>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    pub model: String,
    #[serde(default, deserialize_with = "nullable")]
    pub output: Vec<Item>,
    #[serde(default = "yes", deserialize_with = "nullable_true")]
    pub parallel_tool_calls: bool,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    #[serde(default)]
    pub reasoning: Option<Value>,
    #[serde(default)]
    pub store: Option<bool>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub text: Option<Value>,
    #[serde(default)]
    pub tool_choice: Value,
    /// The request's function tools, echoed. Not read from an upstream's response: the
    /// gateway has no use for them, and their schemas stay text (see `ResponsesTool`),
    /// which cannot be read inside a stream event's buffered fields.
    #[serde(skip_deserializing)]
    pub tools: Vec<ResponsesTool>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub truncation: Option<String>,
    #[serde(default)]
    pub usage: Option<ResponsesUsage>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub metadata: Value,
}

fn response_object() -> String {
    "response".to_string()
}

fn yes() -> bool {
    true
}

fn nullable_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResponseError {
    /// `server_error`, `rate_limit_exceeded`, `invalid_prompt`, image errors, …
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IncompleteDetails {
    /// `max_output_tokens | content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `input_tokens` includes cached tokens; `output_tokens` includes reasoning tokens.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResponsesUsage {
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub input_tokens: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub input_tokens_details: InputTokensDetails,
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub output_tokens: u64,
    #[serde(default, deserialize_with = "nullable")]
    pub output_tokens_details: OutputTokensDetails,
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputTokensDetails {
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub cached_tokens: u64,
    /// Newer: older servers leave it out, newer SDK models require it.
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub cache_write_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutputTokensDetails {
    #[serde(default, deserialize_with = "super::lenient_u64")]
    pub reasoning_tokens: u64,
}

#[path = "openai_responses_events.rs"]
mod events;

#[path = "openai_responses_de.rs"]
mod fast_de;
pub use events::*;
