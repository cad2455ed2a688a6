//! `server.stream_keepalive_ms`: a stream whose upstream goes silent is committed and
//! kept alive in the client's dialect; a client that leaves during the silence takes
//! the upstream request with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Pass-through and translated routes for Anthropic and OpenAI clients over one mock.
fn channels(mock: &Mock) -> String {
    let u = &mock.url;
    format!(
        "  - {{name: anthropic-up, protocol: anthropic, base_url: \"{u}\", keys: [\"{ANTHROPIC_UPSTREAM_KEY}\"], models: [\"claude-*\"]}}\n\
         \x20 - {{name: claude-on-openai, protocol: openai, base_url: \"{u}\", keys: [\"{OPENAI_UPSTREAM_KEY}\"], models: [\"tr-claude-*\"], model_map: {{\"tr-claude-*\": \"gpt-4o\"}}}}\n\
         \x20 - {{name: gpt-on-anthropic, protocol: anthropic, base_url: \"{u}\", keys: [\"{ANTHROPIC_UPSTREAM_KEY}\"], models: [\"tr-gpt-*\"], model_map: {{\"tr-gpt-*\": \"claude-sonnet-4-5\"}}}}\n\
         \x20 - {{name: on-gemini, protocol: gemini, base_url: \"{u}\", keys: [\"gm-upstream-key-0000\"], models: [\"gm-*\"], model_map: {{\"gm-*\": \"gemini-2.5-pro\"}}}}\n"
    )
}

fn messages(gw: &Gateway, model: &str, text: &str) -> (u16, Vec<(Duration, String)>) {
    let body =
        json!({"model": model, "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": text}]});
    post_timed(&format!("{}/v1/messages", gw.url), &[("x-api-key", ACCESS_KEY)], &body.to_string())
}

fn joined(pieces: &[(Duration, String)]) -> String {
    pieces.iter().map(|(_, s)| s.as_str()).collect()
}

/// The silence lasts 1.5 s, the keepalive interval is 200 ms (pings counted with room
/// for timers that fire late on a busy machine).
#[test]
fn a_silent_stream_to_an_anthropic_client_is_committed_and_pinged() {
    let mock = Mock::start();
    let gw = Gateway::start(&channels(&mock), "  stream_keepalive_ms: 200");
    for model in ["tr-claude-x", "claude-x"] {
        let (status, pieces) = messages(&gw, model, "[[quiet:1500]] hi");
        assert_eq!(status, 200);
        let body = joined(&pieces);
        // The start leaves once the interval has passed, long before the content.
        let (at, first) = &pieces[0];
        assert!(first.starts_with("event: message_start\n"), "{model}: {first:?}");
        assert!(
            *at >= Duration::from_millis(150) && *at < Duration::from_millis(1000),
            "{model}: first piece at {at:?}"
        );
        let events = sse_events(&body);
        let pings = events.iter().take_while(|e| *e != "content_block_start").filter(|e| *e == "ping").count();
        assert!((3..=9).contains(&pings), "{model}: {pings} pings in the silence:\n{body}");
        let rest: Vec<&String> = events.iter().filter(|e| *e != "ping").collect();
        assert_eq!(
            rest,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ],
            "{model}:\n{body}"
        );
        assert!(body.contains("event: ping\ndata: {\"type\":\"ping\"}\n\n"), "{body}");
        assert!(pieces.last().unwrap().0 >= Duration::from_millis(1500));
    }
}

