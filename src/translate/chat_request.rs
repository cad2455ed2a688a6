//! Canonical (Anthropic) requests → OpenAI Chat Completions.

use super::{ApiError, TargetOptions};
use crate::protocol::anthropic::{Content, ContentBlock, ImageSource, MessagesRequest, Role, ToolChoice};
use crate::protocol::openai_chat::{
    ChatContent, ChatMessage, ChatPart, ChatRequest, ChatTool, ChatToolChoice, FilePart, FunctionCall, FunctionDef,
    ImageUrl, NamedFunction, NamedToolChoice, Stop, StreamOptions, ToolCall,
};
use crate::protocol::{RawJson, Text};
use serde_json::Value;

/// Chat accepts at most four stop sequences.
const CHAT_MAX_STOP: usize = 4;

// ======================================================= canonical → OpenAI Chat

/// Builds the Chat request for an OpenAI-compatible upstream.
pub fn canonical_to_chat(req: &MessagesRequest, target: &TargetOptions) -> ChatRequest {
    let reasoning_effort = if target.reasoning { super::reasoning_effort(req).map(str::to_string) } else { None };
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = &req.system {
        let text = system.joined_text("\n\n");
        if !text.is_empty() {
            messages.push(text_message("system", text));
        }
    }
    for msg in &req.messages {
        match msg.role {
            Role::System => {
                let text = msg.content.joined_text("\n\n");
                if !text.is_empty() {
                    messages.push(text_message("system", text));
                }
            }
            Role::User => push_user_turn(&msg.content, &mut messages),
            Role::Assistant => messages.push(assistant_turn(&msg.content)),
        }
    }

    let tools: Vec<ChatTool> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .map(|t| ChatTool {
            kind: "function".to_string(),
            function: Some(FunctionDef {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.input_schema.as_ref().map(RawJson::without_schema_uri),
                strict: None,
            }),
        })
        .collect();
    let has_tools = !tools.is_empty();
    let (tool_choice, parallel_tool_calls) = match (&super::function_tool_choice(req), has_tools) {
        (Some(choice), true) => {
            let mapped = match choice {
                ToolChoice::Auto { .. } => ChatToolChoice::Mode("auto".into()),
                ToolChoice::Any { .. } => ChatToolChoice::Mode("required".into()),
                ToolChoice::None => ChatToolChoice::Mode("none".into()),
                ToolChoice::Tool { name, .. } => ChatToolChoice::Named(NamedToolChoice {
                    kind: "function".into(),
                    function: NamedFunction { name: name.clone() },
                }),
            };
            (Some(mapped), choice.disables_parallel().then_some(false))
        }
        _ => (None, None),
    };

    let stream = req.stream.unwrap_or(false);
    ChatRequest {
        model: target.model.clone(),
        messages,
        max_tokens: None,
        max_completion_tokens: req.max_tokens.map(|n| target.cap(n)),
        // OpenAI's reasoning models refuse sampling other than their default, whether or
        // not the request asks them to reason: a channel of such models is left to it.
        temperature: req.temperature.filter(|_| !target.reasoning),
        top_p: req.top_p.filter(|_| !target.reasoning),
        stop: req
            .stop_sequences
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| Stop::Many(s.iter().take(CHAT_MAX_STOP).cloned().collect())),
        n: None,
        stream: stream.then_some(true),
        // Without it the final Anthropic message_delta could not carry real counts.
        stream_options: stream.then_some(StreamOptions { include_usage: Some(true) }),
        tools: has_tools.then_some(tools),
        tool_choice,
        parallel_tool_calls,
        reasoning_effort,
        response_format: req
            .output_config
            .as_ref()
            .and_then(|c| c.format.as_ref())
            .and_then(super::output_format::to_chat),
        user: None,
        metadata: None,
        seed: None,
        presence_penalty: None,
        frequency_penalty: None,
    }
}

fn text_message(role: &str, text: Text) -> ChatMessage {
    ChatMessage { role: role.to_string(), content: Some(ChatContent::Text(text)), ..Default::default() }
}

