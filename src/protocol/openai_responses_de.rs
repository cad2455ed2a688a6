//! Hand-written deserialization of Responses input items, the bulk of a Codex request.
//!
//! An `Item` or `ContentPart` is read as a [`Tagged`] object: when `type` comes first (as
//! Codex and the SDKs' typed items write it) its fields stream straight into the variant
//! and its texts keep their JSON literal (see `Text`). An "easy" message (`role` and
//! `content`, no `type`) is a `message`.

use super::{nullable, ContentPart, Item, ItemContent, SummaryPart};
use crate::protocol::tagged::{self, Tagged};
use crate::protocol::text::string_or;
use crate::protocol::Text;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

impl<'de> Deserialize<'de> for ItemContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ItemContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ItemContent, E> {
                Ok(ItemContent::Text(Text::new(s)))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ItemContent, E> {
                Ok(ItemContent::Text(Text::new(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ItemContent, A::Error> {
                Vec::<ContentPart>::deserialize(SeqAccessDeserializer::new(seq)).map(ItemContent::Parts)
            }
        }
        d.deserialize_any(V)
    }
}

/// `function_call_output.output`, most often one long string (a tool's output): read
/// so that a string keeps its JSON literal; arrays take a second parse.
fn string_first<'de, D: Deserializer<'de>>(d: D) -> Result<ItemContent, D::Error> {
    Ok(Option::<StringFirst>::deserialize(d)?.map(|c| c.0).unwrap_or_default())
}

struct StringFirst(ItemContent);

impl From<ItemContent> for StringFirst {
    fn from(c: ItemContent) -> Self {
        StringFirst(c)
    }
}

impl From<Vec<ContentPart>> for StringFirst {
    fn from(parts: Vec<ContentPart>) -> Self {
        StringFirst(ItemContent::Parts(parts))
    }
}

impl From<Text> for StringFirst {
    fn from(t: Text) -> Self {
        StringFirst(ItemContent::Text(t))
    }
}

impl<'de> Deserialize<'de> for StringFirst {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or::<D, Vec<ContentPart>, ItemContent, StringFirst>(d, "a string or an array of content parts")
    }
}

// ---------------------------------------------------------------- items

#[derive(Deserialize)]
struct MessageFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    content: ItemContent,
    #[serde(default, deserialize_with = "nullable")]
    role: String,
}

#[derive(Deserialize)]
struct FunctionCallFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    arguments: String,
    #[serde(default, deserialize_with = "nullable")]
    call_id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct CustomToolCallFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    input: String,
    #[serde(default, deserialize_with = "nullable")]
    call_id: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize)]
struct FunctionCallOutputFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    call_id: String,
    #[serde(default, deserialize_with = "string_first")]
    output: ItemContent,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct ReasoningFields {
    #[serde(default, deserialize_with = "nullable")]
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    summary: Vec<SummaryPart>,
    #[serde(default)]
    content: Option<Vec<SummaryPart>>,
    #[serde(default)]
    encrypted_content: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct WebSearchCallFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    action: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ToolSearchFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    call_id: String,
    #[serde(default)]
    execution: Option<String>,
    #[serde(default)]
    arguments: serde_json::Value,
    #[serde(default, deserialize_with = "nullable")]
    tools: Vec<crate::protocol::openai_responses::ResponsesTool>,
}

#[derive(Deserialize)]
struct ReferenceFields {
    #[serde(default, deserialize_with = "nullable")]
    id: String,
}

