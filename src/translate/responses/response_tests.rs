//! Complete answers between the Responses API and the canonical model, on
//! schema-faithful fixtures (`tests/fixtures/responses`) with exact expected output.

use super::tests::{fixture, golden, normalize};
use super::*;
use crate::protocol::anthropic::MessagesResponse;
use crate::translate::ErrorKind;
use serde_json::{json, Value};

// ======================================================= response → canonical

fn canonical_response(name: &str) -> Value {
    serde_json::to_value(response_to_canonical(&fixture(name)).unwrap()).unwrap()
}

#[test]
fn text_response_with_cache_usage() {
    assert_eq!(
        canonical_response("response_text.json"),
        json!({
            "id": "resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b",
            "type": "message",
            "role": "assistant",
            "model": "gpt-4o-mini-2024-07-18",
            "content": [{"type": "text", "text": "I can't provide real-time updates, but San Francisco summers are cool and foggy."}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 30, "output_tokens": 50, "cache_creation_input_tokens": 64, "cache_read_input_tokens": 1920}
        })
    );
}

#[test]
fn function_calls_make_tool_use() {
    let resp = canonical_response("response_tools.json");
    assert_eq!(
        resp["content"],
        json!([
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {"_raw_arguments": "not json"}},
            // A search that listed no sources found no pages to show.
            {"type": "server_tool_use", "id": "srvtoolu_ws_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_ws_1", "content": []}
        ])
    );
    assert_eq!(resp["stop_reason"], json!("tool_use"));
}

#[test]
fn reasoning_summaries_become_thinking() {
    let resp = canonical_response("response_reasoning.json");
    assert_eq!(
        resp["content"],
        json!([
            {"type": "thinking", "thinking": "Think.\n\nThen answer.", "signature": ""},
            {"type": "text", "text": "42"}
        ])
    );
    assert_eq!(resp["usage"]["output_tokens"], json!(300));
}

#[test]
fn incomplete_refusal_and_failed_responses() {
    let resp = canonical_response("response_incomplete.json");
    assert_eq!(resp["stop_reason"], json!("max_tokens"));
    assert_eq!(resp["content"], json!([{"type": "text", "text": "Once upon a"}]));

    let resp = canonical_response("response_refusal.json");
    assert_eq!(resp["stop_reason"], json!("refusal"));
    assert_eq!(resp["content"], json!([{"type": "text", "text": "I can't help with that."}]));

    let err = response_to_canonical(&fixture("response_failed.json")).unwrap_err();
    assert_eq!(
        err,
        ApiError {
            code: Some("rate_limit_exceeded".into()),
            ..ApiError::new(ErrorKind::RateLimit, "Rate limit reached for requests")
        }
    );

    let err = response_to_canonical(br#"{"id":"resp_1","status":"in_progress","output":[]}"#).unwrap_err();
    assert_eq!(err.message, "upstream response is in_progress, not complete");
    let err = response_to_canonical(b"<html>").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Api);
    assert!(err.message.starts_with("upstream returned an invalid response: "), "{}", err.message);
    // content_filter cuts are refusals too.
    let cut = br#"{"id":"r","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[]}"#;
    assert_eq!(response_to_canonical(cut).unwrap().stop_reason.as_deref(), Some("refusal"));
}

// ======================================================= canonical → response

fn echo_info() -> ResponsesRequestInfo {
    ResponsesRequestInfo {
        model: "gpt-4.1".into(),
        stream: false,
        store: true,
        previous_response_id: Some("resp_prev".into()),
        instructions: Some("Be brief.".into()),
        temperature: Some(0.7),
        top_p: None,
        max_output_tokens: Some(512),
        metadata: Some(json!({"session": "abc"})),
        tools: serde_json::from_value(
            json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": true}]),
        )
        .unwrap(),
        tool_choice: Some(json!("required")),
        parallel_tool_calls: Some(false),
        text: None,
        reasoning: None,
        user: Some("user-42".into()),
        truncation: None,
        tool_names: None,
        encrypted_reasoning: false,
        web_search_sources: false,
        tool_search: false,
        input_custom_tools: Vec::new(),
    }
}

fn anthropic_response(v: Value) -> MessagesResponse {
    serde_json::from_value(v).unwrap()
}

#[test]
fn text_answer_as_a_response_object() {
    let resp = anthropic_response(json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there", "citations": []}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0}
    }));
    let out = normalize(&canonical_to_response(&resp, "resp_abc", &ResponsesRequestInfo::default()));
    assert_eq!(
        out,
        concat!(
            r#"{"id":"resp_abc","object":"response","created_at":0,"status":"completed","background":false,"error":null,"#,
            r#""incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"claude-sonnet-4-5","#,
            r#""output":[{"type":"message","id":"msg_abc_0","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello there"}],"role":"assistant"}],"#,
            r#""parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"#,
            r#""temperature":null,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":null,"truncation":"disabled","#,
            r#""usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":90,"cache_write_tokens":0},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":105},"#,
            r#""user":null,"metadata":{}}"#
        )
    );
}

