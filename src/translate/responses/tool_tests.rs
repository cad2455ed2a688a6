//! Custom tools (free-text input, Codex's `apply_patch`) and `namespace` tools (Codex's
//! MCP servers) on upstreams of other dialects, complete and streamed.

use super::tests::to_canonical;
use super::*;
use crate::protocol::anthropic::{Content, ContentBlock, Role, ToolChoice};
use serde_json::{json, Value};

#[test]
fn custom_tools_travel_as_a_function_with_one_string_and_come_back_as_custom_calls() {
    let (req, info) = to_canonical(
        r#"{"model":"m","tools":[
            {"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: \"*** Begin Patch\""}},
            {"type":"function","name":"f"}],
          "input":[
            {"type":"message","role":"user","content":"fix it"},
            {"type":"custom_tool_call","call_id":"call_P","name":"apply_patch","input":"*** Begin Patch\n*** End Patch"},
            {"type":"custom_tool_call_output","call_id":"call_P","output":"Done!"}]}"#,
    );
    assert_eq!(
        req["tools"][0],
        json!({"name": "apply_patch", "description": "Edit files.", "input_schema": {
            "type": "object",
            "properties": {"input": {"type": "string",
                "description": "The tool's input: text in this lark grammar:\nstart: \"*** Begin Patch\""}},
            "required": ["input"], "additionalProperties": false}})
    );
    assert_eq!(
        req["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "call_P", "name": "apply_patch", "input": {"input": "*** Begin Patch\n*** End Patch"}}])
    );
    assert_eq!(
        req["messages"][2]["content"],
        json!([{"type": "tool_result", "tool_use_id": "call_P", "content": "Done!"}])
    );
    assert!(info.is_custom_tool("apply_patch") && !info.is_custom_tool("f"));

    // The answer: a call of the custom tool is a custom_tool_call with its text.
    let answer: crate::protocol::anthropic::MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "tool_use", "id": "call_Q", "name": "apply_patch", "input": {"input": "*** Begin Patch\n"}},
                    {"type": "tool_use", "id": "call_R", "name": "f", "input": {}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 2}
    }))
    .unwrap();
    let out: Value = serde_json::from_slice(&super::response::from_canonical(&answer, "resp_9", &info)).unwrap();
    assert_eq!(
        out["output"][0],
        json!({"type": "custom_tool_call", "id": "ctc_9_0", "status": "completed", "call_id": "call_Q",
               "name": "apply_patch", "input": "*** Begin Patch\n"})
    );
    assert_eq!(out["output"][1]["type"], "function_call");
}

