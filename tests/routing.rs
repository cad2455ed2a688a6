//! Black-box routing and health: failover, retry-after, key rotation and retirement,
//! affinity, and the admin view, with mock upstream keys scripted to fail on demand
//! (the mock applies `[[...]]` directives found in the API key).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn ch(name: &str, protocol: &str, url: &str, keys: &[&str], extra: &str) -> String {
    let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        "  - {{name: {name}, protocol: {protocol}, base_url: \"{url}\", keys: [{}], models: [\"*\"]{extra}}}\n",
        keys.join(", ")
    )
}

/// Two Anthropic channels: priority 1 always answers 529, priority 2 answers.
fn overloaded_then_ok(mock: &Mock) -> Gateway {
    let channels = ch("p1", "anthropic", &mock.url, &["p1-[[error:529]]"], ", priority: 1")
        + &ch("p2", "anthropic", &mock.url, &["p2-key-ok"], ", priority: 2");
    Gateway::start(&channels, "")
}

#[test]
fn overloaded_priority_one_fails_over_and_then_rests() {
    let mock = Mock::start();
    let gw = overloaded_then_ok(&mock);
    for i in 0..12 {
        let stream = i % 2 == 0;
        let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", stream));
        assert_eq!(status, 200, "request {i}: {body}");
        if stream {
            assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{body}");
        } else {
            let answer: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(answer["content"][0]["text"], "Hello from mock.", "{body}");
        }
    }
    let by_key = mock.by_key();
    assert_eq!(by_key["p2-key-ok"], 12);
    assert_eq!(by_key["p1-[[error:529]]"], 2, "error_threshold (2) failures, then the cooldown: {by_key:?}");
}

