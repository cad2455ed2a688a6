//! Grounding with Google Search ⇄ the canonical hosted web search (`translate::web_search`).
//!
//! Towards a Gemini upstream that runs it (`hosted_web_search`), the canonical web
//! search tool becomes `{"googleSearch": {}}`, when the request declares no function:
//! `generateContent` mixes Google Search with function calling only on Gemini 3 models,
//! and only if the client circulates the server-side calls, which no other dialect
//! can. With functions, the search is left out, as on other channels that do not run
//! it. Allowed and blocked domains and the user's location have no Gemini counterpart.
//!
//! An answer's `groundingMetadata` becomes one canonical search: its queries (joined by
//! ` | ` when there are several) and its web sources (`uri`, and `title`, which is
//! Google's name for the site). Gemini's source addresses are redirects through Google
//! (`vertexaisearch.cloud.google.com/grounding-api-redirect/…`). A complete answer has
//! the search before the text, as Anthropic orders it; a stream tells it at the finish
//! reason, after the text it grounded, with the metadata of every chunk until then
//! merged (a stream may send it in parts, or again as it grows), or at its end for
//! metadata that comes only after the finish reason. The usage counts one
//! search per query. Which part of the text each source supports is not carried over.
//!
//! The other way, a Gemini client's `googleSearch` (or `googleSearchRetrieval`) tool is
//! the canonical search, and the canonical search blocks come back as the candidate's
//! `groundingMetadata`: `webSearchQueries` and `groundingChunks` (`{web: {uri, title}}`).
//! A text block citing pages (Anthropic's `web_search_result_location` citations) is a
//! `groundingSupports` entry: its place in the answer's text (`segment`, UTF-8 byte
//! offsets over the text parts, thoughts left out) and the chunks of the pages it cites,
//! from which Gemini CLI numbers its citation markers. A stream carries the metadata on
//! its last chunk, as Gemini does.

use crate::protocol::anthropic::ContentBlock;
use crate::protocol::gemini::{GroundingChunk, GroundingMetadata, Tool as GeminiTool, WebSource};
use crate::translate::web_search::{self, WebSearch};
use serde_json::{json, Value};

/// The names a Gemini request gives Google Search (the REST API takes both casings).
const SEARCH_TOOLS: [&str; 4] = ["googleSearch", "google_search", "googleSearchRetrieval", "google_search_retrieval"];

/// Whether a Gemini tool is Google Search.
pub(super) fn is_search_tool(tool: &GeminiTool) -> bool {
    SEARCH_TOOLS.iter().any(|name| tool.other.contains_key(*name))
}

/// Google Search, as a Gemini upstream is asked to run it.
pub(super) fn upstream_tool() -> GeminiTool {
    let mut other = serde_json::Map::new();
    other.insert("googleSearch".to_string(), json!({}));
    GeminiTool { function_declarations: None, other }
}

/// The search an answer's grounding reports, under an id made from the answer's; `None`
/// when it reports none (no query and no web source).
pub(super) fn search_of(meta: &GroundingMetadata, response_id: Option<&str>) -> Option<WebSearch> {
    let pages: Vec<Value> = meta
        .grounding_chunks
        .iter()
        .filter_map(|c| c.web.as_ref())
        .filter(|w| !w.uri.is_empty())
        .map(|w| web_search::page(&w.uri, w.title.as_deref().unwrap_or(&w.uri)))
        .collect();
    if meta.web_search_queries.is_empty() && pages.is_empty() {
        return None;
    }
    let id = response_id.filter(|r| !r.is_empty()).map(|r| format!("gm_{r}"));
    Some(WebSearch::new(id.as_deref(), meta.web_search_queries.join(" | "), Value::Array(pages)))
}

/// Adds the metadata of a later chunk to what came before: queries and web sources not
/// seen yet (a stream may send its metadata in parts, or again as it grows), and the
/// latest supports and entry point.
pub(super) fn merge(into: &mut GroundingMetadata, more: GroundingMetadata) {
    for query in more.web_search_queries {
        if !into.web_search_queries.contains(&query) {
            into.web_search_queries.push(query);
        }
    }
    for chunk in more.grounding_chunks {
        if !into.grounding_chunks.contains(&chunk) {
            into.grounding_chunks.push(chunk);
        }
    }
    if more.grounding_supports.is_some() {
        into.grounding_supports = more.grounding_supports;
    }
    if more.search_entry_point.is_some() {
        into.search_entry_point = more.search_entry_point;
    }
}

