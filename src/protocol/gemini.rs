//! Google Gemini `generateContent` / `streamGenerateContent` (Developer API, REST JSON,
//! camelCase; the snake_case spelling of every field is accepted too, as Google's own
//! servers accept it and the google-genai SDK sends it). Requests, responses, stream chunks (each one a whole response fragment)
//! and error bodies. Fields the gateway does not translate are either kept as raw JSON
//! or ignored; unknown fields never fail a parse.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

// ---------------------------------------------------------------- requests

/// The body of `models/{model}:generateContent`; the model is in the URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "system_instruction")]
    pub system_instruction: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "tool_config")]
    pub tool_config: Option<ToolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "generation_config")]
    pub generation_config: Option<GenerationConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "safety_settings")]
    pub safety_settings: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "cached_content")]
    pub cached_content: Option<String>,
}

/// One turn: `user` or `model` (the role is ignored in `systemInstruction`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// A part holds one kind of data (`text`, `inlineData`, `functionCall`, …) plus
/// metadata that may sit on any kind (`thought`, `thoughtSignature`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The text is a thought summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "inline_data")]
    pub inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "file_data")]
    pub file_data: Option<FileData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "function_call")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "function_response")]
    pub function_response: Option<FunctionResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "executable_code")]
    pub executable_code: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "code_execution_result")]
    pub code_execution_result: Option<Value>,
    /// Opaque (base64) signature of the model's reasoning; must be echoed on this part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "thought_signature")]
    pub thought_signature: Option<String>,
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Part { text: Some(text.into()), ..Default::default() }
    }
}

/// Inline bytes: base64 without a `data:` prefix.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(default)]
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    #[serde(default)]
    pub data: String,
}

/// A file by URI (Files API, or `gs://` on Vertex).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "mime_type")]
    pub mime_type: Option<String>,
    #[serde(default)]
    #[serde(alias = "file_uri")]
    pub file_uri: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    /// Usually absent on the Developer API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    /// By convention `{"output": …}` on success and `{"error": …}` on failure.
    #[serde(default)]
    pub response: Value,
    /// Multimodal results (newer models): `{inlineData}` / `{fileData}` parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<Part>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "function_declarations")]
    pub function_declarations: Option<Vec<FunctionDeclaration>>,
    /// Hosted tools (`googleSearch`, `codeExecution`, `urlContext`, …) are not translated.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// OpenAPI-subset schema (upper-case type names); exclusive with the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Plain JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "parameters_json_schema")]
    pub parameters_json_schema: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE` or `VALIDATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "allowed_function_names")]
    pub allowed_function_names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "top_p")]
    pub top_p: Option<f64>,
    /// A number in the SDK's types (it may arrive as `40.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "top_k")]
    pub top_k: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "candidate_count")]
    pub candidate_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "max_output_tokens")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "stop_sequences")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "presence_penalty")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "frequency_penalty")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "response_mime_type")]
    pub response_mime_type: Option<String>,
    /// OpenAPI-subset schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "response_schema")]
    pub response_schema: Option<Value>,
    /// Plain JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "response_json_schema")]
    pub response_json_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "thinking_config")]
    pub thinking_config: Option<ThinkingConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// Tokens; `-1` lets the model decide, `0` turns thinking off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "thinking_budget")]
    pub thinking_budget: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "include_thoughts")]
    pub include_thoughts: Option<bool>,
    /// `MINIMAL`, `LOW`, `MEDIUM`, `HIGH` (Gemini 3); exclusive with the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "thinking_level")]
    pub thinking_level: Option<String>,
}

// ---------------------------------------------------------------- responses

/// A whole response, or one stream chunk. A stream may instead carry `error`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "prompt_feedback")]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "usage_metadata")]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "model_version")]
    pub model_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "response_id")]
    pub response_id: Option<String>,
    /// In-band error (a stream chunk `{"error":{…}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Status>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "finish_reason")]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "finish_message")]
    pub finish_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "safety_ratings")]
    pub safety_ratings: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// What a Google Search (`googleSearch` tool) found for the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "grounding_metadata")]
    pub grounding_metadata: Option<GroundingMetadata>,
}

/// The searches behind an answer: the queries run and the pages found. Which part of the
/// answer each page supports (`groundingSupports`) and the search suggestions widget
/// (`searchEntryPoint`) are kept as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroundingMetadata {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[serde(alias = "web_search_queries")]
    pub web_search_queries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[serde(alias = "grounding_chunks")]
    pub grounding_chunks: Vec<GroundingChunk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "grounding_supports")]
    pub grounding_supports: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "search_entry_point")]
    pub search_entry_point: Option<Value>,
}

/// One source: a web page (`web`), or another kind of source, kept as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GroundingChunk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebSource>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WebSource {
    #[serde(default)]
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "block_reason")]
    pub block_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "safety_ratings")]
    pub safety_ratings: Option<Value>,
}

/// Token counts. `promptTokenCount` includes `cachedContentTokenCount`;
/// `candidatesTokenCount` excludes `thoughtsTokenCount`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "prompt_token_count")]
    pub prompt_token_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "candidates_token_count")]
    pub candidates_token_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "cached_content_token_count")]
    pub cached_content_token_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "tool_use_prompt_token_count")]
    pub tool_use_prompt_token_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "thoughts_token_count")]
    pub thoughts_token_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(alias = "total_token_count")]
    pub total_token_count: Option<u64>,
}

// ---------------------------------------------------------------- errors

/// `{"error": Status}` is the error body, and a stream's in-band error.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Status {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub message: String,
    /// The gRPC status name (`RESOURCE_EXHAUSTED`, …).
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}
