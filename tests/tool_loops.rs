//! Conversations across dialects, black-box: tool results sent back, tool names other
//! providers refuse, signed thinking kept through tool loops, and thinking fitted to the
//! model a channel maps to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn tool_result_round_trip_both_directions() {
    let (mock, gw) = four_routes_gateway();
    // Anthropic client, OpenAI upstream.
    let body = json!({"model": "tr-claude-x", "max_tokens": 100, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": true},
            {"type": "text", "text": "thanks"}]}]});
    let (status, resp) = gw.anthropic(&body.to_string());
    assert_eq!(status, 200, "{resp}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "content": "sunny", "tool_call_id": "toolu_1"},
            {"role": "tool", "content": "Error: boom", "tool_call_id": "toolu_2"},
            {"role": "user", "content": "thanks"}
        ])
    );
    // OpenAI client, Anthropic upstream.
    let body = json!({"model": "tr-gpt-x", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "rainy"}]});
    let (status, resp) = gw.openai(&body.to_string());
    assert_eq!(status, 200, "{resp}");
    let resp: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(resp["choices"][0]["message"]["content"], "Got tool result: rainy");
    assert_eq!(resp["object"], "chat.completion");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    // With the cache breakpoints the gateway adds for OpenAI clients.
    let ephemeral = json!({"type": "ephemeral"});
    assert_eq!(sent["system"], json!([{"type": "text", "text": "sys", "cache_control": ephemeral}]));
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_9", "name": "get_weather", "input": {"city": "Rome"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_9", "content": "rainy", "cache_control": ephemeral}]}
        ])
    );
}

/// Claude Code names some MCP tools past 64 characters, and Gemini CLI keeps an MCP
/// server's `.` in its tool names: other providers refuse both. They are renamed
/// upstream, and the calls come back under the client's names.
#[test]
fn tool_names_other_providers_refuse_are_renamed_and_named_back() {
    let (mock, gw) = four_routes_gateway();
    let long = "mcp__statsserver_for_review__fetch_the_extremely_detailed_repository_statistics_for_relay";
    for stream in [false, true] {
        let body = json!({"model": "tr-claude-x", "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": "[[tool]] stats"}],
            "tools": [{"name": long, "input_schema": {"type": "object"}}]});
        let (status, resp) = gw.anthropic(&body.to_string());
        assert_eq!(status, 200, "{resp}");
        let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
        let upstream = sent["tools"][0]["function"]["name"].as_str().unwrap().to_string();
        assert_eq!(upstream.len(), 64, "{upstream}");
        assert!(long.starts_with(&upstream[..55]), "{upstream}");
        assert!(resp.contains(&format!("\"name\":\"{long}\"")), "{resp}");
        assert!(!resp.contains(&upstream), "{resp}");
    }
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "[[tool]] status"}]}],
        "tools": [{"functionDeclarations": [{"name": "mcp_stub_get.status", "parameters": {"type": "OBJECT"}}]}]});
    let (status, _, resp) =
        gw.post("/v1beta/models/tr-gpt-x:generateContent", &[("x-goog-api-key", ACCESS_KEY)], &gemini.to_string());
    assert_eq!(status, 200, "{resp}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["tools"][0]["name"], "mcp_stub_get_status");
    let resp: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(resp["candidates"][0]["content"]["parts"][1]["functionCall"]["name"], "mcp_stub_get.status", "{resp}");
}

