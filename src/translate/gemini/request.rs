//! A Gemini client's `generateContent` request → the canonical request.

use super::parts::model_blocks;
use crate::protocol::anthropic::{
    Content, ContentBlock, ImageSource, Message, MessagesRequest, OutputConfig, Role, Thinking, Tool, ToolChoice,
};
use crate::protocol::gemini::{
    Blob, FileData, FunctionCallingConfig, FunctionResponse, GenerateContentRequest, GenerationConfig, Part,
    ThinkingConfig,
};
use crate::protocol::{RawJson, Text};
use crate::translate::{sanitize_tool_id, ApiError};
use serde_json::Value;

pub(super) fn to_canonical(body: &[u8], model: &str, stream: bool) -> Result<(MessagesRequest, bool), ApiError> {
    let req: GenerateContentRequest =
        crate::protocol::from_json(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    let config = req.generation_config.unwrap_or_default();
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(ApiError::invalid("generationConfig.candidateCount > 1 is not supported by this gateway"));
    }
    if req.contents.is_empty() {
        return Err(ApiError::invalid("contents must not be empty"));
    }
    let mut history = History::default();
    for (i, content) in req.contents.iter().enumerate() {
        match content.role.as_deref() {
            Some("model") => history.model_turn(&content.parts, i)?,
            // `function` is the role older clients give function responses.
            None | Some("user" | "function") => history.user_turn(&content.parts, i)?,
            Some(other) => {
                return Err(ApiError::invalid(format!("contents[{i}].role: unsupported role '{other}'")));
            }
        }
    }
    if history.messages.is_empty() {
        // Only empty parts: Gemini refuses such a request too.
        return Err(ApiError::invalid("contents: every part is empty; there is nothing to answer"));
    }

    let system: Vec<ContentBlock> = req
        .system_instruction
        .map(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.text.filter(|t| !t.is_empty() && p.thought != Some(true)))
        .map(ContentBlock::text)
        .collect();

    let gemini_tools = req.tools.unwrap_or_default();
    let search = gemini_tools.iter().any(super::search::is_search_tool);
    let mut tools: Vec<Tool> = gemini_tools
        .into_iter()
        // Hosted tools other than Google Search (codeExecution, …) have no canonical form.
        .flat_map(|t| t.function_declarations.unwrap_or_default())
        .map(|f| Tool {
            kind: None,
            name: f.name,
            description: f.description.map(Text::from),
            input_schema: Some(
                f.parameters_json_schema
                    .or(f.parameters)
                    .map(json_schema_from_openapi)
                    .map_or_else(RawJson::empty_object_schema, |v| RawJson::from_value(&v)),
            ),
            ..Default::default()
        })
        .collect();
    let fcc = req.tool_config.and_then(|c| c.function_calling_config).unwrap_or_default();
    let mut tool_choice = tool_choice_of(&fcc, &mut tools);
    if tools.is_empty() {
        tool_choice = None;
    }
    // A function of the client's named `web_search` keeps the name; the search is left out.
    if search && !tools.iter().any(|t| t.name == crate::translate::web_search::NAME) {
        tools.push(crate::translate::web_search::canonical_tool(None, None));
    }

    let mut thinking = config.thinking_config.as_ref().and_then(thinking_of);
    // Forced tool use and extended thinking exclude each other on Anthropic: keep the
    // tool choice, which the client stated more specifically.
    if matches!(tool_choice, Some(ToolChoice::Any { .. } | ToolChoice::Tool { .. })) {
        thinking = None;
    }
    // Sampling stays as the client set it (Gemini's temperature range is 0–2):
    // Anthropic's limits apply on the way to an Anthropic upstream only
    // (`anthropic_request`).
    let (temperature, top_p) = (config.temperature, config.top_p);
    let top_k = config
        .top_k
        .as_ref()
        .and_then(|k| k.as_f64())
        .filter(|k| *k >= 1.0 && !thinking.as_ref().is_some_and(Thinking::is_on))
        .map(|k| k.round().min(f64::from(u32::MAX)) as u32);

    let thoughts = config.thinking_config.as_ref().is_some_and(|t| t.include_thoughts == Some(true));
    let canonical = MessagesRequest {
        model: model.to_string(),
        messages: history.messages,
        system: (!system.is_empty()).then_some(Content::Blocks(system)),
        max_tokens: config.max_output_tokens,
        metadata: None,
        stop_sequences: config.stop_sequences.clone().filter(|s| !s.is_empty()),
        stream: stream.then_some(true),
        temperature,
        top_p,
        top_k,
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        thinking,
        output_config: output_format(&config).map(|format| OutputConfig { effort: None, format: Some(format) }),
    };
    Ok((canonical, thoughts))
}

