//! Requests, on fixtures written from protocols.md §1.5, §3.x and §5.x
//! (`tests/fixtures/gemini/`); complete responses are in `response_tests.rs`.

use super::*;
use crate::translate::ErrorKind;
use serde_json::{json, Value};
use std::path::PathBuf;

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

pub(super) fn value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

pub(super) fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn canonical(v: Value) -> MessagesRequest {
    serde_json::from_value(v).unwrap()
}

/// The signature Gemini put on the first `get_weather` call, and the canonical id that
/// carries it (base64url of the signature's bytes, computed independently).
const SIG_PARIS: &str = "CiQBjz1rX3Lk5mYc0T2pB0f+8ZhQ9f0b7q4VqAWk3oYh0b7oUeEKYgGPPWtf/kN2s3Q0Zz1m2w==";
pub(super) const ID_PARIS: &str =
    "toolu_gm_1__ts_Q2lRQmp6MXJYM0xrNW1ZYzBUMnBCMGYrOFpoUTlmMGI3cTRWcUFXazNvWWgwYjdvVWVFS1lnR1BQV3RmL2tOMnMzUTBaejFtMnc9PQ";
/// The signature on the model's final text part.
const SIG_TEXT: &str = "Cr8BAdHtim9fZ0p4xQ2y7u1w+Jk3Lr5t6yVb0QmR8sN2cE4hZ1a9oP3uW7xY5zT/";

fn agent_tools() -> Value {
    json!([
        {"name": "get_weather", "description": "Current weather for a city.", "input_schema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": false}},
        {"name": "get_time", "description": "Local time in an IANA time zone.", "input_schema": {
            "type": "object", "properties": {"tz": {"type": "string", "description": "e.g. Europe/Paris"}},
            "required": ["tz"]}},
        {"name": "book_table", "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "party": {"type": "integer", "format": "int32"},
                "time": {"type": ["string", "null"]},
                "notes": {"type": "array", "items": {"type": "string", "enum": ["WINDOW", "QUIET"]}}},
            "required": ["city", "party"],
            "propertyOrdering": ["city", "party", "time", "notes"]}}
    ])
}

// ======================================================= Gemini request → canonical

#[test]
fn gemini_agent_request_to_canonical() {
    let req = request_to_canonical(&fixture("request_agent.json"), "gemini-3-pro-preview", true).unwrap().0;
    assert_eq!(
        value(&req),
        json!({
            "model": "gemini-3-pro-preview",
            "messages": [
                {"role": "user", "content": "What's the weather in Paris and Tokyo, and the time in Tokyo?"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "**Planning the lookups**\n\nI need the weather for both cities and the Tokyo time.", "signature": ""},
                    {"type": "tool_use", "id": ID_PARIS, "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_gm_2", "name": "get_weather", "input": {"city": "Tokyo"}},
                    {"type": "tool_use", "id": "toolu_gm_3", "name": "get_time", "input": {"tz": "Asia/Tokyo"}}]},
                // Matched by name, in order, whatever order the responses come in.
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_gm_3", "content": "2025-06-01T18:04:00+09:00"},
                    {"type": "tool_result", "tool_use_id": ID_PARIS, "content": "{\"temp_c\":21,\"sky\":\"clear\"}"},
                    {"type": "tool_result", "tool_use_id": "toolu_gm_2", "content": "weather service timed out", "is_error": true}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Paris: 21 °C and clear. Tokyo's weather is unavailable right now; it is 18:04 there."},
                    {"type": "thinking", "thinking": "", "signature": format!("gemini:{SIG_TEXT}")}]},
                {"role": "user", "content": "Thanks! Book me a table for two in Paris tonight."}
            ],
            "system": [{"type": "text", "text": "You are a travel assistant."}, {"type": "text", "text": "Answer briefly."}],
            "max_tokens": 2048,
            "stop_sequences": ["END"],
            "stream": true,
            // Sampling as given (Anthropic's limits apply on the way to Anthropic);
            // thinking yields to the forced tool; googleSearch is the hosted web search;
            // seed and safety settings have no place.
            "temperature": 1.4,
            "top_p": 0.95,
            "top_k": 40,
            "tools": agent_tools().as_array().unwrap().iter().cloned()
                .chain([json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 5})])
                .collect::<Vec<_>>(),
            "tool_choice": {"type": "tool", "name": "book_table"}
        })
    );
    // Towards Anthropic: clamped to its range, and top_p yields to temperature.
    let mut req = req;
    let body = crate::translate::anthropic_request::anthropic_body(&mut req, &TargetOptions::new("claude-x"), 0);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((sent["temperature"].clone(), sent.get("top_p")), (json!(1.0), None));
    // Towards a Chat upstream: as the client set them.
    let chat = crate::translate::chat_request::canonical_to_chat(&req, &TargetOptions::new("gpt-x"));
    assert_eq!((chat.temperature, chat.top_p), (Some(1.4), Some(0.95)));
}

