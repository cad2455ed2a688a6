//! Responses SSE events → canonical (Anthropic) stream events.
//!
//! Each output item becomes one canonical block: `message` → text (its `output_text` and
//! `refusal` parts together), `function_call` → `tool_use`, `reasoning` → thinking (the
//! summary text; no signature); a `web_search_call` becomes two, the search and its
//! results, once the item is done (`web_search`). Canonical blocks never overlap, while
//! Responses items may (parallel function calls whose argument deltas alternate), so the
//! earliest item not yet done is the open block and deltas of later items wait until it
//! is done.
//! Text and thinking blocks open at their first non-empty delta: an empty item leaves no
//! empty block. Deltas find their item by `item_id` (the `fc_…` id, not the `call_id`),
//! or by `output_index` when a server leaves `item_id` out. A server that sends items
//! whole (no deltas) still has their content forwarded, from `output_item.done` or the
//! final response.

use super::response::{failed_error, reasoning_text};
use super::{stop_reason_of, usage_to_canonical};
use crate::protocol::anthropic::{
    BlockDelta, ContentBlock, DeltaUsage, MessageDeltaBody, MessagesResponse, Role, StreamEvent, Usage,
};
use crate::protocol::openai_responses::{ContentPart, Item, ItemContent, ResponseObject, ResponsesStreamEvent};
use crate::sse::SseFrame;
use crate::translate::web_search::WebSearch;
use crate::translate::{sanitize_tool_id, ApiError, ErrorKind};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Tool,
    Thinking,
    /// A hosted web search: two blocks once its item is done (`web_search`).
    Search,
}

/// One output item on its way to becoming a canonical block.
#[derive(Debug)]
struct Slot {
    item_id: String,
    output_index: usize,
    kind: Kind,
    /// Tools: the canonical tool id (the sanitized `call_id`) and the name.
    tool: Option<(String, String)>,
    /// The canonical block index, once the block is open.
    block: Option<usize>,
    /// Deltas that came while an earlier item was still open.
    pending: Vec<BlockDelta>,
    /// Content came as deltas (otherwise the finished item supplies it).
    streamed: bool,
    /// Reasoning summary parts begun so far.
    summary_parts: usize,
    /// A web search's query and results, once its item is done.
    search: Option<WebSearch>,
    done: bool,
}

/// Responses SSE events → canonical events.
#[derive(Debug, Default)]
pub struct ResponsesDecoder {
    started: bool,
    done: bool,
    slots: Vec<Slot>,
    /// Slots before this one are closed; this one is the open block (if any).
    current: usize,
    next_block: usize,
    refused: bool,
    /// Web searches reported, for the usage (`server_tool_use`).
    searches: u64,
}

impl ResponsesDecoder {
    pub fn decode(&mut self, frame: &SseFrame, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        let data = frame.data.trim();
        // Some compatible servers end with a Chat-style sentinel; the terminal event counts.
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        let event: ResponsesStreamEvent = match serde_json::from_str(data) {
            Ok(e) => e,
            Err(e) => {
                self.fail(ApiError::new(ErrorKind::Api, format!("upstream sent a malformed event: {e}")), out);
                return;
            }
        };
        match event {
            ResponsesStreamEvent::Created { response, .. } | ResponsesStreamEvent::InProgress { response, .. } => {
                self.start(Some(&response), out)
            }
            ResponsesStreamEvent::OutputItemAdded { output_index, item, .. } => self.add(output_index, &item, out),
            ResponsesStreamEvent::OutputItemDone { output_index, item, .. } => self.item_done(output_index, &item, out),
            ResponsesStreamEvent::ContentPartAdded { part: ContentPart::Refusal { .. }, .. } => self.refused = true,
            ResponsesStreamEvent::OutputTextDelta { item_id, output_index, delta, .. } => {
                self.delta(&item_id, output_index, BlockDelta::TextDelta { text: delta }, out)
            }
            ResponsesStreamEvent::RefusalDelta { item_id, output_index, delta, .. } => {
                self.refused = true;
                self.delta(&item_id, output_index, BlockDelta::TextDelta { text: delta }, out)
            }
            ResponsesStreamEvent::FunctionCallArgumentsDelta { item_id, output_index, delta, .. } => {
                self.delta(&item_id, output_index, BlockDelta::InputJsonDelta { partial_json: delta }, out)
            }
            ResponsesStreamEvent::ReasoningSummaryPartAdded { item_id, output_index, .. } => {
                self.summary_part(&item_id, output_index, out)
            }
            ResponsesStreamEvent::ReasoningSummaryTextDelta { item_id, output_index, delta, .. }
            | ResponsesStreamEvent::ReasoningTextDelta { item_id, output_index, delta, .. } => {
                self.delta(&item_id, output_index, BlockDelta::ThinkingDelta { thinking: delta }, out)
            }
            ResponsesStreamEvent::Completed { response, .. } => self.complete(&response, None, out),
            ResponsesStreamEvent::Incomplete { response, .. } => self.complete(&response, Some("incomplete"), out),
            ResponsesStreamEvent::Failed { response, .. } => self.fail(failed_error(response.error.as_ref()), out),
            ResponsesStreamEvent::Error { code, message, error, .. } => {
                let (code, kind, message) = match error {
                    Some(e) => (e.code.or(code), e.kind, if e.message.is_empty() { message } else { e.message }),
                    None => (code, None, message),
                };
                let message = if message.is_empty() { "upstream stream failed".to_string() } else { message };
                self.fail(ApiError::from_openai_error(code, kind.as_deref(), message), out);
            }
            // Text/argument/summary `done` events repeat what the deltas said; queued,
            // annotations, hosted-tool progress and unknown events carry nothing to forward.
            _ => {}
        }
    }

