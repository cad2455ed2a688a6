//! Anthropic Messages API: requests, responses, stream events, errors. These types are
//! also the gateway's canonical model (the hub every other dialect converts through).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Text;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "fast_de::string_first")]
    pub system: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// Mid-conversation system message (newer Messages API beta; Claude Code sends it).
    System,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Content,
}

/// Message content, `system` and `tool_result.content`: a plain string or blocks.
/// Deserialized by `fast_de` without buffering (see there).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Content {
    Text(Text),
    Blocks(Vec<ContentBlock>),
}

impl Content {
    /// The blocks, with a plain string seen as one text block.
    pub fn blocks(&self) -> std::borrow::Cow<'_, [ContentBlock]> {
        match self {
            Content::Text(t) => std::borrow::Cow::Owned(vec![ContentBlock::text(t.clone())]),
            Content::Blocks(b) => std::borrow::Cow::Borrowed(b),
        }
    }

    /// All text blocks joined by `sep`; other blocks are skipped.
    pub fn joined_text(&self, sep: &str) -> Text {
        match self {
            Content::Text(t) => t.clone(),
            Content::Blocks(blocks) => Text::join(
                blocks.iter().filter_map(|b| match b {
                    ContentBlock::Text { text, .. } => Some(text),
                    _ => None,
                }),
                sep,
            ),
        }
    }
}

/// Deserialized by `fast_de` in one pass when `type` is the first key (see there).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        citations: Option<Value>,
    },
    Image {
        source: ImageSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Document {
        source: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// A call of a server tool that the provider ran itself (`web_search`, whose
    /// `input` is `{"query": …}`, `web_fetch`, `code_execution`, …).
    ServerToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// A hosted web search's results: `web_search_result`s (`url`, `title`,
    /// `encrypted_content`, `page_age`), or `{type: "web_search_tool_result_error",
    /// error_code}`.
    WebSearchToolResult {
        tool_use_id: String,
        content: Value,
    },
    /// Any block type this gateway does not translate (other server tools' results, …).
    #[serde(skip_serializing)]
    Other,
}

impl ContentBlock {
    pub fn text(text: impl Into<Text>) -> Self {
        ContentBlock::Text { text: text.into(), cache_control: None, citations: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSource {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// Absent or `custom` for client tools; a versioned name (`web_search_20250305`, …)
    /// for Anthropic-hosted tools.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<super::RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Value>,
    /// Hosted web search (`web_search_*`): how many searches a turn may make, where
    /// it may or may not look, and where the user is (`{type: "approximate", city,
    /// region, country, timezone}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_location: Option<Value>,
}

impl Tool {
    /// A client-defined function tool (as opposed to a hosted server tool).
    pub fn is_custom(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("custom"))
    }

    /// Anthropic's hosted web search (`web_search_20250305`, and the versions after it).
    pub fn is_web_search(&self) -> bool {
        self.kind.as_deref().is_some_and(|k| k.starts_with("web_search_"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_parallel_tool_use: Option<bool>,
    },
    None,
}

impl ToolChoice {
    pub fn disables_parallel(&self) -> bool {
        match self {
            ToolChoice::Auto { disable_parallel_tool_use }
            | ToolChoice::Any { disable_parallel_tool_use }
            | ToolChoice::Tool { disable_parallel_tool_use, .. } => disable_parallel_tool_use.unwrap_or(false),
            ToolChoice::None => false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Thinking {
    /// `enabled`, `adaptive` or `disabled`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
}

impl Thinking {
    pub const DISABLED: &'static str = "disabled";

    /// Thinking turned off, as the client said (rather than not said).
    pub fn disabled() -> Thinking {
        Thinking { kind: Self::DISABLED.into(), budget_tokens: None }
    }

    pub fn is_on(&self) -> bool {
        self.kind == "enabled" || self.kind == "adaptive"
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OutputConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
}

#[path = "anthropic_de.rs"]
mod fast_de;

// ---------------------------------------------------------------- responses

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessagesResponse {
    pub id: String,
    #[serde(rename = "type", default = "message_type")]
    pub kind: String,
    #[serde(default = "assistant_role")]
    pub role: Role,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    #[serde(default)]
    pub usage: Usage,
}

fn message_type() -> String {
    "message".to_string()
}

fn assistant_role() -> Role {
    Role::Assistant
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Of `output_tokens`, those spent reasoning, when an upstream of another dialect
    /// counted them (Chat's `reasoning_tokens`, Gemini's `thoughtsTokenCount`). Not an
    /// Anthropic field: carried between other dialects only.
    #[serde(skip)]
    pub reasoning_tokens: Option<u64>,
    /// Hosted tools the upstream ran (web searches), also when it was not Anthropic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUsage>,
}

/// Anthropic's count of the hosted tools a message ran (`web_fetch_requests` is not
/// modelled: no other dialect has a fetch).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerToolUsage {
    #[serde(default)]
    pub web_search_requests: u64,
}

impl Usage {
    /// Applies a `message_delta` usage: output is cumulative; input and cache counts
    /// replace the earlier ones when present.
    pub fn apply_delta(&mut self, d: &DeltaUsage) {
        self.output_tokens = d.output_tokens;
        if let Some(n) = d.input_tokens {
            self.input_tokens = n;
        }
        if d.cache_read_input_tokens.is_some() {
            self.cache_read_input_tokens = d.cache_read_input_tokens;
        }
        if d.cache_creation_input_tokens.is_some() {
            self.cache_creation_input_tokens = d.cache_creation_input_tokens;
        }
        if d.reasoning_tokens.is_some() {
            self.reasoning_tokens = d.reasoning_tokens;
        }
        if d.server_tool_use.is_some() {
            self.server_tool_use = d.server_tool_use;
        }
    }
}

impl From<&Usage> for DeltaUsage {
    /// The final counts of a message, as a `message_delta` carries them.
    fn from(u: &Usage) -> Self {
        DeltaUsage {
            input_tokens: Some(u.input_tokens),
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            reasoning_tokens: u.reasoning_tokens,
            server_tool_use: u.server_tool_use,
        }
    }
}

// ---------------------------------------------------------------- stream events

/// Deserialized by `fast_de` in one pass when `type` is the first key, as the API
/// writes every event (see there): a stream passing through is read event by event.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessagesResponse,
    },
    ContentBlockStart {
        index: usize,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: DeltaUsage,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
    #[serde(other)]
    Other,
}

impl StreamEvent {
    /// The SSE `event:` name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
            StreamEvent::Other => "other",
        }
    }
}

/// Deserialized by `fast_de`, as [`StreamEvent`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    CitationsDelta {
        citation: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MessageDeltaBody {
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// `message_delta.usage`: output is cumulative; input and cache counts may also appear.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeltaUsage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// As `Usage::reasoning_tokens`.
    #[serde(skip)]
    pub reasoning_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_tool_use: Option<ServerToolUsage>,
}

// ---------------------------------------------------------------- errors

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    /// An OpenAI error `code` an upstream of another dialect gave (`ApiError::code`),
    /// carried through a translated stream for OpenAI-shaped clients; not an Anthropic
    /// field.
    #[serde(skip)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorResponse {
    #[serde(rename = "type")]
    pub kind: String,
    pub error: ErrorBody,
}