/// `count_tokens` goes to an Anthropic channel that is up: with priority 1 down after
/// its failures, the count comes, exact, from priority 2, not as an estimate after a
/// failed call to priority 1.
#[test]
fn count_tokens_is_asked_of_a_channel_that_is_up() {
    let mock = Mock::start();
    let gw = overloaded_then_ok(&mock);
    for _ in 0..2 {
        assert_eq!(gw.anthropic(&messages_json("claude-x", "hi", false)).0, 200);
    }
    mock.reset();
    let body = json!({"model": "claude-x", "messages": [{"role": "user", "content": "Hello, world!"}]}).to_string();
    let (status, headers, out) = gw.post("/v1/messages/count_tokens", &[("x-api-key", ACCESS_KEY)], &body);
    assert_eq!(status, 200, "{out}");
    assert_eq!(header(&headers, "x-llm-relay-token-count"), None, "answered with an estimate: {out}");
    assert_eq!(mock.by_key(), [("p2-key-ok".to_string(), 1)].into());
    let forwarded = mock.last_request();
    assert_eq!(forwarded["path"], "/v1/messages/count_tokens");
    // The mock counts a quarter of the body's bytes: its answer, passed on as it is.
    assert_eq!(out, format!(r#"{{"input_tokens":{}}}"#, forwarded["body"].as_str().unwrap().len() / 4));
}

#[test]
fn failover_resends_a_two_mebibyte_body_intact() {
    let mock = Mock::start();
    let channels = ch("p1", "openai", &mock.url, &["p1-[[error:503]]"], ", priority: 1")
        + &ch("p2", "openai", &mock.url, &["p2-key-ok"], ", priority: 2");
    let gw = Gateway::start(&channels, "");
    let big = "y".repeat(2 * 1024 * 1024);
    let body = json!({"model": "gpt-x", "messages": [{"role": "user", "content": big}]}).to_string();
    let (status, resp) = gw.openai(&body);
    assert_eq!(status, 200, "{resp}");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["headers"]["authorization"], "Bearer p1-[[error:503]]");
    assert_eq!(reqs[1]["headers"]["authorization"], "Bearer p2-key-ok");
    assert_eq!(reqs[0]["body"].as_str().unwrap(), body);
    assert_eq!(reqs[1]["body"].as_str().unwrap(), body);
}

#[test]
fn retry_after_keeps_a_rate_limited_key_aside() {
    let mock = Mock::start();
    let channels = ch("c", "openai", &mock.url, &["k1-[[error:429]]", "k2-key-ok"], ", key_strategy: failover");
    let gw = Gateway::start(&channels, "");
    for _ in 0..3 {
        let (status, body) = gw.openai(&messages_json("gpt-x", "hi", false));
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(mock.by_key()["k1-[[error:429]]"], 1, "blocked for the retry-after second");
    std::thread::sleep(Duration::from_millis(1100));
    gw.openai(&messages_json("gpt-x", "hi", false));
    assert_eq!(mock.by_key()["k1-[[error:429]]"], 2, "tried again once retry-after passed");
    assert_eq!(mock.by_key()["k2-key-ok"], 4);
}

#[test]
fn key_rotation_spreads_requests_across_keys() {
    let mock = Mock::start();
    let gw = Gateway::start(&ch("c", "anthropic", &mock.url, &["key-a-000", "key-b-000", "key-c-000"], ""), "");
    for _ in 0..30 {
        assert_eq!(gw.anthropic(&messages_json("claude-x", "hi", false)).0, 200);
    }
    let by_key = mock.by_key();
    for k in ["key-a-000", "key-b-000", "key-c-000"] {
        assert_eq!(by_key[k], 10, "{by_key:?}");
    }
}

#[test]
fn quota_error_retires_the_key_and_the_next_key_answers() {
    let mock = Mock::start();
    let channels = ch("c", "anthropic", &mock.url, &["quota-key", "good-key-000"], ", key_strategy: failover");
    let gw = Gateway::start(&channels, "");
    for _ in 0..5 {
        let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", false));
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(mock.by_key()["quota-key"], 1);
    assert_eq!(mock.by_key()["good-key-000"], 5);
    let (status, _, admin) = get(&format!("{}/admin/channels", gw.url), &[("x-api-key", ADMIN_KEY)]);
    assert_eq!(status, 200);
    let admin: Value = serde_json::from_str(&admin).unwrap();
    let key = &admin["channels"][0]["keys"][0];
    assert_eq!(key["state"], "retired", "{admin}");
    assert_eq!(key["key_id"], "…", "short keys are masked entirely");
    assert!(key["until"].as_str().unwrap().ends_with('Z'));
    assert_eq!(key["last_error"], "Your credit balance is too low");
    assert!(!admin.to_string().contains("good-key-000"), "keys are masked in the admin view");
}

#[test]
fn a_gemini_key_refused_with_a_400_is_retired_and_the_next_key_answers() {
    let mock = Mock::start();
    // Gemini answers an invalid key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    let channels = ch("g", "gemini", &mock.url, &["bad-key", "good-gem-key"], ", key_strategy: failover");
    let gw = Gateway::start(&channels, "");
    for _ in 0..3 {
        let (status, body) = gw.anthropic(&messages_json("gemini-x", "hi", false));
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(mock.by_key()["bad-key"], 1, "retired after its first refusal");
    assert_eq!(mock.by_key()["good-gem-key"], 3);
    // With no key left, a Gemini client is told the gateway's credentials failed, as a
    // final PERMISSION_DENIED, not that its own key is wrong.
    let only_bad = ch("g", "gemini", &mock.url, &["bad-key"], "");
    let gw = Gateway::start(&only_bad, "");
    let (status, _, body) = gw.post(
        "/v1beta/models/gemini-x:generateContent",
        &[("x-goog-api-key", ACCESS_KEY)],
        r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
    );
    assert_eq!(status, 403, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["error"]["code"].as_u64(), v["error"]["status"].as_str()),
        (Some(403), Some("PERMISSION_DENIED")),
        "{body}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with("the upstream refused this gateway's credentials"),
        "{body}"
    );
}

/// Claude Code reads any error naming `x-api-key` as its own key refused, and asks its
/// user to fix it: the gateway's refused key is told in other words.
#[test]
fn an_anthropic_refusal_of_the_gateways_key_does_not_name_x_api_key() {
    let mock = Mock::start();
    let gw = Gateway::start(&ch("c", "anthropic", &mock.url, &["bad-key"], ""), "");
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", false));
    assert_eq!(status, 502, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["message"], "the upstream refused this gateway's credentials: invalid API key", "{body}");
}

#[test]
fn a_rate_limit_on_one_key_outranks_a_spent_key_in_the_clients_answer() {
    let mock = Mock::start();
    let channels = ch("c", "openai", &mock.url, &["k1-[[error:429]]", "quota-key"], ", key_strategy: failover");
    let gw = Gateway::start(&channels, "");
    let anthropic = [("x-api-key", ACCESS_KEY), ("anthropic-version", "2023-06-01")];
    let (status, headers, body) = gw.post("/v1/messages", &anthropic, &messages_json("gpt-x", "hi", false));
    assert_eq!(mock.by_key()["quota-key"], 1, "the second key was tried");
    // The spent key is retired, but the first key's limit passes: the client may retry,
    // after the upstream's delay.
    assert_eq!(status, 429, "{body}");
    assert_eq!(header(&headers, "x-should-retry"), None);
    assert_eq!(header(&headers, "retry-after"), Some("1"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error", "{body}");
}

#[test]
fn a_gemini_rate_limit_that_speaks_of_quota_sets_the_key_aside_for_its_retry_delay_only() {
    let mock = Mock::start();
    // Gemini's per-minute 429 reads "You exceeded your current quota" and carries a
    // RetryInfo (1 s from the mock).
    let channels = ch("g", "gemini", &mock.url, &["gq-[[quota]]", "good-gem-key"], ", key_strategy: failover");
    let gw = Gateway::start(&channels, "");
    for _ in 0..3 {
        let (status, body) = gw.anthropic(&messages_json("gemini-x", "hi", false));
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(mock.by_key()["gq-[[quota]]"], 1, "set aside while its delay runs");
    let (_, _, admin) = get(&format!("{}/admin/channels", gw.url), &[("x-api-key", ADMIN_KEY)]);
    let admin: Value = serde_json::from_str(&admin).unwrap();
    assert_ne!(admin["channels"][0]["keys"][0]["state"], "retired", "{admin}");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(gw.anthropic(&messages_json("gemini-x", "hi", false)).0, 200);
    assert_eq!(mock.by_key()["gq-[[quota]]"], 2, "tried again once the delay ran out");
}

#[test]
fn when_everything_fails_the_client_gets_the_last_error_fast() {
    let mock = Mock::start();
    let channels = ch("a", "anthropic", &mock.url, &["a-[[error:503]]"], "")
        + &ch("b", "openai", &mock.url, &["b-[[error:500]]"], "");
    let gw = Gateway::start_full(&channels, "", "routing: {max_attempts: 4, retry_budget_ms: 5000}");
    let started = Instant::now();
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", false));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // The last attempt's error, in the client's dialect: channel a's 503 (an overload,
    // Anthropic's 529) or channel b's 500.
    let last_was_a = mock.last_request()["path"] == "/v1/messages";
    let want = if last_was_a {
        (529, r#"{"type":"error","error":{"type":"overloaded_error","message":"mock error 503"}}"#)
    } else {
        (500, r#"{"type":"error","error":{"type":"api_error","message":"mock error 500"}}"#)
    };
    assert_eq!((status, body.as_str()), want);
    let (status, body) = gw.openai(&messages_json("gpt-x", "hi", true));
    let last_was_a = mock.last_request()["path"] == "/v1/messages";
    let (code, message) = if last_was_a { (503, "mock error 503") } else { (500, "mock error 500") };
    let want = format!(r#"{{"error":{{"message":"{message}","type":"server_error","param":null,"code":null}}}}"#);
    assert_eq!((status, body), (code, want));
}

#[test]
fn an_upstream_silent_past_first_byte_ms_is_a_timeout_and_fails_over() {
    let mock = Mock::start();
    let fast = ", timeouts: {first_byte_ms: 300}";
    let channels = ch("p1", "anthropic", &mock.url, &["p1-[[slow:3000]]"], &format!(", priority: 1{fast}"))
        + &ch("p2", "anthropic", &mock.url, &["p2-key-ok"], ", priority: 2");
    let gw = Gateway::start(&channels, "");
    let started = Instant::now();
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", false));
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_millis(2_000), "took {:?}", started.elapsed());
    assert_eq!(mock.by_key()["p2-key-ok"], 1);

    // With nowhere else to go, the client gets the timeout in its own dialect.
    let alone = ch("p1", "anthropic", &mock.url, &["p1-[[slow:3000]]"], fast);
    let gw = Gateway::start(&alone, "");
    let started = Instant::now();
    let (status, body) = gw.openai(&messages_json("gpt-x", "hi", false));
    assert!(started.elapsed() < Duration::from_millis(2_000), "took {:?}", started.elapsed());
    assert_eq!(status, 504, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["type"], "server_error", "{body}");
    assert!(v["error"]["message"].as_str().unwrap().contains("no response within 300ms"), "{body}");
}

#[test]
fn a_stream_silent_past_idle_ms_ends_with_an_error_event() {
    // The mock sends the first text delta at once and each later one 3 s after it.
    let mock = Mock::start_with(&["--token-delay-ms", "3000"]);
    let channels = ch("a", "anthropic", &mock.url, &["a-key"], ", timeouts: {idle_ms: 300}");
    let gw = Gateway::start(&channels, "");
    let started = Instant::now();
    let (status, body) = gw.anthropic(&messages_json("claude-x", "[[long:3]]", true));
    assert!(started.elapsed() < Duration::from_millis(2_000), "took {:?}", started.elapsed());
    assert_eq!(status, 200, "the stream had begun: {body}");
    let events = sse_events(&body);
    assert_eq!(events.first().map(String::as_str), Some("message_start"), "{body}");
    assert_eq!(events.last().map(String::as_str), Some("error"), "{body}");
    assert!(body.contains("idle for 300ms"), "{body}");
}

#[test]
fn in_band_overload_as_first_event_fails_over_invisibly() {
    let mock = Mock::start();
    let channels = ch("p1", "anthropic", &mock.url, &["p1-[[first-event-error]]"], ", priority: 1")
        + &ch("p2", "openai", &mock.url, &["p2-key-ok"], ", priority: 2");
    let gw = Gateway::start(&channels, "");
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", true));
    assert_eq!(status, 200);
    assert!(!body.contains("event: error"), "{body}");
    assert_eq!(sse_events(&body).last().unwrap(), "message_stop");
    assert!(body.contains("\"text\":\" mock.\""), "{body}");
    assert_eq!(mock.by_key()["p1-[[first-event-error]]"], 1);
}

#[test]
fn affinity_keeps_a_session_on_one_key() {
    let mock = Mock::start();
    let gw = Gateway::start(&ch("c", "anthropic", &mock.url, &["key-a-000", "key-b-000", "key-c-000"], ""), "");
    for _ in 0..9 {
        let body = json!({"model": "claude-x", "max_tokens": 8, "metadata": {"user_id": "session-42"},
                          "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(gw.anthropic(&body.to_string()).0, 200);
    }
    assert_eq!(mock.by_key().len(), 1, "one session, one key: {:?}", mock.by_key());
    // A header session id works too, for any dialect.
    mock.reset();
    let auth = format!("Bearer {ACCESS_KEY}");
    for _ in 0..6 {
        let (s, _, _) = gw.post(
            "/v1/chat/completions",
            &[("authorization", &auth), ("x-session-id", "s-7")],
            &messages_json("gpt", "hi", false),
        );
        assert_eq!(s, 200);
    }
    assert_eq!(mock.by_key().len(), 1);
    // Codex names its session in `session-id`.
    mock.reset();
    for _ in 0..6 {
        let body = json!({"model": "gpt", "input": "hi"}).to_string();
        let (s, _, _) =
            gw.post("/v1/responses", &[("authorization", &auth), ("session-id", "019a-codex-session")], &body);
        assert_eq!(s, 200);
    }
    assert_eq!(mock.by_key().len(), 1, "{:?}", mock.by_key());
}

#[test]
fn thinking_is_stripped_only_when_the_provider_family_changes() {
    let mock = Mock::start();
    let channels = ch("direct", "anthropic", &mock.url, &["direct-key-000"], ", family: anthropic, priority: 1")
        + &ch("other", "anthropic", &mock.url, &["other-key-000"], ", family: other-cloud, priority: 2");
    let gw = Gateway::start(&channels, "");
    let convo = |text: &str| {
        json!({"model": "claude-x", "max_tokens": 4096, "metadata": {"user_id": "s-think"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": "q"},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "SIG"}, {"type": "text", "text": "a"}]},
                {"role": "user", "content": text}]})
        .to_string()
    };
    assert_eq!(gw.anthropic(&convo("hi")).0, 200);
    assert!(mock.last_request()["body"].as_str().unwrap().contains("SIG"), "same family: kept byte for byte");
    // The first channel's key now fails: the session moves to the other family.
    let (status, _) = gw.anthropic(&convo("[[error:529]] x"));
    assert_eq!(status, 529, "both channels see the directive in the message");
    let reqs = mock.requests();
    let to_other = reqs.iter().find(|r| r["headers"]["x-api-key"] == "other-key-000").unwrap();
    let sent = to_other["body"].as_str().unwrap();
    assert!(!sent.contains("SIG") && !sent.contains("\"thinking\":\"t\""), "{sent}");
    let to_direct = reqs.iter().rev().find(|r| r["headers"]["x-api-key"] == "direct-key-000").unwrap();
    assert!(to_direct["body"].as_str().unwrap().contains("SIG"));
}

/// Claude Code's `/model` after a pause: the history a Gemini channel answered (thinking
/// the gateway signed `gemini:`) goes on under a model only Anthropic serves, with no
/// session record left to say so. Anthropic refuses those signatures: they are removed,
/// and Anthropic's own are kept.
#[test]
fn thinking_the_gateway_signed_is_removed_under_a_model_only_anthropic_serves() {
    let mock = Mock::start();
    let url = &mock.url;
    let channels = format!(
        "  - {{name: a, protocol: anthropic, base_url: \"{url}\", keys: [a-key-0000], models: [\"claude-*\"]}}\n  \
         - {{name: g, protocol: gemini, base_url: \"{url}\", keys: [g-key-0000], models: [\"gemini-*\"]}}\n"
    );
    let gw = Gateway::start(&channels, "");
    let body = json!({"model": "claude-x", "max_tokens": 64,
        "messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "from gemini", "signature": "gemini:QUJD"}, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "from claude", "signature": "EqQB"}, {"type": "text", "text": "b"}]},
            {"role": "user", "content": "q3"}]});
    assert_eq!(gw.anthropic(&body.to_string()).0, 200);
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "a"}]));
    assert_eq!(sent["messages"][3]["content"], body["messages"][3]["content"]);
    // After a reload or a restart onto Anthropic channels alone, alike: the history was
    // answered under the earlier config.
    let gw = Gateway::start(&ch("a", "anthropic", url, &["a-key-0000"], ""), "");
    let unsigned = json!({"model": "claude-x", "max_tokens": 64,
        "messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "from a chat upstream", "signature": ""}, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"}]});
    assert_eq!(gw.anthropic(&unsigned.to_string()).0, 200);
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "a"}]));
}

