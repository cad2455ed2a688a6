//! Hosted web search between Anthropic clients and a Responses upstream.
//!
//! An Anthropic `web_search_*` server tool (Claude Code's WebSearch sends one) becomes
//! Responses' `web_search` tool: `allowed_domains` as its filter, `user_location` as it
//! is (both APIs describe an approximate location alike); `blocked_domains` and
//! `max_uses` have no Responses counterpart and are dropped. The request asks for the
//! search's sources (`include: web_search_call.action.sources`).
//!
//! Each `web_search_call` item that searched comes back as Anthropic reports its own
//! searches: a `server_tool_use` block named `web_search` with `{"query": …}`, then a
//! `web_search_tool_result` block listing the pages found. Responses gives a source
//! its address only: the address is also its title, `encrypted_content` is empty and
//! `page_age` null. Anthropic itself would refuse such blocks sent back to it. Other
//! clients get nothing of the search, as before; its citations stay in the answer's text.

use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent, Tool};
use crate::protocol::openai_responses::{Item, ResponsesTool};
use serde_json::{json, Value};

/// What the answer must include for the search's sources to come back.
pub(super) const SOURCES: &str = "web_search_call.action.sources";

/// The request's hosted web search tool, if it has one.
pub(super) fn requested(tools: Option<&Vec<Tool>>) -> Option<&Tool> {
    tools?.iter().find(|t| t.kind.as_deref().is_some_and(|k| k.starts_with("web_search_")))
}

/// Responses' `web_search` tool for Anthropic's `tool`.
pub(super) fn responses_tool(tool: &Tool) -> ResponsesTool {
    ResponsesTool {
        kind: "web_search".to_string(),
        filters: tool.allowed_domains.as_ref().map(|d| json!({"allowed_domains": d})),
        user_location: tool.user_location.clone(),
        ..Default::default()
    }
}

/// One search the upstream ran, as canonical blocks will tell it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WebSearch {
    id: String,
    query: String,
    results: Value,
}

impl WebSearch {
    /// The search of a finished `web_search_call` item; `None` for another item, or an
    /// action other than a search (opening or searching a page).
    pub(super) fn of(item: &Item) -> Option<WebSearch> {
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
            json!({"type": "web_search_tool_result_error", "error_code": "unavailable"})
        } else {
            let sources = action.get("sources").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let pages = sources.iter().filter_map(|s| s.get("url").and_then(Value::as_str)).map(|url| {
                json!({"type": "web_search_result", "url": url, "title": url, "encrypted_content": "", "page_age": null})
            });
            Value::Array(pages.collect())
        };
        let own = id.as_deref().filter(|i| !i.is_empty()).map(|i| crate::translate::sanitize_tool_id(i.to_string()));
        let own = own.unwrap_or_else(crate::translate::generated_tool_id);
        let id = format!("srvtoolu_{}", own.strip_prefix("toolu_").unwrap_or(&own));
        Some(WebSearch { id, query, results })
    }

    fn input(&self) -> Value {
        json!({"query": self.query})
    }

    /// The two blocks of a complete answer.
    pub(super) fn blocks(self) -> [ContentBlock; 2] {
        let input = self.input();
        [
            ContentBlock::ServerToolUse { id: self.id.clone(), name: "web_search".into(), input },
            ContentBlock::WebSearchToolResult { tool_use_id: self.id, content: self.results },
        ]
    }

    /// The two blocks as a stream has them, from block `index` on: the call opens empty
    /// and gets its input as one fragment, as Anthropic streams it.
    pub(super) fn events(self, index: usize, out: &mut Vec<StreamEvent>) {
        let partial_json = self.input().to_string();
        let call = ContentBlock::ServerToolUse {
            id: self.id.clone(),
            name: "web_search".into(),
            input: Value::Object(Default::default()),
        };
        out.push(StreamEvent::ContentBlockStart { index, content_block: call });
        out.push(StreamEvent::ContentBlockDelta { index, delta: BlockDelta::InputJsonDelta { partial_json } });
        out.push(StreamEvent::ContentBlockStop { index });
        let result = ContentBlock::WebSearchToolResult { tool_use_id: self.id, content: self.results };
        out.push(StreamEvent::ContentBlockStart { index: index + 1, content_block: result });
        out.push(StreamEvent::ContentBlockStop { index: index + 1 });
    }
}
