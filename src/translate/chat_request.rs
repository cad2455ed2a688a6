//! Requests between the canonical (Anthropic) model and OpenAI Chat Completions.

use super::{ApiError, TargetOptions};
use crate::protocol::anthropic::{
    Content, ContentBlock, ImageSource, Message, MessagesRequest, Metadata, OutputConfig, Role, Thinking, Tool,
    ToolChoice,
};
use crate::protocol::openai_chat::{
    ChatContent, ChatMessage, ChatPart, ChatRequest, ChatTool, ChatToolChoice, FilePart, FunctionCall, FunctionDef,
    ImageUrl, NamedFunction, NamedToolChoice, Stop, StreamOptions, ToolCall,
};
use serde_json::Value;

/// Image types the Messages API accepts.
const ANTHROPIC_IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
/// Chat accepts at most four stop sequences.
const CHAT_MAX_STOP: usize = 4;

// ======================================================= canonical → OpenAI Chat

/// Builds the Chat request for an OpenAI-compatible upstream.
pub fn canonical_to_chat(req: &MessagesRequest, target: &TargetOptions) -> ChatRequest {
    let reasoning_effort = if target.reasoning { reasoning_effort_of(req) } else { None };
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
                parameters: t.input_schema.as_ref().map(clean_schema_for_chat),
                strict: None,
            }),
        })
        .collect();
    let has_tools = !tools.is_empty();
    let (tool_choice, parallel_tool_calls) = match (&req.tool_choice, has_tools) {
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
        temperature: req.temperature,
        top_p: req.top_p,
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
            .and_then(|c| c.format.clone())
            .and_then(response_format_from_output_format),
        user: None,
        seed: None,
        presence_penalty: None,
        frequency_penalty: None,
    }
}

