//! Request and response converters on fixtures written from protocols.md.

use super::anthropic_request::anthropic_body;
use super::chat_canonical::chat_to_canonical;
use super::chat_request::canonical_to_chat;
use super::chat_response::{canonical_to_chat_response, chat_to_canonical_response};
use super::request::{translate_response, ForeignThinking, PreparedRequest};
use super::TargetOptions;
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse};
use crate::protocol::openai_chat::{ChatRequest, ChatResponse};
use crate::protocol::Dialect;
use bytes::Bytes;
use serde_json::{json, Value};

pub(super) fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

pub(super) fn anthropic_req(v: Value) -> MessagesRequest {
    serde_json::from_value(v).unwrap()
}

pub(super) fn chat_req(v: Value) -> ChatRequest {
    serde_json::from_value(v).unwrap()
}

#[test]
fn anthropic_request_to_chat_full() {
    let req = anthropic_req(json!({
        "model": "claude-opus-4-8", "max_tokens": 64000, "stream": true,
        "system": [{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "B"}],
        "thinking": {"type": "enabled", "budget_tokens": 20000},
        "top_k": 5, "temperature": 1.0, "metadata": {"user_id": "{\"session\":\"s1\"}"},
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": "go"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": ""},
                {"type": "tool_use", "id": "toolu_a", "name": "Read", "input": {"path": "/x"}},
                {"type": "tool_use", "id": "toolu_b", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": [{"type": "text", "text": "file"}, {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
                {"type": "tool_result", "tool_use_id": "toolu_b"}]},
            {"role": "system", "content": [{"type": "text", "text": "mid"}]},
            {"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}, "title": "a.pdf"}, {"type": "text", "text": "read"}]}
        ],
        "tools": [{"name": "Read", "description": "read", "input_schema": {"type": "object"}},
                  {"type": "web_search_20250305", "name": "web_search"}],
        "tool_choice": {"type": "tool", "name": "Read"}
    }));
    let mut target = TargetOptions::new("gpt-5");
    target.max_tokens_cap = Some(32000);
    target.reasoning = true;
    let chat = canonical_to_chat(&req, &target);
    assert_eq!(
        to_value(&chat),
        json!({
            "model": "gpt-5",
            "messages": [
                {"role": "system", "content": "A\n\nB"},
                {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>"}, {"type": "text", "text": "go"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "toolu_a", "type": "function", "function": {"name": "Read", "arguments": "{\"path\":\"/x\"}"}},
                    {"id": "toolu_b", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}]},
                {"role": "tool", "content": "file", "tool_call_id": "toolu_a"},
                {"role": "tool", "content": "", "tool_call_id": "toolu_b"},
                {"role": "user", "content": [{"type": "text", "text": "Images returned by the tool call above:"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
                {"role": "system", "content": "mid"},
                {"role": "user", "content": [{"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBER", "filename": "a.pdf"}}, {"type": "text", "text": "read"}]}
            ],
            "max_completion_tokens": 32000,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "Read", "description": "read", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "Read"}},
            "reasoning_effort": "high"
        })
    );
}

#[test]
fn reasoning_is_dropped_for_channels_without_it() {
    let req = anthropic_req(json!({"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"}, "messages": [{"role": "user", "content": "hi"}]}));
    let chat = canonical_to_chat(&req, &TargetOptions::new("gpt-4o"));
    assert!(chat.reasoning_effort.is_none());
    assert!(chat.stream_options.is_none(), "not a stream");
}

