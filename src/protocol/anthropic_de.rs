//! Hand-written deserialization of message content, the bulk of every request.
//!
//! serde's derived `untagged` and internally `tag`ged enums buffer each value into an
//! intermediate tree before choosing a variant; on an 80 KiB Claude Code request that
//! doubles the parse. Here `Content` dispatches on the JSON type it meets, and a
//! `ContentBlock`, a stream event and a block delta are read as [`Tagged`] objects
//! (every event of an Anthropic stream is parsed, passed through or not).

use super::{
    BlockDelta, Content, ContentBlock, DeltaUsage, ErrorBody, ImageSource, MessageDeltaBody, MessagesResponse,
    StreamEvent, Text,
};
use crate::protocol::tagged::{self, Tagged};
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content::Text(Text::read(v)))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content::Text(Text::new(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Content, A::Error> {
                Vec::<ContentBlock>::deserialize(SeqAccessDeserializer::new(seq)).map(Content::Blocks)
            }
        }
        d.deserialize_any(V)
    }
}

/// `system` and `tool_result.content`, which are often one long string: read so that
/// a string keeps its JSON literal (see `Text`); arrays take the second parse.
pub(super) fn string_first<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Content>, D::Error> {
    Option::<StringFirst>::deserialize(d).map(|c| c.map(|c| c.0))
}

struct StringFirst(Content);

impl From<Content> for StringFirst {
    fn from(c: Content) -> Self {
        StringFirst(c)
    }
}

impl From<Vec<ContentBlock>> for StringFirst {
    fn from(b: Vec<ContentBlock>) -> Self {
        StringFirst(Content::Blocks(b))
    }
}

impl From<Text> for StringFirst {
    fn from(t: Text) -> Self {
        StringFirst(Content::Text(t))
    }
}

impl<'de> Deserialize<'de> for StringFirst {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::protocol::text::string_or::<D, Vec<ContentBlock>, Content, StringFirst>(
            d,
            "a string or an array of content blocks",
        )
    }
}

#[derive(Deserialize)]
struct TextFields {
    text: Text,
    #[serde(default)]
    cache_control: Option<Value>,
    #[serde(default)]
    citations: Option<Value>,
}

#[derive(Deserialize)]
struct ImageFields {
    source: ImageSource,
    #[serde(default)]
    cache_control: Option<Value>,
}

#[derive(Deserialize)]
struct DocumentFields {
    source: Value,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    cache_control: Option<Value>,
}

#[derive(Deserialize)]
struct ToolUseFields {
    id: String,
    name: String,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    cache_control: Option<Value>,
}

#[derive(Deserialize)]
struct ToolResultFields {
    tool_use_id: String,
    #[serde(default, deserialize_with = "string_first")]
    content: Option<Content>,
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(default)]
    cache_control: Option<Value>,
}

#[derive(Deserialize)]
struct ThinkingFields {
    thinking: String,
    #[serde(default)]
    signature: String,
}

#[derive(Deserialize)]
struct RedactedFields {
    data: String,
}

/// Server-tool blocks are only carried (and, for web search, translated): a field
/// missing from one does not refuse the request it came in.
#[derive(Deserialize)]
struct ServerToolUseFields {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: Value,
}

#[derive(Deserialize)]
struct WebSearchResultFields {
    #[serde(default)]
    tool_use_id: String,
    #[serde(default)]
    content: Value,
}

