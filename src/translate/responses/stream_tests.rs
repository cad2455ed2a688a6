//! The Responses stream decoder and encoder on fixtures: golden output, and identical
//! output for every two-way split of the input and for byte-by-byte feeding.

use super::tests::{fixture, fixture_dir, golden, normalize};
use super::*;
use crate::protocol::anthropic::{BlockDelta, ContentBlock, StreamEvent};
use crate::protocol::openai_responses::{ResponseObject, ResponsesStreamEvent};
use crate::sse::{write_event, SseDecoder, SseFrame};
use crate::translate::error::to_json;
use bytes::BytesMut;
use serde_json::{json, Value};

/// Feeds `input` cut at `cuts` through SSE framing into `on_frame`, then ends it.
fn frames_split(input: &[u8], cuts: &[usize], mut on_frame: impl FnMut(&SseFrame)) {
    let mut sse = SseDecoder::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        sse.push(&input[start..cut], &mut frames).unwrap();
        start = cut;
        frames.drain(..).for_each(|f| on_frame(&f));
    }
    sse.finish(&mut frames);
    frames.drain(..).for_each(|f| on_frame(&f));
}

/// Checks that every two-way split and byte-by-byte feeding give what the whole input gives.
pub(super) fn check_splits(name: &str, input: &[u8], run: impl Fn(&[usize]) -> String) -> String {
    let whole = run(&[]);
    for cut in 0..=input.len() {
        assert_eq!(run(&[cut]), whole, "{name}: split at byte {cut}");
    }
    let every: Vec<usize> = (1..input.len()).collect();
    assert_eq!(run(&every), whole, "{name}: byte by byte");
    whole
}

// ======================================================= decoder

fn decode_events(input: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
    let mut decoder = ResponsesDecoder::default();
    let mut events = Vec::new();
    frames_split(input, cuts, |f| decoder.decode(f, &mut events));
    decoder.finish(&mut events);
    events
}

pub(super) fn render(events: &[StreamEvent]) -> String {
    let mut out = BytesMut::new();
    for ev in events {
        write_event(&mut out, ev.name(), &to_json(ev));
    }
    String::from_utf8(out.to_vec()).unwrap()
}

/// Decodes fixture `name` (golden `expected/<name>.canonical`); returns the events.
pub(super) fn check_decode(name: &str) -> Vec<StreamEvent> {
    let input = fixture(name);
    let out = check_splits(name, &input, |cuts| render(&decode_events(&input, cuts)));
    golden(&format!("{name}.canonical"), &out);
    decode_events(&input, &[])
}

