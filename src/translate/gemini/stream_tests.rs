//! The stream decoder and encoder on fixtures, with golden output: every test feeds its
//! input whole, split at every byte and byte by byte, and must get the same output.

use super::tests::fixture;
use super::*;
use crate::protocol::anthropic::StreamEvent;
use crate::sse::SseDecoder;
use crate::translate::stream::Accumulator;
use bytes::BytesMut;
use std::path::PathBuf;

fn expected_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini/expected")
}

/// Feeds `input` in the pieces `cuts` makes of it through the SSE decoder and `frame`.
fn frames(input: &[u8], cuts: &[usize], mut frame: impl FnMut(&crate::sse::SseFrame)) {
    let mut sse = SseDecoder::new();
    let mut pending = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        sse.push(&input[start..end], &mut pending).unwrap();
        pending.drain(..).for_each(|f| frame(&f));
        start = end;
    }
    sse.finish(&mut pending);
    pending.drain(..).for_each(|f| frame(&f));
}

/// Gemini SSE bytes → canonical events, the way the stream translator drives a decoder.
pub(super) fn decode(input: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut decoder = GeminiDecoder::default();
    let mut events = Vec::new();
    frames(input, cuts, |f| decoder.decode(f, &mut events));
    decoder.finish(&mut events);
    events
}

/// Canonical events → Gemini bytes; after a terminal event the encoder is finished,
/// as the stream translator does, and `finish` is called once more at the end.
pub(super) fn encode(events: &[StreamEvent], json_array: bool) -> String {
    let mut encoder = GeminiEncoder::new(json_array, true);
    let mut out = BytesMut::new();
    for ev in events {
        encoder.encode(ev, &mut out);
        if matches!(ev, StreamEvent::MessageStop | StreamEvent::Error { .. }) {
            encoder.finish(&mut out);
        }
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

/// Anthropic SSE bytes → canonical events (serde per frame).
fn anthropic_events(input: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    frames(input, cuts, |f| events.push(serde_json::from_str(&f.data).unwrap()));
    events
}

pub(super) fn event_lines(events: &[StreamEvent]) -> String {
    events.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect()
}

/// A stream from `upstream` to a Gemini client, fed in the pieces `cuts` makes of
/// `input` through the stream translator, as the relay drives it.
pub(super) fn to_gemini_client(
    upstream: crate::protocol::Dialect,
    opts: &crate::translate::stream::ClientStreamOptions,
    input: &[u8],
    cuts: &[usize],
) -> String {
    let mut t =
        crate::translate::stream::StreamTranslator::new(upstream, crate::protocol::Dialect::Gemini, opts.clone());
    let mut out = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        out.extend_from_slice(&t.push(&input[start..end]));
        start = end;
    }
    out.extend_from_slice(&t.finish());
    String::from_utf8(out).unwrap()
}

/// Runs `run` on `input` whole, split at every byte and byte by byte; all must agree.
pub(super) fn split_invariant(name: &str, input: &[u8], run: impl Fn(&[u8], &[usize]) -> String) -> String {
    let whole = run(input, &[]);
    for cut in 0..=input.len() {
        assert_eq!(run(input, &[cut]), whole, "{name}: split at byte {cut}");
    }
    let every: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run(input, &every), whole, "{name}: byte by byte");
    whole
}

fn golden(file: &str, actual: &str) {
    let path = expected_dir().join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {path:?}; run with UPDATE_GOLDEN=1 and review it"));
    assert_eq!(actual, expected, "{file}");
}

/// Decodes a Gemini fixture under every split, checks the golden events, returns them.
fn check_decode(name: &str) -> Vec<StreamEvent> {
    let input = fixture(name);
    let lines = split_invariant(name, &input, |i, c| event_lines(&decode(i, c)));
    golden(&format!("{name}.events"), &lines);
    decode(&input, &[])
}

fn accumulate(events: &[StreamEvent]) -> crate::protocol::anthropic::MessagesResponse {
    let mut acc = Accumulator::default();
    events.iter().for_each(|e| acc.push(e));
    acc.finish().unwrap()
}

fn last(events: &[StreamEvent]) -> String {
    serde_json::to_string(events.last().unwrap()).unwrap()
}

// ======================================================= decoder

