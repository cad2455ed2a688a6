//! Upstream connections, black-box: answers read by their framing, connections pooled
//! and reused only after answers that leave them clean, and what a closed or broken
//! connection costs a request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_pooled_connection_closed_by_the_upstream_is_replaced_not_failed() {
    // The first connection answers one request, then reads the second and hangs up
    // without an answer (an idle timeout that raced the request).
    let ok =
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PONG}", PONG.len());
    let answers = vec![(ok.clone(), false), (String::new(), true), (ok.clone(), false), (ok, false)];
    let (url, accepted, _) = scripted_upstream(answers);
    // One attempt only: the request must survive the dead connection without a retry.
    let gw = Gateway::start_full(
        &channel_entry("solo", "anthropic", &url, "k1", "[\"*\"]", ""),
        "",
        "routing: {max_attempts: 1}",
    );
    for i in 0..3 {
        let (status, body) = gw.anthropic(&messages_json("claude-x", "ping", false));
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(body.contains("pong"), "{body}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

/// An upstream that gives the n-th request it reads (over all connections) the n-th
/// answer of `answers`, written in two parts, and closes the connection after it when
/// the answer's flag says so. Returns the address and the numbers of connections
/// accepted and of requests read.
fn scripted_upstream(answers: Vec<(String, bool)>) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let answers = Arc::new(answers);
    let next = Arc::new(AtomicUsize::new(0));
    let requests = next.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let (answers, next) = (answers.clone(), next.clone());
            std::thread::spawn(move || {
                while read_request(&mut conn) {
                    let Some((answer, close)) = answers.get(next.fetch_add(1, Ordering::SeqCst)) else { return };
                    let (a, b) = answer.split_at(answer.len() / 2);
                    let sent = conn.write_all(a.as_bytes()).and_then(|_| {
                        std::thread::sleep(Duration::from_millis(5));
                        conn.write_all(b.as_bytes())
                    });
                    if sent.is_err() || *close {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), accepted, requests)
}

#[test]
fn upstream_bodies_are_read_by_their_framing_and_connections_reused_only_when_allowed() {
    let body = PONG;
    let (first, rest) = body.split_at(40);
    let json = "content-type: application/json";
    let answers = vec![
        // Chunked, with an extension and trailers: the connection stays.
        (
            format!(
                "HTTP/1.1 200 OK\r\n{json}\r\ntransfer-encoding: chunked\r\n\r\n{:x};ext=1\r\n{first}\r\n{:x}\r\n{rest}\r\n0\r\nx-checksum: 1\r\n\r\n",
                first.len(),
                rest.len()
            ),
            false,
        ),
        // The upstream asks to close but keeps the connection open: a gateway that
        // wrongly reused it would be answered there.
        (format!("HTTP/1.1 200 OK\r\n{json}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len()), false),
        // No length: the body ends when the upstream closes.
        (format!("HTTP/1.1 200 OK\r\n{json}\r\n\r\n{body}"), true),
        (format!("HTTP/1.1 200 OK\r\n{json}\r\ncontent-length: {}\r\n\r\n{body}", body.len()), false),
        (format!("HTTP/1.1 200 OK\r\n{json}\r\ncontent-length: {}\r\n\r\n{body}", body.len()), false),
    ];
    let (url, accepted, _) = scripted_upstream(answers);
    let gw = Gateway::start_full(
        &channel_entry("solo", "anthropic", &url, "k1", "[\"*\"]", ""),
        "",
        "routing: {max_attempts: 1}",
    );
    for i in 0..5 {
        let (status, resp) = gw.anthropic(&messages_json("claude-x", "ping", false));
        assert_eq!(status, 200, "request {i}: {resp}");
        let resp: Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(resp["content"][0]["text"], "pong", "request {i}");
    }
    // Requests 1-2 on the first connection, 3 on a second (closed by the upstream),
    // 4-5 on a third.
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[test]
fn a_malformed_or_truncated_upstream_answer_is_an_error_in_the_clients_dialect() {
    let answers = vec![
        (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n".to_string(),
            false,
        ),
        // Closed 494 bytes short of its length.
        ("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"id\":".to_string(), true),
        ("HTTP/1.1 2x0 OK\r\n\r\n".to_string(), false),
    ];
    let (url, _, _) = scripted_upstream(answers);
    let gw = Gateway::start_full(
        &channel_entry("solo", "anthropic", &url, "k1", "[\"*\"]", ""),
        "",
        "routing: {max_attempts: 1}\nhealth: {error_threshold: 100}",
    );
    for i in 0..3 {
        let (status, resp) = gw.anthropic(&messages_json("claude-x", "ping", false));
        assert_eq!(status, 500, "answer {i}: {resp}");
        let resp: Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(resp["type"], "error", "answer {i}");
        assert_eq!(resp["error"]["type"], "api_error", "answer {i}");
        let message = resp["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(
                ["invalid chunk size", "before the body ended", "invalid response: malformed response head"][i]
            ),
            "{message}"
        );
    }
}

const PONG: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"pong"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}"#;

#[test]
fn connections_are_reused_only_after_answers_that_leave_them_clean() {
    let (body, n) = (PONG, PONG.len());
    let json = "content-type: application/json";
    let error = r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#;
    // The upstream keeps every connection open: only the gateway decides about reuse.
    let answers = vec![
        // An informational head first; then a clean answer: the connection stays.
        format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n{json}\r\ncontent-length: {n}\r\n\r\n{body}"),
        // HTTP/1.0 asking to keep the connection: it stays.
        format!("HTTP/1.0 200 OK\r\n{json}\r\nconnection: keep-alive\r\ncontent-length: {n}\r\n\r\n{body}"),
        // HTTP/1.0 without keep-alive: not reused.
        format!("HTTP/1.0 200 OK\r\n{json}\r\ncontent-length: {n}\r\n\r\n{body}"),
        // A transfer coding next to a length: not reused.
        format!(
            "HTTP/1.1 200 OK\r\n{json}\r\ncontent-length: 7\r\ntransfer-encoding: chunked\r\n\r\n{n:x}\r\n{body}\r\n0\r\n\r\n"
        ),
        // Bytes after the body: not reused.
        format!("HTTP/1.1 200 OK\r\n{json}\r\ncontent-length: {n}\r\n\r\n{body}XYZ"),
        // An error answer read to its end: the connection stays.
        format!("HTTP/1.1 400 Bad Request\r\n{json}\r\ncontent-length: {}\r\n\r\n{error}", error.len()),
        format!("HTTP/1.1 200 OK\r\n{json}\r\ncontent-length: {n}\r\n\r\n{body}"),
    ];
    let (url, accepted, requests) = scripted_upstream(answers.into_iter().map(|a| (a, false)).collect());
    let gw = Gateway::start_full(
        &channel_entry("solo", "anthropic", &url, "k1", "[\"*\"]", ""),
        "",
        "routing: {max_attempts: 1}",
    );
    for i in 0..7 {
        let (status, resp) = gw.anthropic(&messages_json("claude-x", "ping", false));
        if i == 5 {
            assert_eq!(status, 400, "{resp}");
            continue;
        }
        assert_eq!(status, 200, "request {i}: {resp}");
        let resp: Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(resp["content"][0]["text"], "pong", "request {i}");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 7);
    // Requests 1-3 on the first connection, 4, 5 and 6-7 on one each.
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

#[test]
fn a_pooled_connection_that_fails_inside_the_answer_is_not_resent() {
    let answers = vec![
        (
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{PONG}",
                PONG.len()
            ),
            false,
        ),
        // The upstream took the request and began to answer, then hung up.
        ("HTTP/1.1 200 OK\r\ncontent-".to_string(), true),
    ];
    let (url, _, requests) = scripted_upstream(answers);
    let gw = Gateway::start_full(
        &channel_entry("solo", "anthropic", &url, "k1", "[\"*\"]", ""),
        "",
        "routing: {max_attempts: 1}",
    );
    let (status, _) = gw.anthropic(&messages_json("claude-x", "ping", false));
    assert_eq!(status, 200);
    let (status, resp) = gw.anthropic(&messages_json("claude-x", "ping", false));
    assert_eq!(status, 500, "{resp}");
    assert!(resp.contains("inside the response head"), "{resp}");
    // Sent once: a resend would have been a second generation the client never asked for.
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}