/// Builds the item of type `kind` from the remaining fields.
fn item<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Item, D::Error> {
    Ok(match kind {
        "message" => {
            let f = MessageFields::deserialize(rest)?;
            Item::Message { id: f.id, status: f.status, content: f.content, role: f.role }
        }
        "function_call" => {
            let f = FunctionCallFields::deserialize(rest)?;
            Item::FunctionCall {
                id: f.id,
                status: f.status,
                arguments: f.arguments,
                call_id: f.call_id,
                name: f.name,
                namespace: f.namespace,
            }
        }
        "function_call_output" => {
            let f = FunctionCallOutputFields::deserialize(rest)?;
            Item::FunctionCallOutput { id: f.id, call_id: f.call_id, output: f.output, status: f.status }
        }
        "custom_tool_call" => {
            let f = CustomToolCallFields::deserialize(rest)?;
            Item::CustomToolCall { id: f.id, status: f.status, call_id: f.call_id, name: f.name, input: f.input }
        }
        "custom_tool_call_output" => {
            let f = FunctionCallOutputFields::deserialize(rest)?;
            Item::CustomToolCallOutput { id: f.id, call_id: f.call_id, output: f.output }
        }
        "reasoning" => {
            let f = ReasoningFields::deserialize(rest)?;
            Item::Reasoning {
                id: f.id,
                summary: f.summary,
                content: f.content,
                encrypted_content: f.encrypted_content,
                status: f.status,
            }
        }
        "item_reference" => Item::ItemReference { id: ReferenceFields::deserialize(rest)?.id },
        "web_search_call" => {
            let f = WebSearchCallFields::deserialize(rest)?;
            Item::WebSearchCall { id: f.id, status: f.status, action: f.action }
        }
        "tool_search_call" => {
            let f = ToolSearchFields::deserialize(rest)?;
            Item::ToolSearchCall {
                id: f.id,
                status: f.status,
                call_id: f.call_id,
                execution: f.execution,
                arguments: f.arguments,
            }
        }
        "additional_tools" => {
            let f = ToolSearchFields::deserialize(rest)?;
            Item::AdditionalTools { id: f.id, tools: f.tools }
        }
        "tool_search_output" => {
            let f = ToolSearchFields::deserialize(rest)?;
            Item::ToolSearchOutput {
                id: f.id,
                status: f.status,
                call_id: f.call_id,
                execution: f.execution,
                tools: f.tools,
            }
        }
        // Hosted-tool calls and outputs, …
        _ => {
            de::IgnoredAny::deserialize(rest)?;
            Item::Other
        }
    })
}

impl Tagged for Item {
    const EXPECTING: &'static str = "an input item object";

    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error> {
        item(kind, rest)
    }

    /// An "easy" message: `role` and `content` without `type`.
    fn implied(fields: &serde_json::Map<String, Value>) -> Option<&'static str> {
        fields.contains_key("role").then_some("message")
    }
}

// ---------------------------------------------------------------- content parts

#[derive(Deserialize)]
struct InputTextFields {
    #[serde(default, deserialize_with = "nullable")]
    text: Text,
}

#[derive(Deserialize)]
struct OutputTextFields {
    #[serde(default, deserialize_with = "nullable")]
    annotations: Vec<Value>,
    #[serde(default)]
    logprobs: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    text: Text,
}

#[derive(Deserialize)]
struct RefusalFields {
    #[serde(default, deserialize_with = "nullable")]
    refusal: String,
}

#[derive(Deserialize)]
struct ImageFields {
    #[serde(default)]
    image_url: Option<String>,
    #[serde(default)]
    file_id: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
struct FileFields {
    #[serde(default)]
    file_data: Option<String>,
    #[serde(default)]
    file_id: Option<String>,
    #[serde(default)]
    file_url: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

/// Builds the part of type `kind` from the remaining fields.
fn part<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<ContentPart, D::Error> {
    Ok(match kind {
        "input_text" => ContentPart::InputText { text: InputTextFields::deserialize(rest)?.text },
        "output_text" => {
            let f = OutputTextFields::deserialize(rest)?;
            ContentPart::OutputText { annotations: f.annotations, logprobs: f.logprobs, text: f.text }
        }
        "refusal" => ContentPart::Refusal { refusal: RefusalFields::deserialize(rest)?.refusal },
        "input_image" => {
            let f = ImageFields::deserialize(rest)?;
            ContentPart::InputImage { image_url: f.image_url, file_id: f.file_id, detail: f.detail }
        }
        "input_file" => {
            let f = FileFields::deserialize(rest)?;
            ContentPart::InputFile {
                file_data: f.file_data,
                file_id: f.file_id,
                file_url: f.file_url,
                filename: f.filename,
            }
        }
        _ => {
            de::IgnoredAny::deserialize(rest)?;
            ContentPart::Other
        }
    })
}

impl Tagged for ContentPart {
    const EXPECTING: &'static str = "a content part object";

