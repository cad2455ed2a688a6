//! Builds the complete canonical message from canonical stream events, for answers
//! that must be remembered after they were streamed (Responses `previous_response_id`).

use crate::protocol::anthropic::{BlockDelta, ContentBlock, MessagesResponse, Role, StreamEvent, Usage};

#[derive(Debug, Default)]
pub struct Accumulator {
    message: Option<MessagesResponse>,
    /// Tool input JSON per block, parsed at the end.
    partial_json: Vec<(usize, String)>,
}

impl Accumulator {
    pub fn push(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::MessageStart { message } => self.message = Some(message.clone()),
            StreamEvent::ContentBlockStart { index, content_block } => {
                let m = self.message.get_or_insert_with(empty);
                while m.content.len() < *index {
                    m.content.push(ContentBlock::text(""));
                }
                if m.content.len() == *index {
                    m.content.push(content_block.clone());
                } else {
                    m.content[*index] = content_block.clone();
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let Some(block) = self.message.as_mut().and_then(|m| m.content.get_mut(*index)) else { return };
                match (block, delta) {
                    (ContentBlock::Text { text, .. }, BlockDelta::TextDelta { text: t }) => text.push_str(t),
                    (ContentBlock::Thinking { thinking, .. }, BlockDelta::ThinkingDelta { thinking: t }) => {
                        thinking.push_str(t)
                    }
                    (ContentBlock::Thinking { signature, .. }, BlockDelta::SignatureDelta { signature: s }) => {
                        signature.push_str(s)
                    }
                    (
                        ContentBlock::ToolUse { .. } | ContentBlock::ServerToolUse { .. },
                        BlockDelta::InputJsonDelta { partial_json },
                    ) => match self.partial_json.iter_mut().find(|(i, _)| i == index) {
                        Some((_, s)) => s.push_str(partial_json),
                        None => self.partial_json.push((*index, partial_json.clone())),
                    },
                    _ => {}
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                let m = self.message.get_or_insert_with(empty);
                m.stop_reason = delta.stop_reason.clone();
                m.stop_sequence = delta.stop_sequence.clone();
                m.usage.apply_delta(usage);
            }
            _ => {}
        }
    }

    /// The message so far, with tool inputs parsed.
    pub fn finish(&mut self) -> Option<MessagesResponse> {
        let mut m = self.message.take()?;
        for (index, json) in self.partial_json.drain(..) {
            if let Some(ContentBlock::ToolUse { input, .. } | ContentBlock::ServerToolUse { input, .. }) =
                m.content.get_mut(index)
            {
                *input = serde_json::from_str(&json).unwrap_or_else(|_| serde_json::json!({ "_raw_arguments": json }));
            }
        }
        Some(m)
    }
}

fn empty() -> MessagesResponse {
    MessagesResponse {
        id: String::new(),
        kind: "message".into(),
        role: Role::Assistant,
        model: String::new(),
        content: Vec::new(),
        stop_reason: None,
        stop_sequence: None,
        usage: Usage::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::anthropic::{DeltaUsage, MessageDeltaBody};

    #[test]
    fn builds_text_and_tool_blocks() {
        let mut a = Accumulator::default();
        a.push(&StreamEvent::MessageStart { message: MessagesResponse { id: "m1".into(), ..empty() } });
        a.push(&StreamEvent::ContentBlockStart { index: 0, content_block: ContentBlock::text("") });
        a.push(&StreamEvent::ContentBlockDelta { index: 0, delta: BlockDelta::TextDelta { text: "Hel".into() } });
        a.push(&StreamEvent::ContentBlockDelta { index: 0, delta: BlockDelta::TextDelta { text: "lo".into() } });
        let tool = ContentBlock::ToolUse {
            id: "t1".into(),
            name: "f".into(),
            input: serde_json::json!({}),
            cache_control: None,
        };
        a.push(&StreamEvent::ContentBlockStart { index: 1, content_block: tool });
        for part in ["{\"a\"", ":1}"] {
            a.push(&StreamEvent::ContentBlockDelta {
                index: 1,
                delta: BlockDelta::InputJsonDelta { partial_json: part.into() },
            });
        }
        a.push(&StreamEvent::MessageDelta {
            delta: MessageDeltaBody { stop_reason: Some("tool_use".into()), stop_sequence: None },
            usage: DeltaUsage { output_tokens: 7, ..Default::default() },
        });
        let m = a.finish().unwrap();
        assert_eq!(m.id, "m1");
        assert_eq!(m.content[0], ContentBlock::text("Hello"));
        assert!(matches!(&m.content[1], ContentBlock::ToolUse { input, .. } if input == &serde_json::json!({"a": 1})));
        assert_eq!(m.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(m.usage.output_tokens, 7);
    }
}
