//! Requests between the Responses API and the canonical model, on schema-faithful
//! fixtures (`tests/fixtures/responses`) with exact expected output; the fixture helpers
//! the other test modules share.

use super::*;
use crate::protocol::anthropic::{Content, ContentBlock, Message, Role, ToolChoice};
use crate::translate::ErrorKind;
use serde_json::{json, Value};
use std::path::PathBuf;

pub(super) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/responses")
}

pub(super) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// `created_at` is the gateway's clock; everything else must match exactly.
pub(super) fn normalize(out: &[u8]) -> String {
    let s = String::from_utf8(out.to_vec()).unwrap();
    let mut result = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("\"created_at\":") {
        result.push_str(&rest[..i + 13]);
        rest = &rest[i + 13..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        result.push('0');
        rest = &rest[digits..];
    }
    result.push_str(rest);
    result
}

/// Compares with `expected/<name>`; `UPDATE_GOLDEN=1` rewrites it (review the diff).
pub(super) fn golden(name: &str, actual: &str) {
    let path = fixture_dir().join("expected").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {path:?}; run with UPDATE_GOLDEN=1 and review it"));
    assert_eq!(actual, expected, "golden {name}");
}

pub(super) fn to_canonical(body: &str) -> (Value, ResponsesRequestInfo) {
    let (req, info) = request_to_canonical(body.as_bytes()).unwrap();
    (serde_json::to_value(req).unwrap(), info)
}

fn invalid(body: &str) -> String {
    let err = request_to_canonical(body.as_bytes()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err}");
    err.message
}

fn target() -> TargetOptions {
    TargetOptions { reasoning: true, ..TargetOptions::new("gpt-4.1") }
}

fn anthropic_request(body: Value) -> MessagesRequest {
    serde_json::from_value(body).unwrap()
}

// ======================================================= request → canonical

#[test]
fn string_input_with_instructions() {
    let (req, info) = to_canonical(r#"{"model":"gpt-4.1","instructions":"Be brief.","input":"Hi"}"#);
    assert_eq!(
        req,
        json!({
            "model": "gpt-4.1",
            "messages": [{"role": "user", "content": "Hi"}],
            "system": [{"type": "text", "text": "Be brief."}]
        })
    );
    assert_eq!(
        info,
        ResponsesRequestInfo {
            model: "gpt-4.1".into(),
            store: true,
            instructions: Some("Be brief.".into()),
            ..Default::default()
        }
    );
}

#[test]
fn multi_turn_with_parallel_calls_outputs_images_and_files() {
    let (req, info) = to_canonical(std::str::from_utf8(&fixture("request_multi_turn.json")).unwrap());
    let expected = json!({
        "model": "gpt-4.1",
        "messages": [
            {"role": "user", "content": "Weather and time in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Je regarde."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18°C, cloudy"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": [
                    {"type": "text", "text": "14:05"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]},
                {"type": "text", "text": "Also this chart and report:"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/chart.png"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}, "title": "report.pdf"}
            ]}
        ],
        "system": [
            {"type": "text", "text": "You are a weather bot."},
            {"type": "text", "text": "Answer in French."},
            {"type": "text", "text": "Keep it short."}
        ],
        "max_tokens": 2048,
        "metadata": {"user_id": "user-42"},
        "stream": true,
        // As given: Anthropic's limits apply on the way to Anthropic only.
        "temperature": 1.5,
        "top_p": 0.9,
        "tools": [
            {"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
            // The hosted search runs at Anthropic (`web_search`).
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 16384},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"summary": {"type": "string"}}}, "name": "weather", "strict": true}}
    });
    assert_eq!(req, expected);
    assert_eq!(info.model, "gpt-4.1");
    assert!(info.stream);
    assert!(!info.store);
    assert_eq!(info.previous_response_id.as_deref(), Some("resp_prev"));
    assert_eq!(info.instructions.as_deref(), Some("You are a weather bot."));
    assert_eq!((info.temperature, info.top_p, info.max_output_tokens), (Some(1.5), Some(0.9), Some(2048)));
    assert_eq!(info.metadata, Some(json!({"session": "abc"})));
    assert_eq!(info.tool_choice, Some(json!("auto")));
    assert_eq!(info.parallel_tool_calls, Some(false));
    assert_eq!(info.reasoning, Some(json!({"effort": "high", "summary": "auto"})));
    assert_eq!(info.user.as_deref(), Some("user-42"));
    assert_eq!(info.text.as_ref().and_then(|t| t.pointer("/format/name")), Some(&json!("weather")));
    // The hosted tool was dropped, so it is not echoed either.
    assert_eq!(
        serde_json::to_value(&info.tools).unwrap(),
        (json!([
            {"type": "function", "name": "get_weather", "description": "Weather for a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true},
            {"type": "function", "name": "get_time"}
        ]))
    );
}

