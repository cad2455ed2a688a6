//! Canonical (Anthropic) stream events → the Responses event stream.
//!
//! `message_start` opens the response (`response.created`, `response.in_progress`).
//! Text goes into a `message` item that opens at the first non-empty text and stays
//! open across consecutive text blocks, so the answer reads as one message, as in the
//! complete answer; it closes when another item opens or the message ends, which is
//! when its final status (`completed` or `incomplete`) is known. `tool_use` blocks are
//! `function_call` items, or `custom_tool_call` items for the request's custom tools
//! (their text is known once the call's JSON is whole: it goes in one delta at the
//! block's end), thinking blocks `reasoning` items with one summary part
//! (signatures are never exposed), and a hosted web search (Anthropic's `server_tool_use`
//! named `web_search`, then its `web_search_tool_result`) a `web_search_call` item,
//! finished when its results come. The terminal event carries the full response object,
//! built from the items as they were streamed. Every event has the next
//! `sequence_number`, from 0.
//!
//! An error before `message_start` writes `error` and `response.failed` without a
//! `response.created`: the encoder cannot know whether the client has already seen one
//! (a same-dialect stream whose upstream failed), so it does not invent one.

use super::response::{
    custom_tool_call_item, envelope, function_call_item, message_item, output_text, reasoning_item, response_error,
};
use super::{item_id, status_of, tool_search, usage_from_canonical, ResponsesRequestInfo};
use crate::protocol::anthropic::{BlockDelta, ContentBlock, ErrorBody, MessagesResponse, StreamEvent, Usage};
use crate::protocol::openai_responses::{
    IncompleteDetails, Item, ItemContent, ResponseObject, ResponsesStreamEvent as Ev, SummaryPart,
};
use crate::sse::write_event;
use crate::translate::error::to_json;
use crate::translate::{unix_now, ErrorKind};
use bytes::BytesMut;

mod close;
mod search;

/// What a canonical block is on the Responses side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Its text goes to the open message item.
    Text,
    /// A `function_call` item at this output index.
    Tool(usize),
    /// A `reasoning` item at this output index, once there was text to show.
    Thinking(Option<usize>),
    /// A hosted web search's call: the `web_search_call` item at this output index.
    Search(usize),
    /// Nothing to show (redacted thinking, server-tool blocks).
    Silent,
}

/// An output item, while it is written and after.
#[derive(Debug)]
enum Slot {
    Message {
        id: String,
        text: String,
    },
    Tool {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
    /// A custom tool's call: the JSON of its input as it streams.
    Custom {
        id: String,
        call_id: String,
        name: String,
        json: String,
    },
    Reasoning {
        id: String,
        text: String,
        /// What the thinking block carries besides its text, kept to be sealed
        /// (`ResponsesRequestInfo::encrypted_reasoning`): its signature, or a redacted
        /// block's data.
        signature: String,
        redacted: String,
    },
    /// The client's tool search (`tool_search`): the JSON of its input as it streams.
    ToolSearch {
        id: String,
        call_id: String,
        json: String,
    },
    /// A hosted web search (`web_search`): the call's id, its input as it streams, and
    /// its results once they came.
    Search {
        id: String,
        tool_use_id: String,
        json: String,
        results: Option<serde_json::Value>,
    },
    Closed(Item),
}

/// Canonical events → Responses SSE events (`response.created` … `response.completed`).
#[derive(Debug)]
pub struct ResponsesEncoder {
    response_id: String,
    info: ResponsesRequestInfo,
    created_at: u64,
    model: String,
    seq: u64,
    started: bool,
    finished: bool,
    /// Output items by output index.
    items: Vec<Slot>,
    /// The open message item's output index.
    message: Option<usize>,
    /// Open canonical blocks: index → what they are here.
    blocks: Vec<(usize, Block)>,
    usage: Usage,
    stop_reason: Option<String>,
}

impl ResponsesEncoder {
    pub fn new(response_id: String, info: ResponsesRequestInfo) -> Self {
        ResponsesEncoder {
            response_id,
            info,
            created_at: unix_now(),
            model: String::new(),
            seq: 0,
            started: false,
            finished: false,
            items: Vec::new(),
            message: None,
            blocks: Vec::new(),
            usage: Usage::default(),
            stop_reason: None,
        }
    }