/// The conversation so far, and the calls of the latest model turn still unanswered.
#[derive(Debug, Default)]
struct History {
    messages: Vec<Message>,
    /// Function calls numbered in conversation order, for `toolu_gm_<n>`.
    calls: u32,
    pending: Vec<PendingCall>,
}

#[derive(Debug)]
struct PendingCall {
    gemini_id: Option<String>,
    name: String,
    canonical_id: String,
    /// The turn that answered it.
    answered: Option<usize>,
}

impl History {
    fn model_turn(&mut self, parts: &[Part], i: usize) -> Result<(), ApiError> {
        if let Some(j) = parts.iter().position(|p| p.function_response.is_some()) {
            return Err(ApiError::invalid(format!("contents[{i}].parts[{j}]: functionResponse in a model turn")));
        }
        // A new model turn (not the continuation of one) starts a new set of calls.
        if self.messages.last().is_none_or(|m| m.role != Role::Assistant) {
            self.pending.clear();
        }
        let calls = &mut self.calls;
        let blocks = model_blocks(parts, &mut |call| {
            *calls += 1;
            match call.id.as_deref().filter(|id| !id.is_empty()) {
                Some(id) => sanitize_tool_id(id.to_string()),
                None => format!("toolu_gm_{calls}"),
            }
        });
        let given_ids = parts.iter().filter_map(|p| p.function_call.as_ref()).map(|c| c.id.clone());
        let tool_uses = blocks.iter().filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, .. } => Some((id, name)),
            _ => None,
        });
        for (gemini_id, (id, name)) in given_ids.zip(tool_uses) {
            self.pending.push(PendingCall {
                gemini_id: gemini_id.filter(|id| !id.is_empty()),
                name: name.clone(),
                canonical_id: id.clone(),
                answered: None,
            });
        }
        self.push(Role::Assistant, blocks);
        Ok(())
    }

    fn user_turn(&mut self, parts: &[Part], i: usize) -> Result<(), ApiError> {
        let mut results = Vec::new();
        let mut blocks = Vec::new();
        for (j, part) in parts.iter().enumerate() {
            let at = || format!("contents[{i}].parts[{j}]");
            if let Some(response) = &part.function_response {
                // Gemini CLI's resumed sessions give each answer twice: a repeat of an
                // answer already given is left out.
                if self.answered_before(response, i) {
                    continue;
                }
                let id = self.answer(response, i).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "{}: functionResponse '{}' answers no functionCall of the model turn before it",
                        at(),
                        response.name
                    ))
                })?;
                results.push(tool_result(response, id, &at)?);
            } else if part.function_call.is_some() {
                return Err(ApiError::invalid(format!("{}: functionCall in a user turn", at())));
            } else if let Some(blob) = &part.inline_data {
                blocks.push(inline_block(blob).map_err(|m| ApiError::invalid(format!("{}: {m}", at())))?);
            } else if let Some(file) = &part.file_data {
                blocks.push(file_block(file).map_err(|m| ApiError::invalid(format!("{}: {m}", at())))?);
            } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty() && part.thought != Some(true)) {
                blocks.push(ContentBlock::text(text));
            }
        }
        // Tool results lead a user turn on Anthropic.
        results.append(&mut blocks);
        self.push(Role::User, results);
        Ok(())
    }

    /// The canonical id of the call `response` answers: the one with its id, else the
    /// first unanswered one of its name.
    fn answer(&mut self, response: &FunctionResponse, turn: usize) -> Option<String> {
        let given = response.id.as_deref().filter(|id| !id.is_empty());
        let open = |p: &PendingCall| p.answered.is_none();
        let by_id =
            given.and_then(|id| self.pending.iter().position(|p| open(p) && p.gemini_id.as_deref() == Some(id)));
        let index = by_id.or_else(|| self.pending.iter().position(|p| open(p) && p.name == response.name))?;
        let call = &mut self.pending[index];
        call.answered = Some(turn);
        Some(call.canonical_id.clone())
    }

    /// Whether `response`, in turn `turn`, repeats an answer given to a call of the latest
    /// model turn, and no such call is left open: one with the call's id (Gemini CLI's
    /// resumed sessions give each answer twice, in one turn or two), or, without an id,
    /// one with its name from an earlier turn. Two answers without ids to one call in one
    /// turn stay an error.
    fn answered_before(&self, response: &FunctionResponse, turn: usize) -> bool {
        let given = response.id.as_deref().filter(|id| !id.is_empty());
        let same = |p: &PendingCall| match given {
            Some(id) => p.gemini_id.as_deref() == Some(id),
            None => p.name == response.name,
        };
        let repeated = |p: &PendingCall| p.answered.is_some_and(|t| given.is_some() || t < turn);
        !self.pending.iter().any(|p| p.answered.is_none() && same(p))
            && self.pending.iter().any(|p| repeated(p) && same(p))
    }

    /// Appends a turn, merging it into the previous one of the same role.
    fn push(&mut self, role: Role, blocks: Vec<ContentBlock>) {
        if blocks.is_empty() {
            return;
        }
        if let Some(last) = self.messages.last_mut().filter(|m| m.role == role) {
            let mut merged = match std::mem::replace(&mut last.content, Content::Blocks(Vec::new())) {
                Content::Text(t) => vec![ContentBlock::text(t)],
                Content::Blocks(b) => b,
            };
            merged.extend(blocks);
            if role == Role::User {
                // Stable: tool results first, the rest in order after them.
                let (mut results, rest): (Vec<_>, Vec<_>) =
                    merged.into_iter().partition(|b| matches!(b, ContentBlock::ToolResult { .. }));
                results.extend(rest);
                merged = results;
            }
            last.content = Content::Blocks(merged);
            return;
        }
        let content = match blocks.as_slice() {
            [ContentBlock::Text { text, cache_control: None, citations: None }] => Content::Text(text.clone()),
            _ => Content::Blocks(blocks),
        };
        self.messages.push(Message { role, content });
    }
}

