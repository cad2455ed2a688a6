//! Canonical (Anthropic) stream events → Gemini stream chunks, as SSE (`alt=sse`) or
//! as the one JSON array Gemini writes incrementally without `alt=sse`.
//!
//! Text and thought deltas leave at once, one part per chunk. A tool call is held
//! until its block stops, since Gemini clients expect `functionCall.args` whole. The
//! last chunk carries `finishReason` and `usageMetadata`.

use super::search::Grounding;
use super::signature::{gemini_signature, split_tool_id};
use super::{finish_reason_from_stop, usage_metadata};
use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent, Usage};
use crate::protocol::gemini::{Candidate, Content, FunctionCall, GenerateContentResponse, Part, Status};
use crate::sse::write_data;
use crate::translate::error::to_json;
use crate::translate::{web_search, ErrorKind};
use bytes::{BufMut, BytesMut};
use serde_json::Value;

/// Canonical events → Gemini stream chunks, as SSE (`alt=sse`) or as one JSON array
/// written incrementally (the default without `alt=sse`).
#[derive(Debug)]
pub struct GeminiEncoder {
    json_array: bool,
    /// Thinking is written as thought parts (the client asked: `includeThoughts`).
    thoughts: bool,
    /// The array's framing, for a client reading one.
    array: JsonArray,
    finished: bool,
    response_id: String,
    model: String,
    usage: Usage,
    stop_reason: Option<String>,
    /// Tool calls whose block is still open.
    calls: Vec<PendingCall>,
    /// A call was left out: its arguments were not a JSON object.
    malformed: bool,
    /// The open thinking block: its index, text and signature, for the seal its turn's
    /// first call carries back (`sealed::Carry`).
    thinking: Option<(usize, String, String)>,
    carry: crate::translate::sealed::Carry,
    /// Open web search calls (block index, input JSON so far), and the searches so far,
    /// for the last chunk's `groundingMetadata`.
    search_calls: Vec<(usize, String)>,
    grounding: Grounding,
    /// Bytes of answer text written so far, the open text block (index, first byte), and
    /// its text once it cites a page, for `groundingMetadata.groundingSupports`.
    text_bytes: usize,
    text_block: (usize, usize),
    cited: Option<Box<Cited>>,
}

/// A text block citing pages, while it streams.
#[derive(Debug)]
struct Cited {
    index: usize,
    text: String,
    citations: Vec<Value>,
}

#[derive(Debug)]
struct PendingCall {
    index: usize,
    id: String,
    name: String,
    input: Value,
    partial_json: String,
}

/// What keeps a Gemini client's stream alive while the upstream is silent: a chunk of
/// one empty text part (Gemini sends such chunks itself), which Google's SDKs and Gemini
/// CLI read through; an SSE comment would stop the JS SDK that Gemini CLI bundles. It
/// names no model (Gemini CLI counts usage under a chunk's `modelVersion`). A JSON array
/// is kept alive with whitespace between its elements.
pub const SSE_KEEPALIVE: &[u8] =
    b"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"index\":0}]}\n\n";