    /// An encoder that continues a stream someone else began (an upstream Responses
    /// stream passed through): its events carry on from `next_sequence_number`, for
    /// the response `response_id` of `model`. Used to add the gateway's own error events.
    pub fn resume(response_id: String, model: String, next_sequence_number: u64) -> Self {
        let mut e = Self::new(response_id, ResponsesRequestInfo::default());
        e.model = model;
        e.seq = next_sequence_number;
        e.started = true;
        e
    }

    pub fn encode(&mut self, ev: &StreamEvent, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        match ev {
            StreamEvent::MessageStart { message } => self.start(Some(message), out),
            StreamEvent::ContentBlockStart { index, content_block } => {
                self.start(None, out);
                self.block_start(*index, content_block, out);
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let block = self.blocks.iter().find(|(i, _)| i == index).map(|(_, b)| *b);
                match (block, delta) {
                    (Some(Block::Text), BlockDelta::TextDelta { text }) => self.text(text, out),
                    (Some(Block::Tool(at)), BlockDelta::InputJsonDelta { partial_json }) => {
                        self.arguments(at, partial_json, out)
                    }
                    (Some(Block::Search(at)), BlockDelta::InputJsonDelta { partial_json }) => {
                        if let Some(Slot::Search { json, .. }) = self.items.get_mut(at) {
                            json.push_str(partial_json);
                        }
                    }
                    (Some(Block::Thinking(_)), BlockDelta::ThinkingDelta { thinking }) => {
                        self.thinking(*index, thinking, out)
                    }
                    (Some(Block::Thinking(_)), BlockDelta::SignatureDelta { signature }) => {
                        self.signature(*index, signature, out)
                    }
                    // Citations have no Responses delta.
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                let Some(pos) = self.blocks.iter().position(|(i, _)| i == index) else { return };
                match self.blocks.remove(pos).1 {
                    // The message stays open: more text may follow. A search waits for
                    // its results.
                    Block::Text | Block::Silent | Block::Thinking(None) | Block::Search(_) => {}
                    Block::Tool(at) | Block::Thinking(Some(at)) => self.close_item(at, "completed", out),
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.usage.apply_delta(usage);
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason.clone();
                }
                self.close_all(out);
            }
            StreamEvent::MessageStop => {
                self.start(None, out);
                self.close_all(out);
                self.terminal(out);
            }
            StreamEvent::Error { error } => self.fail(error, out),
            StreamEvent::Ping | StreamEvent::Other => {}
        }
    }

    /// Called after the terminal event; everything was written by then.
    pub fn finish(&mut self, _out: &mut BytesMut) {}

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    fn start(&mut self, message: Option<&MessagesResponse>, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(m) = message {
            self.model = m.model.clone();
            self.usage = m.usage;
        }
        let response = Box::new(self.response("in_progress"));
        let seq = self.next_seq();
        write(out, &Ev::Created { sequence_number: seq, response: response.clone() });
        let seq = self.next_seq();
        write(out, &Ev::InProgress { sequence_number: seq, response });
    }

    fn block_start(&mut self, index: usize, block: &ContentBlock, out: &mut BytesMut) {
        match block {
            ContentBlock::Text { text, .. } => {
                self.blocks.push((index, Block::Text));
                self.text(text, out);
            }
            ContentBlock::ToolUse { id, name, input, .. } if self.info.is_custom_tool(name) => {
                self.close_message(out);
                let at = self.items.len();
                let ctc_id = item_id("ctc", &self.response_id, at);
                let item =
                    custom_tool_call_item(&self.info, ctc_id.clone(), id.clone(), name, String::new(), "in_progress");
                let json = crate::translate::initial_arguments(input);
                self.items.push(Slot::Custom { id: ctc_id, call_id: id.clone(), name: name.clone(), json });
                self.blocks.push((index, Block::Tool(at)));
                let seq = self.next_seq();
                write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
            }
            ContentBlock::ToolUse { id, name, input, .. } if self.info.is_tool_search(name) => {
                self.close_message(out);
                let at = self.items.len();
                let tsc_id = item_id("tsc", &self.response_id, at);
                let item = tool_search::call_item(tsc_id.clone(), id.clone(), serde_json::Value::Null, "in_progress");
                let json = crate::translate::initial_arguments(input);
                self.items.push(Slot::ToolSearch { id: tsc_id, call_id: id.clone(), json });
                self.blocks.push((index, Block::Tool(at)));
                let seq = self.next_seq();
                write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
            }
            ContentBlock::ToolUse { id, name, input, .. } => {
                self.close_message(out);
                let at = self.items.len();
                let fc_id = item_id("fc", &self.response_id, at);
                let item =
                    function_call_item(&self.info, fc_id.clone(), id.clone(), name, String::new(), "in_progress");
                self.items.push(Slot::Tool {
                    id: fc_id,
                    call_id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                });
                self.blocks.push((index, Block::Tool(at)));
                let seq = self.next_seq();
                write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
                self.arguments(at, &crate::translate::initial_arguments(input), out);
            }
            ContentBlock::Thinking { thinking, signature } => {
                self.blocks.push((index, Block::Thinking(None)));
                self.thinking(index, thinking, out);
                self.signature(index, signature, out);
            }
            ContentBlock::ServerToolUse { id, name, input } if name == super::web_search::NAME => {
                self.search_start(index, id, input, out)
            }
            ContentBlock::WebSearchToolResult { tool_use_id, content } => {
                self.blocks.push((index, Block::Silent));
                self.search_results(tool_use_id, content, out);
            }
            // Shown as nothing; kept, sealed, for a client that sends reasoning back.
            ContentBlock::RedactedThinking { data } if self.info.encrypted_reasoning => {
                self.blocks.push((index, Block::Thinking(None)));
                if let Some(Slot::Reasoning { redacted, .. }) = self.reasoning_slot(index, out) {
                    redacted.clone_from(data);
                }
            }
            _ => self.blocks.push((index, Block::Silent)),
        }
    }

    fn text(&mut self, text: &str, out: &mut BytesMut) {
        if text.is_empty() {
            return;
        }
        let at = match self.message {
            Some(at) => at,
            None => {
                let at = self.items.len();
                let id = item_id("msg", &self.response_id, at);
                self.items.push(Slot::Message { id: id.clone(), text: String::new() });
                self.message = Some(at);
                let item = Item::Message {
                    id: Some(id.clone()),
                    status: Some("in_progress".to_string()),
                    content: ItemContent::Parts(Vec::new()),
                    role: "assistant".to_string(),
                };
                let seq = self.next_seq();
                write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
                let seq = self.next_seq();
                let part = output_text(String::new());
                let event = Ev::ContentPartAdded {
                    sequence_number: seq,
                    item_id: id,
                    output_index: at,
                    content_index: 0,
                    part,
                };
                write(out, &event);
                at
            }
        };
        let Some(Slot::Message { id, text: all }) = self.items.get_mut(at) else { return };
        all.push_str(text);
        let item_id = id.clone();
        let seq = self.next_seq();
        let event = Ev::OutputTextDelta {
            sequence_number: seq,
            item_id,
            output_index: at,
            content_index: 0,
            delta: text.to_string(),
            logprobs: Vec::new(),
        };
        write(out, &event);
    }

    fn arguments(&mut self, at: usize, fragment: &str, out: &mut BytesMut) {
        if fragment.is_empty() {
            return;
        }
        let (id, arguments) = match self.items.get_mut(at) {
            Some(Slot::Tool { id, arguments, .. }) => (id, arguments),
            Some(Slot::Custom { json, .. } | Slot::ToolSearch { json, .. }) => return json.push_str(fragment),
            _ => return,
        };
        arguments.push_str(fragment);
        let item_id = id.clone();
        let seq = self.next_seq();
        let event =
            Ev::FunctionCallArgumentsDelta { sequence_number: seq, item_id, output_index: at, delta: fragment.into() };
        write(out, &event);
    }

    fn thinking(&mut self, index: usize, text: &str, out: &mut BytesMut) {
        if text.is_empty() {
            return;
        }
        let Some(at) = self.reasoning_at(index, out) else { return };
        let Some(Slot::Reasoning { id, text: all, .. }) = self.items.get_mut(at) else { return };
        let item_id = id.clone();
        let first = all.is_empty();
        all.push_str(text);
        if first {
            let seq = self.next_seq();
            let event = Ev::ReasoningSummaryPartAdded {
                sequence_number: seq,
                item_id: item_id.clone(),
                output_index: at,
                summary_index: 0,
                part: SummaryPart::summary(""),
            };
            write(out, &event);
        }
        let seq = self.next_seq();
        let event = Ev::ReasoningSummaryTextDelta {
            sequence_number: seq,
            item_id,
            output_index: at,
            summary_index: 0,
            delta: text.to_string(),
        };
        write(out, &event);
    }

    /// A thinking block's signature, kept for the reasoning item's seal when the client
    /// asked for it; a block with nothing to show opens its item for it.
    fn signature(&mut self, index: usize, signature: &str, out: &mut BytesMut) {
        if signature.is_empty() || !self.info.encrypted_reasoning {
            return;
        }
        if let Some(Slot::Reasoning { signature: all, .. }) = self.reasoning_slot(index, out) {
            all.push_str(signature);
        }
    }

    fn reasoning_slot(&mut self, index: usize, out: &mut BytesMut) -> Option<&mut Slot> {
        let at = self.reasoning_at(index, out)?;
        self.items.get_mut(at)
    }

    /// The output index of the reasoning item of thinking block `index`, opened here
    /// (`output_item.added`) when it is not yet.
    fn reasoning_at(&mut self, index: usize, out: &mut BytesMut) -> Option<usize> {
        let pos = self.blocks.iter().position(|(i, _)| *i == index)?;
        if let Block::Thinking(Some(at)) = self.blocks[pos].1 {
            return Some(at);
        }
        self.close_message(out);
        let at = self.items.len();
        let id = item_id("rs", &self.response_id, at);
        let slot =
            Slot::Reasoning { id: id.clone(), text: String::new(), signature: String::new(), redacted: String::new() };
        self.items.push(slot);
        self.blocks[pos].1 = Block::Thinking(Some(at));
        let item = reasoning_item(id, String::new(), None);
        let seq = self.next_seq();
        write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
        Some(at)
    }

    fn terminal(&mut self, out: &mut BytesMut) {
        let (status, incomplete) = status_of(self.stop_reason.as_deref());
        let mut response = self.response(status);
        response.incomplete_details = incomplete.map(|r| IncompleteDetails { reason: Some(r.to_string()) });
        response.usage = Some(usage_from_canonical(&self.usage));
        let response = Box::new(response);
        let seq = self.next_seq();
        let event = match incomplete {
            Some(_) => Ev::Incomplete { sequence_number: seq, response },
            None => Ev::Completed { sequence_number: seq, response },
        };
        write(out, &event);
        self.finished = true;
    }

    /// An in-band error: the `error` event, then `response.failed` with what was written.
    fn fail(&mut self, error: &ErrorBody, out: &mut BytesMut) {
        let kind = ErrorKind::from_anthropic_type(&error.kind).unwrap_or(ErrorKind::Api);
        let seq = self.next_seq();
        let event = Ev::Error {
            sequence_number: seq,
            code: Some(error.code.clone().unwrap_or_else(|| kind.openai_type().to_string())),
            message: error.message.clone(),
            param: None,
            error: None,
        };
        write(out, &event);
        let mut response = self.response("failed");
        response.error = Some(response_error(kind, error.code.as_deref(), &error.message));
        let seq = self.next_seq();
        write(out, &Ev::Failed { sequence_number: seq, response: Box::new(response) });
        self.finished = true;
    }

    /// The response object as it stands, with `status`.
    fn response(&self, status: &str) -> ResponseObject {
        let mut response = envelope(&self.response_id, &self.model, &self.info, self.created_at);
        response.status = Some(status.to_string());
        response.output = self
            .items
            .iter()
            .map(|slot| match slot {
                Slot::Closed(item) => item.clone(),
                Slot::Message { id, text } => message_item(id.clone(), text.clone(), "in_progress"),
                Slot::Tool { id, call_id, name, arguments } => {
                    function_call_item(&self.info, id.clone(), call_id.clone(), name, arguments.clone(), "in_progress")
                }
                Slot::Custom { id, call_id, name, .. } => {
                    custom_tool_call_item(&self.info, id.clone(), call_id.clone(), name, String::new(), "in_progress")
                }
                Slot::Reasoning { id, text, .. } => reasoning_item(id.clone(), text.clone(), None),
                Slot::ToolSearch { id, call_id, .. } => {
                    tool_search::call_item(id.clone(), call_id.clone(), serde_json::Value::Null, "in_progress")
                }
                Slot::Search { id, json, results, .. } => super::web_search::call_item(
                    id.clone(),
                    &crate::translate::tool_input(json),
                    results.as_ref(),
                    self.info.web_search_sources,
                ),
            })
            .collect();
        response
    }
}

fn write(out: &mut BytesMut, event: &Ev) {
    write_event(out, event.name(), &to_json(event));
}