/// `functionResponse` → `tool_result`: `response.error` marks a failure; the `output`
/// (or the whole response object) becomes the result's text.
fn tool_result(response: &FunctionResponse, id: String, at: &dyn Fn() -> String) -> Result<ContentBlock, ApiError> {
    let (text, is_error) = match &response.response {
        Value::Object(map) => match (map.get("error").filter(|e| !e.is_null()), map.get("output")) {
            (Some(error), _) => (value_text(error), true),
            (None, Some(output)) if map.len() == 1 => (value_text(output), false),
            _ => (value_text(&response.response), false),
        },
        Value::Null => (String::new(), false),
        other => (value_text(other), false),
    };
    let mut media = Vec::new();
    for (k, part) in response.parts.iter().flatten().enumerate() {
        let block = match (&part.inline_data, &part.file_data) {
            (Some(blob), _) => inline_block(blob),
            (None, Some(file)) => file_block(file),
            _ => continue,
        };
        media.push(block.map_err(|m| ApiError::invalid(format!("{}.functionResponse.parts[{k}]: {m}", at())))?);
    }
    let content = if media.is_empty() {
        Content::Text(text.into())
    } else {
        let mut blocks = Vec::with_capacity(media.len() + 1);
        if !text.is_empty() {
            blocks.push(ContentBlock::text(text));
        }
        blocks.extend(media);
        Content::Blocks(blocks)
    };
    Ok(ContentBlock::ToolResult {
        tool_use_id: id,
        content: Some(content),
        is_error: is_error.then_some(true),
        cache_control: None,
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Gemini accepts URL-safe base64 (the google-genai SDK sends it); every other
/// dialect wants the standard alphabet with padding.
fn standard_base64(data: &str) -> String {
    if !data.contains(['-', '_']) && data.len() % 4 == 0 {
        return data.to_string();
    }
    let mut out: String = data
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

fn inline_block(blob: &Blob) -> Result<ContentBlock, String> {
    let mime = blob.mime_type.as_str();
    let data = standard_base64(&blob.data);
    if crate::translate::ANTHROPIC_IMAGE_TYPES.contains(&mime) {
        let source = ImageSource::Base64 { media_type: mime.to_string(), data };
        return Ok(ContentBlock::Image { source, cache_control: None });
    }
    if mime == "application/pdf" {
        return Ok(document(serde_json::json!({"type": "base64", "media_type": mime, "data": data})));
    }
    Err(format!("inlineData of type '{mime}' is not supported (jpeg, png, gif, webp images and PDF are)"))
}

fn file_block(file: &FileData) -> Result<ContentBlock, String> {
    match file.mime_type.as_deref() {
        Some("application/pdf") => Ok(document(serde_json::json!({"type": "url", "url": file.file_uri}))),
        None => {
            Ok(ContentBlock::Image { source: ImageSource::Url { url: file.file_uri.clone() }, cache_control: None })
        }
        Some(mime) if mime.starts_with("image/") => {
            Ok(ContentBlock::Image { source: ImageSource::Url { url: file.file_uri.clone() }, cache_control: None })
        }
        Some(mime) => Err(format!("fileData of type '{mime}' is not supported (images and PDF are)")),
    }
}

fn document(source: Value) -> ContentBlock {
    ContentBlock::Document { source, title: None, context: None, cache_control: None }
}

/// `functionCallingConfig` → tool choice. `ANY` with one allowed name is that tool;
/// otherwise the tools not allowed are left out.
fn tool_choice_of(config: &FunctionCallingConfig, tools: &mut Vec<Tool>) -> Option<ToolChoice> {
    let allowed = config.allowed_function_names.as_deref().unwrap_or_default();
    let mode = config.mode.as_deref()?;
    let one_forced = mode == "ANY" && allowed.len() == 1;
    if matches!(mode, "ANY" | "VALIDATED") && !allowed.is_empty() && !one_forced {
        tools.retain(|t| allowed.contains(&t.name));
    }
    match mode {
        "NONE" => Some(ToolChoice::None),
        "ANY" => match allowed {
            [name] => Some(ToolChoice::Tool { name: name.clone(), disable_parallel_tool_use: None }),
            _ => Some(ToolChoice::Any { disable_parallel_tool_use: None }),
        },
        "AUTO" | "VALIDATED" => Some(ToolChoice::Auto { disable_parallel_tool_use: None }),
        _ => None,
    }
}

/// `thinkingConfig` → canonical thinking: a budget (at least Anthropic's 1024), `-1`
/// (dynamic) as adaptive, a level as a budget; `0` or `MINIMAL` as off (`disabled`).
fn thinking_of(config: &ThinkingConfig) -> Option<Thinking> {
    let enabled = |budget: i64| Thinking {
        kind: "enabled".into(),
        budget_tokens: Some(budget.clamp(1024, i64::from(u32::MAX)) as u32),
    };
    match (config.thinking_budget, config.thinking_level.as_deref()) {
        (Some(0), _) => Some(Thinking::disabled()),
        (Some(b), _) if b < 0 => Some(Thinking { kind: "adaptive".into(), budget_tokens: None }),
        (Some(b), _) => Some(enabled(b)),
        (None, Some("MINIMAL")) => Some(Thinking::disabled()),
        (None, Some("LOW")) => Some(enabled(1024)),
        (None, Some("MEDIUM")) => Some(enabled(4096)),
        (None, Some(_)) => Some(enabled(16384)),
        // Thoughts asked for without a budget: the model decides how much.
        (None, None) if config.include_thoughts == Some(true) => {
            Some(Thinking { kind: "adaptive".into(), budget_tokens: None })
        }
        (None, None) => None,
    }
}

/// JSON output, with a schema or without → canonical `output_config.format`.
fn output_format(config: &GenerationConfig) -> Option<Value> {
    if config.response_mime_type.as_deref() != Some("application/json") {
        return None;
    }
    // Gemini takes `responseJsonSchema` with OpenAPI's upper-case type names too (Gemini
    // CLI writes `"type":"OBJECT"`); other providers refuse them. Both are made JSON Schema.
    let schema = config.response_json_schema.clone().or_else(|| config.response_schema.clone());
    Some(match schema {
        Some(schema) => crate::translate::output_format::json_schema(json_schema_from_openapi(schema), None, None),
        None => crate::translate::output_format::json_object(),
    })
}

/// Field names of Gemini's `Schema` as protobuf's JSON mapping also accepts them (the
/// google-genai SDK sends some so), and as JSON Schema spells them.
const SNAKE_CASE_SCHEMA_FIELDS: [(&str, &str); 8] = [
    ("any_of", "anyOf"),
    ("max_items", "maxItems"),
    ("min_items", "minItems"),
    ("max_length", "maxLength"),
    ("min_length", "minLength"),
    ("max_properties", "maxProperties"),
    ("min_properties", "minProperties"),
    ("property_ordering", "propertyOrdering"),
];

/// Gemini's OpenAPI-subset `Schema` → JSON Schema, in every nested schema: field names
/// in camel case, type names in lower case, and `nullable` as a `null` type.
fn json_schema_from_openapi(mut schema: Value) -> Value {
    fn walk(v: &mut Value) {
        let Value::Object(map) = v else { return };
        for (snake, camel) in SNAKE_CASE_SCHEMA_FIELDS {
            if let Some(value) = map.shift_remove(snake) {
                map.entry(camel).or_insert(value);
            }
        }
        if let Some(Value::String(t)) = map.get_mut("type") {
            *t = t.to_ascii_lowercase();
        }
        if map.get("nullable") == Some(&Value::Bool(true)) {
            map.shift_remove("nullable");
            if let Some(t) = map.get("type").cloned() {
                map.insert("type".into(), serde_json::json!([t, "null"]));
            }
        }
        for (key, child) in map.iter_mut() {
            match (key.as_str(), child) {
                ("items" | "additionalProperties" | "not", child) => walk(child),
                ("anyOf" | "oneOf" | "allOf" | "prefixItems", Value::Array(list)) => list.iter_mut().for_each(walk),
                ("properties" | "patternProperties" | "$defs" | "definitions", Value::Object(named)) => {
                    named.values_mut().for_each(walk)
                }
                _ => {}
            }
        }
    }
    walk(&mut schema);
    schema
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn url_safe_base64_becomes_standard() {
        assert_eq!(super::standard_base64("iVBORw0KGgo"), "iVBORw0KGgo=");
        assert_eq!(super::standard_base64("a-b_"), "a+b/");
        assert_eq!(super::standard_base64("abcd"), "abcd");
    }
}
