//! Hosted web search between the Anthropic and Responses dialects, both ways.
//!
//! An Anthropic `web_search_*` server tool (Claude Code's WebSearch sends one) becomes
//! Responses' `web_search` tool: `allowed_domains` as its filter, `user_location` as it
//! is (both APIs describe an approximate location alike); `blocked_domains` and
//! `max_uses` have no Responses counterpart and are dropped. The request asks for the
//! search's sources (`include: web_search_call.action.sources`). A `tool_choice`
//! naming the search forces it as `required` when it is the only tool, else through
//! `allowed_tools`, which OpenAI's tool choice types (naming only `web_search_preview`)
//! leave as the way to force it.
//!
//! Each `web_search_call` item that searched comes back as Anthropic reports its own
//! searches: a `server_tool_use` block named `web_search` with `{"query": …}`, then a
//! `web_search_tool_result` block listing the pages found. Responses gives a source
//! its address only: the address is also its title, `encrypted_content` is empty and
//! `page_age` null. Anthropic itself would refuse such blocks sent back to it. Other
//! clients get nothing of the search, as before; its citations stay in the answer's text.
//!
//! The other way, a Responses client's `web_search` tool becomes Anthropic's
//! `web_search_20250305` (`filters.allowed_domains` and `user_location` kept, at most
//! five searches a turn), unless it asks for OpenAI's cached index only
//! (`external_web_access: false`). Anthropic's
//! `server_tool_use` named `web_search` and its `web_search_tool_result` become one
//! `web_search_call` item: `action` `{type: "search", query}`, with the pages as
//! `sources` when the client asked for them, `completed`, or `failed` when the results
//! were an error or never came. Streamed, the item opens at the call
//! (`response.web_search_call.in_progress`, `.searching`) and is done at its results
//! (`.completed`, `output_item.done`). `web_search_call` items a client sends back are
//! dropped: Anthropic can only replay its own results.

use crate::protocol::anthropic::Tool;
use crate::protocol::openai_responses::{Item, ResponsesTool};
use crate::translate::web_search::{self as shared, WebSearch};
use serde_json::{json, Value};

pub(super) use shared::{requested, unfinished, NAME};

/// What the answer must include for the search's sources to come back.
pub(super) const SOURCES: &str = "web_search_call.action.sources";

/// Responses' `web_search` tool for Anthropic's `tool`.
pub(super) fn responses_tool(tool: &Tool) -> ResponsesTool {
    ResponsesTool {
        kind: "web_search".to_string(),
        filters: tool.allowed_domains.as_ref().map(|d| json!({"allowed_domains": d})),
        user_location: tool.user_location.clone(),
        ..Default::default()
    }
}

/// Whether a Responses tool type is the hosted web search (`web_search`, and its
/// earlier `web_search_preview` names).
pub(super) fn is_search(kind: &str) -> bool {
    kind.starts_with("web_search")
}

/// Anthropic's hosted web search for a Responses client's `web_search` tool, unless
/// the client keeps the search to OpenAI's cached index (`external_web_access: false`),
/// which Anthropic's live search would not respect.
pub(super) fn canonical_tool(tool: &ResponsesTool) -> Option<Tool> {
    if tool.external_web_access == Some(false) {
        return None;
    }
    let allowed = tool.filters.as_ref().and_then(|f| f.get("allowed_domains")).and_then(Value::as_array);
    let allowed_domains = allowed.map(|d| d.iter().filter_map(Value::as_str).map(str::to_string).collect());
    Some(shared::canonical_tool(allowed_domains, tool.user_location.clone()))
}

/// The search of a finished `web_search_call` item; `None` for another item, or an
/// action other than a search (opening or searching a page). Responses gives a source
/// its address only: the address is also its title.
pub(super) fn search_of(item: &Item) -> Option<WebSearch> {
    let Item::WebSearchCall { id, status, action } = item else { return None };
    let action = action.as_ref()?;
    if action.get("type").and_then(Value::as_str).is_some_and(|t| t != "search") {
        return None;
    }
    let query = match action.get("query").and_then(Value::as_str) {
        Some(q) => q.to_string(),
        None => action.get("queries")?.as_array()?.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
    };
    let results = if status.as_deref() == Some("failed") {
        shared::unfinished()
    } else {
        let sources = action.get("sources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let pages =
            sources.iter().filter_map(|s| s.get("url").and_then(Value::as_str)).map(|url| shared::page(url, url));
        Value::Array(pages.collect())
    };
    Some(WebSearch::new(id.as_deref(), query, results))
}

/// The `web_search_call` item of an Anthropic search, with `action` `{type: "search",
/// query}` and, when the client asked for them (`include`), the pages as `sources`.
/// `results` is the search's `web_search_tool_result` content, once it has come: a
/// list of pages (`completed`), or an error (`failed`); none yet is `in_progress`.
pub(super) fn call_item(id: String, input: &Value, results: Option<&Value>, sources: bool) -> Item {
    let query = input.get("query").and_then(Value::as_str).unwrap_or_default();
    let mut action = json!({"type": "search", "query": query});
    let pages = results.and_then(Value::as_array);
    if let (true, Some(pages)) = (sources, pages) {
        let urls = pages.iter().filter_map(|p| p.get("url").and_then(Value::as_str));
        action["sources"] = urls.map(|url| json!({"type": "url", "url": url})).collect();
    }
    // An error result (`web_search_tool_result_error`) is an object, not a list.
    let status = match results {
        None => "in_progress",
        Some(Value::Array(_)) => "completed",
        Some(_) => "failed",
    };
    Item::WebSearchCall { id: Some(id), status: Some(status.to_string()), action: Some(action) }
}
