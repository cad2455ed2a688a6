//! Black-box tests: the real gateway binary against the bundled mock upstream, both
//! translation directions, stream and non-stream, errors, large bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn anthropic_body(model: &str, text: &str, stream: bool) -> String {
    json!({"model": model, "max_tokens": 256, "stream": stream, "messages": [{"role": "user", "content": text}],
           "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
                     {"name": "get_time", "input_schema": {"type": "object"}}]})
    .to_string()
}

fn openai_body(model: &str, text: &str, stream: bool) -> String {
    json!({"model": model, "stream": stream, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": text}],
           "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
                     {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]})
    .to_string()
}

#[test]
fn health_and_root_need_no_key() {
    let (_mock, gw) = four_routes_gateway();
    let (status, _, body) = get(&format!("{}/health", gw.url), &[]);
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}"));
    let resp = agent().head(&format!("{}/", gw.url)).call().unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn auth_failures_are_401_in_the_client_dialect() {
    let (mock, gw) = four_routes_gateway();
    let body = anthropic_body("claude-x", "hi", false);
    let (status, _, resp) = gw.post("/v1/messages", &[("x-api-key", "wrong-key")], &body);
    assert_eq!(status, 401);
    assert_eq!(
        resp,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid or missing API key"}}"#
    );
    let (status, _, resp) = gw.post("/v1/chat/completions", &[], &openai_body("gpt-x", "hi", false));
    assert_eq!(status, 401);
    assert_eq!(
        resp,
        r#"{"error":{"message":"invalid or missing API key","type":"authentication_error","param":null,"code":"invalid_api_key"}}"#
    );
    // A Bearer token works for the Anthropic endpoint too (ANTHROPIC_AUTH_TOKEN).
    let bearer = format!("Bearer {ACCESS_KEY}");
    let (status, _, _) = gw.post("/v1/messages", &[("authorization", &bearer)], &body);
    assert_eq!(status, 200);
    assert_eq!(mock.requests().len(), 1, "rejected requests never reach the upstream");
}

#[test]
fn anthropic_passthrough_changes_only_the_model_and_swaps_the_key() {
    let (mock, gw) = four_routes_gateway();
    let body = r#"{"model":"claude-opus-4-8","max_tokens":64,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}],"context_management":{"edits":[]},"future_field":1}"#;
    let headers = [
        ("x-api-key", ACCESS_KEY),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "interleaved-thinking-2025-05-14,context-1m-2025-08-07"),
        ("cookie", "secret=1"),
    ];
    let (status, _, resp) = gw.post("/v1/messages?beta=true", &headers, body);
    assert_eq!(status, 200, "{resp}");
    let resp: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(resp["content"][0]["text"], "Hello from mock.");
    let up = mock.last_request();
    assert_eq!(up["path"], "/v1/messages");
    assert_eq!(up["body"].as_str().unwrap(), body, "byte for byte");
    let h = &up["headers"];
    assert_eq!(h["x-api-key"], ANTHROPIC_UPSTREAM_KEY);
    assert_eq!(h["anthropic-beta"], "interleaved-thinking-2025-05-14,context-1m-2025-08-07");
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert!(h.get("cookie").is_none() && h.get("authorization").is_none());
    assert!(!up.to_string().contains(ACCESS_KEY), "the client's key never reaches the upstream");
}

#[test]
fn anthropic_client_on_openai_upstream_non_stream() {
    let (mock, gw) = four_routes_gateway();
    let body = json!({
        "model": "tr-claude-opus", "max_tokens": 300, "temperature": 0.5, "stop_sequences": ["END"],
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be kind."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
            {"role": "assistant", "content": "Looking."},
            {"role": "system", "content": "Mid-conversation rule."},
            {"role": "user", "content": "[[tool]]"}
        ],
        "tools": [{"name": "get_weather", "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true}
    });
    let (status, resp) = gw.anthropic(&body.to_string());
    assert_eq!(status, 200, "{resp}");
    let resp: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(resp["type"], "message");
    assert_eq!(resp["stop_reason"], "tool_use");
    assert_eq!(resp["content"][0], json!({"type": "text", "text": "Checking."}));
    assert_eq!(resp["content"][1]["type"], "tool_use");
    assert_eq!(resp["content"][1]["name"], "get_weather");
    assert_eq!(resp["content"][1]["input"], json!({"city": "Paris", "unit": "c"}));
    assert_eq!(resp["usage"]["cache_read_input_tokens"], 3);

    let up = mock.last_request();
    assert_eq!(up["path"], "/v1/chat/completions");
    assert_eq!(up["headers"]["authorization"], format!("Bearer {OPENAI_UPSTREAM_KEY}"));
    assert!(up["headers"].get("x-api-key").is_none());
    let sent: Value = serde_json::from_str(up["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["max_completion_tokens"], 300);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["parallel_tool_calls"], false);
    assert_eq!(sent["tools"][0]["function"]["parameters"], json!({"type": "object"}));
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "You are terse.\n\nBe kind."},
            {"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
            {"role": "assistant", "content": "Looking."},
            {"role": "system", "content": "Mid-conversation rule."},
            {"role": "user", "content": "[[tool]]"}
        ])
    );
}

