//! Requests between the canonical (Anthropic) model and the Responses API.
//!
//! Responses → canonical:
//! - `instructions` and `system`/`developer` messages are hoisted into `system`, in order.
//! - `function_call` items join the assistant turn as `tool_use`; `function_call_output`
//!   items join the next user turn as `tool_result`, ahead of any user text.
//! - Custom tools (free-text input) become function tools with one string property,
//!   `input`; their `custom_tool_call` / `custom_tool_call_output` items are `tool_use`
//!   (`{"input": text}`) / `tool_result`. Answers go back as custom calls
//!   (`ResponsesRequestInfo::is_custom_tool`).
//! - `reasoning` items are dropped (OpenAI's encrypted content means nothing elsewhere),
//!   except those whose `encrypted_content` the gateway sealed: their thinking block;
//!   hosted tools and hosted-tool items are dropped; `item_reference` is refused, since
//!   the referenced item lives at OpenAI.
//! - `reasoning.effort` becomes a thinking budget (low 1024, medium 4096, high 16384)
//!   unless a tool is forced; `temperature` and `top_p` stay as given (Anthropic's
//!   limits apply towards Anthropic only).
//!
//! Canonical → Responses:
//! - `system` becomes `instructions`; mid-conversation system messages stay `system` items.
//! - Thinking blocks, `stop_sequences`, `top_k` and `metadata` are dropped: Responses has
//!   no `stop`, and a foreign `user_id` may break its length limit.
//! - Function tools are sent with `strict: false`: Responses treats an omitted `strict`
//!   as true, which rejects most hand-written schemas.
//! - `store: false`: the gateway keeps conversations itself and never relies on state
//!   held by an upstream.

use super::ResponsesRequestInfo;
use crate::protocol::anthropic::{
    Content, ContentBlock, Message, MessagesRequest, Metadata, OutputConfig, Role, Tool, ToolChoice,
};
use crate::protocol::openai_responses::{
    ContentPart, Item, ItemContent, ResponsesInput, ResponsesRequest, ResponsesTool,
};
use crate::protocol::{RawJson, Text};
use crate::translate::tool_names::ToolNames;
use crate::translate::{sanitize_tool_id, ApiError};
use serde_json::{json, Value};

// ======================================================= Responses → canonical

