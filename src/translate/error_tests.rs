//! Tests of `error`: upstream errors read, and written in each client dialect.

use super::*;

#[test]
fn the_account_behind_the_key_is_masked_in_every_dialect() {
    let body = br#"{"error":{"code":403,"message":"Generative Language API has not been used in project 123456789 before.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","metadata":{"consumer":"projects/123456789","containerInfo":"123456789"}}]}}"#;
    let e = ApiError::from_upstream(403, &bytes::Bytes::from_static(body), Dialect::Gemini);
    assert_eq!(
        String::from_utf8(e.body_for(Dialect::Gemini)).unwrap(),
        r#"{"error":{"code":403,"message":"Generative Language API has not been used in project … before.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","metadata":{"consumer":"projects/…","containerInfo":"…"}}]}}"#
    );
    assert_eq!(
        String::from_utf8(e.body_for(Dialect::Anthropic)).unwrap(),
        r#"{"type":"error","error":{"type":"permission_error","message":"Generative Language API has not been used in project … before."}}"#
    );
    let body = br#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-AbC123xyz on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
    let e = ApiError::from_upstream(429, &bytes::Bytes::from_static(body), Dialect::OpenAiChat);
    let want = r#"{"error":{"message":"Rate limit reached for gpt-4o in organization org-… on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
    assert_eq!(String::from_utf8(e.body_for(Dialect::OpenAiResponses)).unwrap(), want);
    let e = ApiError::from_openai_error(None, Some("tokens"), "Rate limit reached in organization org-AbC123xyz");
    assert_eq!(e.message, "Rate limit reached in organization org-…");
}

#[test]
fn anthropic_429_keeps_status_and_type_for_both_dialects() {
    let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    let e = ApiError::from_upstream(429, &bytes::Bytes::from_static(body), Dialect::Anthropic);
    assert_eq!(e.status_for(Dialect::Anthropic), 429);
    assert_eq!(e.status_for(Dialect::OpenAiChat), 429);
    assert_eq!(
        e.body_for(Dialect::OpenAiChat),
        br#"{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}"#
    );
}

#[test]
fn overloaded_is_529_for_anthropic_and_503_for_openai() {
    let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#;
    let e = ApiError::from_upstream(529, &bytes::Bytes::from_static(body), Dialect::Anthropic);
    assert_eq!(e.status_for(Dialect::Anthropic), 529);
    assert_eq!(e.status_for(Dialect::OpenAiChat), 503);
    let busy = bytes::Bytes::from_static(br#"{"error":{"message":"busy"}}"#);
    let openai_503 = ApiError::from_upstream(503, &busy, Dialect::OpenAiChat);
    assert_eq!(openai_503.kind, ErrorKind::Overloaded);
    assert_eq!(openai_503.status_for(Dialect::Anthropic), 529);
    assert_eq!(
        openai_503.body_for(Dialect::Anthropic),
        br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#
    );
}

#[test]
fn unparseable_body_is_quoted_in_the_message() {
    let e = ApiError::from_upstream(502, &bytes::Bytes::from_static(b"<html>bad gateway</html>"), Dialect::OpenAiChat);
    assert_eq!(e.kind, ErrorKind::Api);
    assert_eq!(e.message, "upstream returned HTTP 502: <html>bad gateway</html>");
    assert_eq!(e.status_for(Dialect::Anthropic), 502);
}

#[test]
fn an_openai_error_code_decides_the_kind_and_reaches_openai_clients() {
    let quota = bytes::Bytes::from_static(
        br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
    );
    let e = ApiError::from_upstream(429, &quota, Dialect::OpenAiChat);
    assert_eq!(e.kind, ErrorKind::Billing);
    assert!(e.not_worth_retrying());
    assert_eq!(e.status_for(Dialect::Anthropic), 429);
    assert_eq!(
        e.body_for(Dialect::Anthropic),
        br#"{"type":"error","error":{"type":"billing_error","message":"You exceeded your current quota"}}"#
    );
    // OpenAI-shaped clients get the upstream's own body.
    assert_eq!(e.body_for(Dialect::OpenAiChat), quota.to_vec());
    assert_eq!(e.body_for(Dialect::OpenAiResponses), quota.to_vec());

    let full = bytes::Bytes::from_static(
        br#"{"error":{"message":"maximum context length is 128000 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    );
    let e = ApiError::from_upstream(400, &full, Dialect::OpenAiResponses);
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::InvalidRequest, Some("context_length_exceeded")));
    assert_eq!(e.body_for(Dialect::OpenAiChat), full.to_vec());
    assert_eq!(
        e.body_for(Dialect::Gemini),
        br#"{"error":{"code":400,"message":"maximum context length is 128000 tokens","status":"INVALID_ARGUMENT"}}"#
    );
    // A rate limit that is one stays retryable.
    let slow = bytes::Bytes::from_static(
        br#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#,
    );
    let e = ApiError::from_upstream(429, &slow, Dialect::OpenAiChat);
    assert_eq!(e.kind, ErrorKind::RateLimit);
    assert!(!e.not_worth_retrying());
}

