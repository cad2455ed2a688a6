//! OpenAI Chat Completions requests → the canonical (Anthropic) model.

use super::ApiError;
use crate::protocol::anthropic::{
    Content, ContentBlock, Message, MessagesRequest, Metadata, OutputConfig, Role, Tool, ToolChoice,
};
use crate::protocol::openai_chat::{ChatContent, ChatPart, ChatRequest, ChatToolChoice, Stop};
use crate::protocol::{RawJson, Text};
use serde_json::Value;

/// What the Chat client asked for that the response side must honour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatClientOptions {
    /// `stream_options.include_usage`: send the trailing usage chunk.
    pub include_usage: bool,
}

/// Converts a Chat Completions request into the canonical request.
pub fn chat_to_canonical(req: ChatRequest) -> Result<(MessagesRequest, ChatClientOptions), ApiError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(ApiError::invalid("n > 1 is not supported by this gateway"));
    }
    let mut system: Vec<ContentBlock> = Vec::new();
    let mut messages: Vec<Message> = Vec::with_capacity(req.messages.len());
    for (i, msg) in req.messages.into_iter().enumerate() {
        match msg.role.as_str() {
            // System text anywhere in the conversation is hoisted into `system`, in order.
            "system" | "developer" => {
                let text = chat_text(msg.content.as_ref());
                if !text.is_empty() {
                    system.push(ContentBlock::text(text));
                }
            }
            "user" => {
                let blocks = user_blocks(msg.content, i)?;
                push_blocks(&mut messages, Role::User, blocks);
            }
            "assistant" => {
                let mut blocks = Vec::new();
                if let Some(content) = msg.content {
                    let text = chat_text(Some(&content));
                    if !text.is_empty() {
                        blocks.push(ContentBlock::text(text));
                    }
                }
                if let Some(refusal) = msg.refusal.filter(|r| !r.is_empty()) {
                    blocks.push(ContentBlock::text(refusal));
                }
                for call in msg.tool_calls.unwrap_or_default() {
                    blocks.push(ContentBlock::ToolUse {
                        id: super::sanitize_tool_id(call.id),
                        name: call.function.name,
                        input: super::tool_input(&call.function.arguments),
                        cache_control: None,
                    });
                }
                push_blocks(&mut messages, Role::Assistant, blocks);
            }
            "tool" => {
                let id = msg
                    .tool_call_id
                    .ok_or_else(|| ApiError::invalid(format!("messages[{i}]: a tool message needs tool_call_id")))?;
                let block = ContentBlock::ToolResult {
                    tool_use_id: super::sanitize_tool_id(id),
                    content: Some(Content::Text(chat_text(msg.content.as_ref()))),
                    is_error: None,
                    cache_control: None,
                };
                push_blocks(&mut messages, Role::User, vec![block]);
            }
            other => {
                return Err(ApiError::invalid(format!("messages[{i}]: unsupported role '{other}'")));
            }
        }
    }

    // `allowed_tools` narrows the tools the model may call: the others are left out.
    let allowed: Option<Vec<String>> = match &req.tool_choice {
        Some(ChatToolChoice::Other(v)) if v.get("type").and_then(Value::as_str) == Some("allowed_tools") => {
            let tools = v.pointer("/allowed_tools/tools").and_then(Value::as_array);
            let name = |t: &Value| t.pointer("/function/name").or_else(|| t.pointer("/custom/name")).cloned();
            Some(tools.into_iter().flatten().filter_map(name).filter_map(|n| n.as_str().map(str::to_string)).collect())
        }
        _ => None,
    };
    let tools = req
        .tools
        .map(|tools| {
            tools
                .into_iter()
                .filter_map(|t| t.function)
                .map(|f| Tool {
                    kind: None,
                    name: f.name,
                    description: f.description,
                    input_schema: Some(
                        f.parameters.map_or_else(RawJson::empty_object_schema, RawJson::with_object_type),
                    ),
                    ..Default::default()
                })
                .filter(|t| allowed.as_ref().is_none_or(|names| names.contains(&t.name)))
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty());
    let disable_parallel = (req.parallel_tool_calls == Some(false)).then_some(true);
    let mut tool_choice = match req.tool_choice {
        Some(ChatToolChoice::Mode(mode)) => match mode.as_str() {
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Any { disable_parallel_tool_use: disable_parallel }),
            _ => Some(ToolChoice::Auto { disable_parallel_tool_use: disable_parallel }),
        },
        Some(ChatToolChoice::Named(named)) => {
            Some(ToolChoice::Tool { name: named.function.name, disable_parallel_tool_use: disable_parallel })
        }
        Some(ChatToolChoice::Other(v)) => Some(match v.get("type").and_then(Value::as_str) {
            Some("allowed_tools") if v.pointer("/allowed_tools/mode").and_then(Value::as_str) == Some("required") => {
                ToolChoice::Any { disable_parallel_tool_use: disable_parallel }
            }
            Some("custom") => match v.pointer("/custom/name").and_then(Value::as_str) {
                Some(name) => ToolChoice::Tool { name: name.to_string(), disable_parallel_tool_use: disable_parallel },
                None => ToolChoice::Auto { disable_parallel_tool_use: disable_parallel },
            },
            _ => ToolChoice::Auto { disable_parallel_tool_use: disable_parallel },
        }),
        None => disable_parallel.map(|d| ToolChoice::Auto { disable_parallel_tool_use: Some(d) }),
    };
    if tools.is_none() {
        tool_choice = None;
    }

    let max_tokens = req.max_completion_tokens.or(req.max_tokens);
    let mut thinking = req.reasoning_effort.as_deref().map(super::thinking_for_effort);
    // Forced tool use and extended thinking exclude each other on Anthropic: keep the
    // tool choice, which the client stated more specifically.
    if matches!(tool_choice, Some(ToolChoice::Any { .. } | ToolChoice::Tool { .. })) {
        thinking = None;
    }
    // Sampling stays as the client set it: Anthropic's limits apply on the way to an
    // Anthropic upstream only (`anthropic_request`).
    let (temperature, top_p) = (req.temperature, req.top_p);

    let stream = req.stream.unwrap_or(false);
    let include_usage = stream && req.stream_options.and_then(|o| o.include_usage).unwrap_or(false);
    let canonical = MessagesRequest {
        model: req.model,
        messages,
        system: (!system.is_empty()).then_some(Content::Blocks(system)),
        max_tokens,
        metadata: req.user.map(|u| Metadata { user_id: Some(u) }),
        stop_sequences: req.stop.map(|s| match s {
            Stop::One(s) => vec![s],
            Stop::Many(v) => v,
        }),
        stream: stream.then_some(true),
        temperature,
        top_p,
        top_k: None,
        tools,
        tool_choice,
        thinking,
        output_config: req
            .response_format
            .and_then(|f| super::output_format::from_chat(&f))
            .map(|format| OutputConfig { effort: None, format: Some(format) }),
    };
    Ok((canonical, ChatClientOptions { include_usage }))
}

