//! Google Search ⇄ the canonical hosted web search: the tool both ways, and the
//! answer's grounding as server-tool blocks and back, complete and streamed.

use super::stream_tests::{decode, encode, event_lines, split_invariant, to_gemini_client};
use super::*;
use crate::protocol::anthropic::{ContentBlock, MessagesRequest, StreamEvent};
use serde_json::{json, Value};

fn upstream_body(request: Value, hosted: bool) -> Value {
    let req: MessagesRequest = serde_json::from_value(request).unwrap();
    let target = TargetOptions { hosted_web_search: hosted, ..TargetOptions::new("gemini-2.5-flash") };
    serde_json::from_slice(&canonical_to_request(&req, &target).unwrap()).unwrap()
}

/// Claude Code's WebSearch request: the search is its only tool.
fn search_request() -> Value {
    json!({
        "model": "claude", "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Perform a web search for the query: pingora release"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8,
                   "allowed_domains": ["github.com"]}],
        "tool_choice": {"type": "tool", "name": "web_search"}
    })
}

#[test]
fn the_hosted_search_alone_becomes_google_search_where_the_channel_runs_it() {
    let v = upstream_body(search_request(), true);
    assert_eq!(v["tools"], json!([{"googleSearch": {}}]));
    // A forced hosted tool leaves the choice to the model: no function to force.
    assert_eq!(v.get("toolConfig"), None);

    let v = upstream_body(search_request(), false);
    assert_eq!(v.get("tools"), None);

    // With functions, Gemini would refuse the mix (before Gemini 3, and without the
    // server-side calls sent back): the search is left out.
    let mut with_function = search_request();
    with_function["tools"].as_array_mut().unwrap().push(json!({"name": "read", "input_schema": {"type": "object"}}));
    let v = upstream_body(with_function, true);
    assert_eq!(
        v["tools"],
        json!([{"functionDeclarations": [{"name": "read", "parametersJsonSchema": {"type": "object"}}]}])
    );
}

#[test]
fn a_gemini_clients_google_search_is_the_canonical_search() {
    for name in ["googleSearch", "google_search", "googleSearchRetrieval"] {
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "pingora release"}]}],
            "tools": [{name: {}}, {"codeExecution": {}}]
        });
        let (req, _) = request_to_canonical(body.to_string().as_bytes(), "claude", false).unwrap();
        let tools = serde_json::to_value(req.tools.unwrap()).unwrap();
        assert_eq!(tools, json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]), "{name}");
        assert_eq!(req.tool_choice, None);
    }
    // Beside functions, after them; a choice among the functions stays theirs.
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "read"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["read"]}}
    });
    let (req, _) = request_to_canonical(body.to_string().as_bytes(), "claude", false).unwrap();
    let names: Vec<&str> = req.tools.iter().flatten().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["read", "web_search"]);
    assert_eq!(serde_json::to_value(&req.tool_choice).unwrap(), json!({"type": "tool", "name": "read"}));
    // A function of the client's named `web_search` keeps the name: the search is left out.
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "web_search"}]}]
    });
    let (req, _) = request_to_canonical(body.to_string().as_bytes(), "claude", false).unwrap();
    let tools = serde_json::to_value(req.tools.unwrap()).unwrap();
    assert_eq!(tools.as_array().unwrap().len(), 1);
    assert_eq!(tools[0].get("type"), None, "the function: {tools}");
}

const GROUNDING: &str = r#"{"webSearchQueries":["pingora latest release","pingora 0.9"],"groundingChunks":[{"web":{"uri":"https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA","title":"github.com"}},{"web":{"uri":"https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB"}},{"retrievedContext":{"uri":"gs://x"}}],"groundingSupports":[{"segment":{"endIndex":10,"text":"Pingora 0.9"},"groundingChunkIndices":[0]}],"searchEntryPoint":{"renderedContent":"<div></div>"}}"#;

fn search_blocks() -> Value {
    json!([
        {"type": "server_tool_use", "id": "srvtoolu_gm_r1", "name": "web_search",
         "input": {"query": "pingora latest release | pingora 0.9"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_gm_r1", "content": [
            {"type": "web_search_result", "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA",
             "title": "github.com", "encrypted_content": "", "page_age": null},
            {"type": "web_search_result", "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB",
             "title": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB", "encrypted_content": "", "page_age": null}
        ]}
    ])
}

#[test]
fn a_grounded_answer_reports_its_search_before_the_text() {
    let body = format!(
        r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"text":"Pingora 0.9 is out."}}]}},"finishReason":"STOP","index":0,"groundingMetadata":{GROUNDING}}}],"usageMetadata":{{"promptTokenCount":9,"candidatesTokenCount":5}},"modelVersion":"gemini-2.5-flash","responseId":"r1"}}"#
    );
    let resp = response_to_canonical(body.as_bytes(), "gemini-2.5-flash").unwrap();
    let mut expected = search_blocks();
    expected.as_array_mut().unwrap().push(json!({"type": "text", "text": "Pingora 0.9 is out."}));
    assert_eq!(serde_json::to_value(&resp.content).unwrap(), expected);
    assert_eq!(resp.stop_reason.as_deref(), Some("end_turn"));
    // Counted as Anthropic counts its own searches: one per query.
    assert_eq!(serde_json::to_value(resp.usage).unwrap()["server_tool_use"], json!({"web_search_requests": 2}));

    // Metadata without a query or a web page reports no search.
    let body = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi."}]},"finishReason":"STOP","groundingMetadata":{"groundingChunks":[{"retrievedContext":{"uri":"gs://x"}}]}}],"responseId":"r2"}"#;
    let resp = response_to_canonical(body.as_bytes(), "m").unwrap();
    assert_eq!(serde_json::to_value(&resp.content).unwrap(), json!([{"type": "text", "text": "Hi."}]));
    assert_eq!(resp.usage.server_tool_use, None);
}

