//! Operations, black-box: metrics after scripted traffic, memory given back after a burst,
//! hot reload by every path, reloads under load, secrets absent from every output, and
//! request ids. TLS and HTTP/2 are in `tls.rs`; start, shutdown and upgrade in `lifecycle.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[test]
fn metrics_count_requests_tokens_attempts_and_statuses() {
    let mock = Mock::start();
    let metrics_port = free_port();
    let channels = channel_entry("anth", "anthropic", &mock.url, "sk-anth-0000", "[\"claude-x\", \"claude-*\"]", "")
        + &channel_entry("flaky", "openai", &mock.url, "flaky-[[error:503]]", "[\"gpt-x\"]", ", priority: 1")
        + &channel_entry("steady", "openai", &mock.url, "steady-key-0000", "[\"gpt-x\"]", ", priority: 2");
    let gw = Gateway::start(&channels, &format!("  metrics_listen: \"127.0.0.1:{metrics_port}\""));
    for _ in 0..3 {
        assert_eq!(gw.anthropic(&messages_json("claude-x", "hi", false)).0, 200);
    }
    assert_eq!(gw.anthropic(&messages_json("claude-unlisted", "hi", true)).0, 200);
    assert_eq!(gw.anthropic(&messages_json("claude-x", "[[error:400]]", false)).0, 400);
    assert_eq!(gw.openai(&messages_json("gpt-x", "hi", false)).0, 200);
    // A request is counted as it is logged, just after its last byte was written, and
    // leaves the in-flight gauges then: the scrape waits for that.
    let scrape = || get(&format!("http://127.0.0.1:{metrics_port}/metrics"), &[]).2;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = scrape();
    while metric(&text, "llm_relay_inflight_requests") != Some(0.0) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        text = scrape();
    }

    let m = |s: &str| metric(&text, s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert_eq!(
        m(r#"llm_relay_requests_total{channel="anth",client_dialect="anthropic",model="claude-x",status="200"}"#),
        3.0
    );
    assert_eq!(
        m(r#"llm_relay_requests_total{channel="anth",client_dialect="anthropic",model="claude-x",status="400"}"#),
        1.0
    );
    // Models nobody configured by name are labelled "other".
    assert_eq!(
        m(r#"llm_relay_requests_total{channel="anth",client_dialect="anthropic",model="other",status="200"}"#),
        1.0
    );
    assert_eq!(
        m(r#"llm_relay_requests_total{channel="steady",client_dialect="openai",model="gpt-x",status="200"}"#),
        1.0
    );
    // Each mock answer reports 3 output and 3 cache-read tokens.
    assert_eq!(m(r#"llm_relay_tokens_total{channel="anth",kind="output",model="claude-x"}"#), 9.0);
    assert_eq!(m(r#"llm_relay_tokens_total{channel="anth",kind="cache_read",model="claude-x"}"#), 9.0);
    assert!(m(r#"llm_relay_tokens_total{channel="anth",kind="input",model="claude-x"}"#) > 0.0);
    assert_eq!(m(r#"llm_relay_upstream_attempts_total{channel="flaky",outcome="retryable_status"}"#), 1.0);
    assert_eq!(m(r#"llm_relay_upstream_attempts_total{channel="steady",outcome="ok"}"#), 1.0);
    assert_eq!(m(r#"llm_relay_upstream_attempts_total{channel="anth",outcome="client_error"}"#), 1.0);
    assert_eq!(m("llm_relay_retries_total"), 1.0);
    assert_eq!(m("llm_relay_failovers_total"), 1.0);
    assert_eq!(m(r#"llm_relay_request_duration_seconds_count{channel="anth",client_dialect="anthropic"}"#), 5.0);
    assert_eq!(m(r#"llm_relay_time_to_first_token_seconds_count{channel="anth",client_dialect="anthropic"}"#), 1.0);
    assert_eq!(m(r#"llm_relay_channel_up{channel="steady"}"#), 1.0);
    assert_eq!(m(r#"llm_relay_key_up{channel="anth",key_id="…0000"}"#), 1.0);
    assert_eq!(m("llm_relay_inflight_requests"), 0.0);
    assert_eq!(m("llm_relay_active_streams"), 0.0);
    assert_eq!(m(r#"llm_relay_config_reloads_total{result="success"}"#), 1.0);
    assert!(m("llm_relay_config_last_reload_success_timestamp_seconds") > 1.7e9);
}

/// A burst of large requests grows the gateway's memory, and none of it stays once the
/// burst is over: mimalloc purges the pages it emptied, and the worker thread collects
/// its caches once it has been quiet for a second (`proxy::idle`). The RSS falls back
/// near where it was before (here within 1–3 MiB, 1–2 s after a peak 47 MiB higher).
#[test]
fn memory_taken_by_a_burst_is_given_back_once_the_gateway_goes_quiet() {
    let mock = Mock::start();
    let gw = Gateway::start(
        &channel_entry("anth", "anthropic", &mock.url, ANTHROPIC_UPSTREAM_KEY, "[\"claude-x\"]", ""),
        "",
    );
    assert_eq!(gw.anthropic(&messages_json("claude-x", "hi", false)).0, 200);
    std::thread::sleep(Duration::from_millis(1500));
    let before = gw.status_kib("VmRSS");
    let body = messages_json("claude-x", &"x".repeat(2 << 20), false);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..4 {
                    assert_eq!(gw.anthropic(&body).0, 200);
                }
            });
        }
    });
    let peak = gw.status_kib("VmHWM");
    assert!(peak > before + 24 * 1024, "the burst took little memory: {before} KiB before, peak {peak} KiB");
    let deadline = Instant::now() + Duration::from_secs(6);
    let settled = before + 8 * 1024;
    loop {
        let now = gw.status_kib("VmRSS");
        if now <= settled {
            break;
        }
        assert!(Instant::now() < deadline, "RSS {now} KiB 6 s after the burst: {before} KiB before, peak {peak} KiB");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn reload_by_file_change_sighup_and_admin_and_bad_configs_are_refused() {
    let mock = Mock::start();
    let one = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-a\"]", "");
    let two = one.clone() + &channel_entry("b", "anthropic", &mock.url, "sk-b-0000", "[\"claude-b\"]", "");
    let gw = Gateway::start(&one, "");
    assert_eq!(gw.anthropic(&messages_json("claude-b", "hi", false)).0, 404);

    // 1. The file changes: picked up by the watcher.
    gw.rewrite_config(&two, "", "");
    let deadline = Instant::now() + Duration::from_secs(5);
    while gw.anthropic(&messages_json("claude-b", "hi", false)).0 != 200 {
        assert!(Instant::now() < deadline, "file change not picked up:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gw.log().contains("config reloaded (file change)"));

    // 2. SIGHUP, faster than the watcher's debounce.
    gw.rewrite_config(&one, "", "");
    assert!(Command::new("kill").args(["-HUP", &gw.pid().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while gw.anthropic(&messages_json("claude-b", "hi", false)).0 != 404 {
        assert!(Instant::now() < deadline, "SIGHUP not honoured:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gw.log().contains("config reloaded (SIGHUP)"), "{}", gw.log());
    // The watcher does not load again what SIGHUP loaded.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(gw.log().matches("config reloaded (file change)").count(), 1, "{}", gw.log());

    // 3. The admin call.
    gw.rewrite_config(&two, "", "");
    let (status, _, body) = gw.post("/admin/reload", &[("x-api-key", ADMIN_KEY)], "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["reloaded"], true);
    assert_eq!(gw.anthropic(&messages_json("claude-b", "hi", false)).0, 200);

    // 4. A bad config is refused with its errors; the running one keeps serving.
    let bad = channel_entry("c", "gemini2", &mock.url, "k", "[\"claude-c\"]", "");
    gw.rewrite_config(&bad, "", "");
    let (status, _, body) = gw.post("/admin/reload", &[("x-api-key", ADMIN_KEY)], "");
    assert_eq!(status, 422);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["errors"][0],
        "channels[0].protocol: unknown protocol 'gemini2': use anthropic, openai, responses or gemini"
    );
    assert_eq!(gw.anthropic(&messages_json("claude-b", "hi", false)).0, 200);
    assert_eq!(gw.anthropic(&messages_json("claude-a", "hi", false)).0, 200);
    assert!(gw.log().contains("channels[0].protocol: unknown protocol"));
    let (status, _, _) = gw.post("/admin/reload", &[("x-api-key", ACCESS_KEY)], "");
    assert_eq!(status, 401, "an access key is not an admin key");

    // 5. An emptied file, and one that would drop every access key, are refused too.
    gw.rewrite_config(&two, "", "");
    let good = std::fs::read_to_string(gw.config_path()).unwrap();
    let keys = format!(
        "access_keys:\n  - {{name: tester, key: \"{ACCESS_KEY}\"}}\n  - {{name: other, key: \"{OTHER_ACCESS_KEY}\"}}\n"
    );
    assert!(good.contains(&keys), "{good}");
    for (text, error) in [
        (String::new(), "channels: the config lists no channel and no access key (is the file empty?)"),
        (
            good.replace(&keys, ""),
            "access_keys: the new config has no access key where the running one has some; not applied",
        ),
    ] {
        std::fs::write(gw.config_path(), text).unwrap();
        let (status, _, body) = gw.post("/admin/reload", &[("x-api-key", ADMIN_KEY)], "");
        assert_eq!(status, 422, "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["errors"][0], error);
        assert_eq!(gw.anthropic(&messages_json("claude-a", "hi", false)).0, 200);
    }

    // 6. A file copied over with its size and times kept is picked up: content counts.
    std::fs::write(gw.config_path(), &good).unwrap();
    let (status, _, _) = gw.post("/admin/reload", &[("x-api-key", ADMIN_KEY)], "");
    assert_eq!(status, 200);
    let modified = std::fs::metadata(gw.config_path()).unwrap().modified().unwrap();
    std::fs::write(gw.config_path(), good.replace("claude-b", "claude-z")).unwrap();
    std::fs::File::options().write(true).open(gw.config_path()).unwrap().set_modified(modified).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while gw.anthropic(&messages_json("claude-z", "hi", false)).0 != 200 {
        assert!(Instant::now() < deadline, "a same-size, same-time change not picked up:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ten_reloads_under_sustained_load_drop_nothing() {
    let mock = Mock::start_with(&["--token-delay-ms", "2"]);
    let base = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", "")
        + &channel_entry("t", "openai", &mock.url, "sk-t-0000", "[\"tr-*\"]", "");
    let gw = Arc::new(Gateway::start(&base, ""));
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (gw, stop, ok) = (gw.clone(), stop.clone(), ok.clone());
        workers.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let model = if (i + w) % 2 == 0 { "claude-x" } else { "tr-x" };
                let stream = i % 3 != 0;
                let (status, body) = gw.anthropic(&messages_json(model, "[[long:10]]", stream));
                let complete = if stream {
                    body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
                } else {
                    body.contains("w9")
                };
                if status == 200 && complete {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.push(format!("{model} stream={stream}: {status} {body}"));
                }
                i += 1;
            }
            failures
        }));
    }
    for r in 0..10 {
        std::thread::sleep(Duration::from_millis(150));
        let weight = r % 3 + 1;
        let changed = base.replace("models: [\"claude-*\"]", &format!("models: [\"claude-*\"], weight: {weight}"));
        gw.rewrite_config(&changed, "", "");
        let (status, _, body) = gw.post("/admin/reload", &[("x-api-key", ADMIN_KEY)], "");
        assert_eq!(status, 200, "{body}");
    }
    std::thread::sleep(Duration::from_millis(150));
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert!(failures.is_empty(), "{} failed: {:?}", failures.len(), &failures[..failures.len().min(3)]);
    assert!(ok.load(Ordering::Relaxed) >= 40, "only {} requests ran", ok.load(Ordering::Relaxed));
    assert!(gw.log().matches("config reloaded").count() >= 10);
}

#[test]
fn secrets_never_appear_in_logs_metrics_errors_or_admin_output() {
    let mock = Mock::start();
    let metrics_port = free_port();
    let upstream_secret = "sk-upstream-very-secret-7777";
    let channels = channel_entry("good", "openai", &mock.url, upstream_secret, "[\"gpt-*\"]", "")
        + &channel_entry("refused", "openai", &mock.url, "bad-key", "[\"bad-*\"]", "");
    let gw = Gateway::start(&channels, &format!("  metrics_listen: \"127.0.0.1:{metrics_port}\""));
    assert_eq!(gw.openai(&messages_json("gpt-x", "hi", false)).0, 200);
    assert_eq!(gw.openai(&messages_json("gpt-x", "[[error:500]]", true)).0, 500);
    // The mock quotes the key it refuses; the gateway must not pass it on. The refusal
    // is the gateway's credentials', not the client's: a 502 the client should not
    // retry, not a 401.
    let (status, headers, refused) = gw.post(
        "/v1/chat/completions",
        &[("authorization", &format!("Bearer {ACCESS_KEY}"))],
        &messages_json("bad-x", "hi", false),
    );
    assert_eq!((status, header(&headers, "x-should-retry")), (502, Some("false")), "{refused}");
    assert!(refused.contains("the upstream refused this gateway's credentials: "), "{refused}");
    assert!(!refused.contains("bad-key"), "{refused}");
    let (status, _, _) = gw.post("/v1/chat/completions", &[("authorization", "Bearer wrong-client-key-123")], "{}");
    assert_eq!(status, 401);

    let (_, _, metrics) = get(&format!("http://127.0.0.1:{metrics_port}/metrics"), &[]);
    let (_, _, config) = get(&format!("{}/admin/config", gw.url), &[("x-api-key", ADMIN_KEY)]);
    let (_, _, channels_view) = get(&format!("{}/admin/channels", gw.url), &[("x-api-key", ADMIN_KEY)]);
    assert!(config.contains("…7777"), "{config}");
    // Access lines reach stderr in batches, within 10 ms: all six are waited for (four
    // API calls, two admin calls), the refused client key's among them.
    let deadline = Instant::now() + Duration::from_secs(2);
    while gw.log().lines().filter(|l| l.contains(" access] ")).count() < 6 {
        assert!(Instant::now() < deadline, "access lines missing:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.log();
    let refused_client = log
        .lines()
        .find(|l| l.contains(" access] ") && l.contains("\"status\":401") && l.contains("\"access_key\":null"));
    assert!(refused_client.is_some(), "no access line for the refused client key:\n{log}");
    let refused_line: Value =
        serde_json::from_str(refused_client.and_then(|l| l.split_once(" access] ")).map(|(_, j)| j).unwrap()).unwrap();
    let answer = r#"{"error":{"message":"invalid or missing API key","type":"authentication_error","param":null,"code":"invalid_api_key"}}"#;
    assert_eq!(refused_line["bytes_out"], answer.len(), "the gateway's own answer is counted");
    for (what, text) in [
        ("log", &log),
        ("metrics", &metrics),
        ("admin config", &config),
        ("admin channels", &channels_view),
        ("error", &refused),
    ] {
        for secret in [ACCESS_KEY, ADMIN_KEY, upstream_secret, "bad-key", "wrong-client-key-123"] {
            assert!(!text.contains(secret), "{secret} appears in the {what}:\n{text}");
        }
    }
}

#[test]
fn a_client_that_leaves_before_the_answer_takes_the_upstream_request_with_it() {
    use std::io::{Read, Write};
    let mock = Mock::start();
    // A Chat upstream that sends its head and a first chunk with no content, then nothing:
    // the first content is what is awaited. It reports how long its connection stayed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    let upstream = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).unwrap();
        let chunk = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n";
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        conn.write_all(format!("{head}{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).unwrap();
        let served = Instant::now();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Until the gateway closes the connection (or 5 s).
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
        served.elapsed()
    });
    let channels = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", "")
        + &channel_entry("b", "openai", &silent, "sk-b-0000", "[\"silent-*\"]", "");
    let gw = Gateway::start(&channels, "");
    for (model, text, stream) in
        [("claude-x", "[[slow:3000]] hi", false), ("claude-x", "[[slow:3000]] hi", true), ("silent-x", "hi", true)]
    {
        // The answer (or its first content) takes 3 s or more; the client gives up after
        // 0.3 s.
        let body = messages_json(model, text, stream);
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
        let head = format!(
            "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {ACCESS_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(format!("{head}{body}").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        drop(conn);
    }
    for line in lines_with_error(&gw, "client_closed", 3, Duration::from_secs(2)) {
        assert!(line["duration_ms"].as_f64().unwrap() < 1500.0, "{line}");
        assert_eq!(line["status"], 499, "{line}");
    }
    let held = upstream.join().unwrap();
    assert!(held < Duration::from_millis(1500), "the upstream connection stayed open {held:?}");
}

/// A Chat upstream that sends its finish reason, then neither usage nor `[DONE]`, and
/// keeps its connection open: the client gets the whole answer, ended, a few seconds
/// later, not an idle-timeout error.
#[test]
fn a_chat_stream_that_never_sends_done_ends_after_its_finish_reason() {
    let chunk = |delta: &str, finish: &str| {
        let data = format!("data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n");
        format!("{:x}\r\n{data}\r\n", data.len())
    };
    let body = chunk(r#"{"role":"assistant","content":"A"}"#, "null") + &chunk("{}", "\"stop\"");
    let (url, upstream) = upstream_left_open(body);
    let channels = channel_entry("c", "openai", &url, "sk-c-0000", "[\"gpt-*\"]", ", timeouts: {idle_ms: 20000}");
    let gw = Gateway::start(&channels, "");
    let started = Instant::now();
    let (status, body) = gw.anthropic(&messages_json("gpt-x", "hi", true));
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sse_events(&body),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ],
        "{body}"
    );
    assert!(body.contains(r#""stop_reason":"end_turn""#), "{body}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(8), "ended after {took:?}");
    upstream.join().unwrap();
}

/// A Gemini upstream that sends its finish reason and keeps its connection open: the
/// client's stream ends a few seconds later, whole, not at the idle timeout.
#[test]
fn a_gemini_stream_left_open_after_its_finish_reason_ends() {
    let data = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"A\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1,\"totalTokenCount\":4},\"modelVersion\":\"g\"}\n\n";
    let (url, upstream) = upstream_left_open(format!("{:x}\r\n{data}\r\n", data.len()));
    let channels = channel_entry("g", "gemini", &url, "gk-0000", "[\"gemini-*\"]", ", timeouts: {idle_ms: 20000}");
    let gw = Gateway::start(&channels, "");
    let started = Instant::now();
    let (status, body) = gw.anthropic(&messages_json("gemini-x", "hi", true));
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{body}");
    assert!(took < Duration::from_secs(8), "ended after {took:?}");
    upstream.join().unwrap();
}

/// An upstream whose in-band stream error quotes the channel's key (`invalid x-api-key
/// sk-…`): neither the client nor the log sees the key, whether the error came after
/// content or as the stream's first event.
#[test]
fn an_in_band_error_quoting_the_key_reaches_no_client_and_no_log() {
    use std::io::{Read, Write};
    const SECRET: &str = "sk-ant-SECRET-stub-0001";
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = vec![0u8; 65536];
            let n = conn.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let event = |name: &str, data: &str| format!("event: {name}\ndata: {data}\n\n");
            let start = event(
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":0}}}"#,
            );
            let error = event(
                "error",
                &format!(
                    r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key {SECRET}"}}}}"#
                ),
            );
            let content = event(
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ) + &event(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            );
            let body = if request.contains("after-content") { start + &content + &error } else { start + &error };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(format!("{head}{body}").as_bytes());
        }
    });
    let gw = Gateway::start(&channel_entry("a", "anthropic", &url, SECRET, "[\"claude-*\"]", ""), "");
    let (status, after_content) = gw.anthropic(&messages_json("claude-x", "after-content", true));
    assert_eq!(status, 200);
    assert!(after_content.contains("invalid x-api-key …0001"), "{after_content}");
    let (status, first) = gw.anthropic(&messages_json("claude-x", "first", true));
    assert!(status >= 400, "{status} {first}");
    for text in [&after_content, &first, &gw.log()] {
        assert!(!text.contains(SECRET), "the key leaked:\n{text}");
    }
}

#[test]
fn request_ids_are_echoed_when_plain_minted_otherwise_and_logged() {
    let mock = Mock::start();
    let gw = Gateway::start(&channel_entry("good", "openai", &mock.url, "k", "[\"gpt-*\"]", ""), "");
    let auth = ("authorization", format!("Bearer {ACCESS_KEY}"));
    let send = |id: Option<&str>, auth: &(&str, String)| {
        let mut headers = vec![(auth.0, auth.1.as_str())];
        headers.extend(id.map(|id| ("x-request-id", id)));
        let (status, headers, _) = gw.post("/v1/chat/completions", &headers, &messages_json("gpt-x", "hi", false));
        (status, header(&headers, "x-request-id").map(str::to_string))
    };
    let minted = |id: &Option<String>| {
        id.as_deref().is_some_and(|id| {
            id.len() == 22
                && id.starts_with("req_")
                && id[4..12].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && id[12..].bytes().all(|b| b.is_ascii_digit())
        })
    };

    assert_eq!(send(Some("client-id_1.2:3"), &auth), (200, Some("client-id_1.2:3".to_string())));
    let (status, first) = send(None, &auth);
    assert_eq!(status, 200);
    assert!(minted(&first), "{first:?}");
    let (_, second) = send(Some("has space"), &auth);
    assert!(minted(&second), "{second:?}");
    assert_eq!(first.as_deref().map(|id| &id[..12]), second.as_deref().map(|id| &id[..12]), "one instance");
    assert_ne!(first, second);
    // Refused requests carry one too.
    let (status, refused) = send(Some("refused-1"), &("authorization", "Bearer nope".to_string()));
    assert_eq!((status, refused.as_deref()), (401, Some("refused-1")));

    let want = [
        "\"request_id\":\"client-id_1.2:3\"".to_string(),
        format!("\"request_id\":\"{}\"", first.unwrap_or_default()),
        format!("\"request_id\":\"{}\"", second.unwrap_or_default()),
        "\"request_id\":\"refused-1\"".to_string(),
    ];
    let deadline = Instant::now() + Duration::from_secs(2);
    while !want.iter().all(|w| gw.log().contains(w.as_str())) {
        assert!(Instant::now() < deadline, "missing access lines {want:?}:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_expecting_100_continue_gets_it_before_sending_its_body() {
    use std::io::Write;
    let mock = Mock::start();
    let gw = Gateway::start(
        &channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""),
        "  max_body_bytes: 100000",
    );
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    // The `100` must come while the body is held back: without it the read times out.
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let head = |length: usize| {
        format!(
            "POST /v1/messages HTTP/1.1\r\nhost: relay\r\nx-api-key: {ACCESS_KEY}\r\n\
             expect: 100-continue\r\ncontent-length: {length}\r\n\r\n"
        )
    };

    let body = messages_json("claude-x", "hi", false);
    conn.write_all(head(body.len()).as_bytes()).unwrap();
    let (status, interim, _) = read_response(&mut conn);
    assert_eq!((status.as_str(), interim.as_str()), ("http/1.1 100 continue", "http/1.1 100 continue\r\n\r\n"));
    conn.write_all(body.as_bytes()).unwrap();
    let (status, head_of_answer, answer) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 200 ok", "{answer}");
    assert!(head_of_answer.contains("connection: keep-alive\r\n"), "{head_of_answer}");
    assert_eq!(serde_json::from_str::<Value>(&answer).unwrap()["type"], "message");

    // Over the limit: refused without a 100, and the body it never sent is not waited for.
    conn.write_all(head(200_000).as_bytes()).unwrap();
    let (status, refusal, _) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 413 payload too large");
    assert!(refusal.contains("connection: close\r\n"), "{refusal}");
    assert!(closed_within(&mut conn, Duration::from_secs(2)));
}