#[test]
fn admin_view_needs_the_admin_key() {
    let mock = Mock::start();
    let gw = Gateway::start(&ch("c", "openai", &mock.url, &["sk-upstream-secret-9999"], ""), "");
    let url = format!("{}/admin/channels", gw.url);
    assert_eq!(get(&url, &[]).0, 401);
    assert_eq!(get(&url, &[("x-api-key", ACCESS_KEY)]).0, 401, "access keys are not admin keys");
    let (status, _, body) = get(&url, &[("authorization", &format!("Bearer {ADMIN_KEY}"))]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["channels"][0]["name"], "c");
    assert_eq!(v["channels"][0]["state"], "up");
    assert_eq!(v["channels"][0]["keys"][0]["key_id"], "…9999");
    assert!(!body.contains("sk-upstream-secret"), "{body}");
}

/// A channel probed every second at `probe_path` (priority 1) and a backup (priority 2).
fn probed_with_backup(mock: &Mock, probe_path: &str) -> Gateway {
    let probed = format!(", priority: 1, health_check: {{path: {probe_path}, interval_secs: 1}}");
    let channels = ch("probed", "openai", &mock.url, &["probed-key-000"], &probed)
        + &ch("backup", "openai", &mock.url, &["backup-key-000"], ", priority: 2");
    Gateway::start(&channels, "")
}

