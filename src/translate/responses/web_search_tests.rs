//! Anthropic's hosted web search on a Responses upstream: the tool, the search's items
//! back as Anthropic's server-tool blocks, complete and streamed.

use super::stream_tests::{check_decode, render};
use super::tests::fixture;
use super::*;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::openai_responses::Item;
use crate::protocol::Dialect;
use crate::translate::stream::{ClientStreamOptions, StreamTranslator};
use serde_json::{json, Value};

fn upstream_body(request: Value) -> Value {
    let req: MessagesRequest = serde_json::from_value(request).unwrap();
    let target =
        crate::translate::TargetOptions { hosted_web_search: true, ..crate::translate::TargetOptions::new("gpt-5.1") };
    serde_json::from_slice(&canonical_to_request(&req, &target).unwrap()).unwrap()
}

#[test]
fn the_hosted_search_tool_becomes_responses_web_search() {
    let v = upstream_body(json!({
        "model": "claude", "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Perform a web search for the query: pingora release"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8,
                   "allowed_domains": ["github.com", "crates.io"], "blocked_domains": ["example.com"],
                   "user_location": {"type": "approximate", "city": "Lisbon", "country": "PT", "timezone": "Europe/Lisbon"}}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    }));
    assert_eq!(
        v["tools"],
        json!([{"type": "web_search", "filters": {"allowed_domains": ["github.com", "crates.io"]},
                "user_location": {"type": "approximate", "city": "Lisbon", "country": "PT", "timezone": "Europe/Lisbon"}}])
    );
    // The search alone is forced as `required`: OpenAI's tool choice types do not name
    // `web_search`.
    assert_eq!(v["tool_choice"], json!("required"));
    assert_eq!(v["include"], json!(["web_search_call.action.sources"]));
    let v = upstream_body(json!({
        "model": "claude", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    }));
    assert_eq!(
        v["tool_choice"],
        json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search"}]})
    );

    // Without one, nothing of it is sent; a function tool is still forced by name.
    let v = upstream_body(json!({
        "model": "claude", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "web_search", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    }));
    assert_eq!(v["tools"][0]["type"], json!("function"));
    assert_eq!(v["tool_choice"], json!({"type": "function", "name": "web_search"}));
    assert_eq!(v.get("include"), None);

    // A channel that does not run hosted search (`hosted_web_search`) gets none, and the
    // choice that forced it goes to the model.
    let req: MessagesRequest = serde_json::from_value(json!({
        "model": "claude", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    }))
    .unwrap();
    let body = canonical_to_request(&req, &crate::translate::TargetOptions::new("gpt-5.1")).unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["tools"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["tool_choice"], json!("auto"));
    assert_eq!(v.get("include"), None);
}

#[test]
fn an_anthropic_channel_without_hosted_search_gets_none() {
    let body = json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}]});
    let mut req = request_to_canonical(body.to_string().as_bytes()).unwrap().0;
    let sent = |req: &mut MessagesRequest, hosted: bool| -> Value {
        let target = crate::translate::TargetOptions {
            hosted_web_search: hosted,
            ..crate::translate::TargetOptions::new("claude")
        };
        serde_json::from_slice(&crate::translate::anthropic_request::anthropic_body(req, &target, 0)).unwrap()
    };
    let v = sent(&mut req, false);
    assert_eq!(v["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect::<Vec<_>>(), ["f"]);
    assert_eq!(v["tool_choice"], json!({"type": "auto"}));
    let v = sent(&mut req, true);
    assert_eq!(v["tools"][1], json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5}));
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": "web_search"}));
    // The request is as it was: a retry on another channel starts from it.
    assert_eq!(req.tools.as_ref().map(Vec::len), Some(2));
}

/// What Anthropic's own answer holds for one search: the call, then the pages found.
fn expected_search_blocks() -> Value {
    json!([
        {"type": "server_tool_use", "id": "srvtoolu_ws_0a1b2c", "name": "web_search",
         "input": {"query": "pingora latest release"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_ws_0a1b2c", "content": [
            {"type": "web_search_result", "url": "https://github.com/cloudflare/pingora/releases",
             "title": "https://github.com/cloudflare/pingora/releases", "encrypted_content": "", "page_age": null},
            {"type": "web_search_result", "url": "https://crates.io/crates/pingora",
             "title": "https://crates.io/crates/pingora", "encrypted_content": "", "page_age": null}
        ]}
    ])
}

#[test]
fn a_complete_answer_has_the_search_before_its_text() {
    let resp = serde_json::to_value(response_to_canonical(&fixture("response_web_search.json")).unwrap()).unwrap();
    let mut want = expected_search_blocks();
    want.as_array_mut().unwrap().push(json!({"type": "text", "text": "Pingora 0.6.0 is the latest release."}));
    assert_eq!(resp["content"], want);
    assert_eq!(resp["stop_reason"], json!("end_turn"));
}