/// The google-genai SDK sends some `Schema` fields in snake case, as protobuf's JSON
/// mapping allows: they reach other providers under their JSON Schema names, nested
/// schemas included.
#[test]
fn snake_case_schema_fields_become_json_schema_names() {
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {
            "a": {"any_of": [{"type": "STRING", "max_length": 5}, {"type": "INTEGER"}]},
            "b": {"type": "ARRAY", "items": {"type": "STRING"}, "max_items": 3, "min_items": 1}},
            "property_ordering": ["a", "b"]}}]}],
        "generationConfig": {"responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER", "nullable": true}},
                "min_properties": 1}}});
    let req = request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap().0;
    let req = value(&req);
    assert_eq!(
        req["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {
            "a": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "integer"}]},
            "b": {"type": "array", "items": {"type": "string"}, "maxItems": 3, "minItems": 1}},
            "propertyOrdering": ["a", "b"]})
    );
    assert_eq!(
        req["output_config"]["format"]["schema"],
        json!({"type": "object", "properties": {"n": {"type": ["integer", "null"]}}, "minProperties": 1})
    );
    // Gemini CLI writes OpenAPI type names in `responseJsonSchema` and
    // `parametersJsonSchema` too: other providers take JSON Schema's only.
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "OBJECT", "properties": {"p": {"type": "STRING"}}}}]}],
        "generationConfig": {"responseMimeType": "application/json",
            "responseJsonSchema": {"type": "OBJECT", "properties": {"reasoning": {"type": "STRING"}, "n": {"type": "INTEGER"}}}}});
    let req = value(&request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap().0);
    assert_eq!(req["tools"][0]["input_schema"], json!({"type": "object", "properties": {"p": {"type": "string"}}}));
    assert_eq!(
        req["output_config"]["format"]["schema"],
        json!({"type": "object", "properties": {"reasoning": {"type": "string"}, "n": {"type": "integer"}}})
    );
}

#[test]
fn gemini_multimodal_request_to_canonical() {
    let req = request_to_canonical(&fixture("request_multimodal.json"), "gemini-2.5-flash", false).unwrap().0;
    assert_eq!(
        value(&req),
        json!({
            "model": "gemini-2.5-flash",
            // Two user contents (one without a role) make one user turn.
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Which of these charts shows higher growth?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                    "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}},
                {"type": "image", "source": {"type": "url",
                    "url": "https://generativelanguage.googleapis.com/v1beta/files/q3fzgp7k2x1n"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                    "data": "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK"}},
                {"type": "text", "text": "Use the report for context."}]}],
            "thinking": {"type": "adaptive"},
            "output_config": {"format": {"type": "json_schema", "schema": {
                "type": "object",
                "properties": {"winner": {"type": "string", "enum": ["first", "second"]}, "reason": {"type": "string"}},
                "required": ["winner"]}}}
        })
    );
}