#[test]
fn a_passing_health_check_keeps_its_channel_in_service() {
    let mock = Mock::start();
    let gw = probed_with_backup(&mock, "/v1/models");
    // The start-up probe and at least one more (a second apart) get the mock's 200.
    let deadline = Instant::now() + Duration::from_secs(5);
    while mock.models_listed() < 2 {
        assert!(Instant::now() < deadline, "fewer than two probes in 5 s:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    mock.reset();
    for _ in 0..4 {
        assert_eq!(gw.openai(&messages_json("gpt-x", "hi", false)).0, 200);
    }
    let by_key = mock.by_key();
    assert_eq!(by_key.get("probed-key-000"), Some(&4), "{by_key:?}\n{}", gw.log());
    assert!(!gw.log().contains("active health check says down"), "{}", gw.log());
}

#[test]
fn active_health_check_takes_a_failing_channel_out() {
    let mock = Mock::start();
    let gw = probed_with_backup(&mock, "/no-such-path");
    // The first probe runs at start-up and gets a 404 from the mock; the gateway says
    // so once it has taken the key out.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gw.log().contains("channel probed key …-000: active health check says down") {
        assert!(Instant::now() < deadline, "the probed key was not taken out:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    mock.reset();
    for _ in 0..4 {
        assert_eq!(gw.openai(&messages_json("gpt-x", "hi", false)).0, 200);
    }
    // Probes go on meanwhile (GET, with the probed key): only the requests count.
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| r["headers"]["authorization"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(keys, ["Bearer backup-key-000"; 4], "{}", gw.log());
}

/// A reload builds new balancers: the channel is probed again at once rather than at
/// its next interval (30 s here), and the admin view shows what the probe says.
#[test]
fn a_reload_probes_again_at_once_and_the_admin_view_shows_the_probe() {
    let mock = Mock::start();
    let probed = ", priority: 1, health_check: {path: /no-such-path, interval_secs: 30}";
    let channels = ch("probed", "openai", &mock.url, &["probed-key-000"], probed)
        + &ch("backup", "openai", &mock.url, &["backup-key-000"], ", priority: 2");
    let metrics_port = free_port();
    let gw = Gateway::start(&channels, &format!("  metrics_listen: \"127.0.0.1:{metrics_port}\""));
    let said_down = || gw.log().matches("channel probed key …-000: active health check says down").count();
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while said_down() < n {
            assert!(Instant::now() < deadline, "no probe:\n{}", gw.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(1);
    let admin = || -> Value {
        let (_, _, body) = get(&format!("{}/admin/channels", gw.url), &[("x-api-key", ADMIN_KEY)]);
        serde_json::from_str(&body).unwrap()
    };
    let view = admin();
    assert_eq!(view["channels"][0]["keys"][0]["probe"], "down", "{view}");
    assert_eq!(view["channels"][1]["keys"][0].get("probe"), None, "no probe, no field: {view}");
    let (_, _, metrics) = get(&format!("http://127.0.0.1:{metrics_port}/metrics"), &[]);
    assert!(metrics.contains("llm_relay_key_up{channel=\"probed\",key_id=\"…-000\"} 0"), "{metrics}");
    assert!(metrics.contains("llm_relay_key_up{channel=\"backup\",key_id=\"…-000\"} 1"), "{metrics}");
    let (status, _, _) = post(&format!("{}/admin/reload", gw.url), &[("x-api-key", ADMIN_KEY)], "");
    assert_eq!(status, 200);
    wait_for(2);
    mock.reset();
    for _ in 0..3 {
        assert_eq!(gw.openai(&messages_json("gpt-x", "hi", false)).0, 200);
    }
    assert_eq!(mock.by_key().get("backup-key-000"), Some(&3), "{:?}", mock.by_key());
}

/// A bad request reported inside a 200 stream (a Chat upstream's first chunk says the
/// prompt is too long) is the client's answer: not sent to the next channel, and not
/// counted against the channel, which stays up for everyone else.
#[test]
fn an_in_band_bad_request_is_answered_at_once_and_leaves_the_channel_up() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            read_request(&mut conn);
            let data = r#"data: {"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#;
            let body = format!("{data}\n\n");
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(format!("{head}{body}").as_bytes());
        }
    });
    let mock = Mock::start();
    let channels = ch("stub", "openai", &url, &["stub-key-0000"], ", priority: 1")
        + &ch("backup", "openai", &mock.url, &["backup-key-000"], ", priority: 2");
    let gw = Gateway::start(&channels, "");
    for _ in 0..3 {
        let (status, body) = gw.anthropic(&messages_json("gpt-x", "a very long prompt", true));
        assert_eq!(status, 400, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
    }
    assert!(mock.requests().is_empty(), "the bad request was sent on: {:?}", mock.requests());
    let (_, _, admin) = get(&format!("{}/admin/channels", gw.url), &[("x-api-key", ADMIN_KEY)]);
    let admin: Value = serde_json::from_str(&admin).unwrap();
    assert_eq!(admin["channels"][0]["state"], "up", "{admin}");
}

#[test]
fn with_no_openai_channel_chat_clients_are_translated_from_one_parse() {
    let mock = Mock::start();
    // Without the gateway's cache breakpoints, which `prompt_caching: false` turns off.
    let extra = ", model_map: {\"gpt-*\": \"claude-sonnet-4-5\"}, prompt_caching: false";
    let channels = ch("ant", "anthropic", &mock.url, &["ant-key-000"], extra);
    let gw = Gateway::start(&channels, "");
    let chat = |stream: bool| {
        json!({"model": "gpt-x", "stream": stream, "metadata": {"user_id": "u1"},
               "messages": [{"role": "system", "content": "brief"}, {"role": "user", "content": "hi"}]})
        .to_string()
    };
    let (status, body) = gw.openai(&chat(false));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["system"], json!([{"type": "text", "text": "brief"}]));
    assert_eq!(sent["messages"][0], json!({"role": "user", "content": "hi"}));
    let (status, body) = gw.openai(&chat(true));
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("data: {"), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let (status, body) = gw.openai(r#"{"model":"gpt-x","messages":[1,]}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("request body is not valid JSON"), "{body}");
}

#[test]
fn with_no_anthropic_channel_claude_clients_are_translated_from_one_parse() {
    let mock = Mock::start();
    let channels = ch("oai", "openai", &mock.url, &["oai-key-000"], ", model_map: {\"claude-*\": \"gpt-4o\"}");
    let gw = Gateway::start(&channels, "");
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", false));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["type"], "text");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["messages"][0], json!({"role": "user", "content": "hi"}));
    let (status, body) = gw.anthropic(&messages_json("claude-x", "hi", true));
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("event: message_start\n"), "{body}");
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{body}");
    let (status, body) = gw.anthropic(r#"{"model":"claude-x","max_tokens":5,"messages":[1,]}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("request body is not valid JSON"), "{body}");
}