#[test]
fn a_streamed_search_is_told_at_the_finish_reason_under_every_split() {
    let input = format!(
        "data: {{\"candidates\":[{{\"content\":{{\"role\":\"model\",\"parts\":[{{\"text\":\"Pingora 0.9\"}}]}},\"index\":0}}],\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}}\r\n\r\n\
         data: {{\"candidates\":[{{\"content\":{{\"role\":\"model\",\"parts\":[{{\"text\":\" is out.\"}}]}},\"finishReason\":\"STOP\",\"index\":0,\"groundingMetadata\":{GROUNDING}}}],\"usageMetadata\":{{\"promptTokenCount\":9,\"candidatesTokenCount\":5}},\"responseId\":\"r1\"}}\r\n\r\n\
         data: {{\"candidates\":[{{\"content\":{{\"role\":\"model\",\"parts\":[{{\"text\":\"\"}}]}},\"index\":0,\"groundingMetadata\":{GROUNDING}}}],\"responseId\":\"r1\"}}\r\n\r\n"
    );
    let lines = split_invariant("grounded stream", input.as_bytes(), |i, c| event_lines(&decode(i, c)));
    let events: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let block = e.get("content_block").or(e.get("delta")).and_then(|b| b["type"].as_str()).unwrap_or("");
            format!("{} {block}", e["type"].as_str().unwrap()).trim().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start text",
            "content_block_delta text_delta",
            "content_block_delta text_delta",
            "content_block_stop",
            "content_block_start server_tool_use",
            "content_block_delta input_json_delta",
            "content_block_stop",
            "content_block_start web_search_tool_result",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(events[5]["index"], 1);
    assert_eq!(
        events[5]["content_block"],
        json!({"type": "server_tool_use", "id": "srvtoolu_gm_r1", "name": "web_search", "input": {}})
    );
    assert_eq!(events[6]["delta"]["partial_json"], r#"{"query":"pingora latest release | pingora 0.9"}"#);
    assert_eq!(events[8]["index"], 2);
    assert_eq!(events[8]["content_block"], search_blocks()[1]);
    assert_eq!(events[10]["usage"]["server_tool_use"], json!({"web_search_requests": 2}));

    // Metadata sent in parts (the queries mid-stream, the pages with the finish reason)
    // is told once, whole, at the finish reason.
    let parts = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Pingora 0.9\"}]},\"index\":0}],\"responseId\":\"r1\"}\n\n\
        data: {\"candidates\":[{\"index\":0,\"groundingMetadata\":{\"webSearchQueries\":[\"pingora latest release\"]}}],\"responseId\":\"r1\"}\n\n\
        data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" is out.\"}]},\"finishReason\":\"STOP\",\"index\":0,\"groundingMetadata\":{\"webSearchQueries\":[\"pingora latest release\"],\"groundingChunks\":[{\"web\":{\"uri\":\"https://a.example\",\"title\":\"a.example\"}}]}}],\"responseId\":\"r1\"}\n\n";
    let events: Vec<Value> = decode(parts.as_bytes(), &[]).iter().map(|e| serde_json::to_value(e).unwrap()).collect();
    let starts: Vec<&Value> = events.iter().filter(|e| e["type"] == "content_block_start").collect();
    assert_eq!(starts.len(), 3, "{events:?}");
    assert_eq!(starts[2]["content_block"]["content"][0]["url"], "https://a.example");
    let query = events.iter().find(|e| e["delta"]["type"] == "input_json_delta").unwrap();
    assert_eq!(query["delta"]["partial_json"], r#"{"query":"pingora latest release"}"#);

    // Metadata that comes only after the finish reason is told at the end of the stream.
    let late = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi.\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"responseId\":\"r2\"}\n\n\
        data: {\"candidates\":[{\"index\":0,\"groundingMetadata\":{\"webSearchQueries\":[\"hi\"]}}],\"responseId\":\"r2\"}\n\n";
    let events: Vec<Value> = decode(late.as_bytes(), &[]).iter().map(|e| serde_json::to_value(e).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "content_block_start").count(), 3, "{events:?}");
    assert_eq!(kinds[kinds.len() - 2..], ["message_delta", "message_stop"]);
}

/// A canonical answer with a search (as Anthropic's or OpenAI's search reports it).
fn searched_answer() -> MessagesResponse {
    let mut content = search_blocks();
    content.as_array_mut().unwrap().push(json!({"type": "text", "text": "Pingora 0.9 is out."}));
    serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 9, "output_tokens": 5}
    }))
    .unwrap()
}