fn text_message(role: &str, text: String) -> ChatMessage {
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
                let mut text = String::new();
                if let Some(content) = content {
                    for b in content.blocks().iter() {
                        match b {
                            ContentBlock::Text { text: t, .. } => {
                                if !text.is_empty() {
                                    text.push('\n');
                                }
                                text.push_str(t);
                            }
                            ContentBlock::Image { source, .. } => {
                                if let Some(p) = image_part(source) {
                                    tool_images.push(p);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                if *is_error == Some(true) {
                    text.insert_str(0, "Error: ");
                }
                out.push(ChatMessage {
                    role: "tool".to_string(),
                    content: Some(ChatContent::Text(text)),
                    tool_call_id: Some(tool_use_id.clone()),
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
    // Chat tool messages hold text only: images a tool returned follow in a user message.
    if !tool_images.is_empty() {
        let mut with_note = vec![ChatPart::Text { text: "Images returned by the tool call above:".into() }];
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
        "text" => source.get("data").and_then(Value::as_str).map(|t| ChatPart::Text { text: t.to_string() }),
        _ => None,
    }
}

fn assistant_turn(content: &Content) -> ChatMessage {
    let mut text = String::new();
    let mut calls = Vec::new();
    match content {
        Content::Text(t) => text.clone_from(t),
        Content::Blocks(blocks) => {
            for block in blocks {
                match block {
                    ContentBlock::Text { text: t, .. } => text.push_str(t),
                    ContentBlock::ToolUse { id, name, input, .. } => calls.push(ToolCall {
                        id: id.clone(),
                        kind: "function".to_string(),
                        function: FunctionCall { name: name.clone(), arguments: tool_arguments(input) },
                    }),
                    // Thinking signatures mean nothing to another provider.
                    _ => {}
                }
            }
        }
    }
    ChatMessage {
        role: "assistant".to_string(),
        content: (!text.is_empty() || calls.is_empty()).then_some(ChatContent::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..Default::default()
    }
}

fn tool_arguments(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_string(),
        v => serde_json::to_string(v).unwrap_or_else(|_| "{}".to_string()),
    }
}

/// OpenAI-compatible servers differ in how much JSON Schema they accept; the top-level
/// `$schema` marker is the key some reject outright, and it carries no constraint.
fn clean_schema_for_chat(schema: &Value) -> Value {
    match schema {
        Value::Object(map) if map.contains_key("$schema") => {
            Value::Object(map.iter().filter(|(k, _)| *k != "$schema").map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        other => other.clone(),
    }
}

fn reasoning_effort_of(req: &MessagesRequest) -> Option<String> {
    if let Some(effort) = req.output_config.as_ref().and_then(|c| c.effort.as_deref()) {
        return Some(
            match effort {
                "low" | "minimal" => "low",
                "medium" => "medium",
                _ => "high", // high, xhigh, max
            }
            .to_string(),
        );
    }
    let thinking = req.thinking.as_ref().filter(|t| t.is_on())?;
    let effort = match thinking.budget_tokens {
        Some(b) if b < 4096 => "low",
        Some(b) if b < 16384 => "medium",
        Some(_) => "high",
        None => "medium", // adaptive
    };
    Some(effort.to_string())
}

fn response_format_from_output_format(format: Value) -> Option<Value> {
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return None;
    }
    let schema = format.get("schema").cloned().unwrap_or(Value::Null);
    Some(serde_json::json!({
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema}
    }))
}

// ======================================================= OpenAI Chat → canonical

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
                        input: parse_arguments(&call.function.arguments),
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
                        f.parameters.unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
                    ),
                    cache_control: None,
                })
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
        None => disable_parallel.map(|d| ToolChoice::Auto { disable_parallel_tool_use: Some(d) }),
    };
    if tools.is_none() {
        tool_choice = None;
    }

    let max_tokens = req.max_completion_tokens.or(req.max_tokens);
    let mut thinking = req.reasoning_effort.as_deref().and_then(|effort| {
        let budget = match effort {
            "minimal" | "none" => return None,
            "low" => 1024,
            "medium" => 4096,
            _ => 16384,
        };
        Some(Thinking { kind: "enabled".into(), budget_tokens: Some(budget) })
    });
    // Forced tool use and extended thinking exclude each other on Anthropic: keep the
    // tool choice, which the client stated more specifically.
    if matches!(tool_choice, Some(ToolChoice::Any { .. } | ToolChoice::Tool { .. })) {
        thinking = None;
    }
    // Anthropic's temperature range is 0–1; recent models reject temperature with top_p.
    let temperature = req.temperature.map(|t| t.clamp(0.0, 1.0));
    let top_p = if temperature.is_some() || thinking.is_some() { None } else { req.top_p };
    let temperature = if thinking.is_some() { None } else { temperature };

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
            .and_then(output_format_from_response_format)
            .map(|format| OutputConfig { effort: None, format: Some(format) }),
    };
    Ok((canonical, ChatClientOptions { include_usage }))
}

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
pub fn anthropic_body(req: &mut MessagesRequest, target: &TargetOptions) -> Vec<u8> {
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
    let body = super::error::to_json(req);
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

fn chat_text(content: Option<&ChatContent>) -> String {
    match content {
        None => String::new(),
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
            out
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
                let source = image_source(&image_url.url).map_err(|m| ApiError::invalid(format!("{}: {m}", at())))?;
                blocks.push(ContentBlock::Image { source, cache_control: None });
            }
            ChatPart::File { file } => {
                let data_url = file
                    .file_data
                    .ok_or_else(|| ApiError::invalid(format!("{}: only inline file_data is supported", at())))?;
                let (media_type, data) = split_data_url(&data_url)
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

fn image_source(url: &str) -> Result<ImageSource, String> {
    if url.starts_with("data:") {
        let (media_type, data) = split_data_url(url).ok_or("image_url is not a valid base64 data URL")?;
        if !ANTHROPIC_IMAGE_TYPES.contains(&media_type) {
            return Err(format!("image type '{media_type}' is not supported (jpeg, png, gif, webp)"));
        }
        return Ok(ImageSource::Base64 { media_type: media_type.to_string(), data: data.to_string() });
    }
    Ok(ImageSource::Url { url: url.to_string() })
}

/// `data:<media type>;base64,<data>` → (media type, data).
fn split_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// Tool-call arguments are a JSON string in Chat and an object in Anthropic. A model
/// can emit invalid JSON; it is kept as a string under `_raw_arguments` so nothing is lost.
fn parse_arguments(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Default::default());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => serde_json::json!({ "_raw_arguments": arguments }),
    }
}

fn output_format_from_response_format(format: Value) -> Option<Value> {
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return None;
    }
    let schema = format.get("json_schema")?.get("schema")?.clone();
    Some(serde_json::json!({"type": "json_schema", "schema": schema}))
}
