//! Canonical requests → an Anthropic upstream: model, max_tokens default and cap,
//! thinking that fits, serialized without copying the request.

use super::TargetOptions;
use crate::protocol::anthropic::{Content, ContentBlock, Message, MessagesRequest};

/// Finishes a canonical request for an Anthropic upstream: model, max_tokens default
/// and cap. The Messages API requires `max_tokens`, and thinking needs room above its
/// budget.
pub fn canonical_for_anthropic(mut req: MessagesRequest, target: &TargetOptions) -> MessagesRequest {
    req.model = target.model.clone();
    let max_tokens = effective_max_tokens(&mut req, target);
    req.max_tokens = Some(max_tokens);
    req
}

/// The Messages body for `req`, serialized in place: model, max_tokens and thinking are
/// set for this target for the serialization and restored after, so a retry on
/// another channel starts from the client's values and nothing is copied.
pub fn anthropic_body(req: &mut MessagesRequest, target: &TargetOptions, size_hint: usize) -> Vec<u8> {
    let saved = (std::mem::replace(&mut req.model, target.model.clone()), req.max_tokens, req.thinking.clone());
    let max_tokens = effective_max_tokens(req, target);
    req.max_tokens = Some(max_tokens);
    // Thinking that another provider produced (a Gemini signature, or none at all)
    // would be refused: only then is the history copied without it.
    let foreign = |b: &ContentBlock| matches!(b, ContentBlock::Thinking { signature, .. } if signature.is_empty() || signature.starts_with("gemini:"));
    let has_foreign = req.messages.iter().any(|m| matches!(&m.content, Content::Blocks(b) if b.iter().any(foreign)));
    let saved_messages = has_foreign.then(|| {
        let filtered = req
            .messages
            .iter()
            .map(|m| match &m.content {
                Content::Blocks(b) => Message {
                    role: m.role,
                    content: Content::Blocks(b.iter().filter(|x| !foreign(x)).cloned().collect()),
                },
                Content::Text(_) => m.clone(),
            })
            .collect();
        std::mem::replace(&mut req.messages, filtered)
    });
    if has_foreign {
        // The open turn lost its thinking: extended thinking cannot stay on for it.
        req.thinking = None;
    }
    let body = super::error::to_json_sized(req, size_hint);
    if let Some(messages) = saved_messages {
        req.messages = messages;
    }
    (req.model, req.max_tokens, req.thinking) = saved;
    body
}

/// `max_tokens` for an Anthropic upstream (default, cap), keeping a thinking budget
/// below it or dropping thinking when there is no room.
fn effective_max_tokens(req: &mut MessagesRequest, target: &TargetOptions) -> u32 {
    let mut max_tokens = target.cap(req.max_tokens.unwrap_or(target.default_max_tokens));
    if let Some(t) = req.thinking.as_mut() {
        if let Some(budget) = t.budget_tokens {
            if budget >= max_tokens {
                if max_tokens > 1024 {
                    t.budget_tokens = Some(max_tokens - 1);
                } else {
                    req.thinking = None;
                }
            }
        }
    }
    if max_tokens == 0 {
        max_tokens = 1;
    }
    max_tokens
}