#[test]
fn openai_client_on_anthropic_upstream_streams_tools_and_usage() {
    let (mock, gw) = four_routes_gateway();
    let (status, body) = gw.openai(&openai_body("tr-gpt-4o", "[[tools2]]", true));
    assert_eq!(status, 200, "{body}");
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let mut calls: Vec<(u64, String, String)> = Vec::new();
    for c in &chunks {
        for tc in c["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap();
            if let Some(name) = tc["function"]["name"].as_str() {
                calls.push((i, name.to_string(), String::new()));
            }
            if let Some(args) = tc["function"]["arguments"].as_str() {
                calls.iter_mut().find(|c| c.0 == i).unwrap().2.push_str(args);
            }
        }
    }
    assert_eq!(
        calls,
        vec![
            (0, "get_weather".into(), r#"{"city":"Paris"}"#.into()),
            (1, "get_time".into(), r#"{"city":"Rome"}"#.into())
        ]
    );
    let finish = chunks.iter().find_map(|c| c["choices"][0]["finish_reason"].as_str()).unwrap();
    assert_eq!(finish, "tool_calls");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 3);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 3);

    let up = mock.last_request();
    assert_eq!(up["path"], "/v1/messages");
    assert_eq!(up["headers"]["x-api-key"], ANTHROPIC_UPSTREAM_KEY);
    let sent: Value = serde_json::from_str(up["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["max_tokens"], 8192, "default max_tokens is supplied");
    // The last tool carries the cache breakpoint the gateway adds for OpenAI clients.
    assert_eq!(
        sent["tools"][1],
        json!({"name": "get_time", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}})
    );
}

#[test]
fn anthropic_client_on_openai_upstream_stream_has_real_usage_in_message_delta() {
    let (_mock, gw) = four_routes_gateway();
    let (status, body) = gw.anthropic(&anthropic_body("tr-claude-x", "[[tool]]", true));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sse_events(&body),
        vec![
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let data = sse_data(&body);
    let delta: Value = serde_json::from_str(&data[8]).unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(delta["usage"]["output_tokens"], 3);
    assert_eq!(delta["usage"]["cache_read_input_tokens"], 3);
    let args: String = [5, 6]
        .iter()
        .map(|&i| {
            serde_json::from_str::<Value>(&data[i]).unwrap()["delta"]["partial_json"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(args, r#"{"city":"Paris","unit":"c"}"#);
}

/// Claude Code writes `type` after a tool result's `tool_use_id`, in bodies of tens of
/// KiB: such blocks are read wherever `type` stands, on its second turn as on the first.
#[test]
fn a_large_anthropic_body_with_type_after_other_keys_translates() {
    let (mock, gw) = four_routes_gateway();
    let body = format!(
        r#"{{"model":"tr-claude-x","max_tokens":100,"system":[{{"text":"{}","type":"text"}}],"messages":[
            {{"role":"user","content":"run it"}},
            {{"role":"assistant","content":[{{"id":"toolu_1","type":"tool_use","name":"get_weather","input":{{"city":"Paris"}}}}]}},
            {{"role":"user","content":[{{"tool_use_id":"toolu_1","type":"tool_result","content":"relay-ok","is_error":false,"cache_control":{{"type":"ephemeral"}}}}]}}]}}"#,
        "s".repeat(8000)
    );
    let (status, resp) = gw.anthropic(&body);
    assert_eq!(status, 200, "{resp}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "s".repeat(8000)}));
    assert_eq!(sent["messages"][3], json!({"role": "tool", "content": "relay-ok", "tool_call_id": "toolu_1"}));
}

#[test]
fn two_mebibyte_bodies_pass_in_both_directions_and_oversize_is_413() {
    let (mock, gw) = four_routes_gateway();
    let big = "x".repeat(2 * 1024 * 1024);
    let sent = anthropic_body("claude-x", &big, false);
    let (status, resp) = gw.anthropic(&sent);
    assert_eq!(status, 200, "{resp}");
    assert!(mock.last_request()["body"].as_str().unwrap() == sent, "not passed byte for byte");
    let (status, resp) = gw.anthropic(&anthropic_body("tr-claude-x", &big, true));
    assert_eq!(status, 200, "{resp}");
    assert!(resp.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "cut short");
    let translated: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert!(translated["messages"][0]["content"] == big.as_str(), "the text did not arrive whole");

    let huge = "x".repeat(4 * 1024 * 1024);
    let (status, resp) = gw.anthropic(&anthropic_body("claude-x", &huge, false));
    assert_eq!(status, 413);
    assert_eq!(
        resp,
        r#"{"type":"error","error":{"type":"request_too_large","message":"request body exceeds the 3145728-byte limit"}}"#
    );
    let (status, resp) = gw.openai(&openai_body("gpt-x", &huge, false));
    assert_eq!(status, 413);
    assert!(
        resp.starts_with(
            r#"{"error":{"message":"request body exceeds the 3145728-byte limit","type":"invalid_request_error""#
        ),
        "{resp}"
    );
}

#[test]
fn upstream_errors_keep_their_status_in_the_client_dialect() {
    let (_mock, gw) = four_routes_gateway();
    for (model, text, want_status, want) in [
        (
            "tr-claude-x",
            "[[error:429]]",
            429,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"mock error 429"}}"#,
        ),
        (
            "tr-claude-x",
            "[[error:503]]",
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"mock error 503"}}"#,
        ),
        (
            "claude-x",
            "[[error:529]]",
            529,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"mock error 529"}}"#,
        ),
        (
            "tr-claude-x",
            "[[error:500]]",
            500,
            r#"{"type":"error","error":{"type":"api_error","message":"mock error 500"}}"#,
        ),
        (
            "tr-claude-x",
            "[[error:400]]",
            400,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"mock error 400"}}"#,
        ),
    ] {
        let (status, body) = gw.anthropic(&anthropic_body(model, text, false));
        assert_eq!((status, body.as_str()), (want_status, want), "{model} {text}");
    }
    for (model, text, want_status, want_type) in [
        ("tr-gpt-x", "[[error:429]]", 429, "rate_limit_exceeded"),
        ("tr-gpt-x", "[[error:529]]", 503, "server_error"),
        ("tr-gpt-x", "[[error:500]]", 500, "server_error"),
        // The same dialect: the upstream's own body, its type and code as they came.
        ("gpt-x", "[[error:429]]", 429, "requests"),
    ] {
        let (status, body) = gw.openai(&openai_body(model, text, true));
        assert_eq!(status, want_status, "{model} {text}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["type"], want_type, "{model} {text}: {body}");
    }
    let (_, body) = gw.openai(&openai_body("gpt-x", "[[error:429]]", false));
    assert_eq!(
        body,
        r#"{"error":{"message":"mock error 429","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
    );
}

