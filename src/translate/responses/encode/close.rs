//! Finishing output items: each open item's `done` events, then `output_item.done`
//! with the item as it ends.

use super::{write, ResponsesEncoder, Slot};
use crate::protocol::openai_responses::{Item, ResponsesStreamEvent as Ev, SummaryPart};
use crate::translate::responses::response::{
    custom_tool_call_item, function_call_item, message_item, output_text, reasoning_item,
};
use crate::translate::responses::{custom_tool_input, status_of};
use bytes::BytesMut;

impl ResponsesEncoder {
    pub(super) fn close_message(&mut self, out: &mut BytesMut) {
        if let Some(at) = self.message {
            let status = self.item_status();
            self.close_item(at, status, out);
        }
    }

    /// The status of items still open when the message ends.
    pub(super) fn item_status(&self) -> &'static str {
        match status_of(self.stop_reason.as_deref()) {
            ("incomplete", _) => "incomplete",
            _ => "completed",
        }
    }

    /// Writes the `done` events of open item `at` and keeps the finished item.
    pub(super) fn close_item(&mut self, at: usize, status: &str, out: &mut BytesMut) {
        let Some(slot) = self.items.get_mut(at).filter(|s| !matches!(s, Slot::Closed(_))) else { return };
        let item = match std::mem::replace(slot, Slot::Closed(Item::Other)) {
            Slot::Closed(item) => item,
            Slot::Message { id, text } => {
                self.message = None;
                let seq = self.next_seq();
                let event = Ev::OutputTextDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    content_index: 0,
                    text: text.clone(),
                    logprobs: Vec::new(),
                };
                write(out, &event);
                let seq = self.next_seq();
                let part = output_text(text.clone());
                let event = Ev::ContentPartDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    content_index: 0,
                    part,
                };
                write(out, &event);
                message_item(id, text, status)
            }
            Slot::Tool { id, call_id, name, mut arguments } => {
                // A tool without input streams no fragment; its arguments are `{}`.
                if arguments.is_empty() {
                    arguments = "{}".to_string();
                    let seq = self.next_seq();
                    let event = Ev::FunctionCallArgumentsDelta {
                        sequence_number: seq,
                        item_id: id.clone(),
                        output_index: at,
                        delta: arguments.clone(),
                    };
                    write(out, &event);
                }
                let seq = self.next_seq();
                let event = Ev::FunctionCallArgumentsDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    // The client's name, as on the item (the upstream's may be renamed).
                    name: Some(self.info.client_tool(&name).0.to_string()),
                    arguments: arguments.clone(),
                };
                write(out, &event);
                // A call cut off (by the token limit) closes before the stop reason
                // comes: arguments that are not whole JSON say so, and an agent must not
                // run it.
                let whole = whole_json(&arguments);
                function_call_item(&self.info, id, call_id, &name, arguments, if whole { status } else { "incomplete" })
            }
            Slot::Custom { id, call_id, name, json } => {
                let input = custom_tool_input(&crate::translate::tool_input(&json));
                if !input.is_empty() {
                    let seq = self.next_seq();
                    let delta = input.clone();
                    let event = Ev::CustomToolCallInputDelta {
                        sequence_number: seq,
                        item_id: id.clone(),
                        output_index: at,
                        delta,
                    };
                    write(out, &event);
                }
                let seq = self.next_seq();
                let event = Ev::CustomToolCallInputDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    input: input.clone(),
                };
                write(out, &event);
                // Cut off (by the token limit), its text is not whole: not to be run.
                let status = if whole_json(&json) { status } else { "incomplete" };
                custom_tool_call_item(&self.info, id, call_id, &name, input, status)
            }
            Slot::Reasoning { id, text, signature, redacted } => {
                let sealed = if redacted.is_empty() {
                    crate::translate::sealed::seal_thinking(&text, &signature)
                } else {
                    crate::translate::sealed::seal_redacted(&redacted)
                };
                if text.is_empty() {
                    // Nothing was shown: the item is its seal alone.
                    return self.close_with(at, reasoning_item(id, text, sealed), out);
                }
                let seq = self.next_seq();
                let event = Ev::ReasoningSummaryTextDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    summary_index: 0,
                    text: text.clone(),
                };
                write(out, &event);
                let seq = self.next_seq();
                let event = Ev::ReasoningSummaryPartDone {
                    sequence_number: seq,
                    item_id: id.clone(),
                    output_index: at,
                    summary_index: 0,
                    part: SummaryPart::summary(text.clone()),
                };
                write(out, &event);
                reasoning_item(id, text, sealed)
            }
            Slot::ToolSearch { id, call_id, json } => {
                // A call cut off (by the token limit) is not run: its input is not whole.
                let input = crate::translate::tool_input(&json);
                let status = if whole_json(&json) { status } else { "incomplete" };
                crate::translate::responses::tool_search::call_item(id, call_id, input, status)
            }
            Slot::Search { id, json, results, .. } => self.search_done(at, id, &json, results, out),
        };
        self.close_with(at, item, out);
    }

    /// Writes `output_item.done` for `item`, which finishes output `at`, and keeps it.
    pub(super) fn close_with(&mut self, at: usize, item: Item, out: &mut BytesMut) {
        let seq = self.next_seq();
        write(out, &Ev::OutputItemDone { sequence_number: seq, output_index: at, item: item.clone() });
        self.items[at] = Slot::Closed(item);
    }

    /// The message ends: every item still open is finished, in output order.
    pub(super) fn close_all(&mut self, out: &mut BytesMut) {
        self.blocks.clear();
        let status = self.item_status();
        for at in 0..self.items.len() {
            self.close_item(at, status, out);
        }
    }
}

/// Whether a tool call's streamed input is whole JSON (none is whole too: no input).
fn whole_json(json: &str) -> bool {
    json.trim().is_empty() || serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok()
}