/// Gemini CLI's resumed sessions repeat each function response in a turn of its own:
/// the repeat is left out, and the turn it was alone in with it.
#[test]
fn a_repeated_function_response_is_left_out() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "run", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "run", "response": {"output": "ok"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "run", "response": {"output": "ok"}}}]},
        {"role": "user", "parts": [{"text": "next"}]}
    ]});
    let req = request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap().0;
    assert_eq!(
        value(&req.messages),
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_gm_1", "name": "run", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_gm_1", "content": "ok"},
                {"type": "text", "text": "next"}]}
        ])
    );
    // Repeated in the same turn, with the call's id, as Gemini CLI resumes too.
    let same_turn = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "run", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "run", "response": {"output": "ok"}}},
                                   {"functionResponse": {"id": "c1", "name": "run", "response": {"output": "ok"}}}]}
    ]});
    let req = request_to_canonical(same_turn.to_string().as_bytes(), "m", false).unwrap().0;
    assert_eq!(
        value(&req.messages[2]),
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "ok"}]})
    );
    // One that answers no call at all is still refused.
    let stray = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "run", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "other", "response": {}}}]}
    ]});
    assert!(request_to_canonical(stray.to_string().as_bytes(), "m", false).is_err());
}

#[test]
fn function_responses_pair_by_id_when_the_client_gives_ids() {
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [
            {"functionCall": {"id": "call.a", "name": "f", "args": {"n": 1}}},
            {"functionCall": {"id": "call.b", "name": "f", "args": {"n": 2}}}]},
        {"role": "user", "parts": [
            {"text": "results:"},
            {"functionResponse": {"id": "call.b", "name": "f", "response": {"output": "two"}}},
            {"functionResponse": {"id": "call.a", "name": "f", "response": {"status": "ok"}}}]}
    ]});
    let req = request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap().0;
    assert_eq!(
        value(&req.messages),
        json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_a", "name": "f", "input": {"n": 1}},
                {"type": "tool_use", "id": "call_b", "name": "f", "input": {"n": 2}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_b", "content": "two"},
                {"type": "tool_result", "tool_use_id": "call_a", "content": "{\"status\":\"ok\"}"},
                {"type": "text", "text": "results:"}]}
        ])
    );
}