#[test]
fn decodes_text_with_crlf_framing_and_skips_empty_chunks() {
    let events = check_decode("stream_text.sse");
    let expected = concat!(
        r#"{"type":"message_start","message":{"id":"mDhoaO3pBYKXz7IP1-ucmAU","type":"message","role":"assistant","model":"gemini-2.5-flash","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}"#,
        "\n",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        "\n",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#,
        "\n",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo wörld, "}}"#,
        "\n",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"how are you?"}}"#,
        "\n",
        r#"{"type":"content_block_stop","index":0}"#,
        "\n",
        // The last usageMetadata counts; the prompt count includes the cached tokens.
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":114,"output_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":4096}}"#,
        "\n",
        r#"{"type":"message_stop"}"#,
        "\n",
    );
    assert_eq!(event_lines(&events), expected);
}

#[test]
fn decodes_parallel_function_calls_with_their_signature() {
    let events = check_decode("stream_parallel_calls.sse");
    let streamed = accumulate(&events);
    let whole = response_to_canonical(&fixture("response_function_calls.json"), "m").unwrap();
    assert_eq!(streamed, whole, "the stream adds up to the non-streaming answer");
    assert_eq!(streamed.stop_reason.as_deref(), Some("tool_use"));
}

#[test]
fn decodes_thinking_and_a_signature_on_the_last_text() {
    let events = check_decode("stream_thinking.sse");
    assert_eq!(accumulate(&events), response_to_canonical(&fixture("response_thinking.json"), "m").unwrap());
}

#[test]
fn decodes_max_tokens() {
    let events = check_decode("stream_max_tokens.sse");
    assert_eq!(accumulate(&events), response_to_canonical(&fixture("response_max_tokens.json"), "m").unwrap());
}

#[test]
fn decodes_safety_stop_as_refusal() {
    let events = check_decode("stream_safety.sse");
    assert_eq!(accumulate(&events).stop_reason.as_deref(), Some("refusal"));
    assert!(matches!(events.last(), Some(StreamEvent::MessageStop)));
}

#[test]
fn decodes_a_blocked_prompt_as_an_empty_refusal() {
    let events = check_decode("stream_prompt_blocked.sse");
    let message = accumulate(&events);
    assert!(message.content.is_empty());
    assert_eq!(message, response_to_canonical(&fixture("response_prompt_blocked.json"), "m").unwrap());
}

#[test]
fn decodes_a_midstream_error_in_band() {
    let events = check_decode("stream_midstream_error.sse");
    assert_eq!(
        last(&events),
        r#"{"type":"error","error":{"type":"overloaded_error","message":"The model is overloaded. Please try again later."}}"#
    );
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::MessageStop | StreamEvent::MessageDelta { .. })));
}

#[test]
fn a_broken_off_stream_ends_with_an_error() {
    let events = check_decode("stream_broken_off.sse");
    assert_eq!(
        last(&events),
        r#"{"type":"error","error":{"type":"api_error","message":"upstream stream ended before its finishReason"}}"#
    );
    // Nothing at all is just as broken.
    assert_eq!(event_lines(&decode(b"", &[])), format!("{}\n", last(&events)));
}