/// The searches an answer's grounding tells of: one per query, at least one.
pub(super) fn count(meta: &GroundingMetadata) -> u64 {
    (meta.web_search_queries.len() as u64).max(1)
}

/// Canonical searches collected into a candidate's `groundingMetadata` (boxed: a
/// stream's encoder holds it, and most answers search nothing).
#[derive(Debug, Default)]
pub(super) struct Grounding {
    meta: Option<Box<GroundingMetadata>>,
}

impl Grounding {
    /// Collects the searches among a complete answer's blocks, and the text citing them.
    pub(super) fn of(blocks: &[ContentBlock]) -> Grounding {
        let mut grounding = Grounding::default();
        let mut offset = 0;
        for block in blocks {
            grounding.add(block);
            if let ContentBlock::Text { text, citations, .. } = block {
                if let Some(Value::Array(citations)) = citations {
                    grounding.cite(offset, text, citations);
                }
                offset += text.len();
            }
        }
        grounding
    }

    /// Takes in a block whole: a search's call (its query) or its results (the pages).
    pub(super) fn add(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::ServerToolUse { name, input, .. } if name == web_search::NAME => {
                self.query(input);
            }
            ContentBlock::WebSearchToolResult { content, .. } => {
                let meta = self.meta.get_or_insert_default();
                let pages = content.as_array().map(Vec::as_slice).unwrap_or_default();
                for page in pages {
                    let Some(uri) = page.get("url").and_then(Value::as_str) else { continue };
                    let title = page.get("title").and_then(Value::as_str).map(str::to_string);
                    let web = Some(WebSource { uri: uri.to_string(), title });
                    meta.grounding_chunks.push(GroundingChunk { web, other: Default::default() });
                }
            }
            _ => {}
        }
    }

    /// A search's input (`{"query": …}`), as a stream completes it.
    pub(super) fn query(&mut self, input: &Value) {
        let meta = self.meta.get_or_insert_default();
        if let Some(query) = input.get("query").and_then(Value::as_str).filter(|q| !q.is_empty()) {
            meta.web_search_queries.push(query.to_string());
        }
    }

    /// A text block at byte `start` of the answer's text, citing pages (`citations`, as
    /// Anthropic gives them; other kinds of citation are left out).
    pub(super) fn cite(&mut self, start: usize, text: &str, citations: &[Value]) {
        let mut indices: Vec<usize> = Vec::new();
        for citation in citations.iter().filter(|c| c["type"] == "web_search_result_location") {
            let Some(url) = citation.get("url").and_then(Value::as_str) else { continue };
            let meta = self.meta.get_or_insert_default();
            let chunks = &mut meta.grounding_chunks;
            let at = match chunks.iter().position(|c| c.web.as_ref().is_some_and(|w| w.uri == url)) {
                Some(at) => at,
                None => {
                    let title = citation.get("title").and_then(Value::as_str).map(str::to_string);
                    chunks.push(GroundingChunk {
                        web: Some(WebSource { uri: url.to_string(), title }),
                        ..Default::default()
                    });
                    chunks.len() - 1
                }
            };
            if !indices.contains(&at) {
                indices.push(at);
            }
        }
        let Some(meta) = self.meta.as_mut().filter(|_| !indices.is_empty()) else { return };
        let support = json!({
            "segment": {"startIndex": start, "endIndex": start + text.len(), "text": text},
            "groundingChunkIndices": indices,
        });
        match meta.grounding_supports.get_or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(supports) => supports.push(support),
            other => *other = Value::Array(vec![support]),
        }
    }

    /// The metadata, if there was a search.
    pub(super) fn take(&mut self) -> Option<GroundingMetadata> {
        self.meta.take().map(|m| *m)
    }
}