pub(super) fn to_canonical(body: &[u8]) -> Result<(MessagesRequest, ResponsesRequestInfo), ApiError> {
    let mut req: ResponsesRequest =
        crate::protocol::from_json(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?;
    let mut info = request_info(&req);

    let mut system: Vec<ContentBlock> = Vec::new();
    if let Some(text) = req.instructions.filter(|t| !t.is_empty()) {
        system.push(ContentBlock::text(text));
    }
    // Tools first: calls in the history take the names their tools get upstream. The
    // tools an `additional_tools` input item gives, and those a client's tool search
    // found, are among them.
    let mut given = req.tools.take().unwrap_or_default();
    if let Some(ResponsesInput::Items(items)) = &req.input {
        let extra = input_tools(items, &given);
        info.input_custom_tools = extra.iter().filter(|t| t.kind == "custom").filter_map(|t| t.name.clone()).collect();
        given.extend(extra);
        if given.iter().any(super::tool_search::is_client_search) {
            let found = super::tool_search::found_tools(items, &given);
            given.extend(found);
        }
    }
    // Decided on every tool declared, as `declared_tools` decides it.
    info.tool_search = super::tool_search::declared(&given);
    let (mut tools, names) = declared_tools(given)?;
    let mut messages: Vec<Message> = Vec::new();
    match req.input {
        None => {}
        Some(ResponsesInput::Text(text)) => push_blocks(&mut messages, Role::User, text_blocks(text.into())),
        Some(ResponsesInput::Items(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                push_item(i, item, &names, &mut system, &mut messages)?;
            }
        }
    }
    if messages.is_empty() && req.previous_response_id.is_none() {
        return Err(ApiError::invalid("input: there is no user input to answer"));
    }
    // `allowed_tools` narrows the tools the model may call: the others are left out.
    if let Some(allowed) = req.tool_choice.as_ref().and_then(allowed_tool_names) {
        tools.retain(|t| allowed.contains(&names.client(&t.name).0));
    }
    let disable_parallel = (req.parallel_tool_calls == Some(false)).then_some(true);
    let mut tool_choice =
        if tools.is_empty() { None } else { tool_choice_of(req.tool_choice.as_ref(), disable_parallel)? };
    if let Some(ToolChoice::Tool { name, disable_parallel_tool_use }) = &mut tool_choice {
        // A search forced where none is declared (the client keeps it to OpenAI's index).
        if !tools.iter().any(|t| t.name == *name || names.client(&t.name).0 == name.as_str()) {
            tool_choice = Some(ToolChoice::Auto { disable_parallel_tool_use: *disable_parallel_tool_use });
        } else {
            *name = names.upstream(name, None).into_owned();
        }
    }

    // A client that asks for summaries and no effort gets the models' default, medium
    // (gpt-5-codex's Codex sends `reasoning: {summary: "auto"}` alone).
    let effort = req.reasoning.as_ref().and_then(|r| r.effort.as_deref().or(r.summary.as_ref().map(|_| "medium")));
    let mut thinking = effort.map(crate::translate::thinking_for_effort);
    // Forced tool use and extended thinking exclude each other on Anthropic: keep the
    // tool choice, which the client stated more specifically.
    if matches!(tool_choice, Some(ToolChoice::Any { .. } | ToolChoice::Tool { .. })) {
        thinking = None;
    }
    // Sampling stays as the client set it: Anthropic's limits apply on the way to an
    // Anthropic upstream only (`anthropic_request`).
    let (temperature, top_p) = (req.temperature, req.top_p);

    let canonical = MessagesRequest {
        model: req.model,
        messages,
        system: (!system.is_empty()).then_some(Content::Blocks(system)),
        max_tokens: req.max_output_tokens,
        metadata: req.user.or(req.safety_identifier).map(|u| Metadata { user_id: Some(u) }),
        stop_sequences: None,
        stream: req.stream.filter(|s| *s),
        temperature,
        top_p,
        top_k: None,
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice,
        thinking,
        output_config: crate::translate::output_format::from_responses(req.text.as_ref())
            .map(|f| OutputConfig { effort: None, format: Some(f) }),
    };
    let info = ResponsesRequestInfo { tool_names: crate::translate::tool_names::kept(names), ..info };
    Ok((canonical, info))
}

/// The request's function and custom tools as canonical tools, a `namespace` tool's
/// tools among them, under the names the upstream takes (`tool_names`), and its web
/// search as Anthropic's (`web_search`). Other hosted tools (file_search, mcp, …) run
/// at OpenAI only: dropped.
fn declared_tools(given: Vec<ResponsesTool>) -> Result<(Vec<Tool>, ToolNames), ApiError> {
    let mut flat: Vec<(ResponsesTool, Option<String>, usize)> = Vec::new();
    let mut search = None;
    // The name `tool_search` is taken: by a function of the client's, which keeps it
    // (`tool_search::declared`), or by the client's search once declared.
    let mut search_named = super::tool_search::function_named(&given);
    for (i, tool) in given.into_iter().enumerate() {
        match tool.kind.as_str() {
            kind if super::web_search::is_search(kind) => search = search.or(super::web_search::canonical_tool(&tool)),
            "function" | "custom" => flat.push((tool, None, i)),
            // Declared once, however often it is given.
            _ if super::tool_search::is_client_search(&tool) && !search_named => {
                search_named = true;
                flat.push((super::tool_search::function_tool(tool), None, i));
            }
            "namespace" => {
                let namespace = tool.name.filter(|n| !n.is_empty());
                let namespace =
                    namespace.ok_or_else(|| ApiError::invalid(format!("tools[{i}]: a namespace tool needs a name")))?;
                for inner in tool.tools.unwrap_or_default() {
                    if inner.kind == "function" || inner.kind == "custom" {
                        flat.push((inner, Some(namespace.clone()), i));
                    }
                }
            }
            _ => {}
        }
    }
    let mut named = Vec::with_capacity(flat.len());
    for (tool, namespace, i) in flat {
        let name = tool.name.clone().filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| ApiError::invalid(format!("tools[{i}]: a {} tool needs a name", tool.kind)))?;
        named.push((tool, namespace, name));
    }
    let declared: Vec<(&str, Option<&str>)> = named.iter().map(|(_, ns, n)| (n.as_str(), ns.as_deref())).collect();
    let (names, upstream) = ToolNames::declare_all(&declared);
    let mut tools = named
        .into_iter()
        .zip(upstream)
        .map(|((tool, _, _), name)| {
            let input_schema = match tool.kind.as_str() {
                "custom" => custom_tool_schema(tool.format.as_ref()),
                _ => tool.parameters.map_or_else(RawJson::empty_object_schema, RawJson::with_object_type),
            };
            Tool {
                kind: None,
                name,
                description: tool.description.map(Text::from),
                input_schema: Some(input_schema),
                ..Default::default()
            }
        })
        .collect::<Vec<_>>();
    if let Some(search) = search.filter(|s| !tools.iter().any(|t| t.name == s.name)) {
        tools.push(search);
    }
    Ok((tools, names))
}

