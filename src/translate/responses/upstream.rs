//! Canonical requests → a Responses upstream.

use crate::protocol::anthropic::{Content, ContentBlock, ImageSource, MessagesRequest, Role, ToolChoice};
use crate::protocol::openai_responses::{
    ContentPart, Item, ItemContent, ReasoningConfig, ResponsesInput, ResponsesRequest, ResponsesTool,
};
use crate::protocol::RawJson;
use crate::translate::error::to_json;
use crate::translate::openai_call_id;
use crate::translate::tool_arguments;
use crate::translate::{ApiError, TargetOptions};
use serde_json::{json, Value};

/// The smallest `max_output_tokens` the Responses API accepts.
const MIN_OUTPUT_TOKENS: u32 = 16;

pub(super) fn from_canonical(req: &MessagesRequest, target: &TargetOptions) -> Result<Vec<u8>, ApiError> {
    let mut input = Vec::with_capacity(req.messages.len());
    for msg in &req.messages {
        match msg.role {
            Role::System => {
                let text = msg.content.joined_text("\n\n");
                if !text.is_empty() {
                    input.push(message("system", ItemContent::Text(text)));
                }
            }
            Role::User => push_user_turn(&msg.content, &mut input),
            Role::Assistant => push_assistant_turn(&msg.content, &mut input),
        }
    }

    let mut tools: Vec<ResponsesTool> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .map(|t| ResponsesTool {
            kind: "function".to_string(),
            name: Some(t.name.clone()),
            description: t.description.as_deref().map(str::to_string),
            parameters: Some(
                t.input_schema.as_ref().map_or_else(RawJson::empty_object_schema, RawJson::without_schema_uri),
            ),
            strict: Some(false),
            ..Default::default()
        })
        .collect();
    // A hosted web search runs at OpenAI too, on a channel that runs it; its sources come
    // back with its call. Elsewhere a choice that forced it goes to the model.
    let search = super::web_search::requested(req.tools.as_ref()).filter(|_| target.hosted_web_search);
    if let Some(tool) = search {
        tools.push(super::web_search::responses_tool(tool));
    }
    let choice = if search.is_some() { req.tool_choice.clone() } else { crate::translate::function_tool_choice(req) };
    let (tool_choice, parallel_tool_calls) = match (&choice, tools.is_empty()) {
        (Some(choice), false) => {
            let mapped = match choice {
                ToolChoice::Auto { .. } => json!("auto"),
                ToolChoice::Any { .. } => json!("required"),
                ToolChoice::None => json!("none"),
                // Hosted tools are forced through `allowed_tools` (OpenAI's `tool_choice`
                // types name only the older `web_search_preview`), or as `required` when
                // the search is the only tool, as in Claude Code's WebSearch request.
                ToolChoice::Tool { name, .. } if search.is_some_and(|t| &t.name == name) => {
                    if tools.len() == 1 {
                        json!("required")
                    } else {
                        json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]})
                    }
                }
                ToolChoice::Tool { name, .. } => json!({"type": "function", "name": name}),
            };
            (Some(mapped), choice.disables_parallel().then_some(false))
        }
        _ => (None, None),
    };
    let effort = if target.reasoning { crate::translate::reasoning_effort(req) } else { None };
    // A client without a limit still gets the channel's cap.
    let max_output_tokens =
        req.max_tokens.map(|n| target.cap(n)).or(target.max_tokens_cap).map(|n| n.max(MIN_OUTPUT_TOKENS));

    let body = ResponsesRequest {
        model: target.model.clone(),
        input: Some(ResponsesInput::Items(input)),
        instructions: req.system.as_ref().map(|s| s.joined_text("\n\n")).filter(|t| !t.is_empty()),
        max_output_tokens,
        // OpenAI's reasoning models refuse sampling other than their default.
        temperature: req.temperature.filter(|_| !target.reasoning),
        top_p: req.top_p.filter(|_| !target.reasoning),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        parallel_tool_calls,
        reasoning: effort.map(|e| ReasoningConfig {
            effort: Some(e.to_string()),
            summary: target.reasoning_summary.map(str::to_string),
        }),
        text: req
            .output_config
            .as_ref()
            .and_then(|c| c.format.as_ref())
            .and_then(crate::translate::output_format::to_responses),
        metadata: None,
        user: None,
        safety_identifier: None,
        store: Some(false),
        previous_response_id: None,
        truncation: None,
        stream: req.stream.filter(|s| *s),
        include: search.map(|_| vec![super::web_search::SOURCES.to_string()]),
    };
    Ok(to_json(&body))
}