fn push_blocks(messages: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if let Some(last) = messages.last_mut() {
        if last.role == role {
            let mut merged = match std::mem::replace(&mut last.content, Content::Blocks(Vec::new())) {
                Content::Text(t) if t.is_empty() => Vec::new(),
                Content::Text(t) => vec![ContentBlock::text(t)],
                Content::Blocks(b) => b,
            };
            // Tool results lead the user turn; text the client sent after them follows.
            merged.extend(blocks);
            last.content = Content::Blocks(merged);
            return;
        }
    }
    let content = match blocks.as_slice() {
        [ContentBlock::Text { text, cache_control: None, citations: None }] => Content::Text(text.clone()),
        _ => Content::Blocks(blocks),
    };
    messages.push(Message { role, content });
}

fn chat_text(content: Option<&ChatContent>) -> Text {
    match content {
        None => Text::default(),
        Some(ChatContent::Text(t)) => t.clone(),
        Some(ChatContent::Parts(parts)) => {
            let mut out = String::new();
            for p in parts {
                match p {
                    ChatPart::Text { text } => out.push_str(text),
                    ChatPart::Refusal { refusal } => out.push_str(refusal),
                    _ => {}
                }
            }
            out.into()
        }
    }
}

fn user_blocks(content: Option<ChatContent>, index: usize) -> Result<Vec<ContentBlock>, ApiError> {
    let parts = match content {
        None => return Ok(Vec::new()),
        Some(ChatContent::Text(t)) => return Ok(vec![ContentBlock::text(t)]),
        Some(ChatContent::Parts(parts)) => parts,
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for (j, part) in parts.into_iter().enumerate() {
        let at = || format!("messages[{index}].content[{j}]");
        match part {
            ChatPart::Text { text } => blocks.push(ContentBlock::text(text)),
            ChatPart::Refusal { refusal } => blocks.push(ContentBlock::text(refusal)),
            ChatPart::ImageUrl { image_url } => {
                let source =
                    super::image_source(&image_url.url).map_err(|m| ApiError::invalid(format!("{}: {m}", at())))?;
                blocks.push(ContentBlock::Image { source, cache_control: None });
            }
            ChatPart::File { file } => {
                let data_url = file
                    .file_data
                    .ok_or_else(|| ApiError::invalid(format!("{}: only inline file_data is supported", at())))?;
                let (media_type, data) = super::split_data_url(&data_url)
                    .ok_or_else(|| ApiError::invalid(format!("{}: file_data must be a base64 data URL", at())))?;
                blocks.push(ContentBlock::Document {
                    source: serde_json::json!({"type": "base64", "media_type": media_type, "data": data}),
                    title: file.filename,
                    context: None,
                    cache_control: None,
                });
            }
            ChatPart::InputAudio { .. } => {
                return Err(ApiError::invalid(format!("{}: audio input is not supported by this channel", at())));
            }
            ChatPart::Other => {
                return Err(ApiError::invalid(format!("{}: unsupported content part type", at())));
            }
        }
    }
    Ok(blocks)
}