#[test]
fn an_exhausted_quota_tells_clients_not_to_retry_and_keeps_its_code() {
    let (_mock, gw) = four_routes_gateway();
    let anthropic = [("x-api-key", common::ACCESS_KEY), ("anthropic-version", "2023-06-01")];
    // OpenAI's 429 `insufficient_quota` to an Anthropic client: the SDKs would retry a 429.
    let (status, headers, body) =
        gw.post("/v1/messages", &anthropic, &anthropic_body("tr-claude-x", "[[quota]]", false));
    assert_eq!(status, 429, "{body}");
    assert_eq!(common::header(&headers, "x-should-retry"), Some("false"));
    assert_eq!(
        body,
        r#"{"type":"error","error":{"type":"billing_error","message":"mock: you exceeded your current quota"}}"#
    );
    // A rate limit is still worth retrying.
    let (status, headers, _) =
        gw.post("/v1/messages", &anthropic, &anthropic_body("tr-claude-x", "[[error:429]]", false));
    assert_eq!((status, common::header(&headers, "x-should-retry")), (429, None));
    // An OpenAI client of an OpenAI channel gets the upstream's error as it came.
    let auth = format!("Bearer {}", common::ACCESS_KEY);
    let (status, headers, body) =
        gw.post("/v1/chat/completions", &[("authorization", &auth)], &openai_body("gpt-x", "[[quota]]", false));
    assert_eq!((status, common::header(&headers, "x-should-retry")), (429, Some("false")));
    assert_eq!(
        body,
        r#"{"error":{"message":"mock: you exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#
    );
}