/// Blocks open, take deltas and close one at a time, numbered in order.
fn assert_well_formed(events: &[StreamEvent]) {
    assert!(matches!(events.first(), Some(StreamEvent::MessageStart { .. })), "{events:?}");
    let mut open: Option<usize> = None;
    let mut next = 0;
    for ev in &events[1..] {
        match ev {
            StreamEvent::ContentBlockStart { index, .. } => {
                assert_eq!(open, None, "block {index} starts while {open:?} is open");
                assert_eq!(*index, next);
                open = Some(*index);
                next += 1;
            }
            StreamEvent::ContentBlockDelta { index, .. } => assert_eq!(open, Some(*index)),
            StreamEvent::ContentBlockStop { index } => {
                assert_eq!(open, Some(*index));
                open = None;
            }
            StreamEvent::MessageDelta { .. } | StreamEvent::MessageStop | StreamEvent::Error { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn decode_text() {
    let events = check_decode("text.sse");
    assert_well_formed(&events);
    assert_eq!(
        render(&events),
        concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"resp_text1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"gpt-4.1-2025-04-14\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" wörld\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" ✓\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":20,\"output_tokens\":7,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":100}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        )
    );
}

#[test]
fn decode_parallel_calls_with_interleaved_arguments() {
    let events = check_decode("parallel_tools.sse");
    assert_well_formed(&events);
    // The first call's block is whole before the second starts; deltas go by item_id.
    let summary: Vec<String> = events
        .iter()
        .filter_map(|ev| match ev {
            StreamEvent::ContentBlockStart { index, content_block: ContentBlock::ToolUse { id, name, .. } } => {
                Some(format!("start {index} {id} {name}"))
            }
            StreamEvent::ContentBlockDelta { index, delta: BlockDelta::InputJsonDelta { partial_json } } => {
                Some(format!("delta {index} {partial_json}"))
            }
            StreamEvent::ContentBlockStop { index } => Some(format!("stop {index}")),
            StreamEvent::MessageDelta { delta, .. } => delta.stop_reason.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        summary,
        [
            "start 0 call_a get_weather",
            "delta 0 {\"ci",
            "delta 0 ty\":\"Paris\"}",
            "stop 0",
            "start 1 call_b_x get_time",
            "delta 1 {\"tz\":",
            "delta 1 \"CET\"}",
            "stop 1",
            "tool_use",
        ]
    );
}

#[test]
fn decode_reasoning_summary_parts_and_unknown_events() {
    let events = check_decode("reasoning.sse");
    assert_well_formed(&events);
    let out = render(&events);
    assert!(out.contains("\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}"));
    assert!(out.contains("\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"\\n\\n\"}"), "{out}");
    assert!(!out.contains("gAAAA"), "encrypted reasoning is not forwarded");
    assert!(out.contains("\"stop_reason\":\"end_turn\""));
    assert!(out.contains("\"usage\":{\"input_tokens\":30,\"output_tokens\":200,"));
}

#[test]
fn decode_incomplete_and_refusal() {
    let events = check_decode("incomplete.sse");
    assert_well_formed(&events);
    assert!(render(&events).contains("\"stop_reason\":\"max_tokens\""));
    let events = check_decode("refusal.sse");
    assert_well_formed(&events);
    let out = render(&events);
    assert!(out.contains("\"text\":\"I can't help\""));
    assert!(out.contains("\"stop_reason\":\"refusal\""));
}

#[test]
fn decode_failed_error_and_broken_off_streams() {
    let events = check_decode("failed.sse");
    assert_well_formed(&events);
    assert_eq!(
        events.last(),
        Some(
            &ApiError::from_openai_error(Some("server_error".into()), None, "The model failed to generate a response.")
                .to_stream_event()
        )
    );
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::MessageStop)));

    let events = check_decode("error.sse");
    assert_eq!(events.len(), 2, "the response.failed after the error is ignored: {events:?}");
    assert_eq!(
        events[1],
        ApiError::from_openai_error(
            Some("rate_limit_exceeded".into()),
            None,
            "Rate limit reached for gpt-4.1 on tokens per min (TPM)."
        )
        .to_stream_event()
    );

    let events = check_decode("broken_off.sse");
    assert_well_formed(&events);
    assert_eq!(
        events.last(),
        Some(&ApiError::new(ErrorKind::Api, "upstream stream ended before response.completed").to_stream_event())
    );
    // The cut frame was not decoded.
    assert!(!render(&events).contains(" se"));
}

#[test]
fn decode_whole_items_and_tolerant_shapes() {
    // A server that sends items only whole, a nested error shape, `[DONE]`, no item ids.
    let input = concat!(
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_w\",\"status\":\"completed\",\"output\":[",
        "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"},",
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":null},{\"type\":\"output_text\",\"text\":\"hi\"}]}",
        "],\"usage\":null}}\n\n",
        "data: [DONE]\n\n",
    );
    let out = check_splits("whole items", input.as_bytes(), |cuts| render(&decode_events(input.as_bytes(), cuts)));
    let events = decode_events(input.as_bytes(), &[]);
    assert_well_formed(&events);
    assert!(out.contains("\"content_block\":{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"f\",\"input\":{}}"));
    assert!(out.contains("\"partial_json\":\"{\\\"a\\\":1}\""));
    assert!(out.contains("\"text\":\"hi\""));
    assert!(out.contains("\"stop_reason\":\"tool_use\""));

    let nested = b"event: error\ndata: {\"type\":\"error\",\"sequence_number\":1,\"error\":{\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}\n\n";
    let events = decode_events(nested, &[]);
    let err = ApiError::from_openai_error(Some("context_length_exceeded".into()), None, "too long");
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert_eq!(events, [err.to_stream_event()]);

    let events = decode_events(b"data: {not json\n\n", &[]);
    assert!(
        matches!(&events[..], [StreamEvent::Error { error }] if error.message.starts_with("upstream sent a malformed event"))
    );
}

// ======================================================= encoder

pub(super) fn encode_split(input: &[u8], cuts: &[usize], id: &str, info: &ResponsesRequestInfo) -> String {
    let mut encoder = ResponsesEncoder::new(id.to_string(), info.clone());
    let mut out = BytesMut::new();
    frames_split(input, cuts, |f| {
        let ev: StreamEvent = serde_json::from_str(&f.data).unwrap();
        encoder.encode(&ev, &mut out);
    });
    encoder.finish(&mut out);
    normalize(&out)
}