fn message(role: &str, content: ItemContent) -> Item {
    Item::Message { id: None, status: None, content, role: role.to_string() }
}

/// A user turn: tool results become `function_call_output` items first, then the rest
/// of the turn is one user message.
fn push_user_turn(content: &Content, input: &mut Vec<Item>) {
    let mut parts = Vec::new();
    for block in content.blocks().iter() {
        match block {
            ContentBlock::ToolResult { tool_use_id, content, is_error, .. } => input.push(Item::FunctionCallOutput {
                id: None,
                call_id: openai_call_id(tool_use_id).into_owned(),
                output: tool_output(content.as_ref(), *is_error == Some(true)),
                status: None,
            }),
            ContentBlock::Text { text, .. } if !text.is_empty() => {
                parts.push(ContentPart::InputText { text: text.clone() })
            }
            ContentBlock::Image { source, .. } => parts.extend(image_part(source)),
            ContentBlock::Document { source, title, .. } => parts.extend(document_part(source, title.as_deref())),
            _ => {}
        }
    }
    let content = match parts.as_slice() {
        [] => return,
        [ContentPart::InputText { text }] => ItemContent::Text(text.clone()),
        _ => ItemContent::Parts(parts),
    };
    input.push(message("user", content));
}

/// Tool output: its text, or parts when it holds images. Responses has no error flag,
/// so an error result says so in its text.
fn tool_output(content: Option<&Content>, is_error: bool) -> ItemContent {
    let mut text = String::new();
    let mut images = Vec::new();
    for block in content.map(|c| c.blocks().into_owned()).unwrap_or_default() {
        match block {
            ContentBlock::Text { text: t, .. } => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t);
            }
            ContentBlock::Image { source, .. } => images.extend(image_part(&source)),
            // A PDF a tool read (Claude Code's Read) goes with the output as a file.
            ContentBlock::Document { source, title, .. } => images.extend(document_part(&source, title.as_deref())),
            _ => {}
        }
    }
    if is_error {
        text.insert_str(0, "Error: ");
    }
    if images.is_empty() {
        return ItemContent::Text(text.into());
    }
    let mut parts = Vec::with_capacity(images.len() + 1);
    if !text.is_empty() {
        parts.push(ContentPart::InputText { text: text.into() });
    }
    parts.extend(images);
    ItemContent::Parts(parts)
}

fn image_part(source: &ImageSource) -> Option<ContentPart> {
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
        ImageSource::Other => return None,
    };
    Some(ContentPart::InputImage { image_url: Some(url), file_id: None, detail: Some("auto".to_string()) })
}

fn document_part(source: &Value, title: Option<&str>) -> Option<ContentPart> {
    let file = |file_data: Option<String>, file_url: Option<String>| ContentPart::InputFile {
        file_data,
        file_id: None,
        file_url,
        filename: Some(title.unwrap_or("document.pdf").to_string()),
    };
    match source.get("type").and_then(Value::as_str)? {
        "base64" => {
            let media_type = source.get("media_type").and_then(Value::as_str).unwrap_or("application/pdf");
            let data = source.get("data").and_then(Value::as_str)?;
            Some(file(Some(format!("data:{media_type};base64,{data}")), None))
        }
        "url" => Some(file(None, Some(source.get("url").and_then(Value::as_str)?.to_string()))),
        "text" => source.get("data").and_then(Value::as_str).map(|t| ContentPart::InputText { text: t.into() }),
        _ => None,
    }
}

/// An assistant turn: text runs become `message` items, each `tool_use` a
/// `function_call` item, in order. Thinking is dropped: signatures mean nothing to OpenAI.
fn push_assistant_turn(content: &Content, input: &mut Vec<Item>) {
    let mut text = String::new();
    for block in content.blocks().iter() {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(t),
            ContentBlock::ToolUse { id, name, input: args, .. } => {
                flush_assistant_text(&mut text, input);
                input.push(Item::FunctionCall {
                    id: None,
                    status: None,
                    arguments: tool_arguments(args),
                    call_id: openai_call_id(id).into_owned(),
                    name: name.clone(),
                    namespace: None,
                });
            }
            _ => {}
        }
    }
    flush_assistant_text(&mut text, input);
}

fn flush_assistant_text(text: &mut String, input: &mut Vec<Item>) {
    if text.is_empty() {
        return;
    }
    let part = ContentPart::OutputText { annotations: Vec::new(), logprobs: None, text: std::mem::take(text).into() };
    input.push(message("assistant", ItemContent::Parts(vec![part])));
}
