//! Local input-token estimate for `POST /v1/messages/count_tokens` when the model does
//! not route to an Anthropic channel that can count exactly.
//!
//! Text is counted with the o200k_base encoding (tiktoken-rs; the encoding ships inside
//! the crate). Claude's own tokenizer is not public, so this is an estimate, and the
//! response says so in a header. Images count as 1,600 tokens each: Anthropic documents
//! about width×height/750 tokens, and scales images down to about 1.15 megapixels,
//! which is the ~1,600-token worst case. A base64 PDF counts 1,600 tokens per started
//! 100 KiB of file (about two pages), plus nothing for its text, which is unknown here.

use crate::protocol::anthropic::{Content, ContentBlock, ImageSource, MessagesRequest};
use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

pub const IMAGE_TOKENS: u64 = 1_600;
/// Role and separators around each message.
const MESSAGE_OVERHEAD: u64 = 3;
/// Framing of each tool definition.
const TOOL_OVERHEAD: u64 = 5;

fn bpe() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

fn text_tokens(text: &str) -> u64 {
    match bpe() {
        Some(b) => b.encode_ordinary(text).len() as u64,
        // Without the encoding (never expected): the common 4-bytes-per-token rule.
        None => text.len().div_ceil(4) as u64,
    }
}

fn content_tokens(content: &Content) -> u64 {
    match content {
        Content::Text(t) => text_tokens(t),
        Content::Blocks(blocks) => blocks.iter().map(block_tokens).sum(),
    }
}

fn block_tokens(block: &ContentBlock) -> u64 {
    match block {
        ContentBlock::Text { text, .. } => text_tokens(text),
        ContentBlock::Image { source, .. } => match source {
            ImageSource::Base64 { .. } | ImageSource::Url { .. } | ImageSource::Other => IMAGE_TOKENS,
        },
        ContentBlock::Document { source, .. } => {
            let kind = source.get("type").and_then(|t| t.as_str());
            let data = source.get("data").and_then(|d| d.as_str()).unwrap_or("");
            match kind {
                Some("text") => text_tokens(data),
                Some("base64") => (data.len() as u64 * 3 / 4).div_ceil(100 * 1024).max(1) * IMAGE_TOKENS,
                _ => IMAGE_TOKENS,
            }
        }
        ContentBlock::ToolUse { name, input, .. } => {
            text_tokens(name) + text_tokens(&serde_json::to_string(input).unwrap_or_default())
        }
        ContentBlock::ToolResult { content, .. } => content.as_ref().map_or(0, content_tokens),
        ContentBlock::Thinking { thinking, .. } => text_tokens(thinking),
        ContentBlock::RedactedThinking { data } => text_tokens(data),
        ContentBlock::ServerToolUse { input: value, .. } | ContentBlock::WebSearchToolResult { content: value, .. } => {
            text_tokens(&serde_json::to_string(value).unwrap_or_default())
        }
        ContentBlock::Other => 0,
    }
}

/// The estimated input tokens of a request: system, messages, tool definitions.
pub fn estimate(req: &MessagesRequest) -> u64 {
    let system = req.system.as_ref().map_or(0, content_tokens);
    let messages: u64 = req.messages.iter().map(|m| MESSAGE_OVERHEAD + content_tokens(&m.content)).sum();
    let tools: u64 = req
        .tools
        .iter()
        .flatten()
        .map(|t| {
            let schema = t.input_schema.as_ref().map_or("", |s| s.get());
            TOOL_OVERHEAD + text_tokens(&t.name) + t.description.as_deref().map_or(0, text_tokens) + text_tokens(schema)
        })
        .sum();
    system + messages + tools
}

/// The estimated tokens of a body the canonical form would not take (a Gemini client's
/// turns that do not pair calls and responses as a request must): its strings' text, and
/// a base64 `data` string as one image.
pub fn estimate_json(body: &[u8]) -> Option<u64> {
    fn walk(v: &serde_json::Value, key: Option<&str>) -> u64 {
        match v {
            serde_json::Value::String(_) if key == Some("data") => IMAGE_TOKENS,
            serde_json::Value::String(s) => text_tokens(s),
            serde_json::Value::Array(items) => items.iter().map(|i| walk(i, None)).sum(),
            serde_json::Value::Object(map) => map.iter().map(|(k, v)| walk(v, Some(k))).sum(),
            _ => 0,
        }
    }
    serde_json::from_slice(body).ok().map(|v: serde_json::Value| walk(&v, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_estimated_from_its_strings() {
        let body = br#"{"contents":[{"parts":[{"functionResponse":{"name":"read_file","response":{"output":"Hello, world!"}}},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo"}}]}]}"#;
        // Keys are not counted; the image is.
        let text = text_tokens("read_file") + text_tokens("Hello, world!") + text_tokens("image/png");
        assert_eq!(estimate_json(body), Some(text + IMAGE_TOKENS));
        assert_eq!(estimate_json(b"not json"), None);
    }

    fn req(v: serde_json::Value) -> MessagesRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_text_with_o200k() {
        // "Hello, world!" is 4 tokens in o200k_base.
        assert_eq!(text_tokens("Hello, world!"), 4);
        let r = req(serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "Hello, world!"}]}));
        assert_eq!(estimate(&r), 4 + MESSAGE_OVERHEAD);
    }

    #[test]
    fn counts_every_part() {
        let r = req(serde_json::json!({
            "model": "m",
            "system": "Hello, world!",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Hello, world!"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "Hello, world!"}]}
            ],
            "tools": [{"name": "f", "input_schema": {}}]
        }));
        let tool_use = text_tokens("f") + text_tokens("{}");
        let tool_def = TOOL_OVERHEAD + text_tokens("f") + text_tokens("{}");
        assert_eq!(estimate(&r), 4 + (3 + 4 + IMAGE_TOKENS) + (3 + tool_use) + (3 + 4) + tool_def);
    }
}