/// Codex on an Anthropic channel: the signed thinking of a tool-calling step comes back
/// to Codex sealed in its reasoning item, and the next step hands it to Anthropic as it
/// gave it, with extended thinking still on.
#[test]
fn a_responses_tool_loop_on_anthropic_keeps_its_signed_thinking() {
    let (mock, gw) = four_routes_gateway();
    let auth = format!("Bearer {ACCESS_KEY}");
    let first = json!({"model": "tr-gpt-x", "store": false, "stream": true, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"}, "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
        "input": [{"type": "message", "role": "user", "content": "[[think]] [[tool]] weather?"}]});
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &first.to_string());
    assert_eq!(status, 200, "{body}");
    let completed = sse_data(&body).into_iter().find(|d| d.contains("\"response.completed\"")).unwrap();
    let completed: Value = serde_json::from_str(&completed).unwrap();
    let output = completed["response"]["output"].as_array().unwrap().clone();
    assert_eq!(output[0]["type"], "reasoning", "{completed}");
    assert!(output[0]["encrypted_content"].as_str().unwrap().starts_with("llmrelay1."), "{completed}");
    let call = output.iter().find(|i| i["type"] == "function_call").unwrap();

    let mut input = vec![json!({"type": "message", "role": "user", "content": "[[think]] [[tool]] weather?"})];
    input.extend(output.iter().cloned());
    input.push(json!({"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}));
    let second = json!({"model": "tr-gpt-x", "store": false, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"}, "tools": first["tools"], "input": input});
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &second.to_string());
    assert_eq!(status, 200, "{body}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 1024}), "{sent}");
    let turn = &sent["messages"][1]["content"];
    assert_eq!(turn[0], json!({"type": "thinking", "thinking": "Let me think.", "signature": "sig_mock_1"}), "{sent}");
    assert_eq!(turn.as_array().unwrap().last().unwrap()["type"], "tool_use", "{sent}");

    // The same conversation on an Anthropic channel of another provider family (a
    // changed config): that family did not sign the thinking, which is left out, and
    // thinking is off for the turn that lost it.
    let u = &mock.url;
    let other = format!(
        "  - {{name: elsewhere, protocol: anthropic, base_url: \"{u}\", keys: [\"{ANTHROPIC_UPSTREAM_KEY}\"], models: [\"tr-gpt-*\"], family: other-cloud}}\n"
    );
    let gw = Gateway::start(&other, "");
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &second.to_string());
    assert_eq!(status, 200, "{body}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert!(!sent.to_string().contains("sig_mock_1"), "{sent}");
    assert_eq!(sent.get("thinking"), None, "{sent}");
}

/// Gemini CLI on an Anthropic channel: the signed thinking of a tool-calling turn rides
/// back on the call's `thoughtSignature`, and the next request hands it to Anthropic as
/// it gave it, ahead of the call, with extended thinking still on.
#[test]
fn a_gemini_tool_loop_on_anthropic_keeps_its_signed_thinking() {
    let (mock, gw) = four_routes_gateway();
    let key = [("x-goog-api-key", ACCESS_KEY)];
    let ask = json!({"role": "user", "parts": [{"text": "[[think]] [[tool]] weather?"}]});
    let config = json!({"thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}});
    let tools = json!([{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]}]);
    for stream in [true, false] {
        let first = json!({"contents": [ask], "generationConfig": config, "tools": tools});
        let path = if stream {
            "/v1beta/models/tr-gpt-x:streamGenerateContent?alt=sse"
        } else {
            "/v1beta/models/tr-gpt-x:generateContent"
        };
        let (status, _, body) = gw.post(path, &key, &first.to_string());
        assert_eq!(status, 200, "{body}");
        let chunks: Vec<Value> = if stream {
            sse_data(&body).iter().map(|d| serde_json::from_str(d).unwrap()).collect()
        } else {
            vec![serde_json::from_str(&body).unwrap()]
        };
        let parts: Vec<Value> = chunks
            .iter()
            .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
            .filter(|p| p.get("functionCall").is_some())
            .collect();
        assert!(parts[0]["thoughtSignature"].as_str().unwrap().starts_with("llmrelay1."), "{body}");
        let call = &parts[0]["functionCall"];
        let second = json!({"contents": [ask,
            {"role": "model", "parts": [{"text": "Checking."}, parts[0]]},
            {"role": "user", "parts": [{"functionResponse": {"id": call["id"], "name": "get_weather", "response": {"output": "sunny"}}}]}],
            "generationConfig": config, "tools": tools});
        let (status, _, body) = gw.post("/v1beta/models/tr-gpt-x:generateContent", &key, &second.to_string());
        assert_eq!(status, 200, "{body}");
        let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
        assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 2048}), "{sent}");
        let turn = &sent["messages"][1]["content"];
        assert_eq!(
            turn[0],
            json!({"type": "thinking", "thinking": "Let me think.", "signature": "sig_mock_1"}),
            "{sent}"
        );
        assert_eq!(turn[1]["type"], "text");
        assert_eq!(
            (turn[2]["type"].as_str(), turn[2]["id"].as_str()),
            (Some("tool_use"), call["id"].as_str()),
            "{sent}"
        );
    }
}

/// Claude Code asks Claude 4.6 and later for adaptive thinking. A channel that maps the
/// model to an older one sends a budget instead, every other byte as the client sent it.
#[test]
fn adaptive_thinking_mapped_to_an_older_claude_goes_up_as_a_budget() {
    let (mock, gw) = four_routes_gateway();
    let body = r#"{"model":"tr-gpt-5","max_tokens":32000,"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"hi"}],"future_field":1}"#;
    let (status, resp) = gw.anthropic(body);
    assert_eq!(status, 200, "{resp}");
    assert_eq!(
        mock.last_request()["body"].as_str().unwrap(),
        r#"{"model":"claude-sonnet-4-5","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":8192},"messages":[{"role":"user","content":"hi"}],"future_field":1}"#
    );
    // Unmapped, the client's choice goes up as it is.
    let body = body.replace("tr-gpt-5", "claude-sonnet-4-5");
    assert_eq!(gw.anthropic(&body).0, 200);
    assert_eq!(mock.last_request()["body"].as_str().unwrap(), body);
}
