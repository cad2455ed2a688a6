//! OpenAI Chat chunks → canonical (Anthropic) stream events.
//!
//! Chat streams have no block structure: text, reasoning and tool-call fragments simply
//! follow each other. The decoder opens and closes Anthropic content blocks around
//! them, numbering blocks in output order. The stop reason is held until usage (or
//! `[DONE]`) arrives, so the final `message_delta` carries real counts.
//!
//! Tool calls. A fragment belongs to the last call of its `tool_calls[].index`, unless
//! it carries an `id` other than that call's: then it starts a new call (Ollama and
//! others number every parallel call 0, or leave `index` out). Anthropic blocks do not
//! overlap, so only one call streams at a time, and a call's block opens once its name
//! is known. A call that starts while another streams is held until it goes on with a
//! second fragment and the streaming one has had none since: calls that follow each
//! other (OpenAI's order) then stream one after the other, each a fragment late. Once
//! the streaming call gets a fragment after another call started, the fragments
//! interleave: the other calls are held whole and leave, in order, when the streaming
//! call's block closes (at text, reasoning or the finish reason). So do they when
//! another call goes on while the streaming call's arguments are not yet a whole JSON
//! value: that call cannot have ended. A fragment for a call
//! whose block has already closed cannot be placed, and ends the stream with an error.

use crate::protocol::anthropic::{BlockDelta, ContentBlock, MessagesResponse, Role, StreamEvent, Usage};
use crate::protocol::openai_chat::{ChatUsage, ChunkChoice, ErrorObject, ToolCallDelta};
use crate::sse::SseFrame;
use crate::translate::{anthropic_usage_from_chat, stop_reason_from_finish, ApiError, ErrorKind};
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

/// A tool call as its fragments arrived.
#[derive(Debug)]
struct ToolCall {
    /// Its `tool_calls[].index`.
    index: u32,
    /// Its `id` as the upstream sent it (empty when it sent none).
    upstream_id: String,
    id: String,
    name: String,
    /// Arguments not yet sent (all of them until its block starts).
    held: String,
}

#[derive(Debug, Default)]
pub struct ChatDecoder {
    started: bool,
    done: bool,
    blocks: Blocks,
    /// Tool calls in the order they started.
    calls: Vec<ToolCall>,
    /// The first call whose block has not started.
    next_call: usize,
    /// The call whose block is open.
    streaming: Option<usize>,
    /// The streaming call got a fragment after a later call started.
    interleaved: bool,
    /// How far the streaming call's arguments are a whole JSON value.
    streamed_args: JsonExtent,
    finish_reason: Option<String>,
    usage: Option<ChatUsage>,
    /// Tool ids the request's history holds already: a call the upstream gives one of
    /// them gets a new id (`chat_call_id`).
    used_ids: Option<std::sync::Arc<[String]>>,
}

/// Where a JSON text read in pieces stands: whether what came so far is one whole
/// value (an object's closing brace came), without parsing it.
#[derive(Debug, Default)]
struct JsonExtent {
    started: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl JsonExtent {
    fn read(&mut self, text: &str) {
        for b in text.bytes() {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
            self.started |= !b.is_ascii_whitespace();
        }
    }

    fn is_whole(&self) -> bool {
        self.started && self.depth == 0 && !self.in_string
    }
}

impl ChatDecoder {
    /// A decoder for the answer to a request whose history holds `used_ids`.
    pub fn with_used_ids(used_ids: Option<std::sync::Arc<[String]>>) -> Self {
        ChatDecoder { used_ids, ..Default::default() }
    }

