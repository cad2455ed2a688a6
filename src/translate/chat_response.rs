//! Non-streaming responses between the canonical (Anthropic) model and OpenAI Chat.

use super::{
    anthropic_usage_from_chat, chat_usage_from_anthropic, finish_reason_from_stop, stop_reason_from_finish, unix_now,
    ApiError,
};
use crate::protocol::anthropic::{ContentBlock, MessagesResponse, Role};
use crate::protocol::openai_chat::{ChatResponse, Choice, FunctionCall, ResponseMessage, ToolCall};
use crate::protocol::Text;
use serde_json::Value;

/// An Anthropic message as a Chat completion. Thinking text is carried in the
/// de-facto `reasoning_content` field; signatures are not exposed.
pub fn canonical_to_chat_response(resp: MessagesResponse) -> ChatResponse {
    let mut texts = Vec::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for block in resp.content {
        match block {
            ContentBlock::Text { text, .. } => texts.push(text),
            ContentBlock::Thinking { thinking, .. } => reasoning.push_str(&thinking),
            ContentBlock::ToolUse { id, name, input, .. } => calls.push(ToolCall {
                id,
                kind: "function".to_string(),
                function: FunctionCall {
                    name,
                    arguments: serde_json::to_string(&input).unwrap_or_else(|_| "{}".into()),
                },
            }),
            _ => {}
        }
    }
    // One text block (the usual answer) is moved, literal and all.
    let text = match <[Text; 1]>::try_from(texts) {
        Ok([one]) => one,
        Err(texts) => Text::join(&texts, ""),
    };
    let finish_reason = resp.stop_reason.as_deref().map(finish_reason_from_stop).unwrap_or("stop");
    let refused = resp.stop_reason.as_deref() == Some("refusal");
    ChatResponse {
        id: resp.id,
        object: "chat.completion".to_string(),
        created: unix_now(),
        model: resp.model,
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_string(),
                content: (!text.is_empty() || calls.is_empty()).then_some(text),
                refusal: refused.then(|| "The model refused to answer.".to_string()),
                tool_calls: (!calls.is_empty()).then_some(calls),
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                reasoning: None,
            },
            finish_reason: Some(finish_reason.to_string()),
            logprobs: None,
        }],
        usage: Some(chat_usage_from_anthropic(&resp.usage)),
        system_fingerprint: None,
    }
}

/// A Chat completion as an Anthropic message (first choice).
pub fn chat_to_canonical_response(resp: ChatResponse) -> Result<MessagesResponse, ApiError> {
    chat_to_canonical_answer(resp, &[])
}

/// [`chat_to_canonical_response`] for a request whose history holds the tool ids
/// `used`: a call the upstream gives one of them gets a new id (`chat_call_id`).
pub fn chat_to_canonical_answer(resp: ChatResponse, used: &[String]) -> Result<MessagesResponse, ApiError> {
    let choice = resp
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(super::ErrorKind::Api, "upstream returned no choices"))?;
    let msg = choice.message;
    let mut content = Vec::new();
    if let Some(r) = msg.reasoning_content.or(msg.reasoning).filter(|r| !r.is_empty()) {
        content.push(ContentBlock::Thinking { thinking: r, signature: String::new() });
    }
    if let Some(t) = msg.content.filter(|t| !t.is_empty()) {
        content.push(ContentBlock::text(t));
    }
    let refused = msg.refusal.as_ref().is_some_and(|r| !r.is_empty());
    if let Some(r) = msg.refusal.filter(|r| !r.is_empty()) {
        content.push(ContentBlock::text(r));
    }
    let calls = msg.tool_calls.unwrap_or_default();
    let has_calls = !calls.is_empty();
    for call in calls {
        let input = match serde_json::from_str::<Value>(&call.function.arguments) {
            Ok(v @ Value::Object(_)) => v,
            _ if call.function.arguments.trim().is_empty() => Value::Object(Default::default()),
            _ => serde_json::json!({ "_raw_arguments": call.function.arguments }),
        };
        // A call needs an id its result can name, and no other call has.
        let taken = |id: &str| {
            used.iter().any(|u| u == id)
                || content.iter().any(|b| matches!(b, ContentBlock::ToolUse { id: other, .. } if other == id))
        };
        let id = super::chat_call_id(&call.id, taken);
        content.push(ContentBlock::ToolUse { id, name: call.function.name, input, cache_control: None });
    }
    let stop_reason = if refused {
        "refusal"
    } else {
        stop_reason_from_finish(choice.finish_reason.as_deref().unwrap_or("stop"), has_calls)
    };
    let id = if resp.id.is_empty() { format!("msg_relay_{:016x}", fastrand::u64(..)) } else { resp.id };
    Ok(MessagesResponse {
        id,
        kind: "message".to_string(),
        role: Role::Assistant,
        model: resp.model,
        content,
        stop_reason: Some(stop_reason.to_string()),
        stop_sequence: None,
        usage: resp.usage.as_ref().map(anthropic_usage_from_chat).unwrap_or_default(),
    })
}
