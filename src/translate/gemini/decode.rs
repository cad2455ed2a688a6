//! Gemini stream chunks (`alt=sse`) → canonical (Anthropic) stream events.
//!
//! Every chunk is a whole response fragment: text parts are deltas, a function call
//! arrives complete in one part, `usageMetadata` is a running total (the last one
//! counts). The stream has no terminator: it ends when the connection closes, so the
//! stop reason and usage go out from `finish`, once a `finishReason` has been seen.
//! Blocks follow the same rules as `parts::model_blocks`, so the accumulated stream
//! equals the non-streaming conversion.

use super::parts::call_input;
use super::signature::{thinking_signature, tool_id};
use super::{canonical_usage, stop_reason_from_finish, ResponseIds};
use crate::protocol::anthropic::{BlockDelta, ContentBlock, MessagesResponse, Role, StreamEvent, Usage};
use crate::protocol::gemini::{GenerateContentResponse, GroundingMetadata, Part, Status, UsageMetadata};
use crate::sse::SseFrame;
use crate::translate::stream::{BlockKind, Blocks};
use crate::translate::{ApiError, ErrorKind};

/// Gemini SSE frames (`alt=sse`) → canonical events.
#[derive(Debug, Default)]
pub struct GeminiDecoder {
    started: bool,
    done: bool,
    blocks: Blocks,
    ids: ResponseIds,
    has_calls: bool,
    /// Answer text came (thoughts do not count).
    said: bool,
    finish_reason: Option<String>,
    /// The prompt was blocked (`promptFeedback.blockReason`, no candidates).
    blocked: bool,
    /// The answer's Google Search as its chunks report it (`groundingMetadata`, which
    /// may come in parts, and again as it grows), until it is told at the finish reason.
    grounding: Option<Box<GroundingMetadata>>,
    /// The searches told (`webSearchQueries`, at least one), for the usage.
    searches: u64,
    usage: Option<UsageMetadata>,
    /// The model asked for, named when the upstream sends no `modelVersion`.
    pub(crate) model: String,
    /// The last frame was not a chunk (malformed, or JSON of another shape).
    rejected: bool,
}