fn client_grounding() -> Value {
    json!({
        "webSearchQueries": ["pingora latest release | pingora 0.9"],
        "groundingChunks": [
            {"web": {"uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA", "title": "github.com"}},
            {"web": {"uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB",
                     "title": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/BBB"}}
        ]
    })
}

#[test]
fn a_gemini_client_gets_the_search_as_grounding_metadata() {
    let body: Value = serde_json::from_slice(&canonical_to_response(&searched_answer(), false)).unwrap();
    let candidate = &body["candidates"][0];
    assert_eq!(candidate["content"], json!({"role": "model", "parts": [{"text": "Pingora 0.9 is out."}]}));
    assert_eq!(candidate["groundingMetadata"], client_grounding());

    // An answer without a search has no metadata.
    let mut plain = searched_answer();
    plain.content.drain(..2);
    let body: Value = serde_json::from_slice(&canonical_to_response(&plain, false)).unwrap();
    assert_eq!(body["candidates"][0].get("groundingMetadata"), None);
}

#[test]
fn a_gemini_client_stream_carries_the_grounding_on_its_last_chunk() {
    let answer = searched_answer();
    let mut events = vec![StreamEvent::MessageStart {
        message: MessagesResponse { content: Vec::new(), stop_reason: None, ..answer.clone() },
    }];
    for (index, block) in answer.content.iter().enumerate() {
        let start = match block {
            // Streamed as Anthropic streams it: an empty input, then one fragment.
            ContentBlock::ServerToolUse { id, name, input } => {
                events.push(StreamEvent::ContentBlockStart {
                    index,
                    content_block: ContentBlock::ServerToolUse { id: id.clone(), name: name.clone(), input: json!({}) },
                });
                let partial_json = input.to_string();
                events.push(StreamEvent::ContentBlockDelta {
                    index,
                    delta: crate::protocol::anthropic::BlockDelta::InputJsonDelta { partial_json },
                });
                None
            }
            other => Some(other.clone()),
        };
        if let Some(content_block) = start {
            events.push(StreamEvent::ContentBlockStart { index, content_block });
        }
        events.push(StreamEvent::ContentBlockStop { index });
    }
    events.extend(crate::translate::stream::message_end("end_turn", &answer.usage));
    let sse = encode(&events, false);
    let chunks: Vec<Value> =
        sse.split("\n\n").filter_map(|c| c.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(chunks.len(), 2, "{sse}");
    assert_eq!(chunks[0]["candidates"][0]["content"]["parts"], json!([{"text": "Pingora 0.9 is out."}]));
    assert_eq!(chunks[0]["candidates"][0].get("groundingMetadata"), None);
    assert_eq!(chunks[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(chunks[1]["candidates"][0]["groundingMetadata"], client_grounding());
}

/// The grounding a Gemini client gets for Anthropic's recorded search: the answer's text
/// is "Let me search." (14 bytes) then the cited "Pingora 0.6.0 is the latest release.".
fn recorded_grounding() -> Value {
    serde_json::from_slice(&recorded("anthropic_web_search.grounding.json")).unwrap()
}

fn recorded(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/responses/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn text_citing_the_pages_found_is_a_grounding_support() {
    let answer: MessagesResponse = serde_json::from_slice(&recorded("anthropic_web_search.json")).unwrap();
    let body: Value = serde_json::from_slice(&canonical_to_response(&answer, false)).unwrap();
    assert_eq!(body["candidates"][0]["groundingMetadata"], recorded_grounding());

    // Streamed (citations come ahead of the text they belong to), under every split.
    let input = recorded("anthropic_web_search.sse");
    let opts = crate::translate::stream::ClientStreamOptions::default();
    let sse = split_invariant("cited stream", &input, |i, c| {
        to_gemini_client(crate::protocol::Dialect::Anthropic, &opts, i, c)
    });
    let chunks: Vec<Value> =
        sse.split("\n\n").filter_map(|c| c.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    let last = &chunks.last().unwrap()["candidates"][0];
    assert_eq!(last["finishReason"], "STOP");
    assert_eq!(last["groundingMetadata"], recorded_grounding());

    // A page cited but not among the results is added as a source.
    let mut grounding = super::search::Grounding::default();
    let citation = json!({"type": "web_search_result_location", "url": "https://example.org/a", "title": "A",
                          "cited_text": "x", "encrypted_index": "e"});
    let other = json!({"type": "char_location", "cited_text": "y"});
    grounding.cite(3, "héllo", &[citation.clone(), other, citation]);
    assert_eq!(
        serde_json::to_value(grounding.take().unwrap()).unwrap(),
        json!({"groundingChunks": [{"web": {"uri": "https://example.org/a", "title": "A"}}],
               "groundingSupports": [{"segment": {"startIndex": 3, "endIndex": 9, "text": "héllo"},
                                      "groundingChunkIndices": [0]}]})
    );
}
