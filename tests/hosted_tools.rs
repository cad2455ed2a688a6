//! Hosted web search across dialects, black-box: Claude Code's WebSearch request on a
//! Responses channel and on a Gemini channel, and Gemini CLI's Google Search on an Anthropic
//! channel. Each reaches its upstream as that provider's own search tool, and the search it
//! ran comes back in the client's dialect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A one-request upstream that answers with `body` (of `content_type`, chunked); its
/// thread returns the request's path and body.
fn search_upstream(body: String, content_type: &'static str) -> (String, std::thread::JoinHandle<(String, Value)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 65536];
        // The head, then as many body bytes as it declares.
        let body_at = loop {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "the gateway closed before its request");
            request.extend_from_slice(&buf[..n]);
            if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..body_at]).to_lowercase();
        let path = head.split(' ').nth(1).unwrap_or_default().to_string();
        let length: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).map(|v| v.trim().parse().unwrap()).unwrap();
        while request.len() < body_at + length {
            let n = conn.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        conn.write_all(format!("{head}{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).as_bytes()).unwrap();
        (path, serde_json::from_slice(&request[body_at..]).unwrap())
    });
    (url, upstream)
}

/// The shape of Claude Code's WebSearch request.
fn claude_code_web_search() -> String {
    json!({
        "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "You are an assistant for performing a web search tool use"}],
        "messages": [{"role": "user", "content": "Perform a web search for the query: pingora latest release"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8, "allowed_domains": ["github.com"]}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    })
    .to_string()
}

#[test]
fn claude_codes_web_search_runs_on_a_responses_channel_and_comes_back_as_anthropic_blocks() {
    let (url, upstream) = search_upstream(fixture("responses/web_search.sse"), "text/event-stream");
    let channels = format!(
        "  - {{name: gpt, protocol: responses, base_url: \"{url}\", keys: [\"sk-r-0000\"], models: [\"claude-*\"], model_map: {{\"claude-*\": \"gpt-5.1\"}}, hosted_web_search: true}}\n"
    );
    let gw = Gateway::start(&channels, "");
    let (status, resp) = gw.anthropic(&claude_code_web_search());
    assert_eq!(status, 200, "{resp}");

    let (_, sent) = upstream.join().unwrap();
    assert_eq!(sent["tools"], json!([{"type": "web_search", "filters": {"allowed_domains": ["github.com"]}}]));
    assert_eq!(sent["include"], json!(["web_search_call.action.sources"]));
    assert_eq!(sent["tool_choice"], json!("required"));

    assert_eq!(
        sse_events(&resp),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{resp}"
    );
    let data: Vec<Value> = sse_data(&resp).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(
        data[1]["content_block"],
        json!({"type": "server_tool_use", "id": "srvtoolu_ws_0a1b2c", "name": "web_search", "input": {}})
    );
    assert_eq!(data[2]["delta"]["partial_json"], json!("{\"query\":\"pingora latest release\"}"));
    let result = &data[4]["content_block"];
    assert_eq!(result["type"], json!("web_search_tool_result"));
    assert_eq!(result["tool_use_id"], json!("srvtoolu_ws_0a1b2c"));
    let urls: Vec<&str> = result["content"].as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert_eq!(urls, ["https://github.com/cloudflare/pingora/releases", "https://crates.io/crates/pingora"]);
    assert_eq!(data[7]["delta"]["text"], json!("Pingora 0.6.0 is"));
    assert_eq!(data[10]["delta"]["stop_reason"], json!("end_turn"));
}

#[test]
fn claude_codes_web_search_runs_as_google_search_on_a_gemini_channel() {
    let (url, upstream) = search_upstream(fixture("gemini/stream_grounded.sse"), "text/event-stream");
    let channels = format!(
        "  - {{name: gm, protocol: gemini, base_url: \"{url}\", keys: [\"gm-key-0000\"], models: [\"claude-*\"], model_map: {{\"claude-*\": \"gemini-2.5-flash\"}}, hosted_web_search: true}}\n"
    );
    let gw = Gateway::start(&channels, "");
    let (status, resp) = gw.anthropic(&claude_code_web_search());
    assert_eq!(status, 200, "{resp}");

    let (path, sent) = upstream.join().unwrap();
    assert!(path.starts_with("/v1beta/models/gemini-2.5-flash:streamgeneratecontent"), "{path}");
    assert_eq!(sent["tools"], json!([{"googleSearch": {}}]));
    assert_eq!(sent.get("toolConfig"), None);

    let data: Vec<Value> = sse_data(&resp).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let blocks: Vec<&str> = data
        .iter()
        .filter(|d| d["type"] == "content_block_start")
        .map(|d| d["content_block"]["type"].as_str().unwrap())
        .collect();
    // Gemini reports its search with the last chunk, after the text.
    assert_eq!(blocks, ["text", "server_tool_use", "web_search_tool_result"], "{resp}");
    let call = data.iter().find(|d| d["content_block"]["type"] == "server_tool_use").unwrap();
    let id = call["content_block"]["id"].as_str().unwrap();
    assert_eq!(id, "srvtoolu_gm_gr0und3d");
    let query = data.iter().find(|d| d["delta"]["type"] == "input_json_delta").unwrap();
    assert_eq!(query["delta"]["partial_json"], json!("{\"query\":\"pingora latest release\"}"));
    let result = data.iter().find(|d| d["content_block"]["type"] == "web_search_tool_result").unwrap();
    assert_eq!(result["content_block"]["tool_use_id"], json!(id));
    let pages: Vec<(&str, &str)> = result["content_block"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["url"].as_str().unwrap(), p["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pages,
        [
            ("https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQ1", "github.com"),
            ("https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQ2", "crates.io")
        ]
    );
    let text: String = data.iter().filter_map(|d| d["delta"]["text"].as_str()).collect();
    assert_eq!(text, "Pingora 0.9.1 is the latest release.");
    assert_eq!(data.iter().find(|d| d["type"] == "message_delta").unwrap()["delta"]["stop_reason"], json!("end_turn"));
}

#[test]
fn gemini_clis_google_search_runs_on_an_anthropic_channel_and_comes_back_as_grounding() {
    let (url, upstream) = search_upstream(fixture("responses/anthropic_web_search.json"), "application/json");
    let channels = format!(
        "  - {{name: claude, protocol: anthropic, base_url: \"{url}\", keys: [\"sk-ant-0000\"], models: [\"gemini-*\"], model_map: {{\"gemini-*\": \"claude-sonnet-4-5\"}}, hosted_web_search: true}}\n"
    );
    let gw = Gateway::start(&channels, "");
    // The shape of Gemini CLI's google_web_search request.
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "pingora latest release"}]}],
        "tools": [{"googleSearch": {}}]
    });
    let (status, _, resp) = post(
        &format!("{}/v1beta/models/gemini-2.5-flash:generateContent", gw.url),
        &[("x-goog-api-key", ACCESS_KEY)],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{resp}");

    let (_, sent) = upstream.join().unwrap();
    // The last tool marks the prompt's prefix for caching (`prompt_caching`).
    assert_eq!(
        sent["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "cache_control": {"type": "ephemeral"}}])
    );

    let resp: Value = serde_json::from_str(&resp).unwrap();
    let candidate = &resp["candidates"][0];
    // Claude's cited text comes after "Let me search." (14 bytes).
    let expected: Value = serde_json::from_str(&fixture("responses/anthropic_web_search.grounding.json")).unwrap();
    assert_eq!(candidate["groundingMetadata"], expected);
    assert_eq!(gemini_text(std::slice::from_ref(&resp)), "Let me search.Pingora 0.6.0 is the latest release.");
}