#[test]
fn gemini_tool_config_and_thinking_variants() {
    let with = |extra: Value| {
        let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "tools": [{"functionDeclarations": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        value(&request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap().0)
    };
    let names = |req: &Value| req["tools"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect::<Vec<_>>();
    let any_two =
        with(json!({"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a", "c"]}}}));
    assert_eq!(any_two["tool_choice"], json!({"type": "any"}));
    assert_eq!(names(&any_two), vec![json!("a"), json!("c")]);
    assert_eq!(any_two["tools"][0]["input_schema"], json!({"type": "object", "properties": {}}));
    let none = with(json!({"toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}));
    assert_eq!(none["tool_choice"], json!({"type": "none"}));
    let auto = with(json!({"toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"temperature": 0.3, "topP": 0.9, "thinkingConfig": {"thinkingBudget": 300}}}));
    assert_eq!(auto["tool_choice"], json!({"type": "auto"}));
    // Anthropic's minimum budget; sampling as given (dropped on the way to Anthropic,
    // where thinking allows no sampling changes).
    assert_eq!(auto["thinking"], json!({"type": "enabled", "budget_tokens": 1024}));
    assert_eq!((&auto["temperature"], &auto["top_p"]), (&json!(0.3), &json!(0.9)));
    let plain = with(json!({"generationConfig": {"topP": 0.9, "topK": 20.0, "thinkingConfig": {"thinkingBudget": 0}}}));
    // A budget of 0 says thinking is off, which a reasoning upstream hears as the least
    // effort; top_k stays (no thinking to exclude it).
    assert_eq!((plain.get("tool_choice"), &plain["thinking"]), (None, &json!({"type": "disabled"})));
    assert_eq!((&plain["top_p"], &plain["top_k"]), (&json!(0.9), &json!(20)));
    let minimal = with(json!({"generationConfig": {"thinkingConfig": {"thinkingLevel": "MINIMAL"}}}));
    assert_eq!(minimal["thinking"], json!({"type": "disabled"}));
    let level =
        with(json!({"generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": true}}}));
    assert_eq!(level["thinking"], json!({"type": "enabled", "budget_tokens": 16384}));
}

#[test]
fn gemini_request_errors_say_what_is_wrong() {
    let err = |body: Value| request_to_canonical(body.to_string().as_bytes(), "m", false).unwrap_err();
    let user = |parts: Value| json!({"role": "user", "parts": parts});
    let cases = [
        (
            json!({"contents": [user(json!([{"text": "hi"}]))], "generationConfig": {"candidateCount": 2}}),
            "generationConfig.candidateCount > 1 is not supported by this gateway",
        ),
        (json!({"contents": []}), "contents must not be empty"),
        (
            json!({"contents": [{"role": "tool", "parts": [{"text": "x"}]}]}),
            "contents[0].role: unsupported role 'tool'",
        ),
        (
            json!({"contents": [user(json!([{"inlineData": {"mimeType": "audio/wav", "data": "UklGR"}}]))]}),
            "contents[0].parts[0]: inlineData of type 'audio/wav' is not supported (jpeg, png, gif, webp images and PDF are)",
        ),
        (
            json!({"contents": [user(json!([{"text": "hi"}])), {"role": "model", "parts": [{"functionCall": {"name": "f"}}]},
                user(json!([{"functionResponse": {"name": "f", "response": {}}}, {"functionResponse": {"name": "f", "response": {}}}]))]}),
            "contents[2].parts[1]: functionResponse 'f' answers no functionCall of the model turn before it",
        ),
        (
            json!({"contents": [user(json!([{"functionCall": {"name": "f"}}]))]}),
            "contents[0].parts[0]: functionCall in a user turn",
        ),
    ];
    for (body, message) in cases {
        let e = err(body);
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::InvalidRequest, message));
    }
    let e =
        request_to_canonical(br#"{"contents": [{"role": "user", "parts": [{"text": ""}]}]}"#, "m", false).unwrap_err();
    assert_eq!(e.message, "contents: every part is empty; there is nothing to answer");
    let e = request_to_canonical(b"{\"contents\": 1}", "m", false).unwrap_err();
    assert!(e.message.starts_with("invalid request body: "), "{}", e.message);
}

// ======================================================= canonical → Gemini request

#[test]
fn canonical_request_to_gemini_full() {
    let req = canonical(json!({
        "model": "claude-opus-4-8", "max_tokens": 64000, "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "Be terse."}],
        "thinking": {"type": "enabled", "budget_tokens": 8000},
        "temperature": 1.0,
        "stop_sequences": ["</done>"],
        "metadata": {"user_id": "u1"},
        "output_config": {"effort": "high"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                         {"type": "text", "text": "List the files and show the logo."}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should list files.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
                {"type": "text", "text": "Listing."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"path": "logo.png"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "a.txt\nlogo.png"},
                {"type": "tool_result", "tool_use_id": "toolu_01B", "is_error": false, "content": [
                    {"type": "text", "text": "binary file"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
                {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"}]},
            {"role": "system", "content": "Mid-conversation: prefer short answers."},
            {"role": "assistant", "content": "Two files."},
            {"role": "user", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://example.com/chart.webp?v=2"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}, "title": "r.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain notes"}},
                {"type": "text", "text": "Compare."}]}
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command", "input_schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "properties": {"command": {"type": "string"}}, "required": ["command"]}},
            {"name": "Read", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
            {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}
    }));
    let mut target = TargetOptions::new("gemini-3-pro-preview");
    target.max_tokens_cap = Some(32768);
    target.reasoning = true;
    let body = canonical_to_request(&req, &target).unwrap();
    assert_eq!(
        json_of(&body),
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "<system-reminder>ctx</system-reminder>"},
                                           {"text": "List the files and show the logo."}]},
                // Anthropic's thinking stays behind; the unsigned history gets the dummy.
                {"role": "model", "parts": [
                    {"text": "Listing."},
                    {"functionCall": {"name": "Bash", "args": {"command": "ls"}},
                     "thoughtSignature": "skip_thought_signature_validator"},
                    {"functionCall": {"name": "Read", "args": {"path": "logo.png"}}}]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "Bash", "response": {"output": "a.txt\nlogo.png"}}},
                    {"functionResponse": {"name": "Read", "response": {"output": "binary file"}}},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
                {"role": "model", "parts": [{"text": "(tool results received)"}]},
                {"role": "user", "parts": [{"text": "<system-reminder>todo list empty</system-reminder>"}]},
                {"role": "model", "parts": [{"text": "Two files."}]},
                {"role": "user", "parts": [
                    {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/chart.webp?v=2"}},
                    {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                    {"text": "plain notes"},
                    {"text": "Compare."}]}
            ],
            "systemInstruction": {"parts": [{"text": "You are Claude Code."}, {"text": "Be terse."},
                                            {"text": "Mid-conversation: prefer short answers."}]},
            "tools": [{"functionDeclarations": [
                {"name": "Bash", "description": "Run a command", "parametersJsonSchema": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                    "properties": {"command": {"type": "string"}}, "required": ["command"]}},
                {"name": "Read", "parametersJsonSchema": {"type": "object", "properties": {"path": {"type": "string"}}}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
            "generationConfig": {"temperature": 1.0, "maxOutputTokens": 32768, "stopSequences": ["</done>"],
                "thinkingConfig": {"thinkingBudget": 8000, "includeThoughts": true}}
        })
    );
    // The model is in the URL, never in the body.
    assert!(!String::from_utf8(body).unwrap().contains("model\":"));
}

#[test]
fn gemini_request_round_trips_with_its_signatures() {
    let req = request_to_canonical(&fixture("request_agent.json"), "gemini-3-pro-preview", true).unwrap().0;
    let mut target = TargetOptions::new("gemini-3-pro-preview");
    target.reasoning = true;
    let body = canonical_to_request(&req, &target).unwrap();
    let original = json_of(&fixture("request_agent.json"));
    let back = json_of(&body);
    assert_eq!(
        back["contents"],
        json!([
            original["contents"][0],
            // The unsigned thought summary is not replayed (Gemini ignores it anyway);
            // the signature is back on the exact part it came with; no ids go upstream.
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIG_PARIS},
                {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}},
                {"functionCall": {"name": "get_time", "args": {"tz": "Asia/Tokyo"}}}]},
            // The responses in the order of their calls.
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": "{\"temp_c\":21,\"sky\":\"clear\"}"}}},
                {"functionResponse": {"name": "get_weather", "response": {"error": "weather service timed out"}}},
                {"functionResponse": {"name": "get_time", "response": {"output": "2025-06-01T18:04:00+09:00"}}}]},
            original["contents"][3],
            original["contents"][4]
        ])
    );
    assert_eq!(back["systemInstruction"], original["systemInstruction"]);
    assert_eq!(back["toolConfig"], original["toolConfig"]);
    // Sampling comes back as it was sent (Gemini's temperature goes up to 2).
    assert_eq!(
        back["generationConfig"],
        json!({"temperature": 1.4, "topP": 0.95, "topK": 40, "maxOutputTokens": 2048, "stopSequences": ["END"]})
    );
    let declared: Vec<Value> = agent_tools()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut d = json!({"name": t["name"], "parametersJsonSchema": t["input_schema"]});
            if let Some(desc) = t.get("description") {
                d["description"] = desc.clone();
            }
            d
        })
        .collect();
    assert_eq!(back["tools"], json!([{"functionDeclarations": declared}]));
}