impl GeminiDecoder {
    pub fn decode(&mut self, frame: &SseFrame, out: &mut Vec<StreamEvent>) {
        self.rejected = false;
        if self.done {
            return;
        }
        let data = frame.data.trim();
        if data.is_empty() {
            return;
        }
        let chunk: GenerateContentResponse = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => {
                self.rejected = true;
                self.fail(ApiError::new(ErrorKind::Api, format!("upstream sent a malformed chunk: {e}")), out);
                return;
            }
        };
        if let Some(status) = &chunk.error {
            self.fail(error_of(status), out);
            return;
        }
        if !self.started {
            self.start(&chunk, out);
        }
        if let Some(u) = chunk.usage_metadata {
            self.usage = Some(u);
        }
        if chunk.candidates.is_empty() && chunk.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some()) {
            self.blocks.close(out);
            self.blocked = true;
        }
        // Only the first candidate is translated (candidateCount > 1 is refused).
        if let Some(candidate) = chunk.candidates.into_iter().find(|c| c.index.unwrap_or(0) == 0) {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                self.part(&part, out);
            }
            // Once told, the search is not told again (a stream may repeat its metadata).
            if let Some(meta) = candidate.grounding_metadata.filter(|_| self.searches == 0) {
                super::search::merge(self.grounding.get_or_insert_default(), meta);
            }
            if let Some(reason) = candidate.finish_reason.filter(|r| !r.is_empty()) {
                self.search(out);
                self.blocks.close(out);
                if !self.said && !self.has_calls {
                    let message = candidate.finish_message.as_deref();
                    if let Some(err) = super::tool_call_failure(Some(&reason), message) {
                        self.fail(err, out);
                        return;
                    }
                }
                self.finish_reason = Some(reason);
            }
        }
    }

    /// Whether the frame last decoded was not a chunk: a client reading the stream as it
    /// came (a JSON array) gets the error it gave instead.
    pub fn rejected(&self) -> bool {
        self.rejected
    }

    /// The finish reason came; only the end of the body (or more usage) may follow.
    pub fn holds_finish(&self) -> bool {
        self.finish_reason.is_some() && !self.done
    }

    /// End of body (connection closed). A stream that got its `finishReason` is
    /// complete; one without broke off.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        if self.finish_reason.is_some() || self.blocked {
            self.complete(out);
        } else {
            self.fail(ApiError::new(ErrorKind::Api, "upstream stream ended before its finishReason"), out);
        }
    }

    fn start(&mut self, chunk: &GenerateContentResponse, out: &mut Vec<StreamEvent>) {
        self.started = true;
        self.ids = ResponseIds::new(chunk.response_id.as_deref());
        out.push(StreamEvent::MessageStart {
            message: MessagesResponse {
                id: self.ids.message_id(chunk.response_id.as_deref()),
                kind: "message".to_string(),
                role: Role::Assistant,
                model: chunk.model_version.clone().unwrap_or_else(|| self.model.clone()),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                // The final counts go out with message_delta.
                usage: Usage::default(),
            },
        });
    }

    fn part(&mut self, part: &Part, out: &mut Vec<StreamEvent>) {
        if let Some(call) = &part.function_call {
            let base = self.ids.call_id(call);
            let block = ContentBlock::ToolUse {
                id: tool_id(&base, part.thought_signature.as_deref()),
                name: call.name.clone(),
                input: serde_json::Value::Object(Default::default()),
                cache_control: None,
            };
            let index = self.blocks.start(BlockKind::Tool, block, out);
            let args = serde_json::to_string(&call_input(call)).unwrap_or_else(|_| "{}".to_string());
            out.push(StreamEvent::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json: args },
            });
            self.blocks.close(out);
            self.has_calls = true;
            return;
        }
        // Empty text chunks are common and carry nothing.
        if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
            let (index, delta) = if part.thought == Some(true) {
                (self.blocks.ensure(BlockKind::Thinking, out), BlockDelta::ThinkingDelta { thinking: text.to_string() })
            } else {
                self.said = true;
                (self.blocks.ensure(BlockKind::Text, out), BlockDelta::TextDelta { text: text.to_string() })
            };
            out.push(StreamEvent::ContentBlockDelta { index, delta });
        }
        if let Some(sig) = part.thought_signature.as_deref().filter(|s| !s.is_empty()) {
            // A signature signs the open thinking block, or stands in an empty one.
            let index = self.blocks.ensure(BlockKind::Thinking, out);
            let signature = thinking_signature(sig);
            out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::SignatureDelta { signature } });
            self.blocks.close(out);
        }
    }

    /// Tells the answer's search, once: the call and its results, after the text.
    fn search(&mut self, out: &mut Vec<StreamEvent>) {
        let Some(meta) = self.grounding.take() else { return };
        if let Some(search) = super::search::search_of(&meta, Some(self.ids.token())) {
            self.searches = super::search::count(&meta);
            search.events(self.blocks.reserve(2, out), out);
        }
    }

    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        // Metadata that came after the finish reason.
        self.search(out);
        self.blocks.close(out);
        let mut usage = canonical_usage(&self.usage.unwrap_or_default());
        usage.server_tool_use = crate::translate::web_search::usage(self.searches);
        let reason = match (&self.finish_reason, self.blocked) {
            (None, true) => "refusal",
            (reason, _) => stop_reason_from_finish(reason.as_deref(), self.has_calls),
        };
        out.extend(crate::translate::stream::message_end(reason, &usage));
        self.done = true;
    }

    fn fail(&mut self, err: ApiError, out: &mut Vec<StreamEvent>) {
        self.done = true;
        out.push(err.to_stream_event());
    }
}

/// An in-band `{"error": …}`: the gRPC status name decides the kind, else the code.
fn error_of(status: &Status) -> ApiError {
    let kind = ErrorKind::from_gemini_status(&status.status).unwrap_or(match status.code {
        400..=599 => ErrorKind::from_status(status.code),
        _ => ErrorKind::Api,
    });
    let message = if status.message.is_empty() { "upstream stream error".to_string() } else { status.message.clone() };
    ApiError::new(kind, message)
}