/// The tools an input's `additional_tools` items give (Codex's code-mode models send
/// theirs so, with no `tools`) that `given` does not declare yet, each once: the
/// `functions` namespace's as top-level tools, which is how their calls name them (`exec`,
/// a custom tool, and `wait`), and other namespaces as they are.
fn input_tools(items: &[Item], given: &[ResponsesTool]) -> Vec<ResponsesTool> {
    let additional = items.iter().flat_map(|item| match item {
        Item::AdditionalTools { tools, .. } => tools.as_slice(),
        _ => &[],
    });
    let flat = additional.flat_map(|tool| match (tool.kind.as_str(), tool.name.as_deref()) {
        ("namespace", Some(TOP_LEVEL)) => tool.tools.as_deref().unwrap_or_default(),
        _ => std::slice::from_ref(tool),
    });
    undeclared(flat, given)
}

/// Those of `candidates` (function, custom and `namespace` tools) that `given` does not
/// declare, each once: a namespace keeps only its tools not declared yet.
pub(super) fn undeclared<'a>(
    candidates: impl IntoIterator<Item = &'a ResponsesTool>,
    given: &[ResponsesTool],
) -> Vec<ResponsesTool> {
    let mut seen: Vec<(Option<&str>, &str)> = Vec::new();
    for tool in given {
        declared_names(tool, &mut seen);
    }
    let mut out: Vec<ResponsesTool> = Vec::new();
    let mut added: Vec<(Option<String>, String)> = Vec::new();
    let new = |namespace: Option<&str>, name: &str, added: &mut Vec<(Option<String>, String)>| {
        let known =
            seen.contains(&(namespace, name)) || added.iter().any(|(ns, n)| ns.as_deref() == namespace && n == name);
        if !known {
            added.push((namespace.map(str::to_string), name.to_string()));
        }
        !known
    };
    for tool in candidates {
        match tool.kind.as_str() {
            "namespace" => {
                let mut kept = tool.clone();
                let namespace = tool.name.as_deref();
                if let Some(members) = kept.tools.as_mut() {
                    members.retain(|m| new(namespace, m.name.as_deref().unwrap_or_default(), &mut added));
                }
                if kept.tools.as_ref().is_some_and(|m| !m.is_empty()) {
                    out.push(kept);
                }
            }
            "function" | "custom" => {
                if new(None, tool.name.as_deref().unwrap_or_default(), &mut added) {
                    out.push(tool.clone());
                }
            }
            _ => out.push(tool.clone()),
        }
    }
    out
}

/// The (namespace, name) pairs a declared tool stands for.
fn declared_names<'a>(tool: &'a ResponsesTool, out: &mut Vec<(Option<&'a str>, &'a str)>) {
    match tool.kind.as_str() {
        "namespace" => {
            for member in tool.tools.iter().flatten() {
                out.push((tool.name.as_deref(), member.name.as_deref().unwrap_or_default()));
            }
        }
        _ => out.push((None, tool.name.as_deref().unwrap_or_default())),
    }
}

/// The namespace whose tools are called by their own names.
const TOP_LEVEL: &str = "functions";