#[test]
fn adjacent_turns_merge_and_user_text_never_joins_function_responses() {
    let req = canonical(json!({"model": "x", "messages": [
        {"role": "user", "content": "a"},
        {"role": "user", "content": [{"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "c"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": null}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1"}]},
        {"role": "user", "content": "next"},
        // Reasoning from an OpenAI-style upstream: nothing Gemini can take, so the
        // turn vanishes and the user turns around it merge.
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": ""}]},
        {"role": "user", "content": "again"}
    ]}));
    let body = canonical_to_request(&req, &TargetOptions::new("gemini-2.5-flash")).unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        concat!(
            r#"{"contents":["#,
            r#"{"role":"user","parts":[{"text":"a"},{"text":"b"}]},"#,
            r#"{"role":"model","parts":[{"text":"c"},{"functionCall":{"name":"f","args":{}},"thoughtSignature":"skip_thought_signature_validator"}]},"#,
            r#"{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":""}}}]},"#,
            r#"{"role":"model","parts":[{"text":"(tool results received)"}]},"#,
            r#"{"role":"user","parts":[{"text":"next"},{"text":"again"}]}]}"#
        )
    );
}

#[test]
fn thinking_goes_upstream_only_when_the_channel_reasons() {
    let req = canonical(json!({"model": "x", "max_tokens": 4000, "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "hi"}]}));
    let mut target = TargetOptions::new("gemini-2.5-pro");
    assert_eq!(
        json_of(&canonical_to_request(&req, &target).unwrap())["generationConfig"],
        json!({"maxOutputTokens": 4000})
    );
    target.reasoning = true;
    assert_eq!(
        json_of(&canonical_to_request(&req, &target).unwrap())["generationConfig"],
        json!({"maxOutputTokens": 4000, "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}})
    );
    let plain = canonical(json!({"model": "x", "messages": [{"role": "user", "content": "hi"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "f"}}));
    let body = json_of(&canonical_to_request(&plain, &target).unwrap());
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}})
    );
    assert_eq!(body["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}));
}

#[test]
fn tool_result_without_its_call_cannot_name_the_function() {
    let req = canonical(json!({"model": "x", "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]}));
    let e = canonical_to_request(&req, &TargetOptions::new("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(
        e.message,
        "messages[0]: tool_result 'toolu_9' answers no earlier tool_use, and Gemini needs the function's name"
    );
}

#[test]
fn function_responses_go_to_gemini_in_the_order_of_their_calls() {
    // Two calls of one function; the client answers the second first.
    let req = canonical(json!({
        "model": "m", "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "weather in Paris and Tokyo"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Tokyo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_2", "content": "Tokyo: rain"},
                {"type": "tool_result", "tool_use_id": "call_1", "content": "Paris: sun"}]}
        ]
    }));
    let sent: Value =
        serde_json::from_slice(&canonical_to_request(&req, &TargetOptions::new("gemini-x")).unwrap()).unwrap();
    let outputs: Vec<&Value> =
        sent["contents"][2]["parts"].as_array().unwrap().iter().map(|p| &p["functionResponse"]["response"]).collect();
    assert_eq!(outputs, [&json!({"output": "Paris: sun"}), &json!({"output": "Tokyo: rain"})]);
}

#[test]
fn function_responses_keep_call_order_when_an_id_comes_back_in_a_later_turn() {
    // Generated ids restart in every stream: `call_1` is in both turns.
    let req = canonical(json!({
        "model": "m", "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "one"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "f", "input": {"n": 2}},
                {"type": "tool_use", "id": "call_2", "name": "f", "input": {"n": 3}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_2", "content": "three"},
                {"type": "tool_result", "tool_use_id": "call_1", "content": "two"}]}
        ]
    }));
    let sent: Value =
        serde_json::from_slice(&canonical_to_request(&req, &TargetOptions::new("gemini-x")).unwrap()).unwrap();
    let outputs: Vec<&Value> =
        sent["contents"][4]["parts"].as_array().unwrap().iter().map(|p| &p["functionResponse"]["response"]).collect();
    assert_eq!(outputs, [&json!({"output": "two"}), &json!({"output": "three"})]);
}

#[test]
fn a_gemini_error_says_when_to_try_again_in_its_retry_info() {
    let body =
        br#"{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED","details":[
        {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
        {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}"#;
    assert_eq!(retry_delay(body), Some(std::time::Duration::from_secs(31)));
    let half = br#"{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.5s"}]}}"#;
    assert_eq!(retry_delay(half), Some(std::time::Duration::from_millis(500)));
    for none in [
        &br#"{"error":{"code":429,"message":"x"}}"#[..],
        br#"{"error":{"details":[{"@type":"x.RetryInfo","retryDelay":"5m"}]}}"#,
        b"<html>",
    ] {
        assert_eq!(retry_delay(none), None);
    }
}