    /// The finish reason came, and the stream waits only for its usage or `[DONE]`.
    pub fn holds_finish(&self) -> bool {
        self.finish_reason.is_some() && !self.done
    }

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
            let code = err.code.as_ref().and_then(Value::as_str).map(str::to_string);
            self.fail(ApiError::from_openai_error(code, err.kind.as_deref(), err.message), out);
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
                    usage: Usage::default(),
                },
            });
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            let delta = choice.delta;
            if let Some(r) = delta.reasoning_content.or(delta.reasoning).filter(|r| !r.is_empty()) {
                self.end_tool_calls(out);
                let index = self.blocks.ensure(BlockKind::Thinking, out);
                out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::ThinkingDelta { thinking: r } });
            }
            for text in [delta.content, delta.refusal].into_iter().flatten().filter(|t| !t.is_empty()) {
                self.end_tool_calls(out);
                let index = self.blocks.ensure(BlockKind::Text, out);
                out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::TextDelta { text } });
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.tool_fragment(call, out);
                if self.done {
                    return;
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.end_tool_calls(out);
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
        let upstream_id = call.id.unwrap_or_default();
        let last = self.calls.iter().rposition(|c| c.index == call.index);
        let (at, new_call) = match last {
            Some(at) if upstream_id.is_empty() || self.calls[at].upstream_id == upstream_id => (at, false),
            _ => {
                let used = self.used_ids.as_deref().unwrap_or_default();
                let taken = |id: &str| self.calls.iter().any(|c| c.id == id) || used.iter().any(|u| u == id);
                let id = crate::translate::chat_call_id(&upstream_id, taken);
                self.calls.push(ToolCall {
                    index: call.index,
                    upstream_id,
                    id,
                    name: String::new(),
                    held: String::new(),
                });
                (self.calls.len() - 1, true)
            }
        };
        let args = function.arguments.unwrap_or_default();
        if self.streaming == Some(at) {
            // Only arguments show the streaming call going on (some servers repeat the
            // call's id or name with none).
            if self.next_call < self.calls.len() && !args.trim().is_empty() {
                self.interleaved = true;
            }
            self.send_args(at, args, out);
            return;
        }
        if at < self.next_call {
            if args.trim().is_empty() {
                // Nothing to place: an ended call's id, name or whitespace repeated.
                return;
            }
            let index = call.index;
            let err = format!("upstream sent arguments for tool call {index} after the call had ended");
            self.fail(ApiError::new(ErrorKind::Api, err), out);
            return;
        }
        let held = &mut self.calls[at];
        if held.name.is_empty() {
            held.name = function.name.unwrap_or_default();
        }
        held.held.push_str(&args);
        if self.streaming.is_some() {
            // A held call that goes on while the streaming one is silent, or a call
            // after it, shows the streaming call has ended, once its arguments are a
            // whole value. Before that the fragments interleave.
            if self.interleaved || (new_call && at == self.next_call) {
                return;
            }
            if !self.streamed_args.is_whole() {
                self.interleaved = true;
                return;
            }
            self.close_streaming(out);
        }
        self.start_calls(at, false, out);
    }

    /// Starts the blocks of the held calls up to `last`, each closed but the last,
    /// which streams on. Unless `nameless` is set, stops at a call whose name is not
    /// known yet.
    fn start_calls(&mut self, last: usize, nameless: bool, out: &mut Vec<StreamEvent>) {
        while self.next_call <= last && (nameless || !self.calls[self.next_call].name.is_empty()) {
            let at = self.next_call;
            self.next_call += 1;
            let call = &mut self.calls[at];
            let block = ContentBlock::ToolUse {
                id: call.id.clone(),
                name: call.name.clone(),
                input: Value::Object(Default::default()),
                cache_control: None,
            };
            let args = std::mem::take(&mut call.held);
            self.blocks.start(BlockKind::Tool, block, out);
            self.streaming = Some(at);
            self.streamed_args = JsonExtent::default();
            self.send_args(at, args, out);
            if at < last {
                self.close_streaming(out);
            }
        }
    }

    fn send_args(&mut self, at: usize, args: String, out: &mut Vec<StreamEvent>) {
        if args.is_empty() {
            return;
        }
        if let Some(index) = self.blocks.open_of(BlockKind::Tool).filter(|_| self.streaming == Some(at)) {
            self.streamed_args.read(&args);
            out.push(StreamEvent::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json: args },
            });
        }
    }

    fn close_streaming(&mut self, out: &mut Vec<StreamEvent>) {
        if self.streaming.take().is_some() {
            self.blocks.close(out);
        }
        self.interleaved = false;
    }

    /// Closes the streaming call and sends every held one: text, reasoning or the
    /// finish reason follows.
    fn end_tool_calls(&mut self, out: &mut Vec<StreamEvent>) {
        self.close_streaming(out);
        if let Some(last) = self.calls.len().checked_sub(1) {
            // A call whose name never came still carries its id and arguments.
            self.start_calls(last, true, out);
            self.close_streaming(out);
        }
    }

    /// The stream is complete: closes the open block, then the stop reason and usage.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.fail(ApiError::new(ErrorKind::Api, "upstream stream ended without any chunk"), out);
            return;
        }
        self.end_tool_calls(out);
        self.blocks.close(out);
        let usage = self.usage.as_ref().map(anthropic_usage_from_chat).unwrap_or_default();
        let reason = stop_reason_from_finish(self.finish_reason.as_deref().unwrap_or("stop"), !self.calls.is_empty());
        out.extend(super::message_end(reason, &usage));
        self.done = true;
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.done = true;
        out.push(err.to_stream_event());
    }
}