#[test]
fn chat_request_to_anthropic_full() {
    let chat = chat_req(json!({
        "model": "gpt-4o", "max_tokens": 500, "temperature": 1.6, "top_p": 0.9, "stop": "STOP", "user": "u-1",
        "stream": true, "stream_options": {"include_usage": true}, "parallel_tool_calls": false,
        "messages": [
            {"role": "developer", "content": "dev rules"},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"}}]},
            {"role": "assistant", "content": "calling", "tool_calls": [
                {"id": "call:1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]},
            {"role": "tool", "tool_call_id": "call:1", "content": "r1"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "r2"}]},
            {"role": "user", "content": "next"},
            {"role": "system", "content": "late system"}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "F", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
                  {"type": "function", "function": {"name": "g"}}],
        "tool_choice": "auto"
    }));
    let (canonical, opts) = chat_to_canonical(chat).unwrap();
    assert!(opts.include_usage);
    let mut target = TargetOptions::new("claude-sonnet-4-5");
    target.max_tokens_cap = Some(400);
    let mut canonical = canonical;
    let out: Value = serde_json::from_slice(&anthropic_body(&mut canonical, &target, 0)).unwrap();
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-5",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "calling"},
                    {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
                    {"type": "tool_use", "id": "call_2", "name": "g", "input": {"_raw_arguments": "not json"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "r1"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "r2"},
                    {"type": "text", "text": "next"}]}
            ],
            "system": [{"type": "text", "text": "dev rules"}, {"type": "text", "text": "sys"}, {"type": "text", "text": "late system"}],
            "max_tokens": 400,
            "metadata": {"user_id": "u-1"},
            "stop_sequences": ["STOP"],
            "stream": true,
            "temperature": 1.0,
            "tools": [
                {"name": "f", "description": "F", "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}},
                {"name": "g", "input_schema": {"type": "object", "properties": {}}}],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}
        })
    );
}

#[test]
fn chat_reasoning_effort_becomes_thinking_within_max_tokens() {
    let chat =
        chat_req(json!({"model": "o3", "reasoning_effort": "high", "max_completion_tokens": 4000, "temperature": 0.2,
        "messages": [{"role": "user", "content": "think"}]}));
    let (mut canonical, _) = chat_to_canonical(chat).unwrap();
    let out: Value = serde_json::from_slice(&anthropic_body(&mut canonical, &TargetOptions::new("claude"), 0)).unwrap();
    assert_eq!(out["max_tokens"], 4000);
    assert_eq!(out["thinking"], json!({"type": "enabled", "budget_tokens": 2000}), "half is left for the answer");
    assert_eq!(out.get("temperature"), None, "thinking requires the default temperature");

    // No limit from the client: the default is left for the answer, on top of the budget,
    // within the channel's cap.
    let unbounded = |cap: Option<u32>| {
        let chat = chat_req(
            json!({"model": "o3", "reasoning_effort": "high", "messages": [{"role": "user", "content": "think"}]}),
        );
        let (mut canonical, _) = chat_to_canonical(chat).unwrap();
        let target = TargetOptions { max_tokens_cap: cap, ..TargetOptions::new("claude") };
        let out: Value = serde_json::from_slice(&anthropic_body(&mut canonical, &target, 0)).unwrap();
        (out["max_tokens"].clone(), out["thinking"].clone())
    };
    assert_eq!(unbounded(None), (json!(8192 + 16384), json!({"type": "enabled", "budget_tokens": 16384})));
    assert_eq!(unbounded(Some(10000)), (json!(10000), json!({"type": "enabled", "budget_tokens": 5000})));
    assert_eq!(unbounded(Some(2000)), (json!(2000), Value::Null), "no room for Anthropic's least budget");
}

#[test]
fn unsupported_chat_inputs_are_clear_400s() {
    let cases = [
        (
            json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
            "n > 1 is not supported by this gateway",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AA"}}]}]}),
            "messages[0].content[0]: image type 'image/bmp' is not supported (jpeg, png, gif, webp)",
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0]: a tool message needs tool_call_id",
        ),
        (
            json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
            "messages[0]: unsupported role 'wizard'",
        ),
    ];
    for (body, msg) in cases {
        let err = chat_to_canonical(chat_req(body)).unwrap_err();
        assert_eq!(err.message, msg);
        assert_eq!(err.status_for(Dialect::OpenAiChat), 400);
    }
}