#[test]
fn tool_outputs_lead_the_user_turn_and_consecutive_messages_merge() {
    let (req, _) = to_canonical(
        r#"{"model":"m","input":[
            {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
            {"role":"user","content":"and then?"},
            {"type":"function_call_output","call_id":"c1","output":"done"},
            {"role":"user","content":[{"type":"input_text","text":""},{"type":"input_text","text":"more"}]},
            {"role":"assistant","content":"a"},
            {"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}
        ]}"#,
    );
    assert_eq!(
        req["messages"],
        json!([
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "done"},
                {"type": "text", "text": "and then?"},
                {"type": "text", "text": "more"}
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "no"}]}
        ])
    );
}

#[test]
fn invalid_arguments_are_kept_raw() {
    let (req, _) = to_canonical(
        r#"{"model":"m","input":[{"role":"user","content":"x"},{"type":"function_call","call_id":"c","name":"f","arguments":"{oops"}]}"#,
    );
    assert_eq!(req["messages"][1]["content"][0]["input"], json!({"_raw_arguments": "{oops"}));
}

#[test]
fn unsupported_inputs_are_refused_with_their_place() {
    let image = |url: &str| {
        format!(
            r#"{{"model":"m","input":[{{"role":"user","content":[{{"type":"input_image","image_url":"{url}"}}]}}]}}"#
        )
    };
    assert_eq!(
        invalid(&image("data:image/bmp;base64,Qk0=")),
        "input[0].content[0]: image type 'image/bmp' is not supported (jpeg, png, gif, webp)"
    );
    assert_eq!(invalid(&image("data:image/png,raw")), "input[0].content[0]: image_url is not a valid base64 data URL");
    assert_eq!(
        invalid(r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}"#),
        "input[0].content[0]: input_image needs an image_url (file_id is not supported)"
    );
    assert_eq!(
        invalid(
            r#"{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_audio"}]}]}"#
        ),
        "input[0].output[0]: unsupported content part type"
    );
    assert_eq!(
        invalid(r#"{"model":"m","input":[{"type":"item_reference","id":"msg_9"}]}"#),
        "input[0]: item_reference 'msg_9' is not supported by this gateway; send the item itself"
    );
    assert_eq!(
        invalid(r#"{"model":"m","input":[{"role":"tool","content":"x"}]}"#),
        "input[0]: unsupported message role 'tool'"
    );
    assert_eq!(
        invalid(
            r#"{"model":"m","input":[{"role":"user","content":"x"},{"type":"function_call_output","output":"x"}]}"#
        ),
        "input[1]: a function_call_output needs a call_id"
    );
    assert!(invalid(r#"{"model":"m","input":[{"role":"user","content":"x"},{"type":"message","role":5}]}"#)
        .starts_with("invalid request body: input[1]: "));
    assert_eq!(invalid(r#"{"model":"m","input":""}"#), "input: there is no user input to answer");
    assert_eq!(
        invalid(r#"{"model":"m","input":"x","tools":[{"type":"function"}]}"#),
        "tools[0]: a function tool needs a name"
    );
    assert_eq!(
        invalid(r#"{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":"sometimes"}"#),
        "tool_choice: unknown mode 'sometimes'"
    );
    // A continuation may carry no new input of its own.
    assert!(request_to_canonical(br#"{"model":"m","previous_response_id":"resp_1"}"#).is_ok());
}

#[test]
fn tool_schemas_keep_their_text_both_ways() {
    let schema =
        r#"{ "type":"object", "properties":{"b":{"type":"string"},"a":{"type":"integer"}}, "required":["b"] }"#;
    let body = format!(
        r#"{{"model":"m","input":"hi","tools":[{{"type":"function","name":"f","parameters":{schema},"strict":true}},{{"type":"function","name":"g","parameters":null}}]}}"#
    );
    let (req, info) = request_to_canonical(body.as_bytes()).unwrap();
    let tools = req.tools.as_ref().unwrap();
    assert_eq!(tools[0].input_schema.as_ref().map(|s| s.get()), Some(schema));
    assert_eq!(tools[1].input_schema.as_ref().map(|s| s.get()), Some(r#"{"type":"object","properties":{}}"#));
    // Echoed as the client wrote them.
    assert_eq!(
        serde_json::to_string(&info.tools).unwrap(),
        format!(
            r#"[{{"type":"function","name":"f","parameters":{schema},"strict":true}},{{"type":"function","name":"g"}}]"#
        )
    );
    // Towards a Responses upstream: the text again, without a top-level `$schema`.
    let mut req = req;
    if let Some(t) = req.tools.as_mut() {
        t[0].input_schema = Some(crate::protocol::RawJson::from_value(
            &json!({"type": "object", "properties": {"b": {"type": "string"}}, "$schema": "http://json-schema.org/draft-07/schema#"}),
        ));
    }
    let sent: Value = serde_json::from_slice(&canonical_to_request(&req, &target()).unwrap()).unwrap();
    assert_eq!(sent["tools"][0]["parameters"], json!({"type": "object", "properties": {"b": {"type": "string"}}}));
}

#[test]
fn tool_choice_and_parallel_calls() {
    let choice = |tc: &str, parallel: &str| {
        let body = format!(
            r#"{{"model":"m","input":"x","tools":[{{"type":"function","name":"f"}}],"tool_choice":{tc}{parallel}}}"#
        );
        request_to_canonical(body.as_bytes()).unwrap().0.tool_choice
    };
    assert_eq!(choice(r#""auto""#, ""), Some(ToolChoice::Auto { disable_parallel_tool_use: None }));
    assert_eq!(choice(r#""none""#, ""), Some(ToolChoice::None));
    assert_eq!(
        choice(r#""required""#, r#","parallel_tool_calls":false"#),
        Some(ToolChoice::Any { disable_parallel_tool_use: Some(true) })
    );
    assert_eq!(
        choice(r#"{"type":"function","name":"f"}"#, ""),
        Some(ToolChoice::Tool { name: "f".into(), disable_parallel_tool_use: None })
    );
    assert_eq!(
        choice(r#"{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"f"}]}"#, ""),
        Some(ToolChoice::Any { disable_parallel_tool_use: None })
    );
    assert_eq!(
        choice(r#"{"type":"custom","name":"f"}"#, ""),
        Some(ToolChoice::Tool { name: "f".into(), disable_parallel_tool_use: None })
    );
    // Only the allowed tools are offered.
    let (req, _) = to_canonical(
        r#"{"model":"m","input":"x","tools":[{"type":"function","name":"f"},{"type":"function","name":"g"},{"type":"function","name":"h"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"g"},{"type":"function","name":"h"}]}}"#,
    );
    let names: Vec<&Value> = req["tools"].as_array().unwrap().iter().map(|t| &t["name"]).collect();
    assert_eq!(names, [&json!("g"), &json!("h")]);
    assert_eq!(req["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        choice(r#"{"type":"web_search_preview"}"#, ""),
        Some(ToolChoice::Auto { disable_parallel_tool_use: None })
    );
    // No tools left (hosted ones are dropped): no tool choice.
    let (req, info) = to_canonical(
        r#"{"model":"m","input":"x","tools":[{"type":"file_search"},{"type":"mcp","server_label":"s"}],"tool_choice":"required"}"#,
    );
    assert_eq!(req.get("tools"), None);
    assert_eq!(req.get("tool_choice"), None);
    assert_eq!(info.tools, None);
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget() {
    let canonical = |effort: &str, extra: &str| {
        let body = format!(
            r#"{{"model":"m","input":"x","reasoning":{{"effort":"{effort}"}},"temperature":0.3,"top_p":0.5{extra}}}"#
        );
        request_to_canonical(body.as_bytes()).unwrap().0
    };
    let budget = |effort: &str, extra: &str| {
        let req = canonical(effort, extra);
        // Sampling stays as given in the canonical request.
        assert_eq!((req.temperature, req.top_p), (Some(0.3), Some(0.5)));
        req.thinking.and_then(|t| t.budget_tokens)
    };
    assert_eq!(budget("low", ""), Some(1024));
    assert_eq!(budget("medium", ""), Some(4096));
    assert_eq!(budget("high", ""), Some(16384));
    assert_eq!(budget("xhigh", ""), Some(16384));
    assert_eq!(budget("minimal", ""), None);
    let summary_only = request_to_canonical(br#"{"model":"m","input":"x","reasoning":{"summary":"auto"}}"#).unwrap().0;
    assert_eq!(summary_only.thinking.and_then(|t| t.budget_tokens), Some(4096), "the default effort, medium");
    // A forced tool wins over thinking.
    let forced = r#","tools":[{"type":"function","name":"f"}],"tool_choice":"required""#;
    assert_eq!(budget("high", forced), None);

    // Towards Anthropic: thinking allows no sampling changes; without thinking, top_p
    // yields to temperature, which is clamped to 0–1; top_p alone passes.
    let anthropic = |mut req: crate::protocol::anthropic::MessagesRequest| -> Value {
        let body = crate::translate::anthropic_request::anthropic_body(&mut req, &TargetOptions::new("claude"), 0);
        serde_json::from_slice(&body).unwrap()
    };
    let sent = anthropic(canonical("high", ""));
    assert_eq!((sent.get("temperature"), sent.get("top_p")), (None, None));
    let sent = anthropic(canonical("minimal", ""));
    assert_eq!((sent["temperature"].clone(), sent.get("top_p")), (json!(0.3), None));
    let top_p_only = request_to_canonical(br#"{"model":"m","input":"x","top_p":0.5}"#).unwrap().0;
    assert_eq!(anthropic(top_p_only)["top_p"], json!(0.5));
    let hot = request_to_canonical(br#"{"model":"m","input":"x","temperature":1.7}"#).unwrap().0;
    assert_eq!(hot.temperature, Some(1.7));
    assert_eq!(anthropic(hot)["temperature"], json!(1.0));
}

#[test]
fn defaults_and_text_formats() {
    let (req, info) = to_canonical(
        r#"{"model":"m","input":[{"type":"message","role":"user","content":"x"}],"text":{"format":{"type":"json_object"}},"safety_identifier":"sid"}"#,
    );
    assert_eq!(req["output_config"], json!({"format": {"type": "json_object"}}));
    assert_eq!(req["metadata"], json!({"user_id": "sid"}));
    assert!(info.store, "store defaults to true");
    assert!(!info.stream);
    assert_eq!(info.text, Some(json!({"format": {"type": "json_object"}})));
}

// ======================================================= canonical → request

#[test]
fn canonical_request_to_responses() {
    let req: MessagesRequest = serde_json::from_slice(&fixture("canonical_request.json")).unwrap();
    let body = canonical_to_request(&req, &TargetOptions { hosted_web_search: true, ..target() }).unwrap();
    golden("canonical_request.to_responses.json", std::str::from_utf8(&body).unwrap());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["store"], json!(false));
    assert_eq!(v["reasoning"], json!({"effort": "medium"}));
    assert_eq!(v["tools"][0]["strict"], json!(false));
    assert_eq!(v["tools"][0]["parameters"].get("$schema"), None);
    assert_eq!(v["tools"][2], json!({"type": "web_search"}), "the hosted search runs at OpenAI");
    assert_eq!(v["include"], json!(["web_search_call.action.sources"]));
    for dropped in ["stop", "stop_sequences", "top_k", "metadata", "user", "previous_response_id"] {
        assert_eq!(v.get(dropped), None, "{dropped} must not be sent");
    }
    assert!(!std::str::from_utf8(&body).unwrap().contains("EqQBsecret"), "signatures stay with Anthropic");
}

#[test]
fn minimal_canonical_request() {
    let req = anthropic_request(json!({
        "model": "claude", "max_tokens": 4,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }));
    let plain = TargetOptions { max_tokens_cap: Some(1000), ..TargetOptions::new("gpt-4.1-mini") };
    assert_eq!(
        String::from_utf8(canonical_to_request(&req, &plain).unwrap()).unwrap(),
        r#"{"model":"gpt-4.1-mini","input":[{"type":"message","content":"Hi","role":"user"}],"max_output_tokens":16,"store":false}"#
    );
    // A client without a limit still gets the channel's cap; reasoning when the channel takes it.
    let req = anthropic_request(json!({
        "model": "claude", "messages": [{"role": "user", "content": "Hi"}], "stream": true,
        "output_config": {"effort": "max"}
    }));
    assert_eq!(
        String::from_utf8(canonical_to_request(&req, &TargetOptions { model: "o3".into(), ..plain.clone() }).unwrap())
            .unwrap(),
        r#"{"model":"o3","input":[{"type":"message","content":"Hi","role":"user"}],"max_output_tokens":1000,"store":false,"stream":true}"#
    );
    let reasoning = TargetOptions { reasoning: true, ..plain };
    let v: Value = serde_json::from_slice(&canonical_to_request(&req, &reasoning).unwrap()).unwrap();
    assert_eq!(v["reasoning"], json!({"effort": "high"}));
    // With a summary asked for in the channel's config.
    let summarised = TargetOptions { reasoning_summary: Some("auto"), ..reasoning };
    let v: Value = serde_json::from_slice(&canonical_to_request(&req, &summarised).unwrap()).unwrap();
    assert_eq!(v["reasoning"], json!({"effort": "high", "summary": "auto"}));
}

#[test]
fn canonical_round_trip_keeps_the_conversation() {
    let original: MessagesRequest = serde_json::from_slice(&fixture("canonical_request.json")).unwrap();
    let body = canonical_to_request(&original, &target()).unwrap();
    let (back, _) = request_to_canonical(&body).unwrap();
    // The mid-conversation system message is hoisted; thinking is dropped; the rest stays.
    assert_eq!(back.messages.len(), 4);
    assert_eq!(
        back.messages[1],
        Message {
            role: Role::Assistant,
            content: Content::Blocks(vec![
                ContentBlock::text("Checking."),
                ContentBlock::ToolUse {
                    id: "toolu_01".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                    cache_control: None
                },
                ContentBlock::ToolUse {
                    id: "toolu_02".into(),
                    name: "get_time".into(),
                    input: json!({}),
                    cache_control: None
                },
            ])
        }
    );
    let user = serde_json::to_value(&back.messages[2]).unwrap();
    assert_eq!(
        user["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18°C"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": [
                {"type": "text", "text": "Error: clock offline"},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/clock.png"}}
            ]},
            {"type": "text", "text": "Thanks."}
        ])
    );
    assert_eq!(
        back.system.map(|s| s.joined_text("|").into_string()),
        Some("You are a weather bot.\n\nBe brief.|Answer in French.".to_string())
    );
    assert_eq!(back.tool_choice, Some(ToolChoice::Any { disable_parallel_tool_use: Some(true) }));
}

/// Codex keeps reasoning items and sends them back (`include:
/// ["reasoning.encrypted_content"]`, `store: false`): the signed thinking an Anthropic
/// upstream gave is sealed into the item and comes back whole, so a tool loop keeps
/// extended thinking on after its first step.
#[test]
fn signed_thinking_goes_sealed_in_reasoning_items_and_comes_back() {
    let answer = MessagesResponse {
        id: "msg_1".into(),
        kind: "message".into(),
        role: Role::Assistant,
        model: "claude".into(),
        content: vec![
            ContentBlock::Thinking { thinking: "Plan: run it.".into(), signature: "EqQBsig".into() },
            ContentBlock::RedactedThinking { data: "EmwKredacted".into() },
            ContentBlock::ToolUse { id: "toolu_1".into(), name: "exec".into(), input: json!({}), cache_control: None },
        ],
        stop_reason: Some("tool_use".into()),
        stop_sequence: None,
        usage: Default::default(),
    };
    let request = |include: bool| {
        let mut body = json!({"model": "m", "input": "run it", "store": false,
            "reasoning": {"effort": "high"}, "tools": [{"type": "function", "name": "exec"}]});
        if include {
            body["include"] = json!(["reasoning.encrypted_content"]);
        }
        request_to_canonical(&serde_json::to_vec(&body).unwrap()).unwrap().1
    };
    let plain: Value = serde_json::from_slice(&canonical_to_response(&answer, "resp_1", &request(false))).unwrap();
    assert_eq!(plain["output"][0]["type"], "reasoning");
    assert_eq!(plain["output"][0].get("encrypted_content"), None, "not asked for: {plain}");
    assert_eq!(plain["output"][1]["type"], "function_call", "redacted thinking shows nothing: {plain}");

    let info = request(true);
    let out: Value = serde_json::from_slice(&canonical_to_response(&answer, "resp_1", &info)).unwrap();
    let (thought, redacted) = (&out["output"][0], &out["output"][1]);
    assert_eq!(thought["summary"], json!([{"type": "summary_text", "text": "Plan: run it."}]));
    assert_eq!((redacted["type"].as_str(), redacted["summary"].clone()), (Some("reasoning"), json!([])));
    // Streamed alike.
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Plan: run it.\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBsig\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKredacted\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"exec\",\"input\":{}}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let streamed = super::stream_tests::encode_split(sse.as_bytes(), &[], "resp_1", &info);
    let completed = streamed.lines().rfind(|l| l.contains("\"response.completed\"")).unwrap();
    let completed: Value = serde_json::from_str(completed.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(completed["response"]["output"], out["output"], "the stream ends with the same items");

    // The client sends the items back; Anthropic gets the turn as it gave it.
    let back = json!({"model": "m", "store": false, "include": ["reasoning.encrypted_content"],
    "reasoning": {"effort": "high"}, "tools": [{"type": "function", "name": "exec"}],
    "input": [
        {"type": "message", "role": "user", "content": "run it"},
        thought, redacted,
        {"type": "function_call", "call_id": "toolu_1", "name": "exec", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "toolu_1", "output": "done"},
        {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": "gAAAAB-openai-own"}
    ]});
    let (mut req, _) = request_to_canonical(&serde_json::to_vec(&back).unwrap()).unwrap();
    let target = TargetOptions::new("claude");
    let sent: Value =
        serde_json::from_slice(&crate::translate::anthropic_request::anthropic_body(&mut req, &target, 0)).unwrap();
    assert_eq!(
        sent["messages"][1]["content"],
        json!([{"type": "thinking", "thinking": "Plan: run it.", "signature": "EqQBsig"},
               {"type": "redacted_thinking", "data": "EmwKredacted"},
               {"type": "tool_use", "id": "toolu_1", "name": "exec", "input": {}}])
    );
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 16384}), "thinking stays on");
    // Held with another provider family: every block is left out, and thinking goes off.
    let held: Value =
        serde_json::from_slice(&crate::translate::anthropic_request::anthropic_body_held(&mut req, &target, 0, true))
            .unwrap();
    assert_eq!(
        held["messages"][1]["content"],
        json!([{"type": "tool_use", "id": "toolu_1", "name": "exec", "input": {}}])
    );
    assert_eq!(held.get("thinking"), None);
}
