//! The canonical request → a Gemini upstream's `generateContent` body.

use super::parts::{model_parts, Audience};
use super::signature::DUMMY_SIGNATURE;
use crate::protocol::anthropic::{Content, ContentBlock, ImageSource, MessagesRequest, Role, Tool, ToolChoice};
use crate::protocol::gemini::{
    Blob, FileData, FunctionCallingConfig, FunctionDeclaration, FunctionResponse, GenerateContentRequest,
    GenerationConfig, Part, ThinkingConfig, ToolConfig,
};
use crate::protocol::gemini::{Content as GeminiContent, Tool as GeminiTool};
use crate::protocol::RawJson;
use crate::translate::error::to_json;
use crate::translate::{ApiError, TargetOptions};
use serde_json::Value;
use std::collections::HashMap;

/// The model turn placed between function responses and new user text of the same
/// canonical turn (see the module documentation).
const AFTER_TOOL_RESULTS: &str = "(tool results received)";

pub(super) fn from_canonical(req: &MessagesRequest, target: &TargetOptions) -> Result<Vec<u8>, ApiError> {
    let mut system = Vec::new();
    if let Some(s) = &req.system {
        push_system_text(s, &mut system);
    }
    let mut contents = Contents::default();
    // Gemini responses name their function; the name comes from the call's tool_use,
    // and its place among the calls orders the responses.
    let mut call_names: HashMap<&str, (&str, usize)> = HashMap::new();
    let mut calls = 0;
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            // Mid-conversation system text is hoisted, in order.
            Role::System => push_system_text(&msg.content, &mut system),
            Role::Assistant => {
                if let Content::Blocks(blocks) = &msg.content {
                    for block in blocks {
                        if let ContentBlock::ToolUse { id, name, .. } = block {
                            // Counted apart: an id may come back in a later turn.
                            calls += 1;
                            call_names.insert(id, (name, calls));
                        }
                    }
                }
                contents.push("model", model_parts(&msg.content.blocks(), Audience::Upstream));
            }
            Role::User => {
                let (responses, rest) = user_parts(&msg.content, &call_names, i)?;
                contents.push("user", responses);
                contents.push("user", rest);
            }
        }
    }

    let declarations: Vec<FunctionDeclaration> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.is_custom())
        .map(|t: &Tool| FunctionDeclaration {
            name: t.name.clone(),
            description: t.description.as_deref().map(str::to_string),
            parameters: None,
            parameters_json_schema: t.input_schema.as_ref().map(RawJson::to_value),
        })
        .collect();
    let tool_config = match (&super::super::function_tool_choice(req), declarations.is_empty()) {
        (Some(choice), false) => Some(ToolConfig { function_calling_config: Some(calling_config(choice)) }),
        _ => None,
    };

    let search = target.hosted_web_search && crate::translate::web_search::requested(req.tools.as_ref()).is_some();
    let tools = if !declarations.is_empty() {
        Some(vec![GeminiTool { function_declarations: Some(declarations), other: Default::default() }])
    } else if search {
        Some(vec![super::search::upstream_tool()])
    } else {
        None
    };
    let body = GenerateContentRequest {
        contents: contents.finish(),
        system_instruction: (!system.is_empty()).then_some(GeminiContent { role: None, parts: system }),
        tools,
        tool_config,
        generation_config: Some(generation_config(req, target)).filter(|c| *c != GenerationConfig::default()),
        safety_settings: None,
        cached_content: None,
    };
    Ok(to_json(&body))
}

fn push_system_text(content: &Content, out: &mut Vec<Part>) {
    for block in content.blocks().iter() {
        if let ContentBlock::Text { text, .. } = block {
            if !text.is_empty() {
                out.push(Part::text(text.as_str()));
            }
        }
    }
}

/// The contents list, kept alternating: adjacent turns of one role merge, except that
/// user text never joins a function-response turn (a placeholder model turn goes
/// between them).
#[derive(Debug, Default)]
struct Contents {
    list: Vec<GeminiContent>,
}

impl Contents {
    fn push(&mut self, role: &str, parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        if let Some(last) = self.list.last_mut().filter(|c| c.role.as_deref() == Some(role)) {
            let after_responses = last.parts.iter().any(|p| p.function_response.is_some());
            if !(role == "user" && after_responses && parts.iter().all(|p| p.function_response.is_none())) {
                last.parts.extend(parts);
                return;
            }
            self.list.push(GeminiContent { role: Some("model".into()), parts: vec![Part::text(AFTER_TOOL_RESULTS)] });
        }
        self.list.push(GeminiContent { role: Some(role.to_string()), parts });
    }

    /// Gemini 3 wants a signature on the first function call of every model turn;
    /// history from another provider gets the documented dummy.
    fn finish(mut self) -> Vec<GeminiContent> {
        for content in self.list.iter_mut().filter(|c| c.role.as_deref() == Some("model")) {
            if let Some(first) = content.parts.iter_mut().find(|p| p.function_call.is_some()) {
                first.thought_signature.get_or_insert_with(|| DUMMY_SIGNATURE.to_string());
            }
        }
        self.list
    }
}