#[test]
fn a_streamed_search_opens_as_anthropic_streams_its_own() {
    let events = check_decode("web_search.sse");
    let rendered = render(&events);
    let data: Vec<Value> =
        rendered.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    let blocks = expected_search_blocks();
    let mut call_start = blocks[0].clone();
    call_start["input"] = json!({});
    assert_eq!(
        data[1..7],
        [
            json!({"type": "content_block_start", "index": 0, "content_block": call_start}),
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "input_json_delta", "partial_json": "{\"query\":\"pingora latest release\"}"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": blocks[1]}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}}),
        ]
    );
    let text: String = data.iter().filter_map(|d| d["delta"]["text"].as_str()).collect();
    assert_eq!(text, "Pingora 0.6.0 is the latest release.");
    assert_eq!(data[data.len() - 2]["delta"]["stop_reason"], json!("end_turn"));
}

#[test]
fn other_clients_get_the_text_and_no_call_of_the_search() {
    let input = fixture("web_search.sse");
    let opts = ClientStreamOptions { include_usage: true, ..Default::default() };
    let mut t = StreamTranslator::new_translating(Dialect::OpenAiResponses, Dialect::OpenAiChat, opts);
    let mut out = t.push(&input).to_vec();
    out.extend_from_slice(&t.finish());
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("tool_calls") && !out.contains("srvtoolu"), "{out}");
    let chunks: Vec<Value> = out
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Pingora 0.6.0 is the latest release.");
    assert_eq!(chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str()).collect::<Vec<_>>(), ["stop"]);
}

// ======================================================= Responses clients, Anthropic upstreams

fn responses_request(tools: Value) -> crate::protocol::anthropic::MessagesRequest {
    let body = json!({"model": "claude-sonnet-4-5", "input": "Find the latest Pingora release.", "tools": tools});
    request_to_canonical(body.to_string().as_bytes()).unwrap().0
}

