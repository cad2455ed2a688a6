//! Every client dialect against every upstream protocol, stream and non-stream, text
//! and tools, through the real gateway and the mock upstream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const CLIENTS: [&str; 4] = ["anthropic", "openai", "responses", "gemini"];
const UPSTREAMS: [&str; 4] = ["anthropic", "openai", "responses", "gemini"];

fn gateway(mock: &Mock) -> Gateway {
    let mut channels = String::new();
    for up in UPSTREAMS {
        channels.push_str(&format!(
            "  - {{name: ch-{up}, protocol: {up}, base_url: \"{}\", keys: [\"key-{up}-0000\"], models: [\"up-{up}-*\"], model_map: {{\"up-{up}-*\": \"mock-{up}-model\"}}}}\n",
            mock.url
        ));
    }
    Gateway::start(&channels, "")
}

/// One request in the client's dialect; returns (status, body).
fn send(gw: &Gateway, client: &str, model: &str, text: &str, stream: bool) -> (u16, String) {
    let auth = format!("Bearer {ACCESS_KEY}");
    let weather = json!({"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}});
    match client {
        "anthropic" => gw.anthropic(
            &json!({"model": model, "max_tokens": 200, "stream": stream, "messages": [{"role": "user", "content": text}],
                    "tools": [{"name": "get_weather", "input_schema": weather}]})
            .to_string(),
        ),
        "openai" => gw.openai(
            &json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}],
                    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": weather}}]})
            .to_string(),
        ),
        "responses" => {
            let body = json!({"model": model, "stream": stream, "input": text,
                              "tools": [{"type": "function", "name": "get_weather", "parameters": weather}]});
            let (s, _, b) = gw.post("/v1/responses", &[("authorization", &auth)], &body.to_string());
            (s, b)
        }
        "gemini" => {
            let path = if stream {
                format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
            } else {
                format!("/v1beta/models/{model}:generateContent")
            };
            let body = json!({"contents": [{"role": "user", "parts": [{"text": text}]}],
                              "tools": [{"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": weather}]}]});
            let (s, _, b) = gw.post(&path, &[("x-goog-api-key", ACCESS_KEY)], &body.to_string());
            (s, b)
        }
        _ => unreachable!(),
    }
}

/// What a client saw: the answer text, the tool calls (name, parsed args), and whether
/// the stream ended with the dialect's terminator.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    text: String,
    calls: Vec<(String, Value)>,
    terminated: bool,
}

fn parse_args(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| panic!("bad tool arguments {s:?}"))
}