#[test]
fn anthropic_response_to_chat() {
    let resp: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "a"},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    }))
    .unwrap();
    let mut chat = to_value(&canonical_to_chat_response(resp));
    chat["created"] = json!(0);
    assert_eq!(
        chat,
        json!({
            "id": "msg_1", "object": "chat.completion", "created": 0, "model": "claude-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "a", "refusal": null,
                "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}}],
                "reasoning_content": "t"}, "finish_reason": "tool_calls", "logprobs": null}],
            "usage": {"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
                      "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20}}
        })
    );
}

/// Answer text crosses between Anthropic and Chat as the JSON literal it arrived as:
/// escapes are kept byte for byte, one block is moved, several are joined.
#[test]
fn answer_text_keeps_its_json_literal_both_ways() {
    let cx = super::request::ResponseContext::new("m");
    let chat_text = |body: &str| {
        let out = translate_response(Dialect::Anthropic, Dialect::OpenAiChat, &Bytes::from(body.to_string()), &cx);
        let out = String::from_utf8(out.unwrap().body.to_vec()).unwrap();
        let at = out.find(r#""content":"#).unwrap() + 10;
        let end = out[at..].find(r#","refusal""#).unwrap();
        out[at..at + end].to_string()
    };
    let one = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"caf\u00e9 \"q\"\n\/"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
    assert_eq!(chat_text(one), r#""caf\u00e9 \"q\"\n\/""#);
    let two = r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"a\u0041"},{"type":"text","text":"\tb"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
    assert_eq!(chat_text(two), r#""a\u0041\tb""#);

    let chat = r#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x\u00e9\"y"},"finish_reason":"stop"}]}"#;
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &Bytes::from(chat), &cx).unwrap();
    let out = String::from_utf8(out.body.to_vec()).unwrap();
    assert!(out.contains(r#"{"type":"text","text":"x\u00e9\"y"}"#), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["content"][0]["text"], "xé\"y");
}

#[test]
fn chat_response_to_anthropic() {
    let resp: ChatResponse = serde_json::from_value(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "reasoning_content": "why",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}},
                           {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": ""}}]},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57, "prompt_tokens_details": {"cached_tokens": 30}}
    }))
    .unwrap();
    assert_eq!(
        to_value(&chat_to_canonical_response(resp).unwrap()),
        json!({
            "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-4o",
            "content": [{"type": "thinking", "thinking": "why", "signature": ""},
                        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"x": 1}},
                        {"type": "tool_use", "id": "call_2", "name": "g", "input": {}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 30}
        })
    );
}

#[test]
fn finish_reasons_map_both_ways() {
    for (finish, stop) in
        [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("content_filter", "refusal")]
    {
        assert_eq!(super::stop_reason_from_finish(finish, false), stop);
    }
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "length"),
    ] {
        assert_eq!(super::finish_reason_from_stop(stop), finish);
    }
}

#[test]
fn invalid_upstream_json_is_an_api_error() {
    let cx = super::request::ResponseContext::new("m");
    let err =
        translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &Bytes::from_static(b"<html>"), &cx).unwrap_err();
    assert!(err.message.starts_with("upstream returned an invalid response"), "{}", err.message);
    let err = translate_response(
        Dialect::OpenAiChat,
        Dialect::Anthropic,
        &Bytes::from_static(br#"{"id":"x","choices":[]}"#),
        &cx,
    )
    .unwrap_err();
    assert_eq!(err.message, "upstream returned no choices");
}