#[test]
fn a_responses_clients_web_search_runs_as_anthropics() {
    let req = responses_request(json!([
        {"type": "function", "name": "shell", "parameters": {"type": "object"}},
        {"type": "web_search", "filters": {"allowed_domains": ["github.com"]},
         "user_location": {"type": "approximate", "country": "PT"}}
    ]));
    let tools = serde_json::to_value(&req.tools).unwrap();
    assert_eq!(
        tools[1],
        json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5, "allowed_domains": ["github.com"],
               "user_location": {"type": "approximate", "country": "PT"}})
    );
    // A search kept to the cached index is not made a live one; a function of that
    // name keeps it.
    let req = responses_request(json!([{"type": "web_search", "external_web_access": false}]));
    assert_eq!(req.tools, None);
    // Forced by type, or allowed alone, it is forced by name.
    for choice in [
        json!({"type": "web_search"}),
        json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "web_search_preview"}]}),
    ] {
        let body = json!({"model": "m", "input": "x", "tool_choice": choice,
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search_preview"}]});
        let req = request_to_canonical(body.to_string().as_bytes()).unwrap().0;
        let tools = serde_json::to_value(&req.tools).unwrap();
        let names: Vec<&str> = tools.as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        let forced = serde_json::to_value(&req.tool_choice).unwrap();
        match choice["type"].as_str() {
            Some("web_search") => {
                assert_eq!(names, ["f", "web_search"]);
                assert_eq!(forced, json!({"type": "tool", "name": "web_search"}));
            }
            _ => {
                assert_eq!(names, ["web_search"]);
                assert_eq!(forced, json!({"type": "any"}));
            }
        }
    }
    // A search forced but kept to the cached index leaves the choice to the model.
    let body = json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search", "external_web_access": false}]});
    let req = request_to_canonical(body.to_string().as_bytes()).unwrap().0;
    assert_eq!(serde_json::to_value(&req.tool_choice).unwrap(), json!({"type": "auto"}));
    let req = responses_request(json!([
        {"type": "function", "name": "web_search", "parameters": {"type": "object"}}, {"type": "web_search"}
    ]));
    assert_eq!(serde_json::to_value(&req.tools).unwrap().as_array().map(Vec::len), Some(1));
}

fn with_sources() -> ResponsesRequestInfo {
    ResponsesRequestInfo { model: "claude".into(), stream: true, web_search_sources: true, ..Default::default() }
}

#[test]
fn anthropics_search_reaches_a_responses_client_as_a_web_search_call() {
    let out = super::stream_tests::check_encode("anthropic_web_search.sse");
    let input = fixture("anthropic_web_search.sse");
    super::stream_tests::assert_matches_complete_answer(&input, &out);
    let events: Vec<Value> = out
        .split_terminator("\n\n")
        .map(|f| serde_json::from_str(f.split_once("\ndata: ").unwrap().1).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let at = kinds.iter().position(|k| *k == "response.output_text.done").unwrap();
    assert_eq!(
        kinds[at..at + 9],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.web_search_call.in_progress",
            "response.web_search_call.searching",
            "response.web_search_call.completed",
            "response.output_item.done",
            "response.output_item.added",
        ]
    );
    assert_eq!(events[at + 3]["item"], json!({"type": "web_search_call", "id": "ws_test_1", "status": "in_progress"}));
    // Sources only when the client asked for them (`include`).
    assert_eq!(
        events[at + 7]["item"],
        json!({"type": "web_search_call", "id": "ws_test_1", "status": "completed",
               "action": {"type": "search", "query": "pingora latest release"}})
    );
    let text: String = events.iter().filter_map(|e| e["delta"].as_str()).collect();
    assert_eq!(text, "Let me search.Pingora 0.6.0 is the latest release.");

    let listed = super::stream_tests::encode_split(&input, &[], "resp_test", &with_sources());
    let done = listed
        .split_terminator("\n\n")
        .find(|f| f.contains("\"web_search_call\",\"id\"") && f.contains("output_item.done"));
    let done: Value = serde_json::from_str(done.unwrap().split_once("\ndata: ").unwrap().1).unwrap();
    assert_eq!(
        done["item"]["action"]["sources"],
        json!([{"type": "url", "url": "https://github.com/cloudflare/pingora/releases"},
               {"type": "url", "url": "https://crates.io/crates/pingora"}])
    );
}

#[test]
fn a_search_cut_off_before_its_results_failed() {
    let input = fixture("anthropic_web_search.sse");
    let text = String::from_utf8(input).unwrap();
    let cut = text.find("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2").unwrap();
    let truncated = format!("{}event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"max_tokens\"}},\"usage\":{{\"output_tokens\":9}}}}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n", &text[..cut]);
    let out = super::stream_tests::encode_split(truncated.as_bytes(), &[], "resp_test", &with_sources());
    let events = super::stream_tests::assert_frames_valid(&out);
    let response = super::stream_tests::final_response(&events);
    let search = response.output.iter().find(|i| matches!(i, Item::WebSearchCall { .. })).unwrap();
    assert_eq!(
        serde_json::to_value(search).unwrap(),
        json!({"type": "web_search_call", "id": "ws_test_1", "status": "failed",
               "action": {"type": "search", "query": "pingora latest release"}})
    );
}

#[test]
fn other_clients_of_anthropic_get_no_call_of_the_search() {
    let input = fixture("anthropic_web_search.sse");
    for client in [Dialect::OpenAiChat, Dialect::Gemini] {
        // Gemini clients get the search as grounding metadata (`gemini::search`).
        let mut t = StreamTranslator::new(Dialect::Anthropic, client, ClientStreamOptions::default());
        let mut out = t.push(&input).to_vec();
        out.extend_from_slice(&t.finish());
        let out = String::from_utf8(out).unwrap();
        for absent in ["tool_calls", "functionCall", "srvtoolu"] {
            assert!(!out.contains(absent), "{client:?}: {absent} in {out}");
        }
        let grounding = out.contains(r#""groundingMetadata":{"webSearchQueries":["pingora latest release"]"#);
        assert_eq!(grounding, client == Dialect::Gemini, "{client:?}: {out}");
        assert_eq!(out.contains("pingora latest release"), client == Dialect::Gemini, "{client:?}: {out}");
        assert!(out.contains("Pingora 0.6.0 is the latest release."), "{client:?}: {out}");
    }
}

/// A search forced by a Responses client runs on Anthropic and Responses upstreams only:
/// towards Chat and Gemini, which have no hosted search, the choice goes to the model.
#[test]
fn a_forced_search_leaves_the_choice_to_upstreams_without_one() {
    let body = json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}]});
    let req = request_to_canonical(body.to_string().as_bytes()).unwrap().0;
    let target = crate::translate::TargetOptions::new("m");
    let chat = serde_json::to_value(crate::translate::chat_request::canonical_to_chat(&req, &target)).unwrap();
    assert_eq!(chat["tool_choice"], json!("auto"));
    assert_eq!(chat["tools"].as_array().map(Vec::len), Some(1));
    let gemini: Value =
        serde_json::from_slice(&crate::translate::gemini::canonical_to_request(&req, &target).unwrap()).unwrap();
    assert_eq!(gemini["toolConfig"], json!({"functionCallingConfig": {"mode": "AUTO"}}));
    // A function forced by name still is.
    let body = json!({"model": "m", "input": "x", "tool_choice": {"type": "function", "name": "f"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}]});
    let req = request_to_canonical(body.to_string().as_bytes()).unwrap().0;
    let chat = serde_json::to_value(crate::translate::chat_request::canonical_to_chat(&req, &target)).unwrap();
    assert_eq!(chat["tool_choice"], json!({"type": "function", "function": {"name": "f"}}));
}