fn request_info(req: &ResponsesRequest) -> ResponsesRequestInfo {
    // Only function and custom tools are honoured, so only they are echoed.
    let tools: Vec<ResponsesTool> =
        req.tools.iter().flatten().filter(|t| t.kind == "function" || t.kind == "custom").cloned().collect();
    ResponsesRequestInfo {
        model: req.model.clone(),
        stream: req.stream.unwrap_or(false),
        store: req.store.unwrap_or(true),
        previous_response_id: req.previous_response_id.clone(),
        instructions: req.instructions.clone(),
        temperature: req.temperature,
        top_p: req.top_p,
        max_output_tokens: req.max_output_tokens,
        metadata: req.metadata.clone(),
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice: req.tool_choice.clone(),
        parallel_tool_calls: req.parallel_tool_calls,
        text: req.text.clone(),
        reasoning: req.reasoning.as_ref().and_then(|r| serde_json::to_value(r).ok()),
        user: req.user.clone(),
        truncation: req.truncation.clone(),
        tool_names: None,
        encrypted_reasoning: req.include.iter().flatten().any(|i| i == "reasoning.encrypted_content"),
        web_search_sources: req.include.iter().flatten().any(|i| i == super::web_search::SOURCES),
        // Set once the tools are all known (`to_canonical`).
        tool_search: false,
        input_custom_tools: Vec::new(),
    }
}

fn push_item(
    i: usize,
    item: Item,
    names: &ToolNames,
    system: &mut Vec<ContentBlock>,
    messages: &mut Vec<Message>,
) -> Result<(), ApiError> {
    let kind = item.kind();
    match item {
        Item::Message { content, role, .. } => match role.as_str() {
            "system" | "developer" => {
                let text = plain_text(&content);
                if !text.is_empty() {
                    system.push(ContentBlock::text(text));
                }
            }
            "user" => {
                let blocks = user_blocks(content, &format!("input[{i}].content"))?;
                push_blocks(messages, Role::User, blocks);
            }
            "assistant" => push_blocks(messages, Role::Assistant, assistant_blocks(content)),
            other => return Err(ApiError::invalid(format!("input[{i}]: unsupported message role '{other}'"))),
        },
        call @ (Item::FunctionCall { .. } | Item::CustomToolCall { .. }) => {
            let namespace = match &call {
                Item::FunctionCall { namespace, .. } => namespace.clone(),
                _ => None,
            };
            let Some((call_id, name, input)) = super::tool_call_parts(call) else { return Ok(()) };
            let name = names.upstream(&name, namespace.as_deref()).into_owned();
            let call_id = call_id.ok_or_else(|| ApiError::invalid(format!("input[{i}]: a {kind} needs a call_id")))?;
            let block = ContentBlock::ToolUse { id: sanitize_tool_id(call_id), name, input, cache_control: None };
            push_blocks(messages, Role::Assistant, vec![block]);
        }
        Item::FunctionCallOutput { call_id, output, .. } | Item::CustomToolCallOutput { call_id, output, .. } => {
            if call_id.is_empty() {
                return Err(ApiError::invalid(format!("input[{i}]: a {kind} needs a call_id")));
            }
            let content = tool_result_content(output, &format!("input[{i}].output"))?;
            let block = ContentBlock::ToolResult {
                tool_use_id: sanitize_tool_id(call_id),
                content: Some(content),
                is_error: None,
                cache_control: None,
            };
            push_tool_result(messages, block);
        }
        // Thinking the gateway sealed into a reasoning item comes back whole: Anthropic
        // wants a tool-calling turn with the thinking it began with. OpenAI's own
        // encrypted reasoning is valid at OpenAI only, and a summary was shown, not said.
        Item::Reasoning { encrypted_content: Some(sealed), .. } => {
            if let Some(block) = crate::translate::sealed::open(&sealed) {
                push_blocks(messages, Role::Assistant, vec![block]);
            }
        }
        Item::Reasoning { .. } => {}
        Item::ItemReference { id } => {
            return Err(ApiError::invalid(format!(
                "input[{i}]: item_reference '{id}' is not supported by this gateway; send the item itself"
            )));
        }
        // A search the server ran (OpenAI's) has nothing to replay elsewhere.
        Item::ToolSearchCall { execution, .. } | Item::ToolSearchOutput { execution, .. }
            if execution.as_deref() != Some("client") => {}
        Item::ToolSearchCall { call_id, arguments, .. } => {
            if call_id.is_empty() {
                return Err(ApiError::invalid(format!("input[{i}]: a {kind} needs a call_id")));
            }
            push_blocks(messages, Role::Assistant, vec![super::tool_search::call_block(call_id, arguments, names)]);
        }
        Item::ToolSearchOutput { call_id, tools, .. } => {
            if call_id.is_empty() {
                return Err(ApiError::invalid(format!("input[{i}]: a {kind} needs a call_id")));
            }
            push_tool_result(messages, super::tool_search::output_block(call_id, &tools, names));
        }
        // Declared with the request's tools (`input_tools`).
        Item::AdditionalTools { .. } => {}
        // Hosted-tool calls and their outputs ran at OpenAI: nothing to replay.
        Item::WebSearchCall { .. } | Item::Other => {}
    }
    Ok(())
}