fn stream_fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    let path = if path.exists() { path } else { fixture_dir().join("../stream").join(name) };
    std::fs::read(path).unwrap()
}

fn info() -> ResponsesRequestInfo {
    ResponsesRequestInfo {
        model: "gpt-4.1".into(),
        stream: true,
        store: true,
        tools: serde_json::from_value(
            json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]),
        )
        .unwrap(),
        ..Default::default()
    }
}

/// Encodes canonical fixture `name` (golden `expected/<name>.to_responses`).
pub(super) fn check_encode(name: &str) -> String {
    let input = stream_fixture(name);
    let info = info();
    let out = check_splits(name, &input, |cuts| encode_split(&input, cuts, "resp_test", &info));
    golden(&format!("{name}.to_responses"), &out);
    assert_frames_valid(&out);
    out
}

/// Every frame: `event:` equals the data's `type`, the data is a known event, and
/// sequence numbers count up from 0. Returns the parsed events.
pub(super) fn assert_frames_valid(out: &str) -> Vec<ResponsesStreamEvent> {
    let mut events = Vec::new();
    for (n, frame) in out.split_terminator("\n\n").enumerate() {
        let (event_line, data_line) = frame.split_once('\n').unwrap();
        let name = event_line.strip_prefix("event: ").unwrap();
        let data: Value = serde_json::from_str(data_line.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["type"], json!(name));
        assert_eq!(data["sequence_number"], json!(n), "{frame}");
        let ev: ResponsesStreamEvent = serde_json::from_value(data).unwrap();
        assert_ne!(ev, ResponsesStreamEvent::Other, "{frame}");
        events.push(ev);
    }
    events
}

/// The final response object of an encoded stream.
pub(super) fn final_response(events: &[ResponsesStreamEvent]) -> &ResponseObject {
    match events.last() {
        Some(ResponsesStreamEvent::Completed { response, .. } | ResponsesStreamEvent::Incomplete { response, .. }) => {
            response
        }
        other => panic!("no terminal event: {other:?}"),
    }
}

/// The streamed answer's final object equals the complete answer's. Arguments are
/// compared as JSON: the stream forwards the upstream's text, the complete answer
/// re-serializes the parsed input (or keeps unparseable text under `_raw_arguments`).
pub(super) fn assert_matches_complete_answer(input: &[u8], out: &str) {
    fn arguments_as_json(mut response: Value) -> Value {
        for item in response["output"].as_array_mut().into_iter().flatten() {
            if let Some(Value::String(args)) = item.get("arguments") {
                let parsed = serde_json::from_str(args).unwrap_or_else(|_| json!({"_raw_arguments": args}));
                item["arguments"] = parsed;
            }
        }
        response
    }
    let mut acc = crate::translate::stream::Accumulator::default();
    frames_split(input, &[], |f| acc.push(&serde_json::from_str(&f.data).unwrap()));
    let message = acc.finish().unwrap();
    let complete: Value =
        serde_json::from_str(&normalize(&canonical_to_response(&message, "resp_test", &info()))).unwrap();
    final_response(&assert_frames_valid(out));
    // The terminal event's object as sent (its echoed tools are not read back by the
    // typed model).
    let last = out.split_terminator("\n\n").last().unwrap();
    let data: Value = serde_json::from_str(last.split_once("\ndata: ").unwrap().1).unwrap();
    let streamed: Value = serde_json::from_str(&normalize(data["response"].to_string().as_bytes())).unwrap();
    assert_eq!(arguments_as_json(streamed), arguments_as_json(complete));
}

#[test]
fn encode_text_and_tools() {
    let out = check_encode("anthropic_tool_use.sse");
    let events = assert_frames_valid(&out);
    let names: Vec<&str> = events.iter().map(ResponsesStreamEvent::name).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert!(out.contains(
        "{\"type\":\"response.output_item.added\",\"sequence_number\":8,\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"fc_test_1\",\"status\":\"in_progress\",\"arguments\":\"\",\"call_id\":\"toolu_01\",\"name\":\"get_weather\"}}"
    ));
    let response = final_response(&events);
    assert_eq!(response.usage.map(|u| (u.input_tokens, u.input_tokens_details.cached_tokens)), Some((572, 100)));
    assert_matches_complete_answer(&stream_fixture("anthropic_tool_use.sse"), &out);
}

