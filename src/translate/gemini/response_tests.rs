//! Complete responses both ways, on fixtures written from protocols.md §3.x and §5.x
//! (`tests/fixtures/gemini/`).

use super::tests::{fixture, json_of, value, ID_PARIS};
use super::*;
use crate::protocol::anthropic::MessagesResponse;
use crate::translate::ErrorKind;
use serde_json::{json, Value};

fn canonical_response(name: &str) -> Value {
    value(&response_to_canonical(&fixture(name), "requested-model").unwrap())
}

fn message(id: &str, model: &str, content: Value, stop: &str, usage: Value) -> Value {
    json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": content,
           "stop_reason": stop, "stop_sequence": null, "usage": usage})
}

fn usage(input: u64, output: u64, cache_read: u64) -> Value {
    json!({"input_tokens": input, "output_tokens": output, "cache_creation_input_tokens": 0,
           "cache_read_input_tokens": cache_read})
}

#[test]
fn gemini_text_response_with_cached_prompt() {
    assert_eq!(
        canonical_response("response_text.json"),
        message(
            "mDhoaO3pBYKXz7IP1-ucmAU",
            "gemini-2.5-flash",
            json!([{"type": "text", "text": "The Eiffel Tower is 330 m tall."}]),
            "end_turn",
            // promptTokenCount includes the 4096 cached tokens.
            usage(114, 11, 4096)
        )
    );
}

#[test]
fn gemini_function_calls_response() {
    let first = format!("toolu_gm_Zb5oaKXDKdnRz7IPoNa3-Qs_1__ts_{}", ID_PARIS.split_once("__ts_").unwrap().1);
    assert_eq!(
        canonical_response("response_function_calls.json"),
        message(
            "Zb5oaKXDKdnRz7IPoNa3-Qs",
            "gemini-3-pro-preview",
            json!([
                {"type": "thinking", "thinking": "**Checking both cities**\n\nTwo lookups, in parallel.", "signature": ""},
                {"type": "text", "text": "Let me look that up."},
                {"type": "tool_use", "id": first, "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_gm_Zb5oaKXDKdnRz7IPoNa3-Qs_2", "name": "get_weather", "input": {"city": "Tokyo"}}
            ]),
            // STOP with function calls is tool_use; output counts the thoughts.
            "tool_use",
            usage(118, 97, 0)
        )
    );
}

#[test]
fn gemini_thinking_response_keeps_the_text_signature() {
    assert_eq!(
        canonical_response("response_thinking.json"),
        message(
            "q0ZoaJ2SB4-Bz7IP8fCq0Ac",
            "gemini-2.5-pro",
            json!([
                {"type": "thinking", "thinking": "**Weighing the options**\n\nA prime check: 97 has no divisor up to 9.", "signature": ""},
                {"type": "text", "text": "Yes, 97 is prime."},
                {"type": "thinking", "thinking": "", "signature": "gemini:Ev0BCvoBAdHtim+e1kWmL6yL0xJH5Qk9d2s4rV8cN3fT7uB1aZ0wXy6mP/5oRiE="}
            ]),
            "end_turn",
            usage(9, 151, 0)
        )
    );
}

#[test]
fn gemini_max_tokens_safety_and_prompt_block() {
    let max = canonical_response("response_max_tokens.json");
    assert_eq!((&max["stop_reason"], &max["usage"]), (&json!("max_tokens"), &usage(12, 16, 0)));
    assert_eq!(
        canonical_response("response_safety.json"),
        message("BkdoaJ7vMbSWz7IPj4-p0Q0", "gemini-2.5-flash", json!([]), "refusal", usage(23, 0, 0))
    );
    assert_eq!(
        canonical_response("response_prompt_blocked.json"),
        message("IUdoaOKrA9yYz7IPz5yM0Qg", "gemini-2.5-flash", json!([]), "refusal", usage(31, 0, 0))
    );
    // An unnamed stop (`OTHER`) did not end on its own either.
    let other = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Par"}]},"finishReason":"OTHER","index":0}],"modelVersion":"g"}"#;
    let resp = value(&response_to_canonical(other, "g").unwrap());
    assert_eq!(resp["stop_reason"], "refusal");
}