fn read(client: &str, stream: bool, body: &str) -> Seen {
    let mut seen = Seen::default();
    if !stream {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        seen.terminated = true;
        match client {
            "anthropic" => {
                for b in v["content"].as_array().unwrap() {
                    match b["type"].as_str().unwrap() {
                        "text" => seen.text.push_str(b["text"].as_str().unwrap()),
                        "tool_use" => seen.calls.push((b["name"].as_str().unwrap().into(), b["input"].clone())),
                        _ => {}
                    }
                }
            }
            "openai" => {
                let m = &v["choices"][0]["message"];
                seen.text = m["content"].as_str().unwrap_or("").to_string();
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    seen.calls.push((
                        c["function"]["name"].as_str().unwrap().into(),
                        parse_args(c["function"]["arguments"].as_str().unwrap()),
                    ));
                }
            }
            "responses" => {
                assert_eq!(v["object"], "response", "{body}");
                for item in v["output"].as_array().unwrap() {
                    match item["type"].as_str().unwrap() {
                        "message" => {
                            for p in item["content"].as_array().unwrap() {
                                seen.text.push_str(p["text"].as_str().unwrap_or(""));
                            }
                        }
                        "function_call" => seen.calls.push((
                            item["name"].as_str().unwrap().into(),
                            parse_args(item["arguments"].as_str().unwrap()),
                        )),
                        _ => {}
                    }
                }
            }
            "gemini" => {
                for p in v["candidates"][0]["content"]["parts"].as_array().unwrap() {
                    if p["thought"] == true {
                        continue;
                    }
                    if let Some(t) = p["text"].as_str() {
                        seen.text.push_str(t);
                    }
                    if let Some(f) = p.get("functionCall") {
                        seen.calls.push((f["name"].as_str().unwrap().into(), f["args"].clone()));
                    }
                }
            }
            _ => unreachable!(),
        }
        return seen;
    }
    let data = sse_data(body);
    match client {
        "anthropic" => {
            let mut args: Vec<String> = Vec::new();
            for d in &data {
                let e: Value = serde_json::from_str(d).unwrap();
                match e["type"].as_str().unwrap() {
                    "content_block_start" if e["content_block"]["type"] == "tool_use" => {
                        seen.calls.push((e["content_block"]["name"].as_str().unwrap().into(), Value::Null));
                        args.push(String::new());
                    }
                    "content_block_delta" => match e["delta"]["type"].as_str().unwrap() {
                        "text_delta" => seen.text.push_str(e["delta"]["text"].as_str().unwrap()),
                        "input_json_delta" => {
                            args.last_mut().unwrap().push_str(e["delta"]["partial_json"].as_str().unwrap())
                        }
                        _ => {}
                    },
                    "message_stop" => seen.terminated = true,
                    "error" => panic!("error event: {body}"),
                    _ => {}
                }
            }
            for (c, a) in seen.calls.iter_mut().zip(args) {
                c.1 = parse_args(&a);
            }
        }
        "openai" => {
            let mut args: Vec<String> = Vec::new();
            for d in &data {
                if d == "[DONE]" {
                    seen.terminated = true;
                    continue;
                }
                let c: Value = serde_json::from_str(d).unwrap();
                assert!(c.get("error").is_none(), "error chunk: {body}");
                let Some(delta) = c["choices"].get(0).map(|ch| &ch["delta"]) else { continue };
                seen.text.push_str(delta["content"].as_str().unwrap_or(""));
                for tc in delta["tool_calls"].as_array().into_iter().flatten() {
                    let i = tc["index"].as_u64().unwrap() as usize;
                    if let Some(name) = tc["function"]["name"].as_str() {
                        seen.calls.push((name.into(), Value::Null));
                        args.push(String::new());
                    }
                    args[i].push_str(tc["function"]["arguments"].as_str().unwrap_or(""));
                }
            }
            for (c, a) in seen.calls.iter_mut().zip(args) {
                c.1 = parse_args(&a);
            }
        }
        "responses" => {
            for d in &data {
                let e: Value = serde_json::from_str(d).unwrap();
                match e["type"].as_str().unwrap() {
                    "response.output_text.delta" => seen.text.push_str(e["delta"].as_str().unwrap()),
                    "response.output_item.done" if e["item"]["type"] == "function_call" => {
                        seen.calls.push((
                            e["item"]["name"].as_str().unwrap().into(),
                            parse_args(e["item"]["arguments"].as_str().unwrap()),
                        ));
                    }
                    "response.completed" => seen.terminated = true,
                    "error" | "response.failed" => panic!("error event: {body}"),
                    _ => {}
                }
            }
        }
        "gemini" => {
            let mut finished = false;
            for d in &data {
                let c: Value = serde_json::from_str(d).unwrap();
                assert!(c.get("error").is_none(), "error chunk: {body}");
                let cand = &c["candidates"][0];
                for p in cand["content"]["parts"].as_array().into_iter().flatten() {
                    if p["thought"] == true {
                        continue;
                    }
                    if let Some(t) = p["text"].as_str() {
                        seen.text.push_str(t);
                    }
                    if let Some(f) = p.get("functionCall") {
                        seen.calls.push((f["name"].as_str().unwrap().into(), f["args"].clone()));
                    }
                }
                finished |= cand.get("finishReason").is_some_and(|f| f.is_string());
            }
            seen.terminated = finished;
        }
        _ => unreachable!(),
    }
    seen
}

