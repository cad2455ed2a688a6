//! Complete (non-streaming) `generateContent` responses ⇄ canonical messages.

use super::parts::{is_bare_thought, model_blocks, model_parts, Audience};
use super::search::{search_of, Grounding};
use super::{canonical_usage, stop_reason_from_finish, usage_metadata, ResponseIds};
use crate::protocol::anthropic::{ContentBlock, MessagesResponse, Role};
use crate::protocol::gemini::{Candidate, Content, GenerateContentResponse};
use crate::translate::error::to_json;
use crate::translate::{ApiError, ErrorKind};

pub(super) fn to_canonical(body: &[u8], model: &str) -> Result<MessagesResponse, ApiError> {
    let resp: GenerateContentResponse = crate::protocol::from_json(body)
        .map_err(|e| ApiError::new(ErrorKind::Api, format!("upstream returned an invalid response: {e}")))?;
    let mut ids = ResponseIds::new(resp.response_id.as_deref());
    let (content, stop_reason) = match resp.candidates.first() {
        Some(candidate) => {
            let parts = candidate.content.as_ref().map(|c| c.parts.as_slice()).unwrap_or_default();
            let mut content = model_blocks(parts, &mut |call| ids.call_id(call));
            let meta = candidate.grounding_metadata.as_ref();
            if let Some(search) = meta.and_then(|m| search_of(m, resp.response_id.as_deref())) {
                // The search ran before the text it grounds.
                content.splice(0..0, search.blocks());
            }
            // Thinking alone says nothing.
            if !content.iter().any(|b| matches!(b, ContentBlock::Text { .. } | ContentBlock::ToolUse { .. })) {
                let (reason, message) = (candidate.finish_reason.as_deref(), candidate.finish_message.as_deref());
                if let Some(err) = super::tool_call_failure(reason, message) {
                    return Err(err);
                }
            }
            let has_calls = content.iter().any(|b| matches!(b, ContentBlock::ToolUse { .. }));
            (content, stop_reason_from_finish(candidate.finish_reason.as_deref(), has_calls))
        }
        // A blocked prompt: HTTP 200, no candidates, a block reason.
        None if resp.prompt_feedback.as_ref().is_some_and(|f| f.block_reason.is_some()) => (Vec::new(), "refusal"),
        None => return Err(ApiError::new(ErrorKind::Api, "upstream returned no candidates")),
    };
    let mut usage = canonical_usage(&resp.usage_metadata.unwrap_or_default());
    let searched = crate::translate::web_search::count(&content) > 0;
    let meta = resp.candidates.first().and_then(|c| c.grounding_metadata.as_ref());
    let searches = meta.filter(|_| searched).map_or(0, super::search::count);
    usage.server_tool_use = crate::translate::web_search::usage(searches);
    Ok(MessagesResponse {
        id: ids.message_id(resp.response_id.as_deref()),
        kind: "message".to_string(),
        role: Role::Assistant,
        model: resp.model_version.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| model.to_string()),
        content,
        stop_reason: Some(stop_reason.to_string()),
        stop_sequence: None,
        usage,
    })
}

pub(super) fn from_canonical(resp: &MessagesResponse, thoughts: bool) -> Vec<u8> {
    // A call whose arguments were not JSON (cut off, or malformed) is left out, as the
    // stream leaves it out; the finish reason says why.
    let malformed = resp.content.iter().any(unparsed_call);
    let content: std::borrow::Cow<'_, [ContentBlock]> = if malformed {
        resp.content.iter().filter(|b| !unparsed_call(b)).cloned().collect::<Vec<_>>().into()
    } else {
        resp.content.as_slice().into()
    };
    let mut parts = model_parts(&content, Audience::Client);
    if !thoughts {
        parts.retain(|p| !is_bare_thought(p));
    }
    let body = GenerateContentResponse {
        candidates: vec![Candidate {
            // A refusal without text has no content, as Gemini sends it.
            content: (!parts.is_empty()).then(|| Content { role: Some("model".into()), parts }),
            finish_reason: Some(super::encode::finish_reason(resp.stop_reason.as_deref(), malformed).to_string()),
            index: Some(0),
            grounding_metadata: Grounding::of(&resp.content).take(),
            ..Default::default()
        }],
        prompt_feedback: None,
        usage_metadata: Some(usage_metadata(&resp.usage)),
        model_version: Some(resp.model.clone()),
        response_id: Some(resp.id.clone()),
        error: None,
    };
    to_json(&body)
}

/// A tool call whose arguments could not be read: its input is only `_raw_arguments`.
fn unparsed_call(block: &ContentBlock) -> bool {
    matches!(block, ContentBlock::ToolUse { input: serde_json::Value::Object(m), .. } if m.len() == 1 && m.contains_key("_raw_arguments"))
}
