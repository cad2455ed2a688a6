//! Chat upstreams' tool calls, streamed: fields of odd types, calls told apart by index
//! and id, interleaved and empty fragments, calls not yet whole, and the ids a Chat server
//! gives again or leaves out.

use super::tests::{check, fixture_dir, translate, NO_USAGE};
use super::*;

/// The Anthropic events of `out`, one line each: block starts with their tool's id and
/// name, deltas with their text or JSON, stops, the stop reason and errors.
fn event_lines(out: &str) -> Vec<String> {
    out.split_terminator("\n\n")
        .filter_map(|frame| frame.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|data| {
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            let index = &v["index"];
            match v["type"].as_str().unwrap() {
                "content_block_start" => {
                    let b = &v["content_block"];
                    format!("start {index} {} {} {}", b["type"], b["id"], b["name"])
                }
                "content_block_delta" => {
                    let d = &v["delta"];
                    format!("delta {index} {}", d["partial_json"].as_str().or(d["text"].as_str()).unwrap())
                }
                "content_block_stop" => format!("stop {index}"),
                "message_delta" => format!("end {}", v["delta"]["stop_reason"]),
                "error" => format!("error {}", v["error"]["message"]),
                other => other.to_string(),
            }
        })
        .collect()
}

#[test]
fn chat_chunk_fields_with_escapes_and_of_the_wrong_type() {
    let input = concat!(
        "data: {\"id\":\"chat\\u0063mpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,",
        "\"model\":\"gpt-\\\"x\\\"\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n",
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":\"soon\",\"choices\":[]}\n\n",
    );
    let mut t = StreamTranslator::new(Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    let out = String::from_utf8(t.push(input.as_bytes()).to_vec()).unwrap();
    // Escaped id and model are decoded into the message start.
    assert!(out.contains(r#""id":"chatcmpl-1""#), "{out}");
    assert!(out.contains(r#""model":"gpt-\"x\"""#), "{out}");
    assert!(out.contains(r#""text":"hi""#), "{out}");
    // A `created` that is not a number is a malformed chunk, as before.
    assert!(out.contains("upstream sent a malformed chunk"), "{out}");
    assert!(matches!(t.stats().termination, Some(Termination::Error(_))));
}

#[test]
fn chat_calls_numbered_alike_or_not_at_all_are_told_apart_by_their_ids() {
    let (out, _) = check("chat_same_index_tools.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    assert_eq!(
        event_lines(&out),
        [
            "message_start",
            r#"start 0 "tool_use" "call_1" "f""#,
            r#"delta 0 {"a":1}"#,
            "stop 0",
            r#"start 1 "tool_use" "call_2" "g""#,
            r#"delta 1 {"b":2}"#,
            "stop 1",
            r#"start 2 "tool_use" "call_3" "h""#,
            "delta 2 {}",
            "stop 2",
            r#"end "tool_use""#,
            "message_stop",
        ]
    );
}

#[test]
fn interleaved_chat_call_fragments_reach_each_call_whole() {
    let (out, _) = check("chat_interleaved_tools.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    assert_eq!(
        event_lines(&out),
        [
            "message_start",
            r#"start 0 "tool_use" "call_a" "weather""#,
            r#"delta 0 {"city": "Par"#,
            r#"delta 0 is"}"#,
            "stop 0",
            r#"start 1 "tool_use" "call_b" "time""#,
            r#"delta 1 {"tz":"CET"}"#,
            "stop 1",
            r#"end "tool_use""#,
            "message_stop",
        ]
    );
    // Towards a Responses client the same calls arrive with their whole arguments.
    let opts = ClientStreamOptions { responses: Some(("resp_1".into(), Default::default())), ..NO_USAGE };
    let input = std::fs::read(fixture_dir().join("chat_interleaved_tools.sse")).unwrap();
    let (out, _) = translate(&input, &[], Dialect::OpenAiChat, Dialect::OpenAiResponses, &opts);
    assert!(out.contains(r#""arguments":"{\"city\": \"Paris\"}""#), "{out}");
    assert!(out.contains(r#""arguments":"{\"tz\":\"CET\"}""#), "{out}");
}

#[test]
fn a_chat_call_opens_once_its_name_comes_and_a_fragment_after_its_end_is_an_error() {
    let (out, stats) = check("chat_late_tool_fragment.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    assert_eq!(
        event_lines(&out),
        [
            "message_start",
            r#"start 0 "tool_use" "call_x" "lookup""#,
            r#"delta 0 {"q":"#,
            r#"delta 0 "x"}"#,
            "stop 0",
            r#"start 1 "tool_use" "call_y" "open""#,
            r#"delta 1 {"id":7}"#,
            r#"error "upstream sent arguments for tool call 0 after the call had ended""#,
        ]
    );
    assert!(matches!(stats.termination, Some(Termination::Error(_))));
}

#[test]
fn empty_fragments_neither_interleave_calls_nor_end_the_stream() {
    let head =
        r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":"#;
    let frame = |delta: &str, finish: &str| format!("{head}{delta},\"finish_reason\":{finish}}}]}}\n\n");
    let input = [
        frame(r#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}"#, "null"),
        frame(r#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"g","arguments":""}}]}"#, "null"),
        // The streaming call repeats its id with no arguments: not a sign of interleaving.
        frame(r#"{"tool_calls":[{"index":0,"id":"call_a","function":{"arguments":""}}]}"#, "null"),
        frame(r#"{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}"#, "null"),
        // An ended call's empty fragment places nothing and ends nothing.
        frame(r#"{"tool_calls":[{"index":0,"function":{"arguments":""}}]}"#, "null"),
        frame("{}", "\"tool_calls\""),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let (out, stats) = translate(input.as_bytes(), &[], Dialect::OpenAiChat, Dialect::Anthropic, &NO_USAGE);
    assert_eq!(
        event_lines(&out),
        [
            "message_start",
            r#"start 0 "tool_use" "call_a" "f""#,
            r#"delta 0 {"a":"#,
            "stop 0",
            r#"start 1 "tool_use" "call_b" "g""#,
            "delta 1 {}",
            "stop 1",
            r#"end "tool_use""#,
            "message_stop",
        ]
    );
    assert_eq!(stats.termination, Some(Termination::Complete));
}

/// Another call going on while the streaming call is silent shows the streaming call
/// ended only once its arguments are whole: before that the fragments interleave, and
/// the other call leaves whole after it.
#[test]
fn a_call_whose_arguments_are_not_whole_has_not_ended() {
    let frame = |delta: serde_json::Value, finish: serde_json::Value| {
        let chunk = serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {chunk}\n\n")
    };
    let call = |index: u32, opening: Option<(&str, &str)>, args: &str| {
        let mut call = serde_json::json!({"index": index, "function": {"arguments": args}});
        if let Some((id, name)) = opening {
            call["id"] = id.into();
            call["type"] = "function".into();
            call["function"]["name"] = name.into();
        }
        frame(serde_json::json!({"tool_calls": [call]}), serde_json::Value::Null)
    };
    let input = [
        call(0, Some(("call_a", "f1")), r#"{"a""#),
        call(1, Some(("call_b", "f2")), r#"{"b""#),
        call(1, None, ":2}"),
        call(0, None, ":1}"),
        frame(serde_json::json!({}), "tool_calls".into()),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    let (out, stats) = translate(input.as_bytes(), &[], Dialect::OpenAiChat, Dialect::Anthropic, &NO_USAGE);
    assert_eq!(
        event_lines(&out),
        [
            "message_start",
            r#"start 0 "tool_use" "call_a" "f1""#,
            r#"delta 0 {"a""#,
            "delta 0 :1}",
            "stop 0",
            r#"start 1 "tool_use" "call_b" "f2""#,
            r#"delta 1 {"b":2}"#,
            "stop 1",
            r#"end "tool_use""#,
            "message_stop",
        ],
        "{input}"
    );
    assert_eq!(stats.termination, Some(Termination::Complete));
}

#[test]
fn chat_calls_without_ids_get_ids_no_other_answer_has() {
    let input = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let id = || {
        let (out, _) = translate(input.as_bytes(), &[], Dialect::OpenAiChat, Dialect::Anthropic, &NO_USAGE);
        let start = event_lines(&out).into_iter().find(|l| l.starts_with("start 0")).unwrap();
        start.split('"').nth(3).unwrap().to_string()
    };
    let (first, second) = (id(), id());
    assert!(first.starts_with("toolu_relay_") && first.len() == 28, "{first}");
    assert_ne!(first, second);
}

#[test]
fn chat_call_ids_that_repeat_or_that_anthropic_refuses_are_replaced() {
    // Two calls of one id, and Kimi's `functions.<name>:<n>`, which every answer repeats.
    let input = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":2,\"id\":\"functions.Bash:0\",\"type\":\"function\",\"function\":{\"name\":\"h\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let (out, _) = translate(input.as_bytes(), &[], Dialect::OpenAiChat, Dialect::Anthropic, &NO_USAGE);
    let ids: Vec<String> = event_lines(&out)
        .into_iter()
        .filter(|l| l.starts_with("start"))
        .map(|l| l.split('"').nth(3).unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{out}");
    assert_eq!(ids[0], "call_0", "an id seen first is kept");
    assert!(ids[1].starts_with("toolu_relay_") && ids[2].starts_with("toolu_relay_"), "{ids:?}");
    assert_ne!(ids[1], ids[2]);
    // An id the conversation used already (a server that counts its calls anew in
    // every answer) is replaced too.
    let used: std::sync::Arc<[String]> = vec!["call_0".to_string()].into();
    let opts = ClientStreamOptions { used_tool_ids: Some(used), ..NO_USAGE };
    let (out, _) = translate(input.as_bytes(), &[], Dialect::OpenAiChat, Dialect::Anthropic, &opts);
    let first = event_lines(&out).into_iter().find(|l| l.starts_with("start 0")).unwrap();
    assert!(first.contains("toolu_relay_"), "{first}");
    let whole = crate::protocol::openai_chat::ChatResponse {
        id: "c".into(),
        object: "chat.completion".into(),
        created: 1,
        model: "m".into(),
        choices: serde_json::from_value(serde_json::json!([{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]))
        .unwrap(),
        usage: None,
        system_fingerprint: None,
    };
    let answer = crate::translate::chat_response::chat_to_canonical_answer(whole, &["call_0".to_string()]).unwrap();
    assert!(
        matches!(&answer.content[0], crate::protocol::anthropic::ContentBlock::ToolUse { id, .. } if id.starts_with("toolu_relay_")),
        "{answer:?}"
    );
}
