//! Canonical (Anthropic) stream events → OpenAI Chat chunks.

use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent, Usage};
use crate::protocol::openai_chat::{
    chunk_object, ChatChunk, ChunkChoice, ChunkDelta, ErrorObject, ErrorResponse, FunctionDelta, ToolCallDelta,
};
use crate::sse::{write_comment, write_data};
use crate::translate::error::to_json;
use crate::translate::{chat_usage_from_anthropic, finish_reason_from_stop, initial_arguments, unix_now, ErrorKind};
use bytes::BytesMut;

#[derive(Debug)]
pub struct ChatEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    /// Anthropic block index → Chat tool-call index, and whether any of its arguments
    /// went out.
    tool_calls: Vec<(usize, u32, bool)>,
    usage: Usage,
}

impl ChatEncoder {
    pub fn new(include_usage: bool) -> Self {
        ChatEncoder {
            include_usage,
            id: String::new(),
            model: String::new(),
            created: 0,
            tool_calls: Vec::new(),
            usage: Usage::default(),
        }
    }

    pub fn encode(&mut self, ev: &StreamEvent, out: &mut BytesMut) {
        match ev {
            StreamEvent::MessageStart { message } => {
                self.id = message.id.clone();
                self.model = message.model.clone();
                self.created = unix_now();
                self.usage = message.usage;
                let delta =
                    ChunkDelta { role: Some("assistant".into()), content: Some(String::new()), ..Default::default() };
                self.write_delta(delta, None, out);
            }
            StreamEvent::ContentBlockStart { index, content_block } => match content_block {
                ContentBlock::ToolUse { id, name, input, .. } => {
                    let tool_index = self.tool_calls.len() as u32;
                    let arguments = initial_arguments(input);
                    self.tool_calls.push((*index, tool_index, !arguments.is_empty()));
                    let call = ToolCallDelta {
                        index: tool_index,
                        id: Some(id.clone()),
                        kind: Some("function".into()),
                        function: Some(FunctionDelta { name: Some(name.clone()), arguments: Some(arguments) }),
                    };
                    self.write_delta(ChunkDelta { tool_calls: Some(vec![call]), ..Default::default() }, None, out);
                }
                ContentBlock::Text { text, .. } if !text.is_empty() => {
                    self.write_delta(ChunkDelta { content: Some(text.to_string()), ..Default::default() }, None, out);
                }
                _ => {}
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => {
                    self.write_delta(ChunkDelta { content: Some(text.to_string()), ..Default::default() }, None, out);
                }
                BlockDelta::ThinkingDelta { thinking } => {
                    let delta = ChunkDelta { reasoning_content: Some(thinking.clone()), ..Default::default() };
                    self.write_delta(delta, None, out);
                }
                BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    self.arguments(*index, partial_json, out);
                }
                _ => {}
            },
            // A tool that takes no input may stream no delta: its arguments are `{}`.
            StreamEvent::ContentBlockStop { index } => {
                if self.tool_calls.iter().any(|(b, _, sent)| b == index && !sent) {
                    self.arguments(*index, "{}", out);
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.usage.apply_delta(usage);
                let reason = delta.stop_reason.as_deref().map(finish_reason_from_stop).unwrap_or("stop");
                self.write_delta(ChunkDelta::default(), Some(reason), out);
            }
            StreamEvent::MessageStop => {
                if self.include_usage {
                    let chunk = ChatChunk {
                        id: self.id.clone(),
                        object: chunk_object(),
                        created: self.created,
                        model: self.model.clone(),
                        choices: Vec::new(),
                        usage: Some(chat_usage_from_anthropic(&self.usage)),
                        error: None,
                    };
                    write_data(out, &to_json(&chunk));
                }
                write_data(out, b"[DONE]");
            }
            StreamEvent::Ping => write_comment(out, "ping"),
            StreamEvent::Error { error } => {
                let kind = ErrorKind::from_anthropic_type(&error.kind).unwrap_or(ErrorKind::Api);
                let body = ErrorResponse {
                    error: ErrorObject {
                        message: error.message.clone(),
                        kind: Some(kind.openai_type().to_string()),
                        param: None,
                        code: error.code.clone().map(serde_json::Value::String),
                    },
                };
                write_data(out, &to_json(&body));
            }
            StreamEvent::Other => {}
        }
    }

    /// Sends a fragment of the arguments of the tool call of block `index`.
    fn arguments(&mut self, index: usize, fragment: &str, out: &mut BytesMut) {
        let Some(call) = self.tool_calls.iter_mut().find(|(b, _, _)| *b == index) else {
            return;
        };
        call.2 = true;
        let call = ToolCallDelta {
            index: call.1,
            id: None,
            kind: None,
            function: Some(FunctionDelta { name: None, arguments: Some(fragment.to_string()) }),
        };
        self.write_delta(ChunkDelta { tool_calls: Some(vec![call]), ..Default::default() }, None, out);
    }

    fn write_delta(&self, delta: ChunkDelta, finish_reason: Option<&str>, out: &mut BytesMut) {
        let chunk = ChatChunk {
            id: self.id.clone(),
            object: chunk_object(),
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice { index: 0, delta, finish_reason: finish_reason.map(str::to_string) }],
            usage: None,
            error: None,
        };
        write_data(out, &to_json(&chunk));
    }
}