#[test]
fn malformed_chunks_and_status_codes() {
    let events = decode(b"data: {\"candidates\": [\n\n", &[]);
    assert!(last(&events)
        .starts_with(r#"{"type":"error","error":{"type":"api_error","message":"upstream sent a malformed chunk: "#));
    let events = decode(b"data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\"}}\n\n", &[]);
    assert_eq!(
        event_lines(&events),
        "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Resource has been exhausted\"}}\n"
    );
}

// ======================================================= encoder

fn check_encode_anthropic(name: &str, json_array: bool) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stream").join(name);
    let input = std::fs::read(path).unwrap();
    let out = split_invariant(name, &input, |i, c| encode(&anthropic_events(i, c), json_array));
    golden(&format!("{name}.to_gemini_{}", if json_array { "json" } else { "sse" }), &out);
    out
}

#[test]
fn encodes_text_and_tool_calls_as_sse() {
    let out = check_encode_anthropic("anthropic_tool_use.sse", false);
    let expected = concat!(
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Checking ✓\"}]},\"index\":0}],\"modelVersion\":\"claude-sonnet-4-5\",\"responseId\":\"msg_01\"}\n\n",
        // Each call leaves whole once its block stops.
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"id\":\"toolu_01\",\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]},\"index\":0}],\"modelVersion\":\"claude-sonnet-4-5\",\"responseId\":\"msg_01\"}\n\n",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"id\":\"toolu_02\",\"name\":\"get_time\",\"args\":{\"tz\":\"CET\"}}}]},\"index\":0}],\"modelVersion\":\"claude-sonnet-4-5\",\"responseId\":\"msg_01\"}\n\n",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":572,\"candidatesTokenCount\":89,\"cachedContentTokenCount\":100,\"totalTokenCount\":661},\"modelVersion\":\"claude-sonnet-4-5\",\"responseId\":\"msg_01\"}\n\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn encodes_one_json_array_without_alt_sse() {
    let out = check_encode_anthropic("anthropic_tool_use.sse", true);
    assert!(out.starts_with("[{\"candidates\":"));
    assert!(out.ends_with("\"responseId\":\"msg_01\"}]"));
    assert_eq!(out.matches(",\r\n{").count(), 3);
    let chunks: Vec<crate::protocol::gemini::GenerateContentResponse> = serde_json::from_str(&out).unwrap();
    assert_eq!(chunks.len(), 4);
    let sse = check_encode_anthropic("anthropic_tool_use.sse", false);
    let from_sse: Vec<&str> = sse.split_terminator("\n\n").map(|f| f.strip_prefix("data: ").unwrap()).collect();
    assert_eq!(out, format!("[{}]", from_sse.join(",\r\n")), "same chunks, other framing");
}

#[test]
fn encodes_thoughts_without_anthropic_signatures() {
    let out = check_encode_anthropic("anthropic_thinking.sse", false);
    assert!(out.starts_with(
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Let me think.\",\"thought\":true}]},\"index\":0}]"
    ));
    assert!(!out.contains("EqQB"), "{out}");
    assert!(!out.contains("some_future_event"));
    check_encode_anthropic("anthropic_thinking.sse", true);
}

/// Thoughts reach a Gemini client only when it asked (`includeThoughts`), as Gemini
/// answers; the answer's text and finish are the same either way.
#[test]
fn thoughts_are_written_only_for_a_client_that_asked() {
    let input =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stream/anthropic_thinking.sse"))
            .unwrap();
    let events = anthropic_events(&input, &[]);
    let mut encoder = GeminiEncoder::new(false, false);
    let mut out = BytesMut::new();
    for ev in &events {
        encoder.encode(ev, &mut out);
    }
    encoder.finish(&mut out);
    let without = String::from_utf8(out.to_vec()).unwrap();
    let with = encode(&events, false);
    assert!(with.contains("\"thought\":true") && !without.contains("\"thought\""), "{without}");
    let text_chunks = |s: &str| -> Vec<String> {
        s.split_terminator("\n\n").filter(|f| !f.contains("\"thought\":true")).map(str::to_string).collect()
    };
    assert_eq!(text_chunks(&without), text_chunks(&with));
}

#[test]
fn encodes_a_midstream_error_and_closes_the_array_once() {
    let sse = check_encode_anthropic("anthropic_midstream_error.sse", false);
    // Bare JSON, as Gemini writes an error into its SSE stream and its SDKs look for it.
    assert!(
        sse.ends_with("\n\n{\"error\":{\"code\":503,\"message\":\"Overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n"),
        "{sse}"
    );
    assert!(!sse.contains("finishReason"));
    let array = check_encode_anthropic("anthropic_midstream_error.sse", true);
    assert!(array.ends_with(",\r\n{\"error\":{\"code\":503,\"message\":\"Overloaded\",\"status\":\"UNAVAILABLE\"}}]"));
    // Closed exactly once, though the translator finishes the encoder after the error.
    let chunks: Vec<serde_json::Value> = serde_json::from_str(&array).unwrap();
    assert_eq!(chunks.len(), 2);
}

#[test]
fn an_empty_stream_is_an_empty_array() {
    assert_eq!(encode(&[], true), "[]");
    assert_eq!(encode(&[], false), "");
    let error = ApiError::new(crate::translate::ErrorKind::RateLimit, "slow down").to_stream_event();
    assert_eq!(
        encode(&[error], true),
        "[{\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}]"
    );
}

/// Gemini → canonical → Gemini: the re-encoded stream decodes to the same message,
/// signatures and call ids included.
#[test]
fn gemini_streams_survive_decode_then_encode() {
    for name in [
        "stream_text.sse",
        "stream_parallel_calls.sse",
        "stream_thinking.sse",
        "stream_max_tokens.sse",
        "stream_safety.sse",
        "stream_midstream_error.sse",
    ] {
        let input = fixture(name);
        let sse = split_invariant(name, &input, |i, c| encode(&decode(i, c), false));
        golden(&format!("{name}.to_gemini_sse"), &sse);
        let array = split_invariant(name, &input, |i, c| encode(&decode(i, c), true));
        let chunks: Vec<serde_json::Value> = serde_json::from_str(&array).unwrap();
        // One frame per chunk; an error is a frame of bare JSON.
        assert_eq!(chunks.len(), sse.matches("data: ").count() + sse.matches("\n\n{\"error\"").count(), "{name}");

        let original = decode(&input, &[]);
        let again = decode(sse.as_bytes(), &[]);
        if matches!(original.last(), Some(StreamEvent::Error { .. })) {
            assert_eq!(again.last(), original.last(), "{name}");
            continue;
        }
        let (a, b) = (accumulate(&original), accumulate(&again));
        assert_eq!(b, a, "{name}");
    }
}

/// A call whose arguments are not whole JSON (cut off by the token limit, or malformed)
/// is not given to a Gemini client, which would run it: the finish reason says why.
#[test]
fn a_call_with_broken_arguments_is_left_out_and_the_finish_reason_says_why() {
    let sse = |stop: &str| {
        format!(
            concat!(
                "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{{\"input_tokens\":1,\"output_tokens\":0}}}}}}\n\n",
                "event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"write_file\",\"input\":{{}}}}}}\n\n",
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{{\\\"file_path\\\": \\\"a.txt\\\", \\\"content\\\": \\\"par\"}}}}\n\n",
                "event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n",
                "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{}\"}},\"usage\":{{\"output_tokens\":9}}}}\n\n",
                "event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
            ),
            stop
        )
    };
    for (stop, reason) in [("max_tokens", "MAX_TOKENS"), ("tool_use", "MALFORMED_FUNCTION_CALL")] {
        let out = encode(&anthropic_events(sse(stop).as_bytes(), &[]), false);
        assert!(!out.contains("functionCall"), "{out}");
        assert!(out.contains(&format!("\"finishReason\":\"{reason}\"")), "{out}");
        let whole = crate::translate::gemini::canonical_to_response(
            &accumulate(&anthropic_events(sse(stop).as_bytes(), &[])),
            false,
        );
        let whole = String::from_utf8(whole).unwrap();
        assert!(!whole.contains("functionCall"), "{whole}");
        assert!(whole.contains(&format!("\"finishReason\":\"{reason}\"")), "{whole}");
    }
}

/// A Gemini client reading one JSON array from a Gemini upstream gets the upstream's
/// chunks as they came, fields the gateway does not model among them (safety ratings,
/// citations, grounding supports, an image part), framed as the array's elements.
#[test]
fn a_gemini_stream_is_reframed_as_an_array_with_every_field_kept() {
    let chunks = [
        r#"{"candidates":[{"content":{"parts":[{"text":"A cat"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}],"role":"model"},"index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],"modelVersion":"gemini-2.5-flash-image","responseId":"r1"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":0,"citationMetadata":{"citationSources":[{"startIndex":0,"endIndex":5,"uri":"https://example.org"}]},"groundingMetadata":{"groundingSupports":[{"segment":{"endIndex":5},"groundingChunkIndices":[0]}],"groundingChunks":[{"web":{"uri":"https://example.org","title":"example.org"}}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"responseId":"r1"}"#,
    ];
    let input = format!("data: {}\r\n\r\ndata: {}\r\n\r\n", chunks[0], chunks[1]);
    let opts = crate::translate::stream::ClientStreamOptions { gemini_json_array: true, ..Default::default() };
    let run = |i: &[u8], cuts: &[usize]| to_gemini_client(crate::protocol::Dialect::Gemini, &opts, i, cuts);
    let out = split_invariant("gemini array", input.as_bytes(), run);
    assert_eq!(out, format!("[{},\r\n{}]", chunks[0], chunks[1]));

    // Broken off before its finish reason: an error element, then the array's end.
    let cut = format!("data: {}\r\n\r\n", chunks[0]);
    let out = run(cut.as_bytes(), &[]);
    let elements: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(elements.len(), 2, "{out}");
    assert_eq!(elements[0], serde_json::from_str::<serde_json::Value>(chunks[0]).unwrap());
    assert_eq!(elements[1]["error"]["status"], "INTERNAL", "{out}");

    // A malformed chunk is not passed on: the error it gives is.
    let broken = format!("data: {}\r\n\r\ndata: {{\"candidates\":[\r\n\r\n", chunks[0]);
    let out = run(broken.as_bytes(), &[]);
    let elements: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(elements.len(), 2, "{out}");
    assert!(elements[1]["error"]["message"].as_str().unwrap().contains("malformed"), "{out}");
    // JSON that is no chunk is not passed on either.
    let odd = format!("data: {}\r\n\r\ndata: {{\"candidates\":5}}\r\n\r\n", chunks[0]);
    let out = run(odd.as_bytes(), &[]);
    let elements: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!((elements.len(), &elements[1]["error"]["status"]), (2, &serde_json::json!("INTERNAL")), "{out}");
}