/// A user turn's parts: function responses (and the media their tools returned), then
/// the rest of the turn. Gemini pairs responses with calls by name and order, so the
/// responses go in the order of their calls whatever order the client gave them in.
fn user_parts(
    content: &Content,
    call_names: &HashMap<&str, (&str, usize)>,
    i: usize,
) -> Result<(Vec<Part>, Vec<Part>), ApiError> {
    let mut responses = Vec::new();
    let mut tool_media = Vec::new();
    let mut rest = Vec::new();
    for block in content.blocks().iter() {
        match block {
            ContentBlock::ToolResult { tool_use_id, content, is_error, .. } => {
                let &(name, at) = call_names.get(tool_use_id.as_str()).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "messages[{i}]: tool_result '{tool_use_id}' answers no earlier tool_use, and Gemini needs the function's name"
                    ))
                })?;
                let mut text = String::new();
                for b in content.as_ref().map(|c| c.blocks().into_owned()).unwrap_or_default() {
                    match &b {
                        ContentBlock::Text { text: t, .. } => {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(t);
                        }
                        other => tool_media.extend(media_part(other)),
                    }
                }
                let key = if *is_error == Some(true) { "error" } else { "output" };
                responses.push((
                    at,
                    Part {
                        function_response: Some(FunctionResponse {
                            id: None,
                            name: name.to_string(),
                            response: serde_json::json!({ key: text }),
                            parts: None,
                        }),
                        ..Default::default()
                    },
                ));
            }
            ContentBlock::Text { text, .. } if !text.is_empty() => rest.push(Part::text(text.as_str())),
            other => rest.extend(media_part(other)),
        }
    }
    responses.sort_by_key(|(at, _)| *at);
    let mut responses: Vec<Part> = responses.into_iter().map(|(_, part)| part).collect();
    responses.append(&mut tool_media);
    Ok((responses, rest))
}

/// Images and documents as `inlineData` / `fileData` parts.
fn media_part(block: &ContentBlock) -> Option<Part> {
    match block {
        ContentBlock::Image { source: ImageSource::Base64 { media_type, data }, .. } => Some(inline(media_type, data)),
        ContentBlock::Image { source: ImageSource::Url { url }, .. } => Some(file(url, mime_from_url(url))),
        ContentBlock::Document { source, .. } => {
            let field = |k: &str| source.get(k).and_then(Value::as_str);
            match field("type")? {
                "base64" => Some(inline(field("media_type").unwrap_or("application/pdf"), field("data")?)),
                "text" => field("data").filter(|t| !t.is_empty()).map(Part::text),
                "url" => Some(file(field("url")?, Some("application/pdf"))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn inline(mime_type: &str, data: &str) -> Part {
    Part { inline_data: Some(Blob { mime_type: mime_type.to_string(), data: data.to_string() }), ..Default::default() }
}

/// Gemini fetches Files API and `gs://` URIs; other https URLs may be refused.
fn file(uri: &str, mime_type: Option<&str>) -> Part {
    Part {
        file_data: Some(FileData { mime_type: mime_type.map(str::to_string), file_uri: uri.to_string() }),
        ..Default::default()
    }
}

fn mime_from_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

fn calling_config(choice: &ToolChoice) -> FunctionCallingConfig {
    // Gemini cannot switch off parallel calls: disable_parallel_tool_use is dropped.
    let (mode, allowed) = match choice {
        ToolChoice::Auto { .. } => ("AUTO", None),
        ToolChoice::Any { .. } => ("ANY", None),
        ToolChoice::Tool { name, .. } => ("ANY", Some(vec![name.clone()])),
        ToolChoice::None => ("NONE", None),
    };
    FunctionCallingConfig { mode: Some(mode.to_string()), allowed_function_names: allowed }
}

fn generation_config(req: &MessagesRequest, target: &TargetOptions) -> GenerationConfig {
    let thinking_config = req.thinking.as_ref().filter(|t| target.reasoning && t.is_on()).map(|t| ThinkingConfig {
        // Adaptive thinking is Gemini's dynamic budget.
        thinking_budget: Some(t.budget_tokens.filter(|_| t.kind == "enabled").map_or(-1, i64::from)),
        include_thoughts: Some(true),
        thinking_level: None,
    });
    use crate::translate::output_format::{read, OutputFormat};
    let format = req.output_config.as_ref().and_then(|c| c.format.as_ref()).and_then(read);
    let json = format.is_some();
    let schema = match format {
        Some(OutputFormat::Schema { schema, .. }) => Some(schema.clone()),
        _ => None,
    };
    GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k.map(serde_json::Number::from),
        max_output_tokens: req.max_tokens.map(|n| target.cap(n)),
        stop_sequences: req.stop_sequences.clone().filter(|s| !s.is_empty()),
        response_mime_type: json.then(|| "application/json".to_string()),
        response_json_schema: schema,
        thinking_config,
        ..Default::default()
    }
}
