//! Responses streaming events.

use super::*;

/// One Responses stream event (`event: <type>` + `data: <this>`). Each carries a
/// `sequence_number` that only increases. Unknown event types read as `Other`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum ResponsesStreamEvent {
    #[serde(rename = "response.created")]
    Created {
        #[serde(default)]
        sequence_number: u64,
        response: Box<ResponseObject>,
    },
    #[serde(rename = "response.in_progress")]
    InProgress {
        #[serde(default)]
        sequence_number: u64,
        response: Box<ResponseObject>,
    },
    #[serde(rename = "response.completed")]
    Completed {
        #[serde(default)]
        sequence_number: u64,
        response: Box<ResponseObject>,
    },
    #[serde(rename = "response.incomplete")]
    Incomplete {
        #[serde(default)]
        sequence_number: u64,
        response: Box<ResponseObject>,
    },
    #[serde(rename = "response.failed")]
    Failed {
        #[serde(default)]
        sequence_number: u64,
        response: Box<ResponseObject>,
    },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default)]
        output_index: usize,
        item: Item,
    },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default)]
        output_index: usize,
        item: Item,
    },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        part: ContentPart,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        part: ContentPart,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
        #[serde(default, deserialize_with = "nullable")]
        logprobs: Vec<Value>,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        text: String,
        #[serde(default, deserialize_with = "nullable")]
        logprobs: Vec<Value>,
    },
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        #[serde(default)]
        sequence_number: u64,
        /// The item's `fc_…` id, not its `call_id`.
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        arguments: String,
    },
    #[serde(rename = "response.custom_tool_call_input.delta")]
    CustomToolCallInputDelta {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
    },
    #[serde(rename = "response.custom_tool_call_input.done")]
    CustomToolCallInputDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        input: String,
    },
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        summary_index: usize,
        part: SummaryPart,
    },
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        summary_index: usize,
        part: SummaryPart,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        summary_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
    },
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        summary_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        text: String,
    },
    /// Raw reasoning text (servers that expose it, e.g. open-weight models).
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default, deserialize_with = "nullable")]
        item_id: String,
        #[serde(default)]
        output_index: usize,
        #[serde(default)]
        content_index: usize,
        #[serde(default, deserialize_with = "nullable")]
        delta: String,
    },
    /// A hosted web search's progress (the item itself comes with `output_item.*`).
    #[serde(rename = "response.web_search_call.in_progress")]
    WebSearchCallInProgress(ItemProgress),
    #[serde(rename = "response.web_search_call.searching")]
    WebSearchCallSearching(ItemProgress),
    #[serde(rename = "response.web_search_call.completed")]
    WebSearchCallCompleted(ItemProgress),
    #[serde(rename = "error")]
    Error {
        #[serde(default)]
        sequence_number: u64,
        #[serde(default)]
        code: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        message: String,
        #[serde(default)]
        param: Option<String>,
        /// Some servers nest the error object instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<NestedError>,
    },
    #[serde(other)]
    Other,
}

impl ResponsesStreamEvent {
    /// The SSE `event:` name (the same as the `type` field).
    pub fn name(&self) -> &'static str {
        match self {
            ResponsesStreamEvent::Created { .. } => "response.created",
            ResponsesStreamEvent::InProgress { .. } => "response.in_progress",
            ResponsesStreamEvent::Completed { .. } => "response.completed",
            ResponsesStreamEvent::Incomplete { .. } => "response.incomplete",
            ResponsesStreamEvent::Failed { .. } => "response.failed",
            ResponsesStreamEvent::OutputItemAdded { .. } => "response.output_item.added",
            ResponsesStreamEvent::OutputItemDone { .. } => "response.output_item.done",
            ResponsesStreamEvent::ContentPartAdded { .. } => "response.content_part.added",
            ResponsesStreamEvent::ContentPartDone { .. } => "response.content_part.done",
            ResponsesStreamEvent::OutputTextDelta { .. } => "response.output_text.delta",
            ResponsesStreamEvent::OutputTextDone { .. } => "response.output_text.done",
            ResponsesStreamEvent::RefusalDelta { .. } => "response.refusal.delta",
            ResponsesStreamEvent::FunctionCallArgumentsDelta { .. } => "response.function_call_arguments.delta",
            ResponsesStreamEvent::FunctionCallArgumentsDone { .. } => "response.function_call_arguments.done",
            ResponsesStreamEvent::CustomToolCallInputDelta { .. } => "response.custom_tool_call_input.delta",
            ResponsesStreamEvent::CustomToolCallInputDone { .. } => "response.custom_tool_call_input.done",
            ResponsesStreamEvent::ReasoningSummaryPartAdded { .. } => "response.reasoning_summary_part.added",
            ResponsesStreamEvent::ReasoningSummaryPartDone { .. } => "response.reasoning_summary_part.done",
            ResponsesStreamEvent::ReasoningSummaryTextDelta { .. } => "response.reasoning_summary_text.delta",
            ResponsesStreamEvent::ReasoningSummaryTextDone { .. } => "response.reasoning_summary_text.done",
            ResponsesStreamEvent::ReasoningTextDelta { .. } => "response.reasoning_text.delta",
            ResponsesStreamEvent::WebSearchCallInProgress(_) => "response.web_search_call.in_progress",
            ResponsesStreamEvent::WebSearchCallSearching(_) => "response.web_search_call.searching",
            ResponsesStreamEvent::WebSearchCallCompleted(_) => "response.web_search_call.completed",
            ResponsesStreamEvent::Error { .. } => "error",
            ResponsesStreamEvent::Other => "other",
        }
    }
}

/// Where a hosted tool's item stands: the fields its progress events carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ItemProgress {
    #[serde(default)]
    pub sequence_number: u64,
    #[serde(default)]
    pub output_index: usize,
    #[serde(default, deserialize_with = "nullable")]
    pub item_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NestedError {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
}