fn text_blocks(text: Text) -> Vec<ContentBlock> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![ContentBlock::text(text)]
    }
}

/// The text of system, developer or assistant content; other parts are skipped.
fn plain_text(content: &ItemContent) -> String {
    match content {
        ItemContent::Text(t) => t.to_string(),
        ItemContent::Parts(parts) => {
            let mut out = String::new();
            for part in parts {
                match part {
                    ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => out.push_str(text),
                    ContentPart::Refusal { refusal } => out.push_str(refusal),
                    _ => {}
                }
            }
            out
        }
    }
}

fn assistant_blocks(content: ItemContent) -> Vec<ContentBlock> {
    match content {
        ItemContent::Text(t) => text_blocks(t),
        ItemContent::Parts(parts) => parts
            .into_iter()
            .filter_map(|part| match part {
                ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => Some(text),
                ContentPart::Refusal { refusal } => Some(Text::from(refusal)),
                _ => None,
            })
            .filter(|t| !t.is_empty())
            .map(ContentBlock::text)
            .collect(),
    }
}

/// User message content (and tool output parts) as canonical blocks; `at` is where the
/// parts are, for error messages. Empty text is skipped: Anthropic rejects empty text blocks.
fn user_blocks(content: ItemContent, at: &str) -> Result<Vec<ContentBlock>, ApiError> {
    let parts = match content {
        ItemContent::Text(t) => return Ok(text_blocks(t)),
        ItemContent::Parts(parts) => parts,
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for (j, part) in parts.into_iter().enumerate() {
        let at = || format!("{at}[{j}]");
        match part {
            ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => {
                blocks.extend(text_blocks(text));
            }
            ContentPart::Refusal { refusal } => blocks.extend(text_blocks(refusal.into())),
            ContentPart::InputImage { image_url, .. } => {
                let url = image_url.ok_or_else(|| {
                    ApiError::invalid(format!("{}: input_image needs an image_url (file_id is not supported)", at()))
                })?;
                let source =
                    crate::translate::image_source(&url).map_err(|m| ApiError::invalid(format!("{}: {m}", at())))?;
                blocks.push(ContentBlock::Image { source, cache_control: None });
            }
            ContentPart::InputFile { file_data, file_url, filename, .. } => {
                let source = match (file_data, file_url) {
                    (Some(data_url), _) => {
                        let (media_type, data) = crate::translate::split_data_url(&data_url).ok_or_else(|| {
                            ApiError::invalid(format!("{}: file_data must be a base64 data URL", at()))
                        })?;
                        json!({"type": "base64", "media_type": media_type, "data": data})
                    }
                    (None, Some(url)) => json!({"type": "url", "url": url}),
                    (None, None) => {
                        return Err(ApiError::invalid(format!(
                            "{}: input_file needs file_data or file_url (file_id is not supported)",
                            at()
                        )));
                    }
                };
                blocks.push(ContentBlock::Document { source, title: filename, context: None, cache_control: None });
            }
            ContentPart::Other => {
                return Err(ApiError::invalid(format!("{}: unsupported content part type", at())));
            }
        }
    }
    Ok(blocks)
}

fn tool_result_content(output: ItemContent, at: &str) -> Result<Content, ApiError> {
    match output {
        ItemContent::Text(t) => Ok(Content::Text(t)),
        parts => Ok(Content::Blocks(user_blocks(parts, at)?)),
    }
}

fn tool_choice_of(choice: Option<&Value>, disable_parallel: Option<bool>) -> Result<Option<ToolChoice>, ApiError> {
    let Some(choice) = choice else {
        return Ok(disable_parallel.map(|d| ToolChoice::Auto { disable_parallel_tool_use: Some(d) }));
    };
    let auto = ToolChoice::Auto { disable_parallel_tool_use: disable_parallel };
    let mapped = match choice {
        Value::String(mode) => match mode.as_str() {
            "none" => ToolChoice::None,
            "auto" => auto,
            "required" => ToolChoice::Any { disable_parallel_tool_use: disable_parallel },
            other => return Err(ApiError::invalid(format!("tool_choice: unknown mode '{other}'"))),
        },
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some(kind @ ("function" | "custom")) => {
                let name = obj
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::invalid(format!("tool_choice: a {kind} choice needs a name")))?;
                ToolChoice::Tool { name: name.to_string(), disable_parallel_tool_use: disable_parallel }
            }
            // The subset is applied to the tools themselves (`allowed_tool_names`).
            Some("allowed_tools") if obj.get("mode").and_then(Value::as_str) == Some("required") => {
                ToolChoice::Any { disable_parallel_tool_use: disable_parallel }
            }
            // The hosted search runs as Anthropic's (`web_search`): forced by its name.
            Some(kind) if super::web_search::is_search(kind) => {
                ToolChoice::Tool { name: super::web_search::NAME.into(), disable_parallel_tool_use: disable_parallel }
            }
            // Other hosted tool types: those tools were dropped, so the model chooses.
            _ => auto,
        },
        _ => return Err(ApiError::invalid("tool_choice must be a string or an object")),
    };
    Ok(Some(mapped))
}

