//! Model-turn parts ⇄ canonical assistant blocks, shared by request history and
//! responses. The stream decoder follows the same rules event by event.

use super::signature::{gemini_signature, split_tool_id, thinking_signature, tool_id};
use crate::protocol::anthropic::ContentBlock;
use crate::protocol::gemini::{FunctionCall, Part};
use serde_json::Value;

/// Model parts → canonical blocks. `call_id` gives each function call its base id.
/// Adjacent text parts join into one text block and adjacent thought parts into one
/// thinking block, until a signature closes it (as the streamed deltas would).
pub(super) fn model_blocks(parts: &[Part], call_id: &mut dyn FnMut(&FunctionCall) -> String) -> Vec<ContentBlock> {
    let mut blocks = Vec::new();
    for part in parts {
        if let Some(call) = &part.function_call {
            let base = call_id(call);
            // Another provider's thinking the gateway sealed on this call comes back as
            // the block it was, where the turn began with it.
            let sealed = part.thought_signature.as_deref().and_then(crate::translate::sealed::open);
            let signature = if sealed.is_some() { None } else { part.thought_signature.as_deref() };
            if let Some(block) = sealed {
                blocks.insert(0, block);
            }
            blocks.push(ContentBlock::ToolUse {
                id: tool_id(&base, signature),
                name: call.name.clone(),
                input: call_input(call),
                cache_control: None,
            });
            continue;
        }
        // inlineData, executableCode, … in a model turn have no canonical place.
        if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty()) {
            if part.thought == Some(true) {
                append_thinking(&mut blocks, text);
            } else {
                append_text(&mut blocks, text);
            }
        }
        if let Some(sig) = part.thought_signature.as_deref().filter(|s| !s.is_empty()) {
            sign(&mut blocks, sig);
        }
    }
    blocks
}

/// `functionCall.args` as a canonical input object.
pub(super) fn call_input(call: &FunctionCall) -> Value {
    match &call.args {
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(other) => serde_json::json!({ "_raw_arguments": other }),
    }
}

fn append_text(blocks: &mut Vec<ContentBlock>, t: &str) {
    match blocks.last_mut() {
        Some(ContentBlock::Text { text, .. }) => text.push_str(t),
        _ => blocks.push(ContentBlock::text(t)),
    }
}

fn append_thinking(blocks: &mut Vec<ContentBlock>, t: &str) {
    match blocks.last_mut() {
        Some(ContentBlock::Thinking { thinking, signature }) if signature.is_empty() => thinking.push_str(t),
        _ => blocks.push(ContentBlock::Thinking { thinking: t.to_string(), signature: String::new() }),
    }
}

/// Signs the open thinking block, or adds an empty signed one.
fn sign(blocks: &mut Vec<ContentBlock>, sig: &str) {
    match blocks.last_mut() {
        Some(ContentBlock::Thinking { signature, .. }) if signature.is_empty() => *signature = thinking_signature(sig),
        _ => blocks.push(ContentBlock::Thinking { thinking: String::new(), signature: thinking_signature(sig) }),
    }
}

/// Who the parts are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// Conversation history sent to a Gemini upstream: only Gemini-signed thoughts
    /// survive, and calls carry no ids.
    Upstream,
    /// A response to a Gemini client: every thought is shown, calls carry their ids.
    Client,
}

/// Canonical assistant blocks → model parts.
/// A thought part without a signature: reasoning shown to a client only when it asked
/// for thoughts (`includeThoughts`). A signed one carries what Gemini needs back.
pub(super) fn is_bare_thought(part: &Part) -> bool {
    part.thought == Some(true) && part.thought_signature.is_none()
}

pub(super) fn model_parts(blocks: &[ContentBlock], audience: Audience) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    // A client gets another provider's signed thinking sealed on the turn's first call.
    let mut carry = crate::translate::sealed::Carry::default();
    for block in blocks {
        if audience == Audience::Client {
            match block {
                ContentBlock::Thinking { signature, .. } if gemini_signature(signature).is_none() => {
                    carry.thinking(crate::translate::sealed::seal(block))
                }
                ContentBlock::RedactedThinking { .. } => carry.thinking(crate::translate::sealed::seal(block)),
                _ => {}
            }
        }
        match block {
            ContentBlock::Text { text, .. } if !text.is_empty() => parts.push(Part::text(text.as_str())),
            ContentBlock::Thinking { thinking, signature } => {
                let sig = gemini_signature(signature);
                match (sig, thinking.is_empty()) {
                    (Some(sig), true) => attach_signature(&mut parts, sig, audience),
                    (Some(sig), false) => parts.push(Part {
                        text: Some(thinking.clone()),
                        thought: Some(true),
                        thought_signature: Some(sig.to_string()),
                        ..Default::default()
                    }),
                    (None, false) if audience == Audience::Client => {
                        parts.push(Part { text: Some(thinking.clone()), thought: Some(true), ..Default::default() })
                    }
                    // Another provider's reasoning means nothing to Gemini.
                    (None, _) => {}
                }
            }
            ContentBlock::ToolUse { id, name, input, .. } => {
                let (base, sig) = split_tool_id(id);
                let sealed = if audience == Audience::Client { carry.for_call() } else { None };
                let sig = sig.or(sealed);
                parts.push(Part {
                    function_call: Some(FunctionCall {
                        id: (audience == Audience::Client).then(|| base.to_string()),
                        name: name.clone(),
                        args: Some(match input {
                            Value::Null => Value::Object(Default::default()),
                            v => v.clone(),
                        }),
                    }),
                    thought_signature: sig,
                    ..Default::default()
                });
            }
            _ => {}
        }
    }
    parts
}

/// An empty signed thinking block: the signature of the text part before it.
fn attach_signature(parts: &mut Vec<Part>, sig: &str, audience: Audience) {
    if let Some(last) = parts.last_mut() {
        if last.text.is_some() && last.thought.is_none() && last.thought_signature.is_none() {
            last.thought_signature = Some(sig.to_string());
            return;
        }
    }
    // Gemini validates signatures only on function calls and refuses empty text
    // parts; a client gets the part the way Gemini streams it.
    if audience == Audience::Client {
        parts.push(Part { text: Some(String::new()), thought_signature: Some(sig.to_string()), ..Default::default() });
    }
}