#[test]
fn thinking_from_other_providers_never_reaches_anthropic() {
    let mut req = anthropic_req(json!({
        "model": "gemini-client-model", "max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "gemini:abc"}, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"}
        ]
    }));
    let body = super::anthropic_request::anthropic_body(&mut req, &TargetOptions::new("claude-x"), 0);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "a"}]));
    // No tool loop is open: the turn that lost its thinking needs none.
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 2000}));
    assert_eq!(sent["model"], "claude-x");
    // A tool turn that lost its thinking turns thinking off (Anthropic would refuse it).
    let mut looping = anthropic_req(json!({
        "model": "m", "max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "gemini:abc"},
                                              {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r"}]}
        ]
    }));
    let sent: Value = serde_json::from_slice(&super::anthropic_request::anthropic_body(
        &mut looping,
        &TargetOptions::new("claude-x"),
        0,
    ))
    .unwrap();
    assert!(sent.get("thinking").is_none(), "{sent}");
    // The canonical request is untouched for the next attempt (a Gemini channel keeps it).
    assert_eq!(req.model, "gemini-client-model");
    assert!(matches!(&req.messages[1].content, crate::protocol::anthropic::Content::Blocks(b) if b.len() == 2));
    assert!(req.thinking.is_some());
}

#[test]
fn thinking_goes_off_when_the_tool_turn_comes_back_without_it() {
    // Codex with `store: false` and a reasoning effort: the function call comes back
    // without the thinking Anthropic returned with it.
    let body = bytes::Bytes::from(
        json!({"model": "m", "max_output_tokens": 20000, "reasoning": {"effort": "high"}, "store": false,
               "input": [{"role": "user", "content": "do it"},
                         {"type": "function_call", "call_id": "call_A", "name": "run", "arguments": "{}"},
                         {"type": "function_call_output", "call_id": "call_A", "output": "done"}]})
        .to_string(),
    );
    let mut req = PreparedRequest::new_translated(Dialect::OpenAiResponses, body).unwrap();
    let sent: Value = serde_json::from_slice(
        &req.body_for(Dialect::Anthropic, &TargetOptions::new("claude-x"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert!(sent.get("thinking").is_none(), "{sent}");

    // The same request on its first turn keeps thinking on, and so does a tool turn that
    // starts with Anthropic's own thinking.
    let body = bytes::Bytes::from(
        json!({"model": "m", "max_output_tokens": 20000, "reasoning": {"effort": "high"}, "input": "do it"})
            .to_string(),
    );
    let mut req = PreparedRequest::new_translated(Dialect::OpenAiResponses, body).unwrap();
    let sent: Value = serde_json::from_slice(
        &req.body_for(Dialect::Anthropic, &TargetOptions::new("claude-x"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(sent["thinking"]["type"], "enabled", "{sent}");
    let mut req = anthropic_req(json!({
        "model": "m", "max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "EqQB"},
                                              {"type": "tool_use", "id": "toolu_1", "name": "run", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}
        ]
    }));
    let body = super::anthropic_request::anthropic_body(&mut req, &TargetOptions::new("claude-x"), 0);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent["thinking"]["budget_tokens"], 2000);
}

#[test]
fn structured_output_keeps_its_name_strictness_and_json_mode_across_dialects() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
    let bodies = |client: Dialect, body: Value| -> Vec<Value> {
        let body = bytes::Bytes::from(body.to_string());
        let mut req = match client {
            Dialect::Gemini => PreparedRequest::new_gemini(body, "m".into(), false, false).unwrap(),
            _ => PreparedRequest::new_translated(client, body).unwrap(),
        };
        [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::OpenAiResponses, Dialect::Gemini]
            .into_iter()
            .filter(|d| *d != client)
            .map(|d| {
                serde_json::from_slice(&req.body_for(d, &TargetOptions::new("m"), ForeignThinking::None).unwrap())
                    .unwrap()
            })
            .collect()
    };
    // A Responses schema named `s`, strict: Chat and Responses-shaped upstreams keep both,
    // Anthropic gets type and schema, Gemini the schema.
    let sent = bodies(
        Dialect::OpenAiResponses,
        json!({"model": "m", "input": "x",
               "text": {"format": {"type": "json_schema", "name": "s", "strict": true, "schema": schema}}}),
    );
    assert_eq!(sent[0]["output_config"], json!({"format": {"type": "json_schema", "schema": schema}}));
    assert_eq!(
        sent[1]["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": true}})
    );
    assert_eq!(sent[2]["generationConfig"]["responseJsonSchema"], schema);
    // JSON mode without a schema: Chat's json_object, Gemini's MIME type, nothing for
    // Anthropic, which has no such mode.
    let sent = bodies(
        Dialect::OpenAiResponses,
        json!({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}}),
    );
    assert_eq!(sent[0].get("output_config"), None);
    assert_eq!(sent[1]["response_format"], json!({"type": "json_object"}));
    assert_eq!(sent[2]["generationConfig"], json!({"responseMimeType": "application/json"}));
    let sent = bodies(
        Dialect::Gemini,
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
               "generationConfig": {"responseMimeType": "application/json"}}),
    );
    assert_eq!(sent[1]["response_format"], json!({"type": "json_object"}));
    assert_eq!(sent[2]["text"], json!({"format": {"type": "json_object"}}));
    let sent = bodies(
        Dialect::OpenAiChat,
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "s", "strict": true, "schema": schema}}}),
    );
    assert_eq!(
        sent[1]["text"],
        json!({"format": {"type": "json_schema", "name": "s", "schema": schema, "strict": true}})
    );
}