/// Builds the variant named `kind` from the remaining fields.
fn block<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<ContentBlock, D::Error> {
    Ok(match kind {
        "text" => {
            let f = TextFields::deserialize(rest)?;
            ContentBlock::Text { text: f.text, cache_control: f.cache_control, citations: f.citations }
        }
        "image" => {
            let f = ImageFields::deserialize(rest)?;
            ContentBlock::Image { source: f.source, cache_control: f.cache_control }
        }
        "document" => {
            let f = DocumentFields::deserialize(rest)?;
            ContentBlock::Document {
                source: f.source,
                title: f.title,
                context: f.context,
                cache_control: f.cache_control,
            }
        }
        "tool_use" => {
            let f = ToolUseFields::deserialize(rest)?;
            ContentBlock::ToolUse { id: f.id, name: f.name, input: f.input, cache_control: f.cache_control }
        }
        "tool_result" => {
            let f = ToolResultFields::deserialize(rest)?;
            ContentBlock::ToolResult {
                tool_use_id: f.tool_use_id,
                content: f.content,
                is_error: f.is_error,
                cache_control: f.cache_control,
            }
        }
        "thinking" => {
            let f = ThinkingFields::deserialize(rest)?;
            ContentBlock::Thinking { thinking: f.thinking, signature: f.signature }
        }
        "redacted_thinking" => ContentBlock::RedactedThinking { data: RedactedFields::deserialize(rest)?.data },
        "server_tool_use" => {
            let f = ServerToolUseFields::deserialize(rest)?;
            ContentBlock::ServerToolUse { id: f.id, name: f.name, input: f.input }
        }
        "web_search_tool_result" => {
            let f = WebSearchResultFields::deserialize(rest)?;
            ContentBlock::WebSearchToolResult { tool_use_id: f.tool_use_id, content: f.content }
        }
        _ => {
            de::IgnoredAny::deserialize(rest)?;
            ContentBlock::Other
        }
    })
}

impl Tagged for ContentBlock {
    const EXPECTING: &'static str = "a content block object";

    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error> {
        block(kind, rest)
    }
}

#[derive(Deserialize)]
struct MessageStartFields {
    message: MessagesResponse,
}

#[derive(Deserialize)]
struct BlockStartFields {
    index: usize,
    content_block: ContentBlock,
}

#[derive(Deserialize)]
struct BlockDeltaFields {
    index: usize,
    delta: BlockDelta,
}

#[derive(Deserialize)]
struct BlockStopFields {
    index: usize,
}

#[derive(Deserialize)]
struct MessageDeltaFields {
    delta: MessageDeltaBody,
    #[serde(default)]
    usage: DeltaUsage,
}

#[derive(Deserialize)]
struct ErrorFields {
    error: ErrorBody,
}

impl Tagged for StreamEvent {
    const EXPECTING: &'static str = "a stream event object";

    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            "message_start" => StreamEvent::MessageStart { message: MessageStartFields::deserialize(rest)?.message },
            "content_block_start" => {
                let f = BlockStartFields::deserialize(rest)?;
                StreamEvent::ContentBlockStart { index: f.index, content_block: f.content_block }
            }
            "content_block_delta" => {
                let f = BlockDeltaFields::deserialize(rest)?;
                StreamEvent::ContentBlockDelta { index: f.index, delta: f.delta }
            }
            "content_block_stop" => StreamEvent::ContentBlockStop { index: BlockStopFields::deserialize(rest)?.index },
            "message_delta" => {
                let f = MessageDeltaFields::deserialize(rest)?;
                StreamEvent::MessageDelta { delta: f.delta, usage: f.usage }
            }
            "error" => StreamEvent::Error { error: ErrorFields::deserialize(rest)?.error },
            other => {
                de::IgnoredAny::deserialize(rest)?;
                match other {
                    "message_stop" => StreamEvent::MessageStop,
                    "ping" => StreamEvent::Ping,
                    _ => StreamEvent::Other,
                }
            }
        })
    }
}

#[derive(Deserialize)]
struct TextDeltaFields {
    text: String,
}

#[derive(Deserialize)]
struct JsonDeltaFields {
    partial_json: String,
}

#[derive(Deserialize)]
struct SignatureDeltaFields {
    signature: String,
}

#[derive(Deserialize)]
struct CitationsDeltaFields {
    citation: Value,
}

impl Tagged for BlockDelta {
    const EXPECTING: &'static str = "a content block delta object";

    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error> {
        Ok(match kind {
            "text_delta" => BlockDelta::TextDelta { text: TextDeltaFields::deserialize(rest)?.text },
            "input_json_delta" => {
                BlockDelta::InputJsonDelta { partial_json: JsonDeltaFields::deserialize(rest)?.partial_json }
            }
            "thinking_delta" => BlockDelta::ThinkingDelta { thinking: ThinkingFields::deserialize(rest)?.thinking },
            "signature_delta" => {
                BlockDelta::SignatureDelta { signature: SignatureDeltaFields::deserialize(rest)?.signature }
            }
            "citations_delta" => {
                BlockDelta::CitationsDelta { citation: CitationsDeltaFields::deserialize(rest)?.citation }
            }
            _ => {
                de::IgnoredAny::deserialize(rest)?;
                BlockDelta::Other
            }
        })
    }
}