#[test]
fn tools_thinking_and_echo_fields_as_a_response_object() {
    let resp = anthropic_response(json!({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
        "content": [
            {"type": "thinking", "thinking": "Need weather.", "signature": "EqQBsecret"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": ""},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 472, "output_tokens": 89, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 100}
    }));
    let out = normalize(&canonical_to_response(&resp, "resp_xyz", &echo_info()));
    golden("tools_thinking.response.json", &out);
    assert!(!out.contains("EqQBsecret") && !out.contains("opaque"), "signatures are never exposed");
    // Back to canonical: the same calls, ids and usage.
    let back = response_to_canonical(out.as_bytes()).unwrap();
    assert_eq!(back.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(back.usage, resp.usage);
    assert_eq!(&back.content[1..], &resp.content[3..]);
}

#[test]
fn max_tokens_and_refusal_are_incomplete() {
    let cut = |stop: &str| {
        let resp = anthropic_response(json!({
            "id": "m", "type": "message", "role": "assistant", "model": "c",
            "content": [{"type": "text", "text": "Once upon a"}],
            "stop_reason": stop, "usage": {"input_tokens": 1, "output_tokens": 16}
        }));
        serde_json::from_slice::<Value>(&canonical_to_response(&resp, "resp_1", &echo_info())).unwrap()
    };
    let v = cut("max_tokens");
    assert_eq!(v["status"], json!("incomplete"));
    assert_eq!(v["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(v["output"][0]["status"], json!("incomplete"));
    let v = cut("refusal");
    assert_eq!(v["status"], json!("incomplete"));
    assert_eq!(v["incomplete_details"], json!({"reason": "content_filter"}));
    let v = cut("pause_turn");
    assert_eq!((v["status"].clone(), v["incomplete_details"].clone()), (json!("completed"), Value::Null));
    assert_eq!(v["output"][0]["status"], json!("completed"));
}

#[test]
fn response_object_has_what_strict_sdk_models_require() {
    let resp = anthropic_response(json!({
        "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [], "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1}
    }));
    let v: Value = serde_json::from_slice(&canonical_to_response(&resp, "resp_1", &echo_info())).unwrap();
    // openai-python `Response`: fields without a default.
    for field in ["id", "created_at", "model", "object", "output", "parallel_tool_calls", "tool_choice", "tools"] {
        assert!(v.get(field).is_some_and(|f| !f.is_null()), "{field}");
    }
    assert_eq!(v["object"], json!("response"));
    assert_eq!(v["parallel_tool_calls"], json!(false));
    assert_eq!(v["tool_choice"], json!("required"));
    assert_eq!(v["instructions"], json!("Be brief."));
    assert_eq!(v["max_output_tokens"], json!(512));
    assert_eq!(v["temperature"], json!(0.7));
    assert_eq!(v["previous_response_id"], json!("resp_prev"));
    assert_eq!(v["store"], json!(true));
    assert_eq!(v["metadata"], json!({"session": "abc"}));
    assert_eq!(v["user"], json!("user-42"));
    assert_eq!(v["model"], json!("c"));
    // ResponseUsage: every field is required.
    for field in ["input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens"] {
        assert!(v["usage"].get(field).is_some(), "usage.{field}");
    }
    assert_eq!(v["output"], json!([]));
}

#[test]
fn a_responses_upstreams_custom_tool_call_is_a_tool_use_of_its_text() {
    let body = br#"{"id":"resp_c","object":"response","status":"completed","model":"gpt-5","output":[
        {"type":"custom_tool_call","id":"ctc_1","status":"completed","call_id":"call_P","name":"apply_patch","input":"*** Begin Patch\n*** End Patch"}],
        "usage":{"input_tokens":5,"output_tokens":9,"total_tokens":14}}"#;
    let resp = serde_json::to_value(response_to_canonical(body).unwrap()).unwrap();
    assert_eq!(
        resp["content"],
        json!([{"type": "tool_use", "id": "call_P", "name": "apply_patch", "input": {"input": "*** Begin Patch\n*** End Patch"}}])
    );
    assert_eq!(resp["stop_reason"], "tool_use");

    // Streamed: the text comes whole with the finished item.
    let stream = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_c\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[]}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"custom_tool_call\",\"id\":\"ctc_1\",\"status\":\"in_progress\",\"call_id\":\"call_P\",\"name\":\"apply_patch\",\"input\":\"\"}}\n\n",
        "event: response.custom_tool_call_input.delta\ndata: {\"type\":\"response.custom_tool_call_input.delta\",\"sequence_number\":2,\"item_id\":\"ctc_1\",\"output_index\":0,\"delta\":\"*** Begin\"}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"sequence_number\":3,\"output_index\":0,\"item\":{\"type\":\"custom_tool_call\",\"id\":\"ctc_1\",\"status\":\"completed\",\"call_id\":\"call_P\",\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\"}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"resp_c\",\"object\":\"response\",\"status\":\"completed\",\"model\":\"gpt-5\",\"output\":[{\"type\":\"custom_tool_call\",\"id\":\"ctc_1\",\"status\":\"completed\",\"call_id\":\"call_P\",\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\"}],\"usage\":{\"input_tokens\":5,\"output_tokens\":9,\"total_tokens\":14}}}\n\n",
    );
    let mut t = crate::translate::stream::StreamTranslator::new(
        crate::protocol::Dialect::OpenAiResponses,
        crate::protocol::Dialect::Anthropic,
        Default::default(),
    );
    let mut out = t.push(stream.as_bytes()).to_vec();
    out.extend_from_slice(&t.finish());
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(r#""content_block":{"type":"tool_use","id":"call_P","name":"apply_patch","input":{}}"#),
        "{out}"
    );
    assert!(
        out.contains(r#""delta":{"type":"input_json_delta","partial_json":"{\"input\":\"*** Begin Patch\"}"}"#),
        "{out}"
    );
    assert!(out.contains(r#""stop_reason":"tool_use""#), "{out}");
}