#[test]
fn a_streamed_custom_tool_call_sends_its_text_when_its_json_is_whole() {
    use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent};
    let info = ResponsesRequestInfo {
        tools: Some(vec![crate::protocol::openai_responses::ResponsesTool {
            kind: "custom".into(),
            name: Some("apply_patch".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let start: crate::protocol::anthropic::MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "usage": {"input_tokens": 1, "output_tokens": 0}
    }))
    .unwrap();
    let events = [
        StreamEvent::MessageStart { message: start },
        StreamEvent::ContentBlockStart {
            index: 0,
            content_block: ContentBlock::ToolUse {
                id: "call_Q".into(),
                name: "apply_patch".into(),
                input: json!({}),
                cache_control: None,
            },
        },
        StreamEvent::ContentBlockDelta {
            index: 0,
            delta: BlockDelta::InputJsonDelta { partial_json: r#"{"input":"*** Begin"#.into() },
        },
        StreamEvent::ContentBlockDelta {
            index: 0,
            delta: BlockDelta::InputJsonDelta { partial_json: r#" Patch\n\u00e9"}"#.into() },
        },
        StreamEvent::ContentBlockStop { index: 0 },
    ];
    let mut enc = super::encode::ResponsesEncoder::new("resp_7".into(), info);
    let mut out = bytes::BytesMut::new();
    for ev in &events {
        enc.encode(ev, &mut out);
    }
    let lines: Vec<Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let custom: Vec<&Value> = lines.iter().skip(2).collect();
    assert_eq!(
        custom[0]["item"],
        json!({"type": "custom_tool_call", "id": "ctc_7_0", "status": "in_progress", "call_id": "call_Q", "name": "apply_patch", "input": ""})
    );
    assert_eq!(
        (&custom[1]["type"], &custom[1]["delta"]),
        (&json!("response.custom_tool_call_input.delta"), &json!("*** Begin Patch\né"))
    );
    assert_eq!(
        (&custom[2]["type"], &custom[2]["input"]),
        (&json!("response.custom_tool_call_input.done"), &json!("*** Begin Patch\né"))
    );
    assert_eq!(custom[3]["type"], "response.output_item.done");
    assert_eq!(custom[3]["item"]["input"], "*** Begin Patch\né");
    assert_eq!(custom[3]["item"]["status"], "completed");
}

/// Codex groups an MCP server's tools in a `namespace` tool and names the namespace on
/// their calls: elsewhere they are function tools `<namespace>__<name>`, and calls come
/// back to the client with their name and namespace.
#[test]
fn namespace_tools_are_flattened_and_their_calls_named_back() {
    let body = json!({
        "model": "m",
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "namespace", "name": "mcp__echo", "description": "Echo server", "tools": [
                {"type": "function", "name": "shout", "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}
            ]},
            {"type": "file_search"}
        ],
        "input": [
            {"type": "message", "role": "user", "content": "shout hi"},
            {"type": "function_call", "call_id": "c1", "name": "shout", "namespace": "mcp__echo", "arguments": "{\"text\":\"hi\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": "HI"}
        ],
        "tool_choice": {"type": "function", "name": "exec_command"}
    });
    let (req, info) = request_to_canonical(&serde_json::to_vec(&body).unwrap()).unwrap();
    let names: Vec<&str> = req.tools.iter().flatten().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["exec_command", "mcp__echo__shout"]);
    let Content::Blocks(blocks) = &req.messages[1].content else { panic!("{:?}", req.messages) };
    assert!(matches!(&blocks[0], ContentBlock::ToolUse { name, .. } if name == "mcp__echo__shout"), "{blocks:?}");
    assert!(matches!(&req.tool_choice, Some(ToolChoice::Tool { name, .. }) if name == "exec_command"));

    let answer = MessagesResponse {
        id: "msg_1".into(),
        kind: "message".into(),
        role: Role::Assistant,
        model: "m".into(),
        content: vec![ContentBlock::ToolUse {
            id: "toolu_2".into(),
            name: "mcp__echo__shout".into(),
            input: json!({"text": "again"}),
            cache_control: None,
        }],
        stop_reason: Some("tool_use".into()),
        stop_sequence: None,
        usage: Default::default(),
    };
    let out: Value = serde_json::from_slice(&canonical_to_response(&answer, "resp_1", &info)).unwrap();
    assert_eq!(out["output"][0]["name"], "shout", "{out}");
    assert_eq!(out["output"][0]["namespace"], "mcp__echo", "{out}");

    // Streamed alike.
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"mcp__echo__shout\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let out = super::stream_tests::encode_split(sse.as_bytes(), &[], "resp_1", &info);
    let items: Vec<&str> = out.lines().filter(|l| l.contains("\"type\":\"response.output_item.")).collect();
    assert_eq!(items.len(), 2, "{out}");
    for item in items {
        assert!(item.contains(r#""name":"shout","namespace":"mcp__echo""#), "{item}");
    }
    // The arguments' done event names the tool as the client does too.
    let done = out.lines().find(|l| l.contains("\"type\":\"response.function_call_arguments.done\"")).unwrap();
    assert!(done.contains(r#""name":"shout""#) && !done.contains("mcp__echo__shout"), "{done}");
}