#[test]
fn gemini_response_without_ids_or_candidates() {
    let body = br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}],"role":"model"},"finishReason":"STOP"}]}"#;
    let resp = response_to_canonical(body, "gemini-2.5-flash").unwrap();
    assert_eq!(resp.model, "gemini-2.5-flash");
    let token = resp.id.strip_prefix("msg_gm_").unwrap();
    assert_eq!(token.len(), 24);
    assert_eq!(
        value(&resp.content),
        json!([{"type": "tool_use", "id": format!("toolu_gm_{token}_1"), "name": "f", "input": {}}])
    );
    let e = response_to_canonical(br#"{"usageMetadata":{"promptTokenCount":3}}"#, "m").unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Api, "upstream returned no candidates"));
    let e = response_to_canonical(b"<html>", "m").unwrap_err();
    assert!(e.message.starts_with("upstream returned an invalid response: "));
}

#[test]
fn canonical_response_to_gemini() {
    let resp: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_01X", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Plan.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "toolu_01Q", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 100, "output_tokens": 40, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 500}
    }))
    .unwrap();
    // Unasked for, no thought.
    let parts = &json_of(&canonical_to_response(&resp, false))["candidates"][0]["content"]["parts"];
    assert_eq!(parts[0], json!({"text": "Calling."}));
    // Thinking text is shown as a thought to a client that asked; Anthropic's signatures
    // never leave.
    assert_eq!(
        String::from_utf8(canonical_to_response(&resp, true)).unwrap(),
        concat!(
            r#"{"candidates":[{"content":{"role":"model","parts":["#,
            r#"{"text":"Plan.","thought":true},{"text":"Calling."},"#,
            r#"{"functionCall":{"id":"toolu_01Q","name":"get_weather","args":{"city":"Paris"}}}]},"#,
            r#""finishReason":"STOP","index":0}],"#,
            r#""usageMetadata":{"promptTokenCount":610,"candidatesTokenCount":40,"cachedContentTokenCount":500,"totalTokenCount":650},"#,
            r#""modelVersion":"claude-sonnet-4-5","responseId":"msg_01X"}"#
        )
    );
}

#[test]
fn canonical_refusal_and_max_tokens_to_gemini() {
    let resp = |stop: &str, content: Value| -> MessagesResponse {
        serde_json::from_value(json!({"id": "msg_2", "model": "gpt-4o", "content": content, "stop_reason": stop,
            "usage": {"input_tokens": 7, "output_tokens": 0}}))
        .unwrap()
    };
    assert_eq!(
        String::from_utf8(canonical_to_response(&resp("refusal", json!([])), true)).unwrap(),
        r#"{"candidates":[{"finishReason":"SAFETY","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":0,"totalTokenCount":7},"modelVersion":"gpt-4o","responseId":"msg_2"}"#
    );
    let max = json_of(&canonical_to_response(&resp("max_tokens", json!([{"type": "text", "text": "Once"}])), true));
    assert_eq!(max["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(max["candidates"][0]["content"]["parts"], json!([{"text": "Once"}]));
}

#[test]
fn gemini_responses_survive_the_canonical_round_trip() {
    for name in ["response_function_calls.json", "response_thinking.json", "response_text.json"] {
        let original = json_of(&fixture(name));
        let back = json_of(&canonical_to_response(&response_to_canonical(&fixture(name), "m").unwrap(), true));
        let mut parts = original["candidates"][0]["content"]["parts"].clone();
        // Gemini clients get the call ids they may echo back.
        let mut n = 0;
        for part in parts.as_array_mut().unwrap() {
            if let Some(call) = part.get_mut("functionCall") {
                n += 1;
                let args = call["args"].take();
                *call = json!({"id": format!("toolu_gm_{}_{n}", original["responseId"].as_str().unwrap()),
                    "name": call["name"], "args": args});
            }
        }
        assert_eq!(back["candidates"][0]["content"]["parts"], parts, "{name}");
        assert_eq!(back["candidates"][0]["finishReason"], original["candidates"][0]["finishReason"], "{name}");
        let (u, b) = (&original["usageMetadata"], &back["usageMetadata"]);
        assert_eq!(b["promptTokenCount"], u["promptTokenCount"], "{name}");
        assert_eq!(b["totalTokenCount"], u["totalTokenCount"], "{name}");
        assert_eq!(b.get("cachedContentTokenCount"), u.get("cachedContentTokenCount"), "{name}");
        assert_eq!((&back["modelVersion"], &back["responseId"]), (&original["modelVersion"], &original["responseId"]));
    }
}
