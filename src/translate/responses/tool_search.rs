//! A tool search the client runs (Codex's `tool_search`), for upstreams without one.
//!
//! With some models (gpt-5.5), Codex declares its MCP servers' tools only through a
//! `tool_search` tool of `execution: "client"`: the model searches, Codex answers with
//! the tools found, and the model may call them from then on. Elsewhere the search is a
//! function tool named `tool_search`, with the client's description and parameters:
//! - the model's call of it is a `tool_search_call` item (`tsc_<r>_<n>`, `execution:
//!   "client"`, `arguments` the call's input as an object), streamed as the item added
//!   and then done, once its input is whole;
//! - a `tool_search_call` sent back is that `tool_use` again, and its
//!   `tool_search_output` the `tool_result`: a JSON list of the tools found, under the
//!   names the upstream knows them by (`{"tools": [{"name", "description"}]}`);
//! - the tools a `tool_search_output` lists (`namespace` tools, as Codex groups an MCP
//!   server's tools, or function tools) are declared with the request's own, so the
//!   upstream can call them: `<namespace>__<name>` (`translate::tool_names`), and their
//!   calls go back to the client with `name` and `namespace`. A tool found twice, or
//!   already declared, is declared once.
//!
//! A search the server runs (`execution` other than `client`) is OpenAI's: dropped, as
//! other hosted tools are.

use crate::protocol::anthropic::{Content, ContentBlock};
use crate::protocol::openai_responses::{Item, ResponsesTool};
use crate::translate::sanitize_tool_id;
use crate::translate::tool_names::ToolNames;
use serde_json::{json, Value};

/// The name the search goes by upstream.
pub(super) const NAME: &str = "tool_search";

/// Whether `tool` is a tool search the client runs.
pub(super) fn is_client_search(tool: &ResponsesTool) -> bool {
    tool.kind == NAME && tool.execution.as_deref() == Some("client")
}

/// Whether `tools` declare a tool search the client runs, and no function of that name
/// (which would keep the name: the search is then left out).
pub(super) fn declared(tools: &[ResponsesTool]) -> bool {
    tools.iter().any(is_client_search) && !function_named(tools)
}

/// Whether one of `tools` is a function or custom tool named as the search.
pub(super) fn function_named(tools: &[ResponsesTool]) -> bool {
    tools.iter().any(|t| matches!(t.kind.as_str(), "function" | "custom") && t.name.as_deref() == Some(NAME))
}

/// The search as a function tool.
pub(super) fn function_tool(tool: ResponsesTool) -> ResponsesTool {
    ResponsesTool {
        kind: "function".to_string(),
        name: Some(NAME.to_string()),
        description: tool.description,
        parameters: tool.parameters,
        ..Default::default()
    }
}

/// The tools the request's `tool_search_output` items list that `given` does not
/// declare yet, each once.
pub(super) fn found_tools(items: &[Item], given: &[ResponsesTool]) -> Vec<ResponsesTool> {
    let listed = items.iter().flat_map(|item| match item {
        Item::ToolSearchOutput { tools, .. } => tools.as_slice(),
        _ => &[],
    });
    super::request::undeclared(listed, given)
}

/// A `tool_search_call` sent back: the search's `tool_use`.
pub(super) fn call_block(call_id: String, arguments: Value, names: &ToolNames) -> ContentBlock {
    let input = match arguments {
        Value::Object(_) => arguments,
        // Some send the arguments as JSON text.
        Value::String(text) => crate::translate::tool_input(&text),
        _ => Value::Object(Default::default()),
    };
    let name = names.upstream(NAME, None).into_owned();
    ContentBlock::ToolUse { id: sanitize_tool_id(call_id), name, input, cache_control: None }
}

/// A `tool_search_output` sent back: the search's `tool_result`, listing the tools found
/// under their names upstream.
pub(super) fn output_block(call_id: String, tools: &[ResponsesTool], names: &ToolNames) -> ContentBlock {
    let mut listed = Vec::new();
    for tool in tools {
        let namespace = (tool.kind == "namespace").then_some(tool.name.as_deref()).flatten();
        let members: Vec<&ResponsesTool> = match namespace {
            Some(_) => tool.tools.iter().flatten().collect(),
            None => vec![tool],
        };
        for member in members {
            let Some(name) = member.name.as_deref() else { continue };
            let mut entry = json!({"name": names.upstream(name, namespace)});
            if let Some(description) = member.description.as_deref() {
                entry["description"] = json!(description);
            }
            listed.push(entry);
        }
    }
    let text = json!({"tools": listed}).to_string();
    ContentBlock::ToolResult {
        tool_use_id: sanitize_tool_id(call_id),
        content: Some(Content::Text(text.into())),
        is_error: None,
        cache_control: None,
    }
}

/// The `tool_search_call` item of the search's call `call_id` with `input`.
pub(super) fn call_item(id: String, call_id: String, input: Value, status: &str) -> Item {
    let arguments = match input {
        Value::Object(_) => input,
        _ => Value::Object(Default::default()),
    };
    Item::ToolSearchCall {
        id: Some(id),
        status: Some(status.to_string()),
        call_id,
        execution: Some("client".to_string()),
        arguments,
    }
}
