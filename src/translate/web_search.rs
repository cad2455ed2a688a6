//! Hosted web search in the canonical model, as every spoke sees it.
//!
//! A request asks for it with Anthropic's server tool `web_search_20250305` (named
//! `web_search`); an answer reports each search as Anthropic does: a `server_tool_use`
//! block named `web_search` with `{"query": …}`, then a `web_search_tool_result` block
//! listing the pages found (`{type: "web_search_result", url, title, encrypted_content,
//! page_age}`), or an error object. Searches other providers ran carry no
//! `encrypted_content` (it is empty), so Anthropic would refuse them sent back to it.
//! The dialects' own shapes are in `responses::web_search` and `gemini::search`.

use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent, Tool};
use serde_json::{json, Value};

/// The name of Anthropic's web search tool, as the gateway declares it.
pub(crate) const NAME: &str = "web_search";

/// The version of Anthropic's web search tool another dialect's search becomes.
const ANTHROPIC_TOOL: &str = "web_search_20250305";

/// The searches a turn asked for in another dialect may make on Anthropic. Anthropic
/// pauses a turn whose server-side loop runs long (`pause_turn`), which clients of
/// other dialects cannot resume: they would read the paused answer as complete.
const MAX_USES: u32 = 5;

/// The canonical hosted web search tool, limited to `allowed_domains` when given, for a
/// user at `user_location` (`{type: "approximate", city, region, country, timezone}`).
pub(crate) fn canonical_tool(allowed_domains: Option<Vec<String>>, user_location: Option<Value>) -> Tool {
    Tool {
        kind: Some(ANTHROPIC_TOOL.to_string()),
        name: NAME.to_string(),
        max_uses: Some(MAX_USES),
        allowed_domains,
        user_location,
        ..Default::default()
    }
}

/// The request's hosted web search tool, if it has one.
pub(crate) fn requested(tools: Option<&Vec<Tool>>) -> Option<&Tool> {
    tools?.iter().find(|t| t.is_web_search())
}

/// One page a search found, as a `web_search_tool_result` lists it.
pub(crate) fn page(url: &str, title: &str) -> Value {
    json!({"type": "web_search_result", "url": url, "title": title, "encrypted_content": "", "page_age": null})
}

/// The results of a search that failed, or that ended without any (the answer
/// stopped first).
pub(crate) fn unfinished() -> Value {
    json!({"type": "web_search_tool_result_error", "error_code": "unavailable"})
}

/// The usage count of `searches` searches (none for none).
pub(crate) fn usage(searches: u64) -> Option<crate::protocol::anthropic::ServerToolUsage> {
    (searches > 0).then_some(crate::protocol::anthropic::ServerToolUsage { web_search_requests: searches })
}

/// The searches among a complete answer's blocks.
pub(crate) fn count(blocks: &[ContentBlock]) -> u64 {
    blocks.iter().filter(|b| matches!(b, ContentBlock::ServerToolUse { name, .. } if name == NAME)).count() as u64
}

/// One search the upstream ran, as canonical blocks will tell it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WebSearch {
    id: String,
    query: String,
    results: Value,
}

impl WebSearch {
    /// A search under the upstream's id for it (`None`: one is made up), for `query`,
    /// with `results`: the pages found (see [`page`]), or [`unfinished`].
    pub(crate) fn new(upstream_id: Option<&str>, query: String, results: Value) -> WebSearch {
        let own = upstream_id.filter(|i| !i.is_empty()).map(|i| super::sanitize_tool_id(i.to_string()));
        let own = own.unwrap_or_else(super::generated_tool_id);
        let id = format!("srvtoolu_{}", own.strip_prefix("toolu_").unwrap_or(&own));
        WebSearch { id, query, results }
    }

    fn input(&self) -> Value {
        json!({"query": self.query})
    }

    /// The two blocks of a complete answer.
    pub(crate) fn blocks(self) -> [ContentBlock; 2] {
        let input = self.input();
        [
            ContentBlock::ServerToolUse { id: self.id.clone(), name: NAME.into(), input },
            ContentBlock::WebSearchToolResult { tool_use_id: self.id, content: self.results },
        ]
    }

    /// The two blocks as a stream has them, from block `index` on: the call opens empty
    /// and gets its input as one fragment, as Anthropic streams it.
    pub(crate) fn events(self, index: usize, out: &mut Vec<StreamEvent>) {
        let partial_json = self.input().to_string();
        let call = ContentBlock::ServerToolUse {
            id: self.id.clone(),
            name: NAME.into(),
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
