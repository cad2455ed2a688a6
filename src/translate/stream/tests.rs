//! Stream translators on recorded-shape fixtures: golden output, identical output for
//! every split of the input, and frames leaving as soon as they are complete.

use super::*;
use std::path::PathBuf;

pub(super) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stream")
}

fn normalize(out: &[u8]) -> String {
    // `created` is the gateway's clock; everything else must match exactly.
    let s = String::from_utf8(out.to_vec()).unwrap();
    let mut result = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("\"created\":") {
        result.push_str(&rest[..i + 10]);
        rest = &rest[i + 10..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        result.push('0');
        rest = &rest[digits..];
    }
    result.push_str(rest);
    result
}

pub(super) fn translate(
    input: &[u8],
    cuts: &[usize],
    upstream: Dialect,
    client: Dialect,
    opts: &ClientStreamOptions,
) -> (String, StreamStats) {
    let mut t = StreamTranslator::new(upstream, client, opts.clone());
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        out.extend_from_slice(&t.push(&input[start..cut]));
        start = cut;
    }
    out.extend_from_slice(&t.push(&input[start..]));
    out.extend_from_slice(&t.finish());
    (normalize(&out), t.stats().clone())
}

/// Translates `name` whole, checks every two-way split and byte-by-byte feeding give the
/// same bytes, compares with the golden file and returns the output and stats.
pub(super) fn check(
    name: &str,
    upstream: Dialect,
    client: Dialect,
    opts: ClientStreamOptions,
) -> (String, StreamStats) {
    let input = std::fs::read(fixture_dir().join(name)).unwrap();
    let (whole, stats) = translate(&input, &[], upstream, client, &opts);
    for cut in 0..=input.len() {
        let (split, split_stats) = translate(&input, &[cut], upstream, client, &opts);
        assert_eq!(split, whole, "{name}: split at byte {cut}");
        assert_eq!(split_stats, stats, "{name}: stats, split at byte {cut}");
    }
    let every: Vec<usize> = (1..input.len()).collect();
    assert_eq!(translate(&input, &every, upstream, client, &opts).0, whole, "{name}: byte by byte");

    let golden = fixture_dir().join("expected").join(format!("{name}.to_{}", client.as_str()));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &whole).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("missing golden file {golden:?}; run with UPDATE_GOLDEN=1 and review it"));
    assert_eq!(whole, expected, "{name} → {}", client.as_str());
    (whole, stats)
}

const USAGE: ClientStreamOptions = ClientStreamOptions {
    include_usage: true,
    gemini_json_array: false,
    gemini_thoughts: true,
    responses: None,
    tool_names: None,
    used_tool_ids: None,
};

pub(super) const NO_USAGE: ClientStreamOptions = ClientStreamOptions {
    include_usage: false,
    gemini_json_array: false,
    gemini_thoughts: true,
    responses: None,
    tool_names: None,
    used_tool_ids: None,
};

#[test]
fn anthropic_passthrough_is_frame_exact_and_observed() {
    let (out, stats) = check("anthropic_tool_use.sse", Dialect::Anthropic, Dialect::Anthropic, NO_USAGE);
    let input = std::fs::read_to_string(fixture_dir().join("anthropic_tool_use.sse")).unwrap();
    assert_eq!(out, input);
    assert_eq!(stats.termination, Some(Termination::Complete));
    assert_eq!(stats.usage.input_tokens, 472);
    assert_eq!(stats.usage.cache_read_input_tokens, Some(100));
    assert_eq!(stats.usage.output_tokens, 89);
}