    /// End of body: a stream without its terminal event broke off.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.done {
            self.fail(ApiError::new(ErrorKind::Api, "upstream stream ended before response.completed"), out);
        }
    }

    fn start(&mut self, response: Option<&ResponseObject>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::MessageStart {
            message: MessagesResponse {
                id: response.map(|r| r.id.clone()).unwrap_or_default(),
                kind: "message".to_string(),
                role: Role::Assistant,
                model: response.map(|r| r.model.clone()).unwrap_or_default(),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                // Responses streams report usage only with the final response.
                usage: Usage::default(),
            },
        });
    }

    fn find(&self, item_id: &str, output_index: usize) -> Option<usize> {
        let by_id = (!item_id.is_empty()).then(|| self.slots.iter().position(|s| s.item_id == item_id)).flatten();
        by_id.or_else(|| self.slots.iter().position(|s| s.output_index == output_index))
    }

    fn add(&mut self, output_index: usize, item: &Item, out: &mut Vec<StreamEvent>) {
        self.start(None, out);
        let item_id = item.id().unwrap_or_default();
        if self.find(item_id, output_index).is_some() {
            return;
        }
        let (kind, tool) = match item {
            Item::Message { .. } => (Kind::Text, None),
            Item::Reasoning { .. } => (Kind::Thinking, None),
            Item::FunctionCall { id, call_id, name, .. } | Item::CustomToolCall { id, call_id, name, .. } => {
                let call_id = match (call_id.is_empty(), id) {
                    (false, _) => call_id.clone(),
                    (true, Some(id)) if !id.is_empty() => id.clone(),
                    _ => crate::translate::generated_tool_id(),
                };
                (Kind::Tool, Some((sanitize_tool_id(call_id), name.clone())))
            }
            Item::WebSearchCall { .. } => (Kind::Search, None),
            // Other hosted-tool items have no canonical block.
            _ => return,
        };
        self.slots.push(Slot {
            item_id: item_id.to_string(),
            output_index,
            kind,
            tool,
            block: None,
            pending: Vec::new(),
            streamed: false,
            summary_parts: 0,
            search: None,
            done: false,
        });
        self.advance(out);
    }

    fn delta(&mut self, item_id: &str, output_index: usize, delta: BlockDelta, out: &mut Vec<StreamEvent>) {
        if let Some(i) = self.find(item_id, output_index) {
            self.slots[i].streamed = true;
            self.push_delta(i, delta, out);
        }
    }

    /// A new summary part of a reasoning item: parts are kept apart by a blank line.
    fn summary_part(&mut self, item_id: &str, output_index: usize, out: &mut Vec<StreamEvent>) {
        let Some(i) = self.find(item_id, output_index) else { return };
        self.slots[i].summary_parts += 1;
        if self.slots[i].summary_parts > 1 {
            self.push_delta(i, BlockDelta::ThinkingDelta { thinking: "\n\n".to_string() }, out);
        }
    }

    fn push_delta(&mut self, i: usize, delta: BlockDelta, out: &mut Vec<StreamEvent>) {
        let empty = match &delta {
            BlockDelta::TextDelta { text } => text.is_empty(),
            BlockDelta::InputJsonDelta { partial_json } => partial_json.is_empty(),
            BlockDelta::ThinkingDelta { thinking } => thinking.is_empty(),
            _ => true,
        };
        if empty {
            return;
        }
        if i == self.current {
            let index = self.open(i, out);
            out.push(StreamEvent::ContentBlockDelta { index, delta });
        } else if i > self.current {
            self.slots[i].pending.push(delta);
        }
        // Deltas for an item already closed are late repeats: dropped.
    }

    fn item_done(&mut self, output_index: usize, item: &Item, out: &mut Vec<StreamEvent>) {
        let item_id = item.id().unwrap_or_default();
        let i = match self.find(item_id, output_index) {
            Some(i) => i,
            None => {
                self.add(output_index, item, out);
                match self.find(item_id, output_index) {
                    Some(i) => i,
                    None => return,
                }
            }
        };
        if self.slots[i].done {
            return;
        }
        if let Item::Message { content: ItemContent::Parts(parts), .. } = item {
            if parts.iter().any(|p| matches!(p, ContentPart::Refusal { .. })) {
                self.refused = true;
            }
        }
        if self.slots[i].kind == Kind::Search {
            self.slots[i].search = super::web_search::search_of(item);
        }
        if !self.slots[i].streamed {
            if let Some(delta) = whole_content(item) {
                self.slots[i].streamed = true;
                self.push_delta(i, delta, out);
            }
        }
        self.slots[i].done = true;
        if i == self.current {
            self.advance(out);
        }
    }

    /// Closes finished slots in order and opens the next one as far as it can: a tool
    /// block opens at once, any slot with waiting deltas opens and gets them.
    fn advance(&mut self, out: &mut Vec<StreamEvent>) {
        while self.current < self.slots.len() {
            let i = self.current;
            if self.slots[i].kind == Kind::Search {
                if !self.slots[i].done {
                    break;
                }
                if let Some(search) = self.slots[i].search.take() {
                    search.events(self.next_block, out);
                    self.next_block += 2;
                    self.searches += 1;
                }
                self.current += 1;
                continue;
            }
            if self.slots[i].kind == Kind::Tool || !self.slots[i].pending.is_empty() {
                let index = self.open(i, out);
                for delta in std::mem::take(&mut self.slots[i].pending) {
                    out.push(StreamEvent::ContentBlockDelta { index, delta });
                }
            }
            if !self.slots[i].done {
                break;
            }
            if let Some(index) = self.slots[i].block {
                out.push(StreamEvent::ContentBlockStop { index });
            }
            self.current += 1;
        }
    }

    /// Opens slot `i`'s block if it is not open yet; returns its index.
    fn open(&mut self, i: usize, out: &mut Vec<StreamEvent>) -> usize {
        if let Some(index) = self.slots[i].block {
            return index;
        }
        let index = self.next_block;
        self.next_block += 1;
        let slot = &mut self.slots[i];
        let content_block = match (slot.kind, &slot.tool) {
            (Kind::Tool, Some((id, name))) => ContentBlock::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: Value::Object(Default::default()),
                cache_control: None,
            },
            (Kind::Thinking, _) => ContentBlock::Thinking { thinking: String::new(), signature: String::new() },
            _ => ContentBlock::text(""),
        };
        slot.block = Some(index);
        out.push(StreamEvent::ContentBlockStart { index, content_block });
        index
    }

    /// `response.completed` / `response.incomplete`: close every block, then the stop
    /// reason and usage. `status` overrides the object's own status.
    fn complete(&mut self, response: &ResponseObject, status: Option<&str>, out: &mut Vec<StreamEvent>) {
        self.start(Some(response), out);
        // Items the stream never finished (or never announced) are taken from the final object.
        for (n, item) in response.output.iter().enumerate() {
            self.item_done(n, item, out);
        }
        for slot in &mut self.slots[self.current..] {
            slot.done = true;
        }
        self.advance(out);

        let has_calls = self.slots.iter().any(|s| s.kind == Kind::Tool);
        let status = status.or(response.status.as_deref());
        let incomplete = response.incomplete_details.as_ref().and_then(|d| d.reason.as_deref());
        let stop_reason = stop_reason_of(status, incomplete, has_calls, self.refused);
        let mut usage = response.usage.as_ref().map_or_else(DeltaUsage::default, |u| (&usage_to_canonical(u)).into());
        usage.server_tool_use = crate::translate::web_search::usage(self.searches);
        out.push(StreamEvent::MessageDelta {
            delta: MessageDeltaBody { stop_reason: Some(stop_reason.to_string()), stop_sequence: None },
            usage,
        });
        out.push(StreamEvent::MessageStop);
        self.done = true;
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.done = true;
        out.push(err.to_stream_event());
    }
}

/// The whole content of a finished item, as one delta.
fn whole_content(item: &Item) -> Option<BlockDelta> {
    match item {
        Item::Message { content, .. } => {
            let text = match content {
                ItemContent::Text(t) => t.to_string(),
                ItemContent::Parts(parts) => parts
                    .iter()
                    .map(|p| match p {
                        ContentPart::OutputText { text, .. } => text.as_str(),
                        ContentPart::Refusal { refusal } => refusal.as_str(),
                        _ => "",
                    })
                    .collect(),
            };
            Some(BlockDelta::TextDelta { text })
        }
        Item::FunctionCall { arguments, .. } => Some(BlockDelta::InputJsonDelta { partial_json: arguments.clone() }),
        // A custom tool's text arrives whole with its item (its input deltas are not
        // followed): `{"input": text}`, as for every other dialect.
        Item::CustomToolCall { input, .. } => {
            Some(BlockDelta::InputJsonDelta { partial_json: super::custom_tool_arguments(input) })
        }
        Item::Reasoning { summary, content, .. } => {
            Some(BlockDelta::ThinkingDelta { thinking: reasoning_text(summary, content.as_deref()) })
        }
        _ => None,
    }
}
