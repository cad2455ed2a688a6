//! OpenAI Chat chunks → canonical (Anthropic) stream events.
//!
//! Chat streams have no block structure: text, reasoning and tool-call fragments simply
//! follow each other. The decoder opens and closes Anthropic content blocks around
//! them, numbering blocks in output order and mapping each Chat `tool_calls[].index` to
//! its block. Argument fragments are forwarded as they arrive. The stop reason is held
//! until usage (or `[DONE]`) arrives, so the final `message_delta` carries real counts.

use crate::protocol::anthropic::{BlockDelta, ContentBlock, MessagesResponse, Role, StreamEvent, Usage};
use crate::protocol::openai_chat::{ChatUsage, ChunkChoice, ErrorObject, ToolCallDelta};
use crate::sse::SseFrame;
use crate::translate::{anthropic_usage_from_chat, sanitize_tool_id, stop_reason_from_finish, ApiError, ErrorKind};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

use super::{BlockKind, Blocks};

/// A chunk as read: `ChatChunk`'s fields, with the strings only the first chunk needs
/// (or none does) borrowed from the frame instead of copied for every chunk.
#[derive(Deserialize)]
struct ChunkIn<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
    #[serde(default, borrow, rename = "object")]
    _object: Cow<'a, str>,
    #[serde(default, rename = "created")]
    _created: u64,
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Debug, Default)]
pub struct ChatDecoder {
    started: bool,
    done: bool,
    blocks: Blocks,
    /// Chat tool-call index → Anthropic block index.
    tool_blocks: Vec<(u32, usize)>,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
    generated_ids: u32,
}

impl ChatDecoder {
    pub fn decode(&mut self, frame: &SseFrame, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        let data = frame.data.trim();
        if data == "[DONE]" {
            self.complete(out);
            return;
        }
        let chunk: ChunkIn<'_> = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => {
                self.fail(ApiError::new(ErrorKind::Api, format!("upstream sent a malformed chunk: {e}")), out);
                return;
            }
        };
        if let Some(err) = chunk.error {
            let kind = err
                .code
                .as_ref()
                .and_then(Value::as_str)
                .or(err.kind.as_deref())
                .map(ErrorKind::from_openai_code)
                .unwrap_or(ErrorKind::Api);
            self.fail(ApiError::new(kind, err.message), out);
            return;
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::MessageStart {
                message: MessagesResponse {
                    id: chunk.id.into_owned(),
                    kind: "message".to_string(),
                    role: Role::Assistant,
                    model: chunk.model.into_owned(),
                    content: Vec::new(),
                    stop_reason: None,
                    stop_sequence: None,
                    // Chat streams report input tokens only at the end.
                    usage: Usage {
                        input_tokens: 0,
                        output_tokens: 0,
                        cache_creation_input_tokens: None,
                        cache_read_input_tokens: None,
                    },
                },
            });
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            let delta = choice.delta;
            if let Some(r) = delta.reasoning_content.or(delta.reasoning).filter(|r| !r.is_empty()) {
                let index = self.blocks.ensure(BlockKind::Thinking, out);
                out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::ThinkingDelta { thinking: r } });
            }
            for text in [delta.content, delta.refusal].into_iter().flatten().filter(|t| !t.is_empty()) {
                let index = self.blocks.ensure(BlockKind::Text, out);
                out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::TextDelta { text } });
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.tool_fragment(call, out);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.blocks.close(out);
                self.finish_reason = Some(reason);
            }
        }
        if self.finish_reason.is_some() && self.usage.is_some() {
            self.complete(out);
        }
    }

    /// End of body. A stream that got its finish reason but no `[DONE]` is complete;
    /// one without a finish reason broke off.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        if self.finish_reason.is_some() {
            self.complete(out);
        } else {
            self.fail(ApiError::new(ErrorKind::Api, "upstream stream ended before its finish_reason"), out);
        }
    }

    fn tool_fragment(&mut self, call: ToolCallDelta, out: &mut Vec<StreamEvent>) {
        let function = call.function.unwrap_or_default();
        let known = self.tool_blocks.iter().find(|(t, _)| *t == call.index).map(|(_, b)| *b);
        let index = match known {
            Some(b) => b,
            None => {
                let id = match call.id.filter(|id| !id.is_empty()) {
                    Some(id) => sanitize_tool_id(id),
                    None => {
                        self.generated_ids += 1;
                        format!("toolu_relay_{}", self.generated_ids)
                    }
                };
                let block = ContentBlock::ToolUse {
                    id,
                    name: function.name.clone().unwrap_or_default(),
                    input: Value::Object(Default::default()),
                    cache_control: None,
                };
                let index = self.blocks.start(BlockKind::Tool, block, out);
                self.tool_blocks.push((call.index, index));
                index
            }
        };
        if let Some(args) = function.arguments.filter(|a| !a.is_empty()) {
            out.push(StreamEvent::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json: args },
            });
        }
    }

    /// The stream is complete: closes the open block, then the stop reason and usage.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.fail(ApiError::new(ErrorKind::Api, "upstream stream ended without any chunk"), out);
            return;
        }
        self.blocks.close(out);
        let usage = self.usage.as_ref().map(anthropic_usage_from_chat).unwrap_or_default();
        let reason =
            stop_reason_from_finish(self.finish_reason.as_deref().unwrap_or("stop"), !self.tool_blocks.is_empty());
        out.extend(super::message_end(reason, &usage));
        self.done = true;
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.done = true;
        out.push(err.to_stream_event());
    }
}
