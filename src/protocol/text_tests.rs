//! Tests of `text`: literals kept and written back, joins, and shared parses.

use super::{RawText, Repr, Text};
use bytes::Bytes;

/// Whether `raw` is a slice of `body`'s buffer (not a copy of it).
fn in_body(raw: &RawText, body: &Bytes) -> bool {
    let RawText::Shared(text) = raw else { return false };
    let (outer, inner) = (body.as_ptr() as usize, text.as_ptr() as usize);
    inner >= outer && inner + text.len() <= outer + body.len()
}

fn literal(t: &Text) -> &RawText {
    match &t.0 {
        Repr::Literal { json, .. } => json,
        Repr::Plain(_) => panic!("plain text"),
    }
}

#[test]
fn text_parsed_from_a_shared_body_is_a_slice_of_it() {
    use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest, Tool};
    let body = Bytes::from(
        r#"{"model":"m","system":"be \"brief\"","messages":[{"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"inner\u0041"}]},
                {"type":"text","text":"caf\u00e9"}]}],
              "tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}]}"#,
    );
    let req: MessagesRequest = super::parse_shared(&body).unwrap();
    let Content::Blocks(blocks) = &req.messages[0].content else { panic!("blocks") };
    let ContentBlock::Text { text, .. } = &blocks[1] else { panic!("{blocks:?}") };
    assert!(in_body(literal(text), &body));
    assert_eq!((text.as_str(), serde_json::to_string(text).unwrap().as_str()), ("café", r#""caf\u00e9""#));
    // A clone shares the buffer too.
    assert!(in_body(literal(&text.clone()), &body));
    // Content given as an array: its texts lie in the body as well.
    let ContentBlock::ToolResult { content: Some(Content::Blocks(inner)), .. } = &blocks[0] else { panic!() };
    let ContentBlock::Text { text: inner, .. } = &inner[0] else { panic!("{inner:?}") };
    assert!(in_body(literal(inner), &body));
    assert_eq!(inner, "innerA");
    let Some(Content::Text(system)) = &req.system else { panic!("{:?}", req.system) };
    assert!(in_body(literal(system), &body));
    let tools: &[Tool] = req.tools.as_deref().unwrap();
    assert!(in_body(&tools[0].input_schema.as_ref().unwrap().0, &body));
    assert_eq!(
        serde_json::to_string(&req.tools).unwrap(),
        r#"[{"name":"f","description":"d","input_schema":{"type":"object"}}]"#
    );

    // Outside `parse_shared` (also after it), text is copied out as before.
    let t: Text = serde_json::from_str(r#""x""#).unwrap();
    assert!(matches!(literal(&t), RawText::Parsed(_)));
}

#[test]
fn only_bodies_past_the_threshold_are_shared() {
    use crate::protocol::{from_json_shared, SHARED_PARSE_MIN};
    #[derive(serde::Deserialize)]
    struct Body {
        text: Text,
    }
    let body = |pad: usize| Bytes::from(format!(r#"{{"pad":"{}","text":"t"}}"#, "p".repeat(pad)));
    let small = body(10);
    assert!(small.len() < SHARED_PARSE_MIN);
    let b: Body = from_json_shared(&small).unwrap();
    assert!(matches!(literal(&b.text), RawText::Parsed(_)));
    let large = body(SHARED_PARSE_MIN);
    let b: Body = from_json_shared(&large).unwrap();
    assert!(in_body(literal(&b.text), &large));
    assert_eq!(b.text, "t");
}

#[test]
fn a_shared_parse_fails_as_a_plain_one() {
    use crate::protocol::anthropic::MessagesRequest;
    for body in
        [&b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"[..], b"{\"model\":", b"[1]"]
    {
        let shared = super::parse_shared::<MessagesRequest>(&Bytes::copy_from_slice(body)).unwrap_err();
        let plain = serde_json::from_slice::<MessagesRequest>(body).unwrap_err();
        assert_eq!(shared.to_string(), plain.to_string());
    }
    // A failed parse leaves no source behind.
    let t: Text = serde_json::from_str(r#""x""#).unwrap();
    assert!(matches!(literal(&t), RawText::Parsed(_)));
}

#[test]
fn a_literal_is_written_back_as_it_arrived() {
    let json = r#""line\none \"quoted\" \u00e9 \/""#;
    let t: Text = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&t).unwrap(), json);
    assert_eq!(t.as_str(), "line\none \"quoted\" é /");
    // Reading the text does not change what is written.
    assert_eq!(serde_json::to_string(&t.clone()).unwrap(), json);
    assert!(!t.is_empty());
    assert!(serde_json::from_str::<Text>(r#""""#).unwrap().is_empty());
    assert_eq!(t.into_string(), "line\none \"quoted\" é /");
}

#[test]
fn plain_text_is_escaped_when_written() {
    let t = Text::new("a\"b\n");
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""a\"b\n""#);
    assert_eq!(t, "a\"b\n");
}

#[test]
fn a_string_read_unescaped_is_written_as_serde_json_would() {
    let long = "a sentence long enough to be kept as a literal, with é and ~ and \u{7f}";
    for v in [
        long,
        "short",
        "",
        &format!("{long} \"quoted\""),
        &format!("{long}\\"),
        &format!("{long}\n"),
        &format!("\u{1f}{long}"),
    ] {
        let t = Text::read(v);
        assert_eq!(serde_json::to_string(&t).unwrap(), serde_json::to_string(v).unwrap(), "{v:?}");
        assert_eq!((t.as_str(), t.clone().into_string().as_str(), t.is_empty()), (v, v, v.is_empty()));
    }
    // Only long strings with nothing to escape become literals.
    assert!(matches!(literal(&Text::read(long)), RawText::Built(b) if b.len() == long.len() + 2));
    for plain in ["short", &format!("{long}\n"), &format!("{long} \"q\"")] {
        assert!(matches!(Text::read(plain).0, Repr::Plain(_)), "{plain:?}");
    }
    // Message content given as a string is read that way.
    let req: crate::protocol::anthropic::MessagesRequest =
        serde_json::from_str(&format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{long}"}}]}}"#)).unwrap();
    let crate::protocol::anthropic::Content::Text(t) = &req.messages[0].content else { panic!() };
    assert!(matches!(literal(t), RawText::Built(_)));
    assert_eq!(t, long);
}

#[test]
fn a_literal_without_escapes_lends_its_inside() {
    let t: Text = serde_json::from_str(r#""plain text""#).unwrap();
    let lit = literal(&t).get();
    assert_eq!(t.as_str().as_ptr(), lit[1..].as_ptr());
    assert_eq!(t.into_string(), "plain text");
    let t: Text = serde_json::from_str(r#""esc\u0061ped""#).unwrap();
    assert_eq!(t.as_str(), "escaped");
    assert_ne!(t.as_str().as_ptr(), literal(&t).get()[1..].as_ptr());
    assert_eq!(t.clone().into_string(), "escaped");
}

#[test]
fn only_strings_are_text() {
    let err = serde_json::from_str::<Text>("12").unwrap_err().to_string();
    assert!(err.contains("expected a string"), "{err}");
    assert!(serde_json::from_str::<Text>("{\"a\":1}").is_err());
    assert!(serde_json::from_str::<Text>("null").is_err());
    assert!(serde_json::from_str::<Text>("\"unterminated").is_err());
}

#[test]
fn reads_from_a_value_tree_and_buffered_input() {
    let t: Text = serde_json::from_value(serde_json::json!("x\ny")).unwrap();
    assert_eq!(t, "x\ny");
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum E {
        T(Text),
    }
    let E::T(t) = serde_json::from_str::<E>(r#""a\tb""#).unwrap();
    assert_eq!(t, "a\tb");
    assert_eq!(serde_json::to_string(&t).unwrap(), r#""a\tb""#);
}

#[test]
fn joins_literals_without_unescaping() {
    let a: Text = serde_json::from_str(r#""one\n""#).unwrap();
    let b: Text = serde_json::from_str(r#""two \"2\"""#).unwrap();
    let j = Text::join([&a, &b], "\n\n");
    assert_eq!(serde_json::to_string(&j).unwrap(), r#""one\n\n\ntwo \"2\"""#);
    assert_eq!(j, "one\n\n\ntwo \"2\"");
    let mixed = Text::join([&a, &Text::new("p\"")], "-");
    assert_eq!(mixed, "one\n-p\"");
    assert_eq!(serde_json::to_string(&mixed).unwrap(), r#""one\n-p\"""#);
    // A joined literal is written as made, into text or a tree alike.
    assert_eq!(serde_json::to_string(&[&j, &mixed]).unwrap(), r#"["one\n\n\ntwo \"2\"","one\n-p\""]"#);
    assert_eq!(serde_json::to_value(&mixed).unwrap(), serde_json::json!("one\n-p\""));
    assert_eq!(Text::join([], "x"), "");
    let e = b.prefixed("Error: ");
    assert_eq!(serde_json::to_string(&e).unwrap(), r#""Error: two \"2\"""#);
    assert_eq!(Text::new("x").prefixed("> "), "> x");
    assert_eq!(serde_json::to_string(&Text::join([&b], "x")).unwrap(), r#""two \"2\"""#);
}

#[test]
fn long_strings_in_requests_cross_dialects_as_they_arrived() {
    use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest};
    use crate::protocol::openai_chat::{ChatContent, ChatRequest};
    let req: MessagesRequest = serde_json::from_str(
        r#"{"model":"m","system":"be \"brief\"\n","messages":[{"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t","content":"line\u0041\n"},
                {"type":"tool_result","tool_use_id":"u","content":[{"type":"text","text":"x\ty"}]},
                {"type":"text","text":"\/"}]}]}"#,
    )
    .unwrap();
    let system = req.system.as_ref().unwrap().joined_text("");
    assert_eq!(system, "be \"brief\"\n");
    assert_eq!(serde_json::to_string(&system).unwrap(), r#""be \"brief\"\n""#);
    let Content::Blocks(blocks) = &req.messages[0].content else { panic!("blocks") };
    let ContentBlock::ToolResult { content: Some(Content::Text(t)), .. } = &blocks[0] else { panic!("{blocks:?}") };
    assert_eq!(serde_json::to_string(t).unwrap(), r#""line\u0041\n""#);
    assert_eq!(t, "lineA\n");
    let ContentBlock::ToolResult { content: Some(Content::Blocks(inner)), .. } = &blocks[1] else { panic!() };
    assert_eq!(inner, &vec![ContentBlock::text("x\ty")]);
    assert_eq!(serde_json::to_string(&blocks[2]).unwrap(), r#"{"type":"text","text":"\/"}"#);

    let chat: ChatRequest = serde_json::from_str(
        r#"{"model":"m","messages":[{"role":"user","content":"a\u00e9"},
                {"role":"user","content":[{"type":"text","text":"p"}]},{"role":"assistant","content":null}]}"#,
    )
    .unwrap();
    let Some(ChatContent::Text(t)) = &chat.messages[0].content else { panic!() };
    assert_eq!((t.as_str(), serde_json::to_string(t).unwrap().as_str()), ("aé", r#""a\u00e9""#));
    assert!(matches!(&chat.messages[1].content, Some(ChatContent::Parts(p)) if p.len() == 1));
    assert_eq!(chat.messages[2].content, None);
}

#[test]
fn content_of_the_wrong_type_is_refused_with_what_was_expected() {
    use crate::protocol::anthropic::MessagesRequest;
    use crate::protocol::openai_chat::ChatRequest;
    let err =
        serde_json::from_str::<MessagesRequest>(r#"{"model":"m","messages":[],"system":5}"#).unwrap_err().to_string();
    assert!(err.contains("expected a string or an array of content blocks"), "{err}");
    let err = serde_json::from_str::<ChatRequest>(r#"{"model":"m","messages":[{"role":"user","content":{}}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a string or an array of content parts"), "{err}");
    let err = serde_json::from_str::<ChatRequest>(r#"{"model":"m","messages":[{"role":"user","content":[1]}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid type: integer `1`, expected internally tagged enum ChatPart at line 1 column"),
        "{err}"
    );
    // Read from a tree (no JSON text to keep), the same values still decode.
    let req: MessagesRequest =
        serde_json::from_value(serde_json::json!({"model":"m","messages":[],"system":"s"})).unwrap();
    assert_eq!(req.system.unwrap().joined_text(""), "s");
}

/// Claude Code writes a tool result's `tool_use_id` before its `type`: such a block is
/// gathered before it is read, and its text copied out of the gathered fields, in a
/// shared parse too.
#[test]
fn blocks_whose_type_is_not_first_are_read_in_a_shared_parse() {
    use crate::protocol::anthropic::{Content, ContentBlock, MessagesRequest};
    let body = Bytes::from(format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}},
            {{"role":"assistant","content":[{{"id":"c1","type":"tool_use","name":"f","input":{{"a":1}}}}]}},
            {{"role":"user","content":[{{"tool_use_id":"c1","type":"tool_result","content":"relay-ok","is_error":false,"cache_control":{{"type":"ephemeral"}}}},
            {{"text":"go \"on\"","type":"text"}}]}}],
            "tools":[{{"description":"d","input_schema":{{"type":"object"}},"name":"f"}}]}}"#,
        "x".repeat(5000)
    ));
    let req: MessagesRequest = super::parse_shared(&body).unwrap();
    let Content::Blocks(blocks) = &req.messages[2].content else { panic!("{:?}", req.messages[2]) };
    let ContentBlock::ToolResult { tool_use_id, content: Some(Content::Text(result)), .. } = &blocks[0] else {
        panic!("{blocks:?}")
    };
    assert_eq!((tool_use_id.as_str(), result.as_str()), ("c1", "relay-ok"));
    let ContentBlock::Text { text, .. } = &blocks[1] else { panic!("{blocks:?}") };
    assert_eq!(text.as_str(), "go \"on\"");
    assert_eq!(serde_json::to_string(text).unwrap(), r#""go \"on\"""#);
    // What follows the gathered block is shared again.
    assert!(in_body(&req.tools.as_ref().unwrap()[0].input_schema.as_ref().unwrap().0, &body));
}