#[test]
fn unknown_model_and_bad_json_are_client_errors() {
    let (_mock, gw) = four_routes_gateway();
    let (status, body) = gw.anthropic(&anthropic_body("llama-3", "hi", false));
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"type":"error","error":{"type":"not_found_error","message":"no channel serves model 'llama-3'"}}"#
    );
    let (status, body) = gw.openai("{not json");
    assert_eq!(status, 400);
    assert!(body.contains("request body is not valid JSON"), "{body}");
}

#[test]
fn a_body_broken_past_its_model_never_reaches_the_upstream() {
    let (mock, gw) = four_routes_gateway();
    let before = mock.requests().len();
    // Checked whole before routing, whether it would pass through or be translated.
    let (status, body) = gw.anthropic(r#"{"model":"claude-x","max_tokens":5,"messages":[1,]}"#);
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("request body is not valid JSON"), "{body}");
    let (status, body) = gw.openai(r#"{"model":"tr-gpt-x","messages":[{"role":"user","content":"hi"},]}"#);
    assert_eq!(status, 400, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("request body is not valid JSON"), "{body}");
    assert_eq!(mock.requests().len(), before);
}

#[test]
fn mid_stream_disconnect_ends_with_an_error_event() {
    let (_mock, gw) = four_routes_gateway();
    let (status, body) = gw.anthropic(&anthropic_body("tr-claude-x", "[[disconnect]]", true));
    assert_eq!(status, 200);
    assert!(body.contains("\"text\":\"Hello\""), "{body}");
    assert_eq!(sse_events(&body).last().unwrap(), "error");
    assert!(!body.contains("message_stop"));

    let (status, body) = gw.openai(&openai_body("tr-gpt-x", "[[disconnect]]", true));
    assert_eq!(status, 200);
    let last: Value = serde_json::from_str(sse_data(&body).last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "server_error", "{body}");
    assert!(!body.contains("[DONE]"));

    // Same-dialect streams get the error event too.
    let (_, body) = gw.anthropic(&anthropic_body("claude-x", "[[disconnect]]", true));
    assert_eq!(sse_events(&body).last().unwrap(), "error", "{body}");
}

#[test]
fn in_band_upstream_error_is_passed_as_an_error_event() {
    let (_mock, gw) = four_routes_gateway();
    // The stream had begun (200): the upstream's error arrives as the last event, in
    // the client's dialect, with the upstream's message, and no terminator follows.
    let (status, body) = gw.openai(&openai_body("tr-gpt-x", "[[midstream-error]]", true));
    assert_eq!(status, 200);
    assert_eq!(
        sse_data(&body).last().unwrap(),
        r#"{"error":{"message":"mock overloaded","type":"server_error","param":null,"code":null}}"#
    );
    assert!(!body.contains("[DONE]"), "{body}");
    let (status, body) = gw.anthropic(&anthropic_body("tr-claude-x", "[[midstream-error]]", true));
    assert_eq!(status, 200);
    assert_eq!(sse_events(&body).last().unwrap(), "error");
    assert_eq!(
        sse_data(&body).last().unwrap(),
        r#"{"type":"error","error":{"type":"api_error","message":"mock overloaded"}}"#
    );
    assert!(!body.contains("message_stop"), "{body}");
}

#[test]
fn frames_leave_as_soon_as_the_upstream_sends_them() {
    let mock = Mock::start_with(&["--token-delay-ms", "150"]);
    let gw = Gateway::start(&four_routes(&mock), "");
    let auth = format!("Bearer {ACCESS_KEY}");
    let (status, pieces) = post_timed(
        &format!("{}/v1/messages", gw.url),
        &[("authorization", &auth)],
        &anthropic_body("tr-claude-x", "[[long:6]]", true),
    );
    assert_eq!(status, 200);
    let first_text = pieces.iter().find(|(_, s)| s.contains("text_delta")).unwrap().0;
    let done = pieces.last().unwrap().0;
    // Six deltas 150 ms apart: the first must arrive long before the last.
    assert!(done >= Duration::from_millis(700), "stream took {done:?}");
    assert!(first_text + Duration::from_millis(500) < done, "first text at {first_text:?}, end at {done:?}");
    let deltas = pieces.iter().filter(|(_, s)| s.contains("text_delta")).count();
    assert!(deltas >= 5, "deltas arrived in {deltas} pieces: the stream was buffered");
}