#[test]
fn every_client_on_every_upstream() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let mut failures = Vec::new();
    for client in CLIENTS {
        for up in UPSTREAMS {
            for stream in [false, true] {
                let model = format!("up-{up}-x");
                let (status, body) = send(&gw, client, &model, "hi", stream);
                let what = format!("{client} → {up}, stream={stream}, text");
                if status != 200 {
                    failures.push(format!("{what}: status {status}: {body}"));
                    continue;
                }
                let seen = std::panic::catch_unwind(|| read(client, stream, &body));
                match seen {
                    Ok(s) if s.text == "Hello from mock." && s.terminated && s.calls.is_empty() => {}
                    Ok(s) => failures.push(format!("{what}: saw {s:?} in {body}")),
                    Err(_) => failures.push(format!("{what}: unreadable: {body}")),
                }

                let (status, body) = send(&gw, client, &model, "[[tool]]", stream);
                let what = format!("{client} → {up}, stream={stream}, tool");
                if status != 200 {
                    failures.push(format!("{what}: status {status}: {body}"));
                    continue;
                }
                let seen = std::panic::catch_unwind(|| read(client, stream, &body));
                let want = vec![("get_weather".to_string(), json!({"city": "Paris", "unit": "c"}))];
                match seen {
                    Ok(s) if s.calls == want && s.text == "Checking." && s.terminated => {}
                    Ok(s) => failures.push(format!("{what}: saw {s:?} in {body}")),
                    Err(_) => failures.push(format!("{what}: unreadable: {body}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of 64 cases failed:\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn gemini_json_array_stream_without_alt_sse() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}).to_string();
    // Translated, and from a Gemini upstream (whose SSE stream is re-framed as an array).
    for model in ["up-anthropic-x", "up-gemini-x"] {
        let (status, headers, out) =
            gw.post(&format!("/v1beta/models/{model}:streamGenerateContent"), &[("x-goog-api-key", ACCESS_KEY)], &body);
        assert_eq!(status, 200, "{out}");
        assert!(header(&headers, "content-type").unwrap().starts_with("application/json"));
        let chunks: Vec<Value> =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{model}: not a JSON array ({e}): {out}"));
        assert_eq!(gemini_text(&chunks), "Hello from mock.", "{model}");
        assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP", "{model}");
    }
    // ?key= works too, and a wrong one is refused in Gemini's shape.
    let (status, _, out) = gw.post(&format!("/v1beta/models/up-openai-x:generateContent?key={ACCESS_KEY}"), &[], &body);
    assert_eq!(status, 200, "{out}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["candidates"][0]["content"]["parts"][0]["text"], "Hello from mock.");
    let (status, _, out) = gw.post("/v1beta/models/up-openai-x:generateContent?key=wrong-key-0000", &[], &body);
    assert_eq!(status, 401, "{out}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["error"]["status"], "UNAUTHENTICATED");
}

#[test]
fn models_lists_in_each_shape() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let auth = format!("Bearer {ACCESS_KEY}");
    let (status, _, body) = get(&format!("{}/v1/models", gw.url), &[("authorization", &auth)]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["up-anthropic-*", "up-openai-*", "up-responses-*", "up-gemini-*"]);
    assert_eq!(v["data"][0]["llm_relay"]["upstream_models"], json!(["mock-anthropic-model"]));
    let (_, _, body) =
        get(&format!("{}/v1/models", gw.url), &[("x-api-key", ACCESS_KEY), ("anthropic-version", "2023-06-01")]);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["has_more"], false);
    let (_, _, body) = get(&format!("{}/v1beta/models", gw.url), &[("x-goog-api-key", ACCESS_KEY)]);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["models"][3]["name"], "models/up-gemini-*");
    let (status, _, body) = get(&format!("{}/v1/models/up-openai-4", gw.url), &[("authorization", &auth)]);
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], "up-openai-4");
    let (status, _, _) = get(&format!("{}/v1/models/nothing", gw.url), &[("authorization", &auth)]);
    assert_eq!(status, 404);
    assert_eq!(get(&format!("{}/v1/models", gw.url), &[]).0, 401);
}

#[test]
fn count_tokens_forwards_to_anthropic_or_estimates() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let body =
        json!({"model": "up-anthropic-x", "messages": [{"role": "user", "content": "Hello, world!"}]}).to_string();
    let (status, headers, out) = gw.post("/v1/messages/count_tokens", &[("x-api-key", ACCESS_KEY)], &body);
    assert_eq!(status, 200, "{out}");
    assert!(header(&headers, "x-llm-relay-token-count").is_none(), "forwarded, exact");
    let forwarded = mock.last_request();
    assert_eq!(forwarded["path"], "/v1/messages/count_tokens");
    assert!(forwarded["body"].as_str().unwrap().contains("mock-anthropic-model"));
    // The mock counts a quarter of the body's bytes: its answer, passed on as it is.
    assert_eq!(out, format!(r#"{{"input_tokens":{}}}"#, forwarded["body"].as_str().unwrap().len() / 4));
    let body = json!({"model": "up-openai-x", "messages": [{"role": "user", "content": "Hello, world!"}]}).to_string();
    let (status, headers, out) = gw.post("/v1/messages/count_tokens", &[("x-api-key", ACCESS_KEY)], &body);
    assert_eq!(status, 200);
    assert_eq!(out, r#"{"input_tokens":7}"#, "4 tokens of text plus 3 of message framing");
    assert_eq!(header(&headers, "x-llm-relay-token-count"), Some("estimate (o200k_base)"));
}

#[test]
fn gemini_count_tokens_forwards_to_gemini_or_estimates() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let key = [("x-goog-api-key", ACCESS_KEY)];
    // The SDK's shape: the whole request, system instruction included.
    let body = json!({"generateContentRequest": {"model": "models/up-gemini-x",
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hello, world!"}]}]}})
    .to_string();
    let (status, headers, out) = gw.post("/v1beta/models/up-gemini-x:countTokens", &key, &body);
    assert_eq!(status, 200, "{out}");
    assert!(header(&headers, "x-llm-relay-token-count").is_none(), "forwarded, exact");
    let forwarded = mock.last_request();
    assert_eq!(forwarded["path"], "/v1beta/models/mock-gemini-model:countTokens");
    let sent: Value = serde_json::from_str(forwarded["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["generateContentRequest"]["model"], "models/mock-gemini-model");
    assert_eq!(sent["generateContentRequest"]["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(out, format!(r#"{{"totalTokens":{}}}"#, forwarded["body"].as_str().unwrap().len() / 4));
    // Contents alone, for a model no Gemini channel serves: estimated, in Gemini's shape.
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello, world!"}]}]}).to_string();
    let (status, headers, out) = gw.post("/v1beta/models/up-openai-x:countTokens", &key, &body);
    assert_eq!(status, 200, "{out}");
    assert_eq!(out, r#"{"totalTokens":7}"#);
    assert_eq!(header(&headers, "x-llm-relay-token-count"), Some("estimate (o200k_base)"));
    let (status, _, out) = gw.post("/v1beta/models/up-openai-x:countTokens", &key, r#"{"contents": []}"#);
    assert_eq!((status, out.contains("INVALID_ARGUMENT")), (400, true), "{out}");
    // Gemini CLI counts a lone tool result, which answers no call of the turns sent:
    // estimated all the same.
    let lone = json!({"contents": [{"role": "user", "parts": [
        {"functionResponse": {"name": "read_file", "response": {"output": "Hello, world!"}}}]}]});
    let (status, _, out) = gw.post("/v1beta/models/up-openai-x:countTokens", &key, &lone.to_string());
    assert_eq!(status, 200, "{out}");
    let total = serde_json::from_str::<Value>(&out).unwrap()["totalTokens"].as_u64().unwrap();
    assert!((5..20).contains(&total), "{out}");
}

#[test]
fn responses_previous_response_id_continues_a_translated_conversation() {
    let mock = Mock::start();
    let gw = gateway(&mock);
    let auth = format!("Bearer {ACCESS_KEY}");
    let first = json!({"model": "up-anthropic-x", "instructions": "Be brief.",
        "input": [{"role": "developer", "content": "Call me by name."}, {"role": "user", "content": "My name is Ada."}]});
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &first.to_string());
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("resp_"));
    let second = json!({"model": "up-anthropic-x", "input": "What is my name?", "previous_response_id": id});
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &second.to_string());
    assert_eq!(status, 200, "{body}");
    let sent: Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
    let msgs = sent["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "history + the new turn: {sent}");
    assert_eq!(msgs[0]["content"], "My name is Ada.");
    assert_eq!(msgs[1], json!({"role": "assistant", "content": [{"type": "text", "text": "Hello from mock."}]}));
    // The gateway's cache breakpoints mark the end of the conversation and of the system.
    let ephemeral = json!({"type": "ephemeral"});
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [{"type": "text", "text": "What is my name?", "cache_control": ephemeral}]})
    );
    // As on OpenAI's API, the first request's instructions are not carried over; its
    // developer message, an input item, is.
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "Call me by name.", "cache_control": ephemeral}]),
        "{sent}"
    );
    // Another caller's access key does not reach this conversation.
    let other = format!("Bearer {OTHER_ACCESS_KEY}");
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &other)], &second.to_string());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is not known to this gateway"), "{body}");
    let unknown = json!({"model": "up-anthropic-x", "input": "x", "previous_response_id": "resp_nope"});
    let (status, _, body) = gw.post("/v1/responses", &[("authorization", &auth)], &unknown.to_string());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("resp_nope"));
}