#[test]
fn an_authentication_type_is_a_refused_key_whatever_its_prefix() {
    let moonshot = bytes::Bytes::from_static(
        br#"{"error":{"message":"Invalid Authentication","type":"invalid_authentication_error"}}"#,
    );
    assert_eq!(ApiError::from_upstream(401, &moonshot, Dialect::OpenAiChat).kind, ErrorKind::Authentication);
}

#[test]
fn a_generic_openai_type_leaves_the_kind_to_the_status() {
    let cases: [(u16, &[u8], ErrorKind); 4] = [
        (404, br#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#, ErrorKind::NotFound),
        (401, br#"{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}"#, ErrorKind::Authentication),
        (503, br#"{"error":{"message":"busy","type":"server_error","param":null,"code":null}}"#, ErrorKind::Overloaded),
        (400, br#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#, ErrorKind::InvalidRequest),
    ];
    for (status, body, kind) in cases {
        let e = ApiError::from_upstream(status, &bytes::Bytes::from_static(body), Dialect::OpenAiChat);
        assert_eq!(e.kind, kind, "{status}");
    }
    // Without a status (inside a stream) the generic type is all there is.
    assert_eq!(ErrorKind::from_openai(None, Some("invalid_request_error"), None), ErrorKind::InvalidRequest);
    assert_eq!(ErrorKind::from_openai(Some("weird"), None, None), ErrorKind::Api);
    assert_eq!(ErrorKind::from_openai(Some("weird"), Some("invalid_request_error"), None), ErrorKind::InvalidRequest);
}

#[test]
fn a_translated_error_keeps_the_upstream_code_for_openai_clients() {
    // Written anew (the upstream was Gemini), an OpenAI error still carries a code
    // the gateway read: here none, so the kind's.
    let gemini = bytes::Bytes::from_static(
        br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#,
    );
    let e = ApiError::from_upstream(429, &gemini, Dialect::Gemini);
    assert_eq!(
        e.body_for(Dialect::OpenAiChat),
        br#"{"error":{"message":"Quota exceeded","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}"#
    );
    // A Gemini client gets Gemini's body, details and all, with its status.
    assert_eq!(e.body_for(Dialect::Gemini), gemini.to_vec());
    let cancelled = bytes::Bytes::from_static(br#"{"error":{"code":499,"message":"cancelled","status":"CANCELLED"}}"#);
    let e = ApiError::from_upstream(499, &cancelled, Dialect::Gemini);
    assert_eq!((e.status_for(Dialect::Gemini), e.body_for(Dialect::Gemini)), (499, cancelled.to_vec()));
    assert_eq!(e.status_for(Dialect::Anthropic), 499);
    let e = ApiError { code: Some("context_length_exceeded".into()), ..ApiError::invalid("too long") };
    assert_eq!(
        e.body_for(Dialect::OpenAiChat),
        br#"{"error":{"message":"too long","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#
    );
}

#[test]
fn a_context_overflow_is_context_length_exceeded_for_openai_clients_and_prompt_too_long_for_anthropic_ones() {
    let anthropic = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#,
    );
    let e = ApiError::from_upstream(400, &anthropic, Dialect::Anthropic);
    assert_eq!(
        e.body_for(Dialect::OpenAiResponses),
        br#"{"error":{"message":"prompt is too long: 250000 tokens > 200000 maximum","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#
    );
    assert_eq!(e.body_for(Dialect::Anthropic), anthropic.to_vec());
    let gemini = bytes::Bytes::from_static(
        br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
    );
    let e = ApiError::from_upstream(400, &gemini, Dialect::Gemini);
    assert_eq!((e.status_for(Dialect::OpenAiChat), e.code.as_deref()), (400, Some("context_length_exceeded")));
    assert_eq!(
        e.body_for(Dialect::Anthropic),
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 1200000 tokens > 1048576 maximum (The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).)"}}"#
    );
    let openai = bytes::Bytes::from_static(
        br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    );
    let e = ApiError::from_upstream(400, &openai, Dialect::OpenAiChat);
    assert_eq!(
        e.body_for(Dialect::Anthropic),
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: This model's maximum context length is 128000 tokens."}}"#
    );
    let counted = bytes::Bytes::from_static(
        br#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
    );
    let e = ApiError::from_upstream(400, &counted, Dialect::OpenAiChat);
    let v: serde_json::Value = serde_json::from_slice(&e.body_for(Dialect::Anthropic)).unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().starts_with("prompt is too long: 130532 tokens > 128000 maximum ("),
        "{v}"
    );
    // From a server that gives no code, OpenAI's words say it.
    let uncoded = bytes::Bytes::from_static(
        br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":null,"code":null}}"#,
    );
    let e = ApiError::from_upstream(400, &uncoded, Dialect::OpenAiChat);
    assert_eq!(
        e.body_for(Dialect::OpenAiResponses),
        br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#
    );
    // Other bad requests keep their words and get no code.
    let bad = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}}"#,
    );
    let e = ApiError::from_upstream(400, &bad, Dialect::Anthropic);
    assert_eq!(e.code, None);
    assert_eq!(
        e.body_for(Dialect::OpenAiChat),
        br#"{"error":{"message":"messages: roles must alternate","type":"invalid_request_error","param":null,"code":null}}"#
    );
}