    fn build<'de, D: Deserializer<'de>>(kind: &str, rest: D) -> Result<Self, D::Error> {
        part(kind, rest)
    }
}

tagged::deserialize_tagged!(Item, ContentPart);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The same item, `type` first or elsewhere or absent, from text or from a tree.
    #[test]
    fn items_read_alike_whatever_the_order_of_their_keys() {
        let typed = r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"a \"b\"\n"},{"text":"c","type":"output_text"}]}"#;
        let later = r#"{"role":"user","content":[{"type":"input_text","text":"a \"b\"\n"},{"type":"output_text","text":"c"}],"type":"message"}"#;
        let easy = r#"{"role":"user","content":[{"type":"input_text","text":"a \"b\"\n"},{"type":"output_text","text":"c","annotations":null}]}"#;
        let want = Item::Message {
            id: None,
            status: None,
            content: ItemContent::Parts(vec![
                ContentPart::InputText { text: Text::new("a \"b\"\n") },
                ContentPart::OutputText { annotations: vec![], logprobs: None, text: Text::new("c") },
            ]),
            role: "user".into(),
        };
        for text in [typed, later, easy] {
            assert_eq!(serde_json::from_str::<Item>(text).unwrap(), want, "{text}");
            let tree: Value = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::from_value::<Item>(tree).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn texts_read_first_keep_their_literal() {
        let item: Item = serde_json::from_str(
            r#"{"type":"function_call_output","call_id":"c1","output":"line 1\nline \"2\"\u00e9"}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"type":"function_call_output","call_id":"c1","output":"line 1\nline \"2\"\u00e9"}"#
        );
        let Item::FunctionCallOutput { output: ItemContent::Text(t), .. } = &item else { panic!("{item:?}") };
        assert_eq!(t.as_str(), "line 1\nline \"2\"é");
        let part: ContentPart = serde_json::from_str(r#"{"type":"input_text","text":"x\u0041"}"#).unwrap();
        assert_eq!(serde_json::to_string(&part).unwrap(), r#"{"type":"input_text","text":"x\u0041"}"#);
    }

    #[test]
    fn every_item_type_reads_its_fields() {
        let items: Vec<Item> = serde_json::from_value(json!([
            {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": "{}", "status": "completed"},
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "r"}]},
            {"type": "function_call_output", "call_id": "c2", "output": null},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "s"}],
             "content": [{"type": "reasoning_text", "text": "t"}], "encrypted_content": "E"},
            {"type": "item_reference", "id": "msg_1"},
            {"type": "web_search_call", "id": "ws_1", "action": {"query": "q"}, "content": 5},
            {"type": "message", "role": "assistant", "content": "plain", "extra": {"x": 1}},
            {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "https://i"},
             {"type": "input_file", "file_url": "https://f", "filename": "f.pdf"}, {"type": "refusal", "refusal": "no"},
             {"type": "input_audio", "input_audio": {"data": "A"}}]},
            {"type": "file_search_call", "id": "fs_1", "queries": ["q"]},
        ]))
        .unwrap();
        assert_eq!(
            items[0],
            Item::FunctionCall {
                id: Some("fc_1".into()),
                status: Some("completed".into()),
                arguments: "{}".into(),
                call_id: "c1".into(),
                name: "f".into(),
                namespace: None,
            }
        );
        assert!(
            matches!(&items[1], Item::FunctionCallOutput { output: ItemContent::Parts(p), .. } if p == &[ContentPart::InputText { text: Text::new("r") }])
        );
        assert_eq!(
            items[2],
            Item::FunctionCallOutput { id: None, call_id: "c2".into(), output: ItemContent::default(), status: None }
        );
        assert_eq!(
            items[3],
            Item::Reasoning {
                id: "rs_1".into(),
                summary: vec![SummaryPart::summary("s")],
                content: Some(vec![SummaryPart { kind: "reasoning_text".into(), text: "t".into() }]),
                encrypted_content: Some("E".into()),
                status: None,
            }
        );
        assert_eq!(items[4], Item::ItemReference { id: "msg_1".into() });
        assert_eq!(
            items[5],
            Item::WebSearchCall { id: Some("ws_1".into()), status: None, action: Some(json!({"query": "q"})) }
        );
        assert!(matches!(&items[6], Item::Message { content: ItemContent::Text(t), .. } if t == "plain"));
        let Item::Message { content: ItemContent::Parts(parts), .. } = &items[7] else { panic!("{:?}", items[7]) };
        assert_eq!(
            parts,
            &[
                ContentPart::InputImage { image_url: Some("https://i".into()), file_id: None, detail: None },
                ContentPart::InputFile {
                    file_data: None,
                    file_id: None,
                    file_url: Some("https://f".into()),
                    filename: Some("f.pdf".into())
                },
                ContentPart::Refusal { refusal: "no".into() },
                ContentPart::Other,
            ]
        );
        assert_eq!(items[8], Item::Other);
    }

    #[test]
    fn malformed_items_are_refused() {
        for bad in [
            r#"{"content":"x"}"#,
            r#"{"type":5,"role":"user"}"#,
            r#"{"type":"message","content":5}"#,
            r#"{"type":"message","content":[{"text":"no type"}]}"#,
            r#"{"type":"function_call","arguments":{}}"#,
            r#"{"role":"user","content":[{"type":"input_text","text":5}]}"#,
            r#""message""#,
        ] {
            assert!(serde_json::from_str::<Item>(bad).is_err(), "{bad}");
        }
    }
}
