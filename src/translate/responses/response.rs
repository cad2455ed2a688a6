//! Complete (non-streaming) answers between the canonical model and a Responses
//! `response` object, and the object's envelope, which the stream encoder shares.

use super::{
    custom_tool_input, item_id, status_of, stop_reason_of, usage_from_canonical, usage_to_canonical,
    ResponsesRequestInfo,
};
use crate::protocol::anthropic::{ContentBlock, MessagesResponse, Role};
use crate::protocol::openai_responses::{
    ContentPart, IncompleteDetails, Item, ItemContent, ResponseError, ResponseObject, SummaryPart,
};
use crate::translate::error::to_json;
use crate::translate::{sanitize_tool_id, unix_now, ApiError, ErrorKind};
use serde_json::{json, Value};

// ======================================================= Responses → canonical

pub(super) fn to_canonical(body: &[u8]) -> Result<MessagesResponse, ApiError> {
    let resp: ResponseObject = crate::protocol::from_json(body)
        .map_err(|e| ApiError::new(ErrorKind::Api, format!("upstream returned an invalid response: {e}")))?;
    let status = resp.status.as_deref();
    if status == Some("failed") || resp.error.is_some() {
        return Err(failed_error(resp.error.as_ref()));
    }
    if let Some(s @ ("cancelled" | "queued" | "in_progress")) = status {
        return Err(ApiError::new(ErrorKind::Api, format!("upstream response is {s}, not complete")));
    }
    let mut content = Vec::new();
    let mut has_calls = false;
    let mut refused = false;
    for item in resp.output {
        match item {
            Item::Reasoning { summary, content: raw, .. } => {
                let thinking = reasoning_text(&summary, raw.as_deref());
                if !thinking.is_empty() {
                    // A signature from OpenAI would mean nothing to Anthropic: left empty.
                    content.push(ContentBlock::Thinking { thinking, signature: String::new() });
                }
            }
            Item::Message { content: ItemContent::Text(t), .. } if !t.is_empty() => content.push(ContentBlock::text(t)),
            Item::Message { content: ItemContent::Parts(parts), .. } => {
                for part in parts {
                    match part {
                        ContentPart::OutputText { text, .. } if !text.is_empty() => {
                            content.push(ContentBlock::text(text))
                        }
                        ContentPart::Refusal { refusal } => {
                            refused = true;
                            if !refusal.is_empty() {
                                content.push(ContentBlock::text(refusal));
                            }
                        }
                        _ => {}
                    }
                }
            }
            search @ Item::WebSearchCall { .. } => {
                content.extend(super::web_search::search_of(&search).into_iter().flat_map(|s| s.blocks()));
            }
            call @ (Item::FunctionCall { .. } | Item::CustomToolCall { .. }) => {
                if let Some((call_id, name, input)) = super::tool_call_parts(call) {
                    has_calls = true;
                    let id = sanitize_tool_id(call_id.unwrap_or_default());
                    content.push(ContentBlock::ToolUse { id, name, input, cache_control: None });
                }
            }
            _ => {}
        }
    }
    let incomplete = resp.incomplete_details.as_ref().and_then(|d| d.reason.as_deref());
    let stop_reason = stop_reason_of(status, incomplete, has_calls, refused);
    let mut usage = resp.usage.as_ref().map(usage_to_canonical).unwrap_or_default();
    usage.server_tool_use = crate::translate::web_search::usage(crate::translate::web_search::count(&content));
    Ok(MessagesResponse {
        id: resp.id,
        kind: "message".to_string(),
        role: Role::Assistant,
        model: resp.model,
        content,
        stop_reason: Some(stop_reason.to_string()),
        stop_sequence: None,
        usage,
    })
}

/// The error a `failed` response stands for.
pub(super) fn failed_error(error: Option<&ResponseError>) -> ApiError {
    match error {
        Some(e) => {
            let message = if e.message.is_empty() { "upstream response failed" } else { e.message.as_str() };
            ApiError::from_openai_error(e.code.clone(), None, message)
        }
        None => ApiError::new(ErrorKind::Api, "upstream response failed"),
    }
}