#[test]
fn encode_thinking_without_signatures() {
    let out = check_encode("anthropic_thinking.sse");
    assert!(!out.contains("EqQB"), "signatures are never exposed");
    assert!(out.contains("\"type\":\"response.reasoning_summary_text.delta\",\"sequence_number\":4,\"item_id\":\"rs_test_0\",\"output_index\":0,\"summary_index\":0,\"delta\":\"Let me think.\""));
    assert_matches_complete_answer(&stream_fixture("anthropic_thinking.sse"), &out);
}

#[test]
fn encode_truncated_answer_is_incomplete() {
    let out = check_encode("canonical_max_tokens.sse");
    let events = assert_frames_valid(&out);
    let response = final_response(&events);
    assert_eq!(response.status.as_deref(), Some("incomplete"));
    assert_eq!(response.incomplete_details.as_ref().and_then(|d| d.reason.as_deref()), Some("max_output_tokens"));
    // Consecutive text blocks made one message; the redacted thinking made nothing.
    assert!(out.contains("\"text\":\"Let me look.\""));
    assert!(!out.contains("EmwK"));
    assert_matches_complete_answer(&stream_fixture("canonical_max_tokens.sse"), &out);
}

#[test]
fn encode_midstream_error() {
    let out = check_encode("anthropic_midstream_error.sse");
    let events = assert_frames_valid(&out);
    assert!(matches!(
        &events[events.len() - 2],
        ResponsesStreamEvent::Error { code: Some(code), message, .. } if code == "server_error" && message == "Overloaded"
    ));
    match events.last() {
        Some(ResponsesStreamEvent::Failed { response, .. }) => {
            assert_eq!(response.status.as_deref(), Some("failed"));
            assert_eq!(response.error.as_ref().and_then(|e| e.code.as_deref()), Some("server_error"));
            assert_eq!(response.output.len(), 1, "the partial message is kept");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn encode_error_before_start_and_ignore_after_terminal() {
    let mut encoder = ResponsesEncoder::new(String::new(), ResponsesRequestInfo::default());
    let mut out = BytesMut::new();
    encoder.encode(&ApiError::new(ErrorKind::RateLimit, "slow down").to_stream_event(), &mut out);
    encoder.encode(&StreamEvent::MessageStop, &mut out);
    encoder.finish(&mut out);
    let out = normalize(&out);
    assert_eq!(
        out,
        concat!(
            "event: error\ndata: {\"type\":\"error\",\"sequence_number\":0,\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\",\"param\":null}\n\n",
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"id\":\"\",\"object\":\"response\",\"created_at\":0,\"status\":\"failed\",\"background\":false,\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\"},\"incomplete_details\":null,\"instructions\":null,\"max_output_tokens\":null,\"model\":\"\",\"output\":[],\"parallel_tool_calls\":true,\"previous_response_id\":null,\"reasoning\":{\"effort\":null,\"summary\":null},\"store\":false,\"temperature\":null,\"text\":{\"format\":{\"type\":\"text\"}},\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":null,\"truncation\":\"disabled\",\"usage\":null,\"user\":null,\"metadata\":{}}}\n\n",
        )
    );
}

#[test]
fn responses_round_trip_through_the_canonical_stream() {
    // Responses upstream → canonical → Responses client keeps calls, arguments and usage.
    let input = fixture("parallel_tools.sse");
    let run = |cuts: &[usize]| {
        let events = decode_events(&input, cuts);
        let mut encoder = ResponsesEncoder::new("resp_rt".into(), info());
        let mut out = BytesMut::new();
        for ev in &events {
            encoder.encode(ev, &mut out);
        }
        normalize(&out)
    };
    let out = check_splits("parallel_tools round trip", &input, run);
    let events = assert_frames_valid(&out);
    let response = final_response(&events);
    let calls: Vec<(String, String)> = response
        .output
        .iter()
        .filter_map(|item| match item {
            crate::protocol::openai_responses::Item::FunctionCall { call_id, arguments, .. } => {
                Some((call_id.clone(), arguments.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("call_a".to_string(), "{\"city\":\"Paris\"}".to_string()),
            ("call_b_x".to_string(), "{\"tz\":\"CET\"}".to_string())
        ]
    );
    assert_eq!(response.usage.map(|u| (u.input_tokens, u.output_tokens)), Some((50, 30)));
}
