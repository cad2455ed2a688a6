//! Anthropic's hosted web search through a Responses channel: Claude Code's WebSearch
//! request reaches the upstream as Responses' `web_search`, and the search it ran comes
//! back to the client as Anthropic's server-tool blocks, streamed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};

/// A one-request Responses upstream that answers with the recorded-shape stream of a
/// web search; its thread returns the request body it got.
fn search_upstream() -> (String, std::thread::JoinHandle<Value>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sse = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/responses/web_search.sse"))
        .unwrap();
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
        let length: usize =
            head.lines().find_map(|l| l.strip_prefix("content-length:")).map(|v| v.trim().parse().unwrap()).unwrap();
        while request.len() < body_at + length {
            let n = conn.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
        conn.write_all(format!("{head}{:x}\r\n{sse}\r\n0\r\n\r\n", sse.len()).as_bytes()).unwrap();
        serde_json::from_slice(&request[body_at..]).unwrap()
    });
    (url, upstream)
}

#[test]
fn claude_codes_web_search_runs_on_a_responses_channel_and_comes_back_as_anthropic_blocks() {
    let (url, upstream) = search_upstream();
    let channels = format!(
        "  - {{name: gpt, protocol: responses, base_url: \"{url}\", keys: [\"sk-r-0000\"], models: [\"claude-*\"], model_map: {{\"claude-*\": \"gpt-5.1\"}}, hosted_web_search: true}}\n"
    );
    let gw = Gateway::start(&channels, "");
    // The shape of Claude Code's WebSearch request.
    let body = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "You are an assistant for performing a web search tool use"}],
        "messages": [{"role": "user", "content": "Perform a web search for the query: pingora latest release"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8, "allowed_domains": ["github.com"]}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    });
    let (status, resp) = gw.anthropic(&body.to_string());
    assert_eq!(status, 200, "{resp}");

    let sent = upstream.join().unwrap();
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