/// The one property a custom tool's input travels in as a function tool elsewhere.
pub(super) const CUSTOM_INPUT: &str = "input";

/// A custom tool (free-text input, Codex's `apply_patch`) as a function tool: one
/// string property, described with the tool's grammar when it has one so that the
/// model writes the text the client will parse.
fn custom_tool_schema(format: Option<&Value>) -> RawJson {
    let grammar = format.filter(|f| f.get("type").and_then(Value::as_str) == Some("grammar"));
    let description = match grammar {
        Some(g) => format!(
            "The tool's input: text in this {} grammar:\n{}",
            g.get("syntax").and_then(Value::as_str).unwrap_or("formal"),
            g.get("definition").and_then(Value::as_str).unwrap_or_default()
        ),
        None => "The tool's input, as free text.".to_string(),
    };
    RawJson::from_value(&json!({
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": description}},
        "required": [CUSTOM_INPUT],
        "additionalProperties": false
    }))
}

/// The function names an `allowed_tools` choice allows.
fn allowed_tool_names<'a>(choice: &'a Value) -> Option<Vec<&'a str>> {
    if choice.get("type").and_then(Value::as_str) != Some("allowed_tools") {
        return None;
    }
    let tools = choice.get("tools")?.as_array()?;
    let name = |t: &'a Value| match t.get("type").and_then(Value::as_str) {
        Some(kind) if super::web_search::is_search(kind) => Some(super::web_search::NAME),
        _ => t.get("name").and_then(Value::as_str),
    };
    Some(tools.iter().filter_map(name).collect())
}

/// Appends blocks as a turn of `role`, merged into the previous turn if it has the same
/// role. Nothing is appended for no blocks: Anthropic rejects empty user turns.
fn push_blocks(messages: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut().filter(|m| m.role == role) {
        let mut merged = take_blocks(&mut last.content);
        merged.extend(blocks);
        last.content = Content::Blocks(merged);
        return;
    }
    let content = match blocks.as_slice() {
        [ContentBlock::Text { text, cache_control: None, citations: None }] => Content::Text(text.clone()),
        _ => Content::Blocks(blocks),
    };
    messages.push(Message { role, content });
}

/// Adds a tool result to the user turn that follows the calls: after the results already
/// there, before any user text.
fn push_tool_result(messages: &mut Vec<Message>, block: ContentBlock) {
    match messages.last_mut().filter(|m| m.role == Role::User) {
        Some(last) => {
            let mut blocks = take_blocks(&mut last.content);
            let at = blocks.iter().take_while(|b| matches!(b, ContentBlock::ToolResult { .. })).count();
            blocks.insert(at, block);
            last.content = Content::Blocks(blocks);
        }
        None => messages.push(Message { role: Role::User, content: Content::Blocks(vec![block]) }),
    }
}

fn take_blocks(content: &mut Content) -> Vec<ContentBlock> {
    match std::mem::replace(content, Content::Blocks(Vec::new())) {
        Content::Text(t) => text_blocks(t),
        Content::Blocks(b) => b,
    }
}