#[test]
fn a_silent_stream_to_an_openai_client_is_committed_and_kept_alive_with_comments() {
    let mock = Mock::start();
    let gw = Gateway::start(&channels(&mock), "  stream_keepalive_ms: 200");
    let body =
        json!({"model": "tr-gpt-x", "stream": true, "messages": [{"role": "user", "content": "[[quiet:1500]] hi"}]});
    let auth = format!("Bearer {ACCESS_KEY}");
    let (status, pieces) =
        post_timed(&format!("{}/v1/chat/completions", gw.url), &[("authorization", &auth)], &body.to_string());
    assert_eq!(status, 200);
    let (at, first) = &pieces[0];
    assert!(first.starts_with("data: {") && first.contains(r#""role":"assistant""#), "{first:?}");
    assert!(*at < Duration::from_millis(1000), "first piece at {at:?}");
    let body = joined(&pieces);
    let comments = body.matches(": ping\n\n").count();
    assert!((3..=9).contains(&comments), "{comments} comments:\n{body}");
    // Every data line is a whole chunk; the answer is the mock's.
    let data = sse_data(&body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let text: String = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "Hello from mock.");
}

/// A Gemini upstream sends nothing before its first content: the stream is committed
/// with a keepalive, and an Anthropic client reads `ping`s before `message_start`.
#[test]
fn a_stream_whose_upstream_sends_nothing_is_committed_with_a_keepalive() {
    let mock = Mock::start();
    let gw = Gateway::start(&channels(&mock), "  stream_keepalive_ms: 200");
    let (status, pieces) = messages(&gw, "gm-claude-x", "[[quiet:1500]] hi");
    assert_eq!(status, 200);
    let (at, first) = &pieces[0];
    assert_eq!(first, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    assert!(*at >= Duration::from_millis(150) && *at < Duration::from_millis(1000), "first piece at {at:?}");
    let events = sse_events(&joined(&pieces));
    let pings = events.iter().take_while(|e| *e != "message_start").count();
    assert!((3..=9).contains(&pings), "{events:?}");
    assert_eq!(events.iter().filter(|e| *e != "ping").count(), 8, "{events:?}");
    assert_eq!(events.last().unwrap(), "message_stop");
}

/// Gemini clients get an empty chunk, which Google's SDKs and Gemini CLI read through.
#[test]
fn a_silent_stream_to_a_gemini_client_is_kept_alive_with_empty_chunks() {
    let mock = Mock::start();
    let gw = Gateway::start(&channels(&mock), "  stream_keepalive_ms: 200");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "[[quiet:1500]] hi"}]}]}).to_string();
    for model in ["tr-gpt-x", "gm-x"] {
        let url = format!("{}/v1beta/models/{model}:streamGenerateContent?alt=sse", gw.url);
        let (status, pieces) = post_timed(&url, &[("x-goog-api-key", ACCESS_KEY)], &body);
        assert_eq!(status, 200);
        let (at, first) = &pieces[0];
        assert!(*at < Duration::from_millis(1000), "{model}: first piece at {at:?}");
        let keepalive =
            "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"index\":0}]}\n\n";
        assert_eq!(first, keepalive, "{model}");
        let body = joined(&pieces);
        assert!((3..=9).contains(&body.matches(keepalive).count()), "{model}: {body}");
        let chunks: Vec<Value> = sse_data(&body).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
        assert_eq!(gemini_text(&chunks), "Hello from mock.", "{model}");
        assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP", "{model}");
    }
}

#[test]
fn without_keepalives_a_silent_stream_is_held_until_its_content() {
    let mock = Mock::start();
    let gw = Gateway::start(&channels(&mock), "  stream_keepalive_ms: 0");
    let (status, pieces) = messages(&gw, "tr-claude-x", "[[quiet:700]] hi");
    assert_eq!(status, 200);
    assert!(pieces[0].0 >= Duration::from_millis(650), "first piece at {:?}", pieces[0].0);
    assert!(!joined(&pieces).contains("ping"));
}

/// A Chat upstream sends its first content, then nothing, with the connection open; the
/// client reads that content and leaves. The gateway lets the upstream go about a
/// second later, not at the next upstream event or the idle timeout (20 s).
#[test]
fn a_client_that_leaves_while_the_upstream_is_silent_takes_the_upstream_request_with_it() {
    let chunk = |delta: &str| {
        let data = format!("data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n");
        format!("{:x}\r\n{data}\r\n", data.len())
    };
    let (url, upstream) = upstream_left_open(chunk(r#"{"role":"assistant","content":"A"}"#));
    let channels = format!(
        "  - {{name: c, protocol: openai, base_url: \"{url}\", keys: [\"sk-c-0000\"], models: [\"gpt-*\"], timeouts: {{idle_ms: 20000}}}}\n"
    );
    // No keepalive: only the watch on the client notices it leaving.
    let gw = Gateway::start(&channels, "  stream_keepalive_ms: 0");
    let body =
        json!({"model": "gpt-x", "max_tokens": 64, "stream": true, "messages": [{"role": "user", "content": "hi"}]})
            .to_string();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {ACCESS_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(format!("{head}{body}").as_bytes()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("text_delta") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the content: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    drop(conn);
    let left = Instant::now();
    let held = upstream.join().unwrap();
    assert!(left.elapsed() < Duration::from_millis(2500), "the upstream was held {held:?}");
    let line = &lines_with_error(&gw, "client_closed", 1, Duration::from_secs(2))[0];
    assert_eq!(line["status"], 200, "{line}");
}