/// A user turn: its tool results become `tool` messages first (Chat requires them right
/// after the assistant's calls), then the rest of the turn as one user message.
fn push_user_turn(content: &Content, out: &mut Vec<ChatMessage>) {
    let blocks = match content {
        Content::Text(text) => {
            out.push(text_message("user", text.clone()));
            return;
        }
        Content::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::new();
    let mut tool_images = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::ToolResult { tool_use_id, content, is_error, .. } => {
                let mut texts = Vec::new();
                if let Some(content) = content {
                    match content {
                        Content::Text(t) => texts.push(t),
                        Content::Blocks(blocks) => {
                            for b in blocks {
                                match b {
                                    // Separators start after the first non-empty text.
                                    ContentBlock::Text { text: t, .. } if !texts.is_empty() || !t.is_empty() => {
                                        texts.push(t)
                                    }
                                    ContentBlock::Image { source, .. } => {
                                        if let Some(p) = image_part(source) {
                                            tool_images.push(p);
                                        }
                                    }
                                    // A PDF a tool read (Claude Code's Read): a tool
                                    // message holds text only, so it follows as images do.
                                    ContentBlock::Document { source, title, .. } => {
                                        if let Some(p) = document_part(source, title.clone()) {
                                            tool_images.push(p);
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                }
                let mut text = Text::join(texts, "\n");
                if *is_error == Some(true) {
                    text = text.prefixed("Error: ");
                }
                out.push(ChatMessage {
                    role: "tool".to_string(),
                    content: Some(ChatContent::Text(text)),
                    tool_call_id: Some(super::openai_call_id(tool_use_id).into_owned()),
                    ..Default::default()
                });
            }
            other => {
                if let Some(p) = user_part(other) {
                    parts.push(p);
                }
            }
        }
    }
    // Chat tool messages hold text only: images and files a tool returned follow in a
    // user message.
    if !tool_images.is_empty() {
        let only_images = tool_images.iter().all(|p| matches!(p, ChatPart::ImageUrl { .. }));
        let note = if only_images { "Images" } else { "Files" };
        let mut with_note = vec![ChatPart::Text { text: format!("{note} returned by the tool call above:").into() }];
        with_note.extend(tool_images);
        with_note.extend(parts);
        parts = with_note;
    }
    if parts.is_empty() {
        return;
    }
    let content = match parts.as_slice() {
        [ChatPart::Text { text }] => ChatContent::Text(text.clone()),
        _ => ChatContent::Parts(parts),
    };
    out.push(ChatMessage { role: "user".to_string(), content: Some(content), ..Default::default() });
}

fn user_part(block: &ContentBlock) -> Option<ChatPart> {
    match block {
        ContentBlock::Text { text, .. } if !text.is_empty() => Some(ChatPart::Text { text: text.clone() }),
        ContentBlock::Image { source, .. } => image_part(source),
        ContentBlock::Document { source, title, .. } => document_part(source, title.clone()),
        _ => None,
    }
}

fn image_part(source: &ImageSource) -> Option<ChatPart> {
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
        ImageSource::Other => return None,
    };
    Some(ChatPart::ImageUrl { image_url: ImageUrl { url, detail: None } })
}

/// Refuses a request holding a document Chat Completions cannot take: one given by URL
/// or by a file id of another provider (a Chat `file` part carries data or an OpenAI
/// file id only). Sent without it, the model would answer about a document it never saw.
pub fn refuse_unsendable_documents(req: &MessagesRequest) -> Result<(), ApiError> {
    for (i, message) in req.messages.iter().enumerate() {
        for block in message.content.blocks().iter() {
            let ContentBlock::Document { source, .. } = block else { continue };
            let kind = source.get("type").and_then(Value::as_str).unwrap_or("");
            if matches!(kind, "url" | "file") {
                return Err(ApiError::invalid(format!(
                    "messages[{i}]: a document given by {kind} cannot be sent to this model's upstream \
                     (Chat Completions takes a document's data only); send the file's content"
                )));
            }
        }
    }
    Ok(())
}

fn document_part(source: &Value, title: Option<String>) -> Option<ChatPart> {
    let kind = source.get("type").and_then(Value::as_str)?;
    match kind {
        "base64" => {
            let media_type = source.get("media_type").and_then(Value::as_str).unwrap_or("application/pdf");
            let data = source.get("data").and_then(Value::as_str)?;
            Some(ChatPart::File {
                file: FilePart {
                    file_data: Some(format!("data:{media_type};base64,{data}")),
                    file_id: None,
                    filename: Some(title.unwrap_or_else(|| "document.pdf".to_string())),
                },
            })
        }
        "text" => source.get("data").and_then(Value::as_str).map(|t| ChatPart::Text { text: t.into() }),
        _ => None,
    }
}

/// An assistant turn as a Chat message. A tool-calling turn gives back, as
/// `reasoning_content`, the thinking it began with when that came from a Chat server (it
/// has no signature): DeepSeek's and Kimi's thinking modes refuse a tool loop without it
/// (`Missing reasoning_content field in the assistant message`). OpenAI's Chat API never
/// answers with reasoning, so its conversations hold none to give back.
fn assistant_turn(content: &Content) -> ChatMessage {
    let mut texts = Vec::new();
    let mut calls = Vec::new();
    let mut reasoning = String::new();
    match content {
        Content::Text(t) => texts.push(t),
        Content::Blocks(blocks) => {
            for block in blocks {
                match block {
                    ContentBlock::Text { text: t, .. } => texts.push(t),
                    ContentBlock::ToolUse { id, name, input, .. } => calls.push(ToolCall {
                        id: super::openai_call_id(id).into_owned(),
                        kind: "function".to_string(),
                        function: FunctionCall { name: name.clone(), arguments: super::tool_arguments(input) },
                    }),
                    ContentBlock::Thinking { thinking, signature } if signature.is_empty() => {
                        reasoning.push_str(thinking)
                    }
                    // Thinking signatures mean nothing to another provider.
                    _ => {}
                }
            }
        }
    }
    let text = Text::join(texts, "");
    ChatMessage {
        role: "assistant".to_string(),
        content: (!text.is_empty() || calls.is_empty()).then_some(ChatContent::Text(text)),
        reasoning_content: (!calls.is_empty() && !reasoning.is_empty()).then_some(reasoning),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..Default::default()
    }
}