/// A reasoning item's summary parts joined; its raw reasoning text when it has no summary.
pub(super) fn reasoning_text(summary: &[SummaryPart], raw: Option<&[SummaryPart]>) -> String {
    let join = |parts: &[SummaryPart]| {
        parts.iter().map(|p| p.text.as_str()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n\n")
    };
    let text = join(summary);
    if text.is_empty() {
        raw.map(join).unwrap_or_default()
    } else {
        text
    }
}

// ======================================================= canonical → Responses

pub(super) fn from_canonical(resp: &MessagesResponse, response_id: &str, info: &ResponsesRequestInfo) -> Vec<u8> {
    let mut output = Vec::new();
    // Consecutive text blocks (citations split text) make one message, as when streaming.
    let mut text = String::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(t),
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {
                let shown = match block {
                    ContentBlock::Thinking { thinking, .. } => thinking.as_str(),
                    _ => "",
                };
                let sealed = info.encrypted_reasoning.then(|| crate::translate::sealed::seal(block)).flatten();
                if shown.is_empty() && sealed.is_none() {
                    continue;
                }
                flush_message(&mut text, response_id, &mut output);
                output.push(reasoning_item(item_id("rs", response_id, output.len()), shown.to_string(), sealed));
            }
            ContentBlock::ToolUse { id, name, input, .. } => {
                flush_message(&mut text, response_id, &mut output);
                let (at, call_id, name) = (output.len(), id.clone(), name.clone());
                output.push(if info.is_custom_tool(&name) {
                    let input = custom_tool_input(input);
                    custom_tool_call_item(info, item_id("ctc", response_id, at), call_id, &name, input, "completed")
                } else if info.is_tool_search(&name) {
                    super::tool_search::call_item(item_id("tsc", response_id, at), call_id, input.clone(), "completed")
                } else {
                    let arguments = crate::translate::tool_arguments(input);
                    function_call_item(info, item_id("fc", response_id, at), call_id, &name, arguments, "completed")
                });
            }
            ContentBlock::ServerToolUse { id, name, input } if name == super::web_search::NAME => {
                flush_message(&mut text, response_id, &mut output);
                let results = resp.content.iter().find_map(|b| match b {
                    ContentBlock::WebSearchToolResult { tool_use_id, content } if tool_use_id == id => Some(content),
                    _ => None,
                });
                let results = results.cloned().unwrap_or_else(super::web_search::unfinished);
                let ws_id = item_id("ws", response_id, output.len());
                output.push(super::web_search::call_item(ws_id, input, Some(&results), info.web_search_sources));
            }
            // Other server-tool blocks have no Responses shape.
            _ => {}
        }
    }
    flush_message(&mut text, response_id, &mut output);

    let (status, incomplete) = status_of(resp.stop_reason.as_deref());
    if incomplete.is_some() {
        // The answer was cut (or refused) in its last item.
        if let Some(
            Item::Message { status, .. } | Item::FunctionCall { status, .. } | Item::CustomToolCall { status, .. },
        ) = output.last_mut()
        {
            *status = Some("incomplete".to_string());
        }
    }
    let mut object = envelope(response_id, &resp.model, info, unix_now());
    object.status = Some(status.to_string());
    object.incomplete_details = incomplete.map(|r| IncompleteDetails { reason: Some(r.to_string()) });
    object.output = output;
    object.usage = Some(usage_from_canonical(&resp.usage));
    to_json(&object)
}

fn flush_message(text: &mut String, response_id: &str, output: &mut Vec<Item>) {
    if text.is_empty() {
        return;
    }
    let id = item_id("msg", response_id, output.len());
    output.push(message_item(id, std::mem::take(text), "completed"));
}

/// A `response` object with the request's echoed fields: `in_progress`, no output, no
/// usage. `model` is the answering model (the request's when unknown).
pub(super) fn envelope(id: &str, model: &str, info: &ResponsesRequestInfo, created_at: u64) -> ResponseObject {
    ResponseObject {
        id: id.to_string(),
        object: "response".to_string(),
        created_at,
        status: Some("in_progress".to_string()),
        background: false,
        error: None,
        incomplete_details: None,
        instructions: info.instructions.as_ref().map(|t| Value::String(t.to_string())),
        max_output_tokens: info.max_output_tokens,
        model: if model.is_empty() { info.model.clone() } else { model.to_string() },
        output: Vec::new(),
        parallel_tool_calls: info.parallel_tool_calls.unwrap_or(true),
        previous_response_id: info.previous_response_id.clone(),
        reasoning: Some(info.reasoning.clone().unwrap_or_else(|| json!({"effort": null, "summary": null}))),
        store: Some(info.store),
        temperature: info.temperature,
        text: Some(info.text.clone().unwrap_or_else(|| json!({"format": {"type": "text"}}))),
        tool_choice: info.tool_choice.clone().unwrap_or_else(|| json!("auto")),
        tools: info.tools.clone().unwrap_or_default(),
        top_p: info.top_p,
        truncation: Some(info.truncation.clone().unwrap_or_else(|| "disabled".to_string())),
        usage: None,
        user: info.user.clone(),
        metadata: info.metadata.clone().unwrap_or_else(|| json!({})),
    }
}

/// A failed response's `error`: the upstream's own code when it gave one.
pub(super) fn response_error(kind: ErrorKind, code: Option<&str>, message: &str) -> ResponseError {
    let code = code.unwrap_or(super::response_error_code(kind));
    ResponseError { code: Some(code.to_string()), message: message.to_string() }
}

pub(super) fn output_text(text: String) -> ContentPart {
    ContentPart::OutputText { annotations: Vec::new(), logprobs: Some(Vec::new()), text: text.into() }
}

pub(super) fn message_item(id: String, text: String, status: &str) -> Item {
    Item::Message {
        id: Some(id),
        status: Some(status.to_string()),
        content: ItemContent::Parts(vec![output_text(text)]),
        role: "assistant".to_string(),
    }
}

/// A `function_call` item; `name` is the upstream's, given back as the client named its
/// tool (and namespace: `ResponsesRequestInfo::client_tool`).
pub(super) fn function_call_item(
    info: &ResponsesRequestInfo,
    id: String,
    call_id: String,
    name: &str,
    arguments: String,
    status: &str,
) -> Item {
    let (name, namespace) = info.client_tool(name);
    Item::FunctionCall {
        id: Some(id),
        status: Some(status.to_string()),
        arguments,
        call_id,
        name: name.to_string(),
        namespace: namespace.map(str::to_string),
    }
}

pub(super) fn custom_tool_call_item(
    info: &ResponsesRequestInfo,
    id: String,
    call_id: String,
    name: &str,
    input: String,
    status: &str,
) -> Item {
    let name = info.client_tool(name).0.to_string();
    Item::CustomToolCall { id: Some(id), status: Some(status.to_string()), call_id, name, input }
}

/// A `reasoning` item showing `text` as its summary, with the thinking it stands for
/// sealed in `encrypted_content` when the client asked for it.
pub(super) fn reasoning_item(id: String, text: String, encrypted_content: Option<String>) -> Item {
    let summary = if text.is_empty() { Vec::new() } else { vec![SummaryPart::summary(text)] };
    Item::Reasoning { id, summary, content: None, encrypted_content, status: None }
}