impl GeminiEncoder {
    /// [`SSE_KEEPALIVE`], or whitespace in a JSON array.
    pub fn keepalive(&self) -> &'static [u8] {
        if self.json_array {
            JsonArray::KEEPALIVE
        } else {
            SSE_KEEPALIVE
        }
    }

    pub fn new(json_array: bool, thoughts: bool) -> Self {
        GeminiEncoder {
            json_array,
            thoughts,
            array: JsonArray::default(),
            finished: false,
            response_id: String::new(),
            model: String::new(),
            usage: Usage::default(),
            stop_reason: None,
            calls: Vec::new(),
            malformed: false,
            thinking: None,
            carry: Default::default(),
            search_calls: Vec::new(),
            grounding: Grounding::default(),
            text_bytes: 0,
            text_block: (usize::MAX, 0),
            cited: None,
        }
    }

    pub fn encode(&mut self, ev: &StreamEvent, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        match ev {
            StreamEvent::MessageStart { message } => {
                self.response_id = message.id.clone();
                self.model = message.model.clone();
                self.usage = message.usage;
            }
            StreamEvent::ContentBlockStart { index, content_block } => match content_block {
                ContentBlock::ToolUse { id, name, input, .. } => self.calls.push(PendingCall {
                    index: *index,
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                    partial_json: String::new(),
                }),
                ContentBlock::Text { text, citations, .. } => {
                    self.text_block = (*index, self.text_bytes);
                    if let Some(Value::Array(citations)) = citations {
                        if !citations.is_empty() {
                            let citations = citations.clone();
                            self.cited = Some(Box::new(Cited { index: *index, text: String::new(), citations }));
                        }
                    }
                    self.text(text, out);
                }
                ContentBlock::Thinking { thinking, signature } => {
                    self.thinking = Some((*index, thinking.clone(), signature.clone()));
                    if self.thoughts && !thinking.is_empty() {
                        self.write_part(thought(thinking), out)
                    }
                }
                ContentBlock::RedactedThinking { data } => {
                    self.carry.thinking(crate::translate::sealed::seal_redacted(data));
                }
                ContentBlock::ServerToolUse { name, input, .. } if name == web_search::NAME => {
                    self.search_calls.push((*index, crate::translate::initial_arguments(input)));
                }
                block @ ContentBlock::WebSearchToolResult { .. } => self.grounding.add(block),
                _ => {}
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => self.text(text, out),
                BlockDelta::CitationsDelta { citation } if self.text_block.0 == *index => {
                    let cited = self.cited.get_or_insert_with(|| {
                        Box::new(Cited { index: *index, text: String::new(), citations: Vec::new() })
                    });
                    cited.citations.push(citation.clone());
                }
                BlockDelta::ThinkingDelta { thinking } => {
                    if let Some((_, text, _)) = self.thinking.as_mut().filter(|(i, ..)| i == index) {
                        text.push_str(thinking);
                    }
                    if self.thoughts && !thinking.is_empty() {
                        self.write_part(thought(thinking), out)
                    }
                }
                // Gemini's own signatures go to a Gemini client as Gemini sends them;
                // another provider's are sealed with their thinking (`carry`).
                BlockDelta::SignatureDelta { signature } => {
                    if let Some((_, _, sig)) = self.thinking.as_mut().filter(|(i, ..)| i == index) {
                        sig.push_str(signature);
                    }
                    if let Some(sig) = gemini_signature(signature) {
                        let part = Part {
                            text: Some(String::new()),
                            thought_signature: Some(sig.into()),
                            ..Default::default()
                        };
                        self.write_part(part, out);
                    }
                }
                BlockDelta::InputJsonDelta { partial_json } => {
                    if let Some(call) = self.calls.iter_mut().find(|c| c.index == *index) {
                        call.partial_json.push_str(partial_json);
                    } else if let Some((_, json)) = self.search_calls.iter_mut().find(|(i, _)| i == index) {
                        json.push_str(partial_json);
                    }
                }
                _ => {}
            },
            StreamEvent::ContentBlockStop { index } => {
                if let Some(cited) = self.cited.take_if(|c| c.index == *index) {
                    self.grounding.cite(self.text_block.1, &cited.text, &cited.citations);
                }
                if let Some(pos) = self.search_calls.iter().position(|(i, _)| i == index) {
                    let (_, json) = self.search_calls.remove(pos);
                    self.grounding.query(&crate::translate::tool_input(&json));
                }
                if let Some((_, text, sig)) = self.thinking.take_if(|(i, ..)| i == index) {
                    if gemini_signature(&sig).is_none() {
                        self.carry.thinking(crate::translate::sealed::seal_thinking(&text, &sig));
                    }
                }
                if let Some(pos) = self.calls.iter().position(|c| c.index == *index) {
                    match function_call_part(self.calls.remove(pos)) {
                        Some(mut part) => {
                            let sealed = self.carry.for_call();
                            part.thought_signature = part.thought_signature.or(sealed);
                            self.write_part(part, out)
                        }
                        None => self.malformed = true,
                    }
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason.clone();
                }
                self.usage.apply_delta(usage);
            }
            StreamEvent::MessageStop => {
                // A tool block cut off by max_tokens never stopped: its JSON is partial.
                self.calls.clear();
                let chunk = GenerateContentResponse {
                    candidates: vec![Candidate {
                        content: Some(Content { role: Some("model".into()), parts: vec![Part::text("")] }),
                        finish_reason: Some(finish_reason(self.stop_reason.as_deref(), self.malformed).to_string()),
                        index: Some(0),
                        grounding_metadata: self.grounding.take(),
                        ..Default::default()
                    }],
                    usage_metadata: Some(usage_metadata(&self.usage)),
                    ..self.envelope()
                };
                self.write_chunk(&to_json(&chunk), out);
            }
            StreamEvent::Error { error } => {
                let body = error_chunk(error);
                if self.json_array {
                    self.write_chunk(&body, out);
                } else {
                    // Gemini puts an error in an SSE stream as bare JSON, not as an event:
                    // that is what its SDKs look for (google-genai's JavaScript SDK, which
                    // Gemini CLI uses, looks for nothing else).
                    out.put_slice(&body);
                    out.put_slice(b"\n\n");
                }
                self.finish(out);
            }
            // An upstream's `ping` is not passed on: the gateway's own keepalives cover a
            // silence (`keepalive`).
            StreamEvent::Ping | StreamEvent::Other => {}
        }
    }

    /// Closes the stream (the JSON array's `]`). Idempotent.
    pub fn finish(&mut self, out: &mut BytesMut) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.json_array {
            self.array.close(out);
        }
    }

    /// The fields every chunk repeats.
    fn envelope(&self) -> GenerateContentResponse {
        GenerateContentResponse {
            model_version: Some(self.model.clone()).filter(|m| !m.is_empty()),
            response_id: Some(self.response_id.clone()).filter(|id| !id.is_empty()),
            ..Default::default()
        }
    }

    /// Answer text: a part of its own, counted (and kept while its block cites pages).
    fn text(&mut self, text: &str, out: &mut BytesMut) {
        if text.is_empty() {
            return;
        }
        self.text_bytes += text.len();
        if let Some(cited) = self.cited.as_mut() {
            cited.text.push_str(text);
        }
        self.write_part(Part::text(text), out);
    }

    fn write_part(&mut self, part: Part, out: &mut BytesMut) {
        let chunk = GenerateContentResponse {
            candidates: vec![Candidate {
                content: Some(Content { role: Some("model".into()), parts: vec![part] }),
                index: Some(0),
                ..Default::default()
            }],
            ..self.envelope()
        };
        self.write_chunk(&to_json(&chunk), out);
    }

    fn write_chunk(&mut self, json: &[u8], out: &mut BytesMut) {
        if self.json_array {
            self.array.element(json, out);
        } else {
            write_data(out, json);
        }
    }
}