#[test]
fn out_of_credit_is_a_429_insufficient_quota_for_openai_clients() {
    let body = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low"}}"#,
    );
    for status in [400, 402] {
        let e = ApiError::from_upstream(status, &body, Dialect::Anthropic);
        assert_eq!(e.status_for(Dialect::OpenAiResponses), 429);
        assert_eq!(e.status_for(Dialect::Anthropic), status);
        assert_eq!(
            e.body_for(Dialect::OpenAiChat),
            br#"{"error":{"message":"Your credit balance is too low","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#
        );
    }
    assert_eq!(ApiError::new(ErrorKind::Billing, "spent").status_for(Dialect::OpenAiChat), 429);
    // Gemini clients get Gemini's own spent-quota error.
    assert_eq!(
        ApiError::new(ErrorKind::Billing, "spent").body_for(Dialect::Gemini),
        br#"{"error":{"code":429,"message":"spent","status":"RESOURCE_EXHAUSTED"}}"#
    );
    // Anthropic's spent balance is a 400 bad request in its type, a billing error in
    // its words.
    let low = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#,
    );
    let e = ApiError::from_upstream(400, &low, Dialect::Anthropic);
    assert_eq!(
        (e.kind, e.status_for(Dialect::OpenAiChat), e.status_for(Dialect::Anthropic)),
        (ErrorKind::Billing, 429, 400)
    );
    assert_eq!(e.body_for(Dialect::Anthropic), low.to_vec(), "an Anthropic client gets it as it came");
    // OpenRouter's 402 reaches OpenAI clients as OpenAI's out-of-credit error.
    let credits = bytes::Bytes::from_static(br#"{"error":{"message":"Insufficient credits","code":402}}"#);
    let e = ApiError::from_upstream(402, &credits, Dialect::OpenAiChat);
    assert_eq!(e.status_for(Dialect::OpenAiResponses), 429);
    assert_eq!(
        e.body_for(Dialect::OpenAiChat),
        br#"{"error":{"message":"Insufficient credits","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#
    );
}

#[test]
fn an_anthropic_spend_limit_is_billing_not_a_rate_limit() {
    let body = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits.","details":{"error_code":"enforced_spend_limit_reached"}}}"#,
    );
    let e = ApiError::from_upstream(429, &body, Dialect::Anthropic);
    assert_eq!((e.kind, e.status_for(Dialect::Anthropic)), (ErrorKind::Billing, 429));
    assert!(e.not_worth_retrying());
    let plain =
        bytes::Bytes::from_static(br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#);
    assert_eq!(ApiError::from_upstream(429, &plain, Dialect::Anthropic).kind, ErrorKind::RateLimit);
}

#[test]
fn an_anthropic_413_is_a_bad_request_for_openai_clients() {
    let big = bytes::Bytes::from_static(
        br#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum size"}}"#,
    );
    let e = ApiError::from_upstream(413, &big, Dialect::Anthropic);
    assert_eq!(e.status_for(Dialect::Anthropic), 413);
    assert_eq!(e.body_for(Dialect::Anthropic), big.to_vec());
    assert_eq!(e.status_for(Dialect::OpenAiChat), 400);
    assert_eq!(
        e.body_for(Dialect::OpenAiResponses),
        br#"{"error":{"message":"Request exceeds the maximum size","type":"invalid_request_error","param":null,"code":"request_too_large"}}"#
    );
    assert_eq!(e.status_for(Dialect::Gemini), 400);
}