#[test]
fn reasoning_tokens_are_carried_between_dialects_that_count_them() {
    let info = crate::translate::responses::ResponsesRequestInfo::default();
    let chat = Bytes::from_static(
        br#"{"id":"c1","model":"gpt","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42,"completion_tokens_details":{"reasoning_tokens":12}}}"#,
    );
    let responses_cx = super::request::ResponseContext {
        responses: Some(("resp_1", &info)),
        ..super::request::ResponseContext::new("gpt")
    };
    let out = translate_response(Dialect::OpenAiChat, Dialect::OpenAiResponses, &chat, &responses_cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["usage"]["output_tokens"], 30);
    assert_eq!(v["usage"]["output_tokens_details"], json!({"reasoning_tokens": 12}));
    let cx = super::request::ResponseContext::new("gpt");
    // Gemini counts thoughts apart from candidates.
    let out = translate_response(Dialect::OpenAiChat, Dialect::Gemini, &chat, &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        v["usageMetadata"],
        json!({"promptTokenCount": 12, "candidatesTokenCount": 18, "thoughtsTokenCount": 12, "totalTokenCount": 42})
    );
    // Anthropic has no such field: its clients get the output count alone.
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &chat, &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 12, "output_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );
    // And back: Gemini's thoughts reach a Chat client as reasoning tokens.
    let gemini = Bytes::from_static(
        br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":7,"thoughtsTokenCount":144,"totalTokenCount":160},"modelVersion":"g"}"#,
    );
    let out = translate_response(Dialect::Gemini, Dialect::OpenAiChat, &gemini, &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 151);
    assert_eq!(v["usage"]["completion_tokens_details"], json!({"reasoning_tokens": 144}));
}

#[test]
fn a_passed_through_conversation_loses_the_thinking_the_gateway_signed_even_without_its_session() {
    let body = bytes::Bytes::from(
        json!({"model": "claude-x", "max_tokens": 100, "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "gemini:QUJD"}, {"type": "text", "text": "a"}]},
            {"role": "user", "content": "q2"}]})
        .to_string(),
    );
    let body_for = |thinking| {
        let mut req = PreparedRequest::new(Dialect::Anthropic, body.clone()).unwrap();
        let sent = req.body_for(Dialect::Anthropic, &TargetOptions::new("claude-y"), thinking).unwrap();
        serde_json::from_slice::<Value>(&sent).unwrap()
    };
    // Another dialect's channel serves the model too: the blocks the gateway signed go.
    let sent = body_for(ForeignThinking::Possible);
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "a"}]));
    assert_eq!(sent["model"], "claude-y");
    // Only Anthropic channels serve it: the body is not searched, and passes as it is.
    let sent = body_for(ForeignThinking::None);
    assert_eq!(sent["messages"][1]["content"][0]["signature"], "gemini:QUJD");
}