tagged::deserialize_tagged!(ContentBlock, StreamEvent, BlockDelta);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_parse_with_type_first_or_elsewhere() {
        let first: Vec<ContentBlock> = serde_json::from_str(
            r#"[{"type":"text","text":"a","extra":1},{"type":"tool_use","id":"t","name":"f","input":{"x":[1]}},{"type":"server_tool_use","id":"s"}]"#,
        )
        .unwrap();
        let later: Vec<ContentBlock> = serde_json::from_str(
            r#"[{"text":"a","type":"text"},{"id":"t","name":"f","input":{"x":[1]},"type":"tool_use"},{"id":"s","type":"server_tool_use"}]"#,
        )
        .unwrap();
        assert_eq!(first, later);
        assert_eq!(first[0], ContentBlock::text("a"));
        // A server tool's call is read whatever it lacks; blocks not modelled are `Other`.
        assert_eq!(first[2], ContentBlock::ServerToolUse { id: "s".into(), name: String::new(), input: Value::Null });
        let blocks: Vec<ContentBlock> = serde_json::from_str(
            r#"[{"tool_use_id":"s","content":[{"url":"u"}],"type":"web_search_tool_result"},{"type":"code_execution_tool_result","tool_use_id":"s"}]"#,
        )
        .unwrap();
        assert_eq!(
            blocks,
            [
                ContentBlock::WebSearchToolResult {
                    tool_use_id: "s".into(),
                    content: serde_json::json!([{"url": "u"}])
                },
                ContentBlock::Other
            ]
        );
        let content: Content = serde_json::from_str(r#""plain""#).unwrap();
        assert_eq!(content, Content::Text("plain".into()));
        let nested: Content = serde_json::from_str(
            r#"[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]"#,
        )
        .unwrap();
        assert!(
            matches!(&nested, Content::Blocks(b) if matches!(&b[0], ContentBlock::ToolResult { content: Some(Content::Blocks(_)), .. }))
        );
        assert!(serde_json::from_str::<ContentBlock>(r#"{"text":"no type"}"#).is_err());
        assert!(serde_json::from_str::<Content>("3").is_err());
    }

    #[test]
    fn stream_events_parse_with_type_first_or_elsewhere_and_round_trip() {
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\n\"b"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"x\":"}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"t"}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"signature_delta","signature":"S"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"k":[1]}}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#,
            r#"{"type":"message_stop"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ];
        for text in events {
            let first: StreamEvent = serde_json::from_str(text).unwrap();
            assert_ne!(first, StreamEvent::Other, "{text}");
            // The same object with `type` last, and with a field the gateway does not know.
            let mut value: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
            let kind = value.remove("type").unwrap();
            value.insert("extra".into(), Value::from(1));
            value.insert("type".into(), kind);
            let later: StreamEvent = serde_json::from_value(Value::Object(value)).unwrap();
            assert_eq!(first, later, "{text}");
            let written: StreamEvent = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
            assert_eq!(first, written, "{text}");
        }
        let parse = |text: &str| serde_json::from_str::<StreamEvent>(text);
        assert_eq!(parse(r#"{"type":"something_new","x":{"y":[1]}}"#).unwrap(), StreamEvent::Other);
        assert_eq!(
            parse(r#"{"type":"content_block_delta","index":0,"delta":{"type":"new_delta","x":1}}"#).unwrap(),
            StreamEvent::ContentBlockDelta { index: 0, delta: BlockDelta::Other }
        );
        assert_eq!(
            parse(r#"{"type":"message_delta","delta":{"stop_reason":null}}"#).unwrap(),
            StreamEvent::MessageDelta {
                delta: MessageDeltaBody { stop_reason: None, stop_sequence: None },
                usage: DeltaUsage::default()
            }
        );
        for bad in [
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"a"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
            r#"{"type":"error","error":{"type":"x"}}"#,
            r#"{"type":3}"#,
            r#"{"index":0}"#,
            r#"[]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