/// A stream as one JSON array (Gemini clients without `alt=sse`): chunks as its
/// elements, `[` before the first, `,\r\n` between them (as Gemini writes it), `]` at the
/// end, `[]` for none.
#[derive(Debug, Default)]
pub struct JsonArray {
    wrote: bool,
    closed: bool,
}

impl JsonArray {
    /// Whitespace, which a JSON array may hold between any two of its tokens: what keeps
    /// the stream alive while the upstream is silent.
    pub const KEEPALIVE: &'static [u8] = b"\n";

    pub fn element(&mut self, json: &[u8], out: &mut BytesMut) {
        if self.closed {
            return;
        }
        out.put_slice(if self.wrote { b",\r\n" } else { b"[" });
        out.put_slice(json);
        self.wrote = true;
    }

    pub fn close(&mut self, out: &mut BytesMut) {
        if !std::mem::replace(&mut self.closed, true) {
            out.put_slice(if self.wrote { b"]" } else { b"[]" });
        }
    }
}

/// An error as Gemini puts it in a stream: `{"error": {code, message, status}}`, with
/// the gRPC status name of its kind.
pub fn error_chunk(error: &crate::protocol::anthropic::ErrorBody) -> Vec<u8> {
    let kind = ErrorKind::from_anthropic_type(&error.kind).unwrap_or(ErrorKind::Api);
    let (code, status) = kind.gemini_status();
    let body = GenerateContentResponse {
        error: Some(Status { code, message: error.message.clone(), status: status.to_string(), details: None }),
        ..Default::default()
    };
    to_json(&body)
}

fn thought(text: &str) -> Part {
    Part { text: Some(text.to_string()), thought: Some(true), ..Default::default() }
}

/// The finish reason of an answer with `stop_reason`: `MALFORMED_FUNCTION_CALL` when a
/// call was left out, as Gemini says of a call it could not complete, unless the answer
/// was cut off by its token limit (`MAX_TOKENS` says that).
pub(super) fn finish_reason(stop_reason: Option<&str>, malformed: bool) -> &'static str {
    match finish_reason_from_stop(stop_reason) {
        "MAX_TOKENS" => "MAX_TOKENS",
        _ if malformed => "MALFORMED_FUNCTION_CALL",
        reason => reason,
    }
}

/// A finished tool block as one `functionCall` part; its signature leaves the id. None
/// when its arguments are not a JSON object (cut off by the token limit, or malformed):
/// a Gemini client would run the call with arguments Gemini never gives.
fn function_call_part(call: PendingCall) -> Option<Part> {
    let args = if call.partial_json.trim().is_empty() {
        match call.input {
            v @ Value::Object(_) => v,
            _ => Value::Object(Default::default()),
        }
    } else {
        match serde_json::from_str::<Value>(&call.partial_json) {
            Ok(v @ Value::Object(_)) => v,
            _ => return None,
        }
    };
    let (base, sig) = split_tool_id(&call.id);
    Some(Part {
        function_call: Some(FunctionCall { id: Some(base.to_string()), name: call.name, args: Some(args) }),
        thought_signature: sig,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::gemini::{Candidate, Content, GenerateContentResponse};

    /// The keepalive is the typed encoding of a chunk of one empty text part, as SSE.
    #[test]
    fn the_keepalive_is_a_chunk_of_one_empty_text_part() {
        let chunk = GenerateContentResponse {
            candidates: vec![Candidate {
                content: Some(Content { role: Some("model".into()), parts: vec![Part::text("")] }),
                index: Some(0),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut out = BytesMut::new();
        crate::sse::write_data(&mut out, &crate::translate::error::to_json(&chunk));
        assert_eq!(&out[..], SSE_KEEPALIVE);
    }
}