#[test]
fn anthropic_tools_to_chat() {
    let (out, stats) = check("anthropic_tool_use.sse", Dialect::Anthropic, Dialect::OpenAiChat, USAGE);
    assert!(
        out.contains(r#"{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_time","arguments":""}}"#)
    );
    assert!(out.ends_with("\"finish_reason\":\"tool_calls\"}]}\n\ndata: {\"id\":\"msg_01\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"claude-sonnet-4-5\",\"choices\":[],\"usage\":{\"prompt_tokens\":572,\"completion_tokens\":89,\"total_tokens\":661,\"prompt_tokens_details\":{\"cached_tokens\":100}}}\n\ndata: [DONE]\n\n"));
    assert_eq!(stats.termination, Some(Termination::Complete));
}

#[test]
fn anthropic_thinking_to_chat_drops_signature_and_unknown_events() {
    let (out, _) = check("anthropic_thinking.sse", Dialect::Anthropic, Dialect::OpenAiChat, NO_USAGE);
    assert!(out.contains(r#""delta":{"reasoning_content":"Let me think."}"#));
    assert!(!out.contains("EqQB"));
    assert!(!out.contains("some_future_event"));
    assert!(!out.contains("\"usage\""));
}

#[test]
fn anthropic_midstream_error_reaches_chat_client_in_band() {
    let (out, stats) = check("anthropic_midstream_error.sse", Dialect::Anthropic, Dialect::OpenAiChat, NO_USAGE);
    assert!(out.ends_with(
        "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
    ));
    assert!(!out.contains("[DONE]"));
    assert!(matches!(stats.termination, Some(Termination::Error(_))));
    assert!(stats.failed_before_content().is_none(), "content came first");
}

#[test]
fn chat_text_to_anthropic() {
    let (out, stats) = check("chat_text.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    let expected = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"chatcmpl-A\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"gpt-4o\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" wörld\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":12,\"output_tokens\":3,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":8}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    assert_eq!(out, expected);
    assert_eq!(stats.usage.input_tokens, 12);
    assert_eq!(stats.usage.cache_read_input_tokens, Some(8));
    assert_eq!(stats.termination, Some(Termination::Complete));
}

#[test]
fn chat_parallel_tools_to_anthropic_with_crlf_and_comments() {
    let (out, _) = check("chat_parallel_tools.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    let expected = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"chatcmpl-B\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"gpt-4o\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_a\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"ci\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ty\\\":\\\"Paris\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"call_b\",\"name\":\"get_time\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"tz\\\":\\\"CET\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":50,\"output_tokens\":30,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    assert_eq!(out, expected);
}

#[test]
fn chat_passthrough_keeps_frames() {
    let (out, stats) = check("chat_parallel_tools.sse", Dialect::OpenAiChat, Dialect::OpenAiChat, NO_USAGE);
    assert!(out.starts_with("data: {\"id\":\"chatcmpl-B\""));
    assert!(!out.contains("keepalive"), "comments are not frames");
    assert!(out.ends_with("data: [DONE]\n\n"));
    assert_eq!(stats.usage.output_tokens, 30);
}

#[test]
fn chat_reasoning_and_midstream_error_to_anthropic() {
    let (out, stats) = check("chat_midstream_error.sse", Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    assert!(out.contains("\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}"));
    assert!(out.contains("\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Hmm\"}"));
    assert!(out.ends_with("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The server had an error\"}}\n\n"));
    assert!(!out.contains("message_stop"));
    assert!(matches!(stats.termination, Some(Termination::Error(_))));
}

#[test]
fn broken_off_chat_stream_ends_with_an_error_event() {
    for client in [Dialect::Anthropic, Dialect::OpenAiChat] {
        let (out, stats) = check("chat_broken_off.sse", Dialect::OpenAiChat, client, NO_USAGE);
        assert!(out.contains("upstream stream"), "{out}");
        assert!(matches!(stats.termination, Some(Termination::Error(_))));
    }
}

#[test]
fn broken_off_anthropic_stream_ends_with_an_error_event() {
    let input = std::fs::read(fixture_dir().join("anthropic_tool_use.sse")).unwrap();
    let cut = input.len() / 2;
    for client in [Dialect::Anthropic, Dialect::OpenAiChat] {
        let mut t = StreamTranslator::new(Dialect::Anthropic, client, NO_USAGE);
        let mut out = t.push(&input[..cut]).to_vec();
        out.extend_from_slice(&t.finish());
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("upstream stream ended before message_stop"), "{out}");
        // Only whole frames were written before the error.
        for frame in out.split_terminator("\n\n") {
            assert!(frame.contains("data: ") || frame.starts_with(": "), "partial frame {frame:?}");
        }
    }
}

#[test]
fn first_event_error_is_detectable_for_failover() {
    let input = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let mut t = StreamTranslator::new(Dialect::Anthropic, Dialect::OpenAiChat, NO_USAGE);
    t.push(input);
    let err = t.stats().failed_before_content().unwrap();
    assert_eq!(err.kind, crate::translate::ErrorKind::Overloaded);
}

#[test]
fn each_frame_leaves_as_soon_as_it_is_complete() {
    let input = std::fs::read(fixture_dir().join("chat_text.sse")).unwrap();
    let mut t = StreamTranslator::new(Dialect::OpenAiChat, Dialect::Anthropic, NO_USAGE);
    let frames: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    // The second data line ("Hello") must produce its text_delta on its own.
    let mut out = String::new();
    for line in frames.iter().take(4) {
        out.push_str(std::str::from_utf8(&t.push(line)).unwrap());
    }
    assert!(out.contains("\"text\":\"Hello\""), "{out}");
    assert!(!out.contains("wörld"));
}

#[test]
fn a_tool_streamed_without_input_deltas_reaches_chat_and_responses_clients_with_its_arguments() {
    let (out, _) = check("anthropic_tool_no_input.sse", Dialect::Anthropic, Dialect::OpenAiChat, NO_USAGE);
    let calls: Vec<String> = out
        .split_terminator("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["tool_calls"].get(0).map(|c| c.to_string()))
        .collect();
    assert_eq!(
        calls,
        [
            r#"{"index":0,"id":"toolu_B","type":"function","function":{"name":"get_time","arguments":""}}"#,
            r#"{"index":0,"function":{"arguments":"{}"}}"#,
            r#"{"index":1,"id":"toolu_C","type":"function","function":{"name":"zoom","arguments":"{\"x\":1}"}}"#,
        ]
    );
    let opts = ClientStreamOptions { responses: Some(("resp_2".into(), Default::default())), ..NO_USAGE };
    let input = std::fs::read(fixture_dir().join("anthropic_tool_no_input.sse")).unwrap();
    let (out, _) = translate(&input, &[], Dialect::Anthropic, Dialect::OpenAiResponses, &opts);
    assert!(out.contains(r#""item_id":"fc_2_0","output_index":0,"delta":"{}"}"#), "{out}");
    assert!(out.contains(r#""output_index":0,"name":"get_time","arguments":"{}"}"#), "{out}");
    assert!(out.contains(r#""output_index":1,"name":"zoom","arguments":"{\"x\":1}"}"#), "{out}");
}

#[test]
fn an_upstream_error_code_survives_a_stream_to_openai_shaped_clients() {
    // A Responses upstream that fails before any content: the failure keeps its code,
    // for the HTTP error the client then gets.
    let failed = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_u\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[]}}\n\n",
        "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":1,\"response\":{\"id\":\"resp_u\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"gpt-5\",\"output\":[],\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"Your input exceeds the context window of this model.\"}}}\n\n",
    );
    for client in [Dialect::OpenAiResponses, Dialect::OpenAiChat, Dialect::Anthropic] {
        let opts = ClientStreamOptions { responses: Some(("resp_c".into(), Default::default())), ..NO_USAGE };
        let (_, stats) = translate(failed.as_bytes(), &[], Dialect::OpenAiResponses, client, &opts);
        let err = stats.failed_before_content().expect("failed before content");
        assert_eq!(
            (err.kind, err.code.as_deref()),
            (crate::translate::ErrorKind::InvalidRequest, Some("context_length_exceeded"))
        );
        assert!(String::from_utf8(err.body_for(Dialect::OpenAiResponses))
            .unwrap()
            .contains(r#""code":"context_length_exceeded""#));
    }
    // A Chat upstream's in-band error after content: its code reaches Chat and Responses
    // clients in their error events.
    let midstream = concat!(
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}\n\n",
    );
    let opts = ClientStreamOptions { responses: Some(("resp_c".into(), Default::default())), ..NO_USAGE };
    let (out, _) = translate(midstream.as_bytes(), &[], Dialect::OpenAiChat, Dialect::OpenAiResponses, &opts);
    assert!(
        out.contains(r#""type":"error","sequence_number""#)
            && out.contains(r#""code":"insufficient_quota","message":"quota""#),
        "{out}"
    );
    // And a Responses upstream's, to a Chat client.
    let midstream = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_u\",\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-5\",\"output\":[]}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[]}}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":2,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"sequence_number\":3,\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\",\"param\":null}\n\n",
    );
    let (out, _) = translate(midstream.as_bytes(), &[], Dialect::OpenAiResponses, Dialect::OpenAiChat, &NO_USAGE);
    assert!(
        out.ends_with("data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_exceeded\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n"),
        "{out}"
    );
}

#[test]
fn a_gemini_stream_that_names_no_model_is_said_to_come_from_the_model_asked_for() {
    let input = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1,\"totalTokenCount\":4}}\n\n";
    let mut t =
        StreamTranslator::new(Dialect::Gemini, Dialect::OpenAiChat, NO_USAGE).upstream_model("gemini-2.5-flash");
    let mut out = t.push(input.as_bytes()).to_vec();
    out.extend_from_slice(&t.finish());
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("data: {\"id\":"), "{out}");
    assert!(out.contains(r#""model":"gemini-2.5-flash""#) && !out.contains(r#""model":"""#), "{out}");
}

/// An in-band error that quotes the upstream key names it by its id instead: to a
/// same-dialect client (its frame rewritten), to a translated one, and in the stats the
/// log reads.
#[test]
fn an_upstream_error_quoting_the_key_is_masked() {
    let input = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key sk-ant-SECRET1234\"}}\n\n",
    );
    for client in [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::OpenAiResponses, Dialect::Gemini] {
        let opts = ClientStreamOptions { responses: Some(("resp_1".into(), Default::default())), ..NO_USAGE };
        let mut t = StreamTranslator::new(Dialect::Anthropic, client, opts).masking("sk-ant-SECRET1234", "…1234");
        let mut out = t.push(input.as_bytes()).to_vec();
        out.extend_from_slice(&t.finish());
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("SECRET") && out.contains("invalid x-api-key …1234"), "{client:?}: {out}");
        let Some(Termination::Error(e)) = &t.stats().termination else { panic!("{client:?}: no error") };
        assert_eq!(e.message, "invalid x-api-key …1234");
    }
}

/// A call the token limit cut off closes before the stop reason comes: a Responses
/// client sees it `incomplete`, as in the whole answer, so an agent does not run it.
#[test]
fn a_call_cut_off_by_the_token_limit_reaches_responses_clients_incomplete() {
    let input = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let opts = ClientStreamOptions { responses: Some(("resp_1".into(), Default::default())), ..NO_USAGE };
    let (out, _) = translate(input.as_bytes(), &[], Dialect::Anthropic, Dialect::OpenAiResponses, &opts);
    let done = out.split("\n\n").find(|f| f.contains("response.output_item.done")).unwrap_or_default();
    assert!(done.contains(r#""type":"function_call","id""#) && done.contains(r#""status":"incomplete""#), "{out}");
    assert!(!out.contains(r#""status":"completed""#), "{out}");
}

#[test]
fn a_keepalive_is_a_whole_frame_the_client_ignores_and_none_follows_the_end() {
    let input = std::fs::read(fixture_dir().join("chat_text.sse")).unwrap();
    let mut ping = BytesMut::new();
    anthropic::encode(&StreamEvent::Ping, &mut ping);
    let clients = [
        (Dialect::Anthropic, &ping[..]),
        (Dialect::OpenAiChat, &b": ping\n\n"[..]),
        (Dialect::OpenAiResponses, &b": ping\n\n"[..]),
        (Dialect::Gemini, crate::translate::gemini::SSE_KEEPALIVE),
    ];
    for (client, want) in clients {
        let opts = ClientStreamOptions { include_usage: true, ..NO_USAGE };
        let mut t = StreamTranslator::new(Dialect::OpenAiChat, client, opts.clone());
        // Between any two upstream bytes: the client's stream is whole frames so far.
        let mut out = Vec::new();
        for (i, b) in input.iter().enumerate() {
            out.extend_from_slice(&t.push(std::slice::from_ref(b)));
            let due: &[u8] = if t.stats().termination.is_some() { b"" } else { want };
            assert_eq!(t.keepalive(), due, "{client:?} after byte {i}");
            out.extend_from_slice(t.keepalive());
        }
        out.extend_from_slice(&t.finish());
        assert_eq!(t.keepalive(), b"", "{client:?}: none after the end");
        // Keepalives aside, the client gets exactly what it gets without them.
        let mut plain = StreamTranslator::new(Dialect::OpenAiChat, client, opts);
        let mut without = plain.push(&input).to_vec();
        without.extend_from_slice(&plain.finish());
        let out = String::from_utf8(out).unwrap();
        let kept = if want.is_empty() { out.clone() } else { out.replace(std::str::from_utf8(want).unwrap(), "") };
        assert_eq!(normalize(kept.as_bytes()), normalize(&without), "{client:?}");
        assert!(want.is_empty() || out.contains(std::str::from_utf8(want).unwrap()));
    }
    // A same-dialect stream keeps alive in its own dialect too, until its terminator
    // (it stays open for what follows); a JSON array with whitespace between its elements.
    let mut t = StreamTranslator::new(Dialect::Anthropic, Dialect::Anthropic, NO_USAGE);
    t.push(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n");
    assert_eq!(t.keepalive(), &ping[..]);
    t.push(b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    assert!(!t.is_closed());
    assert_eq!(t.keepalive(), b"");
    let t = StreamTranslator::new(Dialect::Gemini, Dialect::Gemini, NO_USAGE);
    assert_eq!(t.keepalive(), crate::translate::gemini::SSE_KEEPALIVE);
    let array = ClientStreamOptions { gemini_json_array: true, ..NO_USAGE };
    let mut t = StreamTranslator::new_translating(Dialect::OpenAiChat, Dialect::Gemini, array);
    let mut out = t.push(&input[..input.len() / 2]).to_vec();
    out.extend_from_slice(t.keepalive());
    out.extend_from_slice(&t.push(&input[input.len() / 2..]));
    out.extend_from_slice(&t.finish());
    let chunks: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(chunks.last().unwrap()["candidates"][0]["finishReason"], "STOP");
}
