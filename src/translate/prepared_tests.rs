//! `PreparedRequest`: a body parsed once, whether it was peeked first or parsed up front
//! (no channel passes it through), passed through to its own dialect, and the usage a
//! translated answer reports.

use super::request::{translate_response, ForeignThinking, PreparedRequest};
use super::TargetOptions;
use crate::protocol::Dialect;
use bytes::Bytes;
use serde_json::{json, Value};

#[test]
fn prepared_request_parses_once_and_passes_through_same_dialect() {
    let body = bytes::Bytes::from_static(
        br#"{"model":"claude-a","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":1}"#,
    );
    let mut req = PreparedRequest::new(Dialect::Anthropic, body).unwrap();
    let same = req.body_for(Dialect::Anthropic, &TargetOptions::new("claude-b"), ForeignThinking::None).unwrap();
    assert_eq!(&same[..], br#"{"model":"claude-b","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":1}"#);
    let other = req.body_for(Dialect::OpenAiChat, &TargetOptions::new("gpt"), ForeignThinking::None).unwrap();
    assert_eq!(&other[..], br#"{"model":"gpt","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":5}"#);
}

#[test]
fn a_chat_request_parsed_up_front_routes_and_translates_as_a_peeked_one() {
    let body = bytes::Bytes::from(
        json!({"model": "gpt-x", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 9,
               "user": "end-user", "metadata": {"user_id": "u1", "team": "t"},
               "messages": [{"role": "system", "content": "be \"brief\""}, {"role": "user", "content": "hi\n"}]})
        .to_string(),
    );
    let mut peeked = PreparedRequest::new(Dialect::OpenAiChat, body.clone()).unwrap();
    let mut parsed = PreparedRequest::new_translated(Dialect::OpenAiChat, body.clone()).unwrap();
    assert_eq!((parsed.model(), parsed.stream(), parsed.peek.user_id.clone()), ("gpt-x", true, Some("u1".into())));
    assert_eq!((peeked.model(), peeked.stream(), peeked.peek.user_id.clone()), ("gpt-x", true, Some("u1".into())));
    for upstream in [Dialect::Anthropic, Dialect::OpenAiResponses, Dialect::Gemini] {
        let target = TargetOptions::new("m");
        assert_eq!(
            parsed.body_for(upstream, &target, ForeignThinking::None).unwrap(),
            peeked.body_for(upstream, &target, ForeignThinking::None).unwrap(),
            "{upstream:?}"
        );
    }
    assert!(parsed.stream_options(None).include_usage);
    assert_eq!(parsed.stream_options(None), peeked.stream_options(None));
    // Towards Chat after all (a channel added since): rebuilt, with the new model, and
    // without the metadata (as any translated Chat request).
    let rebuilt: Value = serde_json::from_slice(
        &parsed.body_for(Dialect::OpenAiChat, &TargetOptions::new("gpt-y"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(rebuilt["model"], "gpt-y");
    assert_eq!(rebuilt["messages"][1]["content"], "hi\n");
    assert!(rebuilt.get("metadata").is_none(), "{rebuilt}");

    // What the parse refuses goes the usual way, with the usual messages.
    for bad in
        [r#"{"model":"m","messages":[{"role":"tool"}]}"#, r#"{"messages":[]}"#, r#"{"model":"m","messages":5}"#, "{"]
    {
        assert_refused_as_usual(Dialect::OpenAiChat, Dialect::Anthropic, bad);
    }
}

#[test]
fn a_responses_request_parsed_up_front_routes_and_translates_as_a_peeked_one() {
    let body = bytes::Bytes::from(
        json!({"model": "gpt-5", "stream": true, "store": false, "instructions": "be \"brief\"",
               "user": "end-user", "metadata": {"user_id": "u1", "team": "t"}, "max_output_tokens": 9,
               "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi\n"}]}],
               "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]})
        .to_string(),
    );
    let mut peeked = PreparedRequest::new(Dialect::OpenAiResponses, body.clone()).unwrap();
    let mut parsed = PreparedRequest::new_translated(Dialect::OpenAiResponses, body.clone()).unwrap();
    assert_eq!((parsed.model(), parsed.stream(), parsed.peek.user_id.clone()), ("gpt-5", true, Some("u1".into())));
    assert_eq!((peeked.model(), peeked.stream(), peeked.peek.user_id.clone()), ("gpt-5", true, Some("u1".into())));
    for upstream in [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::Gemini] {
        let target = TargetOptions::new("m");
        assert_eq!(
            parsed.body_for(upstream, &target, ForeignThinking::None).unwrap(),
            peeked.body_for(upstream, &target, ForeignThinking::None).unwrap(),
            "{upstream:?}"
        );
    }
    let info = parsed.responses_info().unwrap().cloned();
    assert_eq!(info.as_ref().map(|i| (i.store, i.instructions.as_deref())), Some((false, Some("be \"brief\""))));
    assert_eq!(info.as_ref(), peeked.responses_info().unwrap());
    assert_eq!(parsed.stream_options(Some("resp_1")), peeked.stream_options(Some("resp_1")));
    // Towards Responses after all (a channel added since): rebuilt, with the new model.
    let rebuilt: Value = serde_json::from_slice(
        &parsed.body_for(Dialect::OpenAiResponses, &TargetOptions::new("gpt-y"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(rebuilt["model"], "gpt-y");
    assert_eq!(rebuilt["instructions"], "be \"brief\"");

    // What the parse or the peek refuses goes the usual way, with the usual messages.
    for bad in [
        r#"{"model":"m","input":5}"#,
        r#"{"input":"hi"}"#,
        r#"{"model":"","input":"hi"}"#,
        r#"{"model":"m","input":"hi","metadata":{"user_id":5}}"#,
        r#"{"model":"m","input":"hi","metadata":"u1"}"#,
        r#"{"model":"m","input":"hi","stream":"yes"}"#,
        "{",
    ] {
        assert_refused_as_usual(Dialect::OpenAiResponses, Dialect::Anthropic, bad);
    }
    // A `null` user id or metadata is no key, on both paths.
    for body in
        [r#"{"model":"m","input":"hi","metadata":{"user_id":null}}"#, r#"{"model":"m","input":"hi","metadata":null}"#]
    {
        let parsed = PreparedRequest::new_translated(Dialect::OpenAiResponses, body.to_string().into()).unwrap();
        let peeked = PreparedRequest::new(Dialect::OpenAiResponses, body.to_string().into()).unwrap();
        assert_eq!((parsed.peek.user_id, peeked.peek.user_id), (None, None), "{body}");
    }
}

/// A body that `new_translated` cannot parse fails as it would on the usual path (peek,
/// then parse when translating): the same error, at the same step.
fn assert_refused_as_usual(client: Dialect, upstream: Dialect, bad: &str) {
    let translate = |mut p: PreparedRequest| {
        p.body_for(upstream, &TargetOptions::new("m"), ForeignThinking::None).map(|_| ()).unwrap_err().message
    };
    let usual = PreparedRequest::new(client, bad.to_string().into()).map(translate);
    let now = PreparedRequest::new_translated(client, bad.to_string().into()).map(translate);
    match (usual, now) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.message, b.message),
        other => panic!("{bad}: {other:?}"),
    }
}

#[test]
fn a_request_parsed_up_front_routes_and_translates_as_a_peeked_one() {
    let body = bytes::Bytes::from(
        json!({"model": "claude-x", "stream": true, "max_tokens": 9, "metadata": {"user_id": "u1"},
               "system": "be \"brief\"", "messages": [{"role": "user", "content": "hi\n"}]})
        .to_string(),
    );
    let mut peeked = PreparedRequest::new(Dialect::Anthropic, body.clone()).unwrap();
    let mut parsed = PreparedRequest::new_translated(Dialect::Anthropic, body.clone()).unwrap();
    assert_eq!(parsed.peek.model, "claude-x");
    assert_eq!((parsed.stream(), parsed.peek.user_id.as_deref()), (true, Some("u1")));
    assert_eq!((peeked.model(), peeked.stream(), peeked.peek.user_id.clone()), ("claude-x", true, Some("u1".into())));
    let target = TargetOptions::new("gpt-4o");
    assert_eq!(
        parsed.body_for(Dialect::OpenAiChat, &target, ForeignThinking::None).unwrap(),
        peeked.body_for(Dialect::OpenAiChat, &target, ForeignThinking::None).unwrap()
    );
    // Towards Anthropic after all (a channel added since): rebuilt, with the new model.
    let target = TargetOptions::new("claude-y");
    let rebuilt: Value =
        serde_json::from_slice(&parsed.body_for(Dialect::Anthropic, &target, ForeignThinking::None).unwrap()).unwrap();
    assert_eq!(rebuilt["model"], "claude-y");
    assert_eq!(rebuilt["system"], "be \"brief\"");
    assert_eq!(rebuilt["messages"][0]["content"], "hi\n");

    // What the parse refuses goes the usual way, with the usual messages.
    for bad in [r#"{"model":"m","messages":[],"system":5}"#, r#"{"messages":[]}"#, "{"] {
        assert_refused_as_usual(Dialect::Anthropic, Dialect::OpenAiChat, bad);
    }
}

#[test]
fn a_translated_answer_reports_its_usage_and_a_passed_through_one_none() {
    let cx = super::request::ResponseContext::new("gpt");
    let chat = br#"{"id":"c1","model":"gpt","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}"#;
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &Bytes::from_static(chat), &cx).unwrap();
    let usage = out.usage.unwrap();
    let client: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(client["usage"], serde_json::to_value(usage).unwrap());
    assert_eq!(usage.output_tokens, 3);
    assert_eq!(usage.cache_read_input_tokens, Some(4));
    assert_eq!(super::request::response_usage(Dialect::OpenAiChat, chat, "gpt"), Some(usage));
    assert!(out.canonical.is_none());

    let same = translate_response(Dialect::OpenAiChat, Dialect::OpenAiChat, &Bytes::from_static(chat), &cx).unwrap();
    assert_eq!(&same.body[..], &chat[..]);
    assert!(same.usage.is_none());
}
