//! What clients and servers seen in use send, across dialects: requests as each kind
//! of upstream must get them, and answers as each kind of client must get them.

use super::anthropic_request::anthropic_body;
use super::chat_canonical::chat_to_canonical;
use super::chat_request::canonical_to_chat;
use super::request::{translate_response, ForeignThinking, PreparedRequest, ResponseContext};
use super::tests::{anthropic_req, chat_req, to_value};
use super::TargetOptions;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::Dialect;
use bytes::Bytes;
use serde_json::{json, Value};

#[test]
fn a_gemini_signature_in_a_tool_id_reaches_gemini_only() {
    let signature = "c2lnbmF0dXJl".repeat(30);
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "list files"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "call_1", "name": "ls", "args": {}}, "thoughtSignature": signature}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "call_1", "name": "ls", "response": {"output": "a.txt"}}}]}]});
    let mut req = PreparedRequest::new_gemini(Bytes::from(body.to_string()), "m".into(), false, false).unwrap();
    let mut sent = |d: Dialect| -> Value {
        serde_json::from_slice(&req.body_for(d, &TargetOptions::new("m"), ForeignThinking::None).unwrap()).unwrap()
    };
    let anthropic = sent(Dialect::Anthropic);
    assert_eq!(anthropic["messages"][1]["content"][0]["id"], "call_1");
    assert_eq!(anthropic["messages"][2]["content"][0]["tool_use_id"], "call_1");
    let chat = sent(Dialect::OpenAiChat);
    assert_eq!(chat["messages"][1]["tool_calls"][0]["id"], "call_1");
    assert_eq!(chat["messages"][2]["tool_call_id"], "call_1");
    let responses = sent(Dialect::OpenAiResponses);
    assert_eq!(responses["input"][1]["call_id"], "call_1");
    assert_eq!(responses["input"][2]["call_id"], "call_1");
    // Back towards Gemini, the signature is where Gemini put it.
    let gemini = sent(Dialect::Gemini);
    assert_eq!(gemini["contents"][1]["parts"][0]["thoughtSignature"], signature.as_str());
    // An Anthropic client's history, as the gateway gave it out, loses the signature on
    // its way to Anthropic too.
    let id = {
        use base64::Engine;
        format!("call_1__ts_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&signature))
    };
    let body = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "list files"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "ls", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "a.txt"}]}]});
    let mut req = PreparedRequest::new_translated(Dialect::Anthropic, Bytes::from(body.to_string())).unwrap();
    let body = req.body_for(Dialect::OpenAiChat, &TargetOptions::new("m"), ForeignThinking::None).unwrap();
    let chat: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(chat["messages"][1]["tool_calls"][0]["id"], "call_1");
}

#[test]
fn a_document_by_url_is_refused_towards_chat_and_sent_elsewhere() {
    let body = json!({"contents": [{"role": "user", "parts": [
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/x.pdf"}},
        {"text": "summarize this pdf"}]}]});
    let mut req = PreparedRequest::new_gemini(Bytes::from(body.to_string()), "m".into(), false, false).unwrap();
    let target = TargetOptions::new("m");
    let err = req.body_for(Dialect::OpenAiChat, &target, ForeignThinking::None).unwrap_err();
    assert_eq!(err.kind, crate::translate::ErrorKind::InvalidRequest);
    assert!(err.message.starts_with("messages[0]: a document given by url cannot be sent"), "{}", err.message);
    let anthropic: Value =
        serde_json::from_slice(&req.body_for(Dialect::Anthropic, &target, ForeignThinking::None).unwrap()).unwrap();
    assert_eq!(
        anthropic["messages"][0]["content"][0]["source"],
        json!({"type": "url", "url": "https://example.com/x.pdf"})
    );
}

/// Some OpenAI-compatible servers write `null` for counts they do not keep: read as 0,
/// not as a broken answer.
#[test]
fn null_counts_in_chat_usage_read_as_zero() {
    let usage = r#"{"prompt_tokens":5,"completion_tokens":null,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":null},"completion_tokens_details":{"reasoning_tokens":null}}"#;
    let body = format!(
        r#"{{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"hi"}},"finish_reason":"stop"}}],"usage":{usage}}}"#
    );
    let cx = ResponseContext::new("m");
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &Bytes::from(body), &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!((v["usage"]["input_tokens"].clone(), v["usage"]["output_tokens"].clone()), (json!(5), json!(0)));
    let stream = format!(
        "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}},\"finish_reason\":\"stop\"}}]}}\n\ndata: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{usage}}}\n\ndata: [DONE]\n\n"
    );
    let mut t =
        crate::translate::stream::StreamTranslator::new(Dialect::OpenAiChat, Dialect::Anthropic, Default::default());
    let mut out = t.push(stream.as_bytes()).to_vec();
    out.extend_from_slice(&t.finish());
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("event: message_stop") && !out.contains("event: error"), "{out}");
}

#[test]
fn a_tool_schema_without_a_type_reaches_anthropic_as_an_object_schema() {
    for (client, body) in [
        (
            Dialect::OpenAiChat,
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                   "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
        ),
        (
            Dialect::OpenAiResponses,
            json!({"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"properties": {}}}]}),
        ),
    ] {
        let mut req = PreparedRequest::new_translated(client, Bytes::from(body.to_string())).unwrap();
        let sent = req.body_for(Dialect::Anthropic, &TargetOptions::new("m"), ForeignThinking::None).unwrap();
        let sent: Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(sent["tools"][0]["input_schema"]["type"], "object", "{client:?}: {sent}");
    }
}

/// What Anthropic refuses and other APIs take: whitespace-only stop sequences, empty
/// text blocks, empty turns. Left out towards Anthropic only.
#[test]
fn anthropic_gets_no_empty_turn_block_or_blank_stop_sequence() {
    let body = json!({"model": "m", "stop": ["\n\n", "END"], "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "r"}]});
    let mut req = PreparedRequest::new_translated(Dialect::OpenAiChat, Bytes::from(body.to_string())).unwrap();
    let target = TargetOptions::new("m");
    for _ in 0..2 {
        let sent: Value =
            serde_json::from_slice(&req.body_for(Dialect::Anthropic, &target, ForeignThinking::None).unwrap()).unwrap();
        assert_eq!(sent["stop_sequences"], json!(["END"]));
        let roles: Vec<&str> =
            sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "user", "assistant", "user"], "{sent}");
        assert!(!sent.to_string().contains(r#""text":"""#), "{sent}");
    }
    // Towards Chat the client's stop sequences stay as they were.
    let chat: Value =
        serde_json::from_slice(&req.body_for(Dialect::OpenAiChat, &target, ForeignThinking::None).unwrap()).unwrap();
    assert_eq!(chat["stop"], json!(["\n\n", "END"]));
}

/// OpenAI-compatible servers that leave ids out still give a usable answer; a refusal
/// says so in its stop reason.
#[test]
fn a_chat_answer_without_ids_or_with_a_refusal_translates() {
    let cx = ResponseContext::new("m");
    let body = Bytes::from_static(
        br#"{"object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}},{"id":"","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
    );
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &body, &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert!(v["id"].as_str().unwrap().starts_with("msg_relay_"), "{v}");
    let ids = [v["content"][0]["id"].as_str().unwrap(), v["content"][1]["id"].as_str().unwrap()];
    // Two calls of one id, or one Anthropic refuses: replaced too.
    let twice = Bytes::from_static(
        br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"call_0","type":"function","function":{"name":"g","arguments":"{}"}},{"id":"functions.h:2","type":"function","function":{"name":"h","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
    );
    let w: Value =
        serde_json::from_slice(&translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &twice, &cx).unwrap().body)
            .unwrap();
    assert_eq!(w["content"][0]["id"], "call_0");
    for i in [1, 2] {
        assert!(w["content"][i]["id"].as_str().unwrap().starts_with("toolu_relay_"), "{w}");
    }
    assert!(ids.iter().all(|id| id.starts_with("toolu_relay_") && id.len() == 28), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    // The next answer's calls get ids of their own: a client's history holds both.
    let again: Value =
        serde_json::from_slice(&translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &body, &cx).unwrap().body)
            .unwrap();
    assert!(!ids.contains(&again["content"][0]["id"].as_str().unwrap()), "{again}");
    let body = Bytes::from_static(
        br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#,
    );
    let out = translate_response(Dialect::OpenAiChat, Dialect::Anthropic, &body, &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["stop_reason"], "refusal", "{v}");
}

/// A PDF a tool read (Claude Code's Read tool) reaches Chat and Responses upstreams with
/// the tool's output, as an image does.
#[test]
fn a_pdf_in_a_tool_result_reaches_chat_and_responses() {
    let body = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "read it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "PDF file read"},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}]}]}]});
    let mut req = PreparedRequest::new_translated(Dialect::Anthropic, Bytes::from(body.to_string())).unwrap();
    let target = TargetOptions::new("m");
    let chat: Value =
        serde_json::from_slice(&req.body_for(Dialect::OpenAiChat, &target, ForeignThinking::None).unwrap()).unwrap();
    assert_eq!(chat["messages"][2]["content"], "PDF file read", "{chat}");
    assert_eq!(chat["messages"][3]["content"][0]["text"], "Files returned by the tool call above:", "{chat}");
    assert_eq!(
        chat["messages"][3]["content"][1]["file"]["file_data"], "data:application/pdf;base64,JVBERi0x",
        "{chat}"
    );
    let responses: Value =
        serde_json::from_slice(&req.body_for(Dialect::OpenAiResponses, &target, ForeignThinking::None).unwrap())
            .unwrap();
    let output = &responses["input"][2]["output"];
    assert_eq!(output[0], json!({"type": "input_text", "text": "PDF file read"}), "{responses}");
    assert_eq!(output[1]["file_data"], "data:application/pdf;base64,JVBERi0x", "{responses}");
}

/// A block the gateway does not model, kept in a stored conversation, is left out
/// towards Anthropic rather than making the body unwritable.
#[test]
fn an_unmodelled_block_is_left_out_towards_anthropic() {
    let mut req: MessagesRequest = serde_json::from_value(json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "q2"}]}))
    .unwrap();
    let body = anthropic_body(&mut req, &TargetOptions::new("m"), 0);
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sent["messages"][1]["content"], json!([{"type": "text", "text": "a"}]), "{sent}");
}

#[test]
fn chat_allowed_tools_and_custom_tool_choices_are_read() {
    let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
                       {"type": "function", "function": {"name": "g", "parameters": {"type": "object"}}}]);
    let sent = |choice: Value| -> Value {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice});
        let mut req = PreparedRequest::new_translated(Dialect::OpenAiChat, Bytes::from(body.to_string())).unwrap();
        serde_json::from_slice(
            &req.body_for(Dialect::Anthropic, &TargetOptions::new("m"), ForeignThinking::None).unwrap(),
        )
        .unwrap()
    };
    let v = sent(
        json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "g"}}]}}),
    );
    assert_eq!(v["tools"].as_array().map(|t| t.len()), Some(1), "{v}");
    assert_eq!((v["tools"][0]["name"].clone(), v["tool_choice"].clone()), (json!("g"), json!({"type": "any"})));
    let v = sent(json!({"type": "custom", "custom": {"name": "f"}}));
    assert_eq!(v["tool_choice"], json!({"type": "tool", "name": "f"}), "{v}");
}

/// Gemini ending on a failed tool call with nothing said is an error, not an empty turn
/// an agent would take for the end of its work; streamed and whole alike.
#[test]
fn a_gemini_tool_call_failure_with_nothing_said_is_an_error() {
    let chunk = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"","thoughtSignature":"c2ln"}]},"finishReason":"MALFORMED_FUNCTION_CALL","finishMessage":"Malformed function call: print(x)","index":0}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}}"#;
    let cx = ResponseContext::new("g");
    let err = translate_response(Dialect::Gemini, Dialect::Anthropic, &Bytes::from(chunk), &cx).unwrap_err();
    assert_eq!(err.message, "upstream's tool call failed (MALFORMED_FUNCTION_CALL): Malformed function call: print(x)");
    let mut t =
        crate::translate::stream::StreamTranslator::new(Dialect::Gemini, Dialect::Anthropic, Default::default());
    let mut out = t.push(format!("data: {chunk}\n\n").as_bytes()).to_vec();
    out.extend_from_slice(&t.finish());
    // A thought signature came first, so the error ends the stream rather than
    // failing it before content.
    let ended = match &t.stats().termination {
        Some(crate::translate::stream::Termination::Error(e)) => Some(e.message.clone()),
        _ => None,
    };
    assert_eq!(ended.as_deref(), Some(err.message.as_str()), "{}", String::from_utf8_lossy(&out));
    // With an answer before it, the answer stands.
    let said = chunk.replace(r#"{"text":"","thoughtSignature":"c2ln"}"#, r#"{"text":"Done."}"#);
    let out = translate_response(Dialect::Gemini, Dialect::Anthropic, &Bytes::from(said), &cx).unwrap();
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["stop_reason"], "end_turn");
}

/// OpenAI refuses tool ids over 40 characters; Gemini CLI sends `<name>__<id>` ids, and
/// some servers make long ones. The call and its result get the same short id.
#[test]
fn tool_ids_over_forty_characters_are_shortened_alike_towards_openai() {
    let long = "list_background_processes__call_yIbA9EddtNcMx1mHigigeLSl";
    let req = anthropic_req(json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": long, "name": "f", "input": {}},
                                          {"type": "tool_use", "id": "call_short", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": long, "content": "ok"},
                                     {"type": "tool_result", "tool_use_id": "call_short", "content": "ok"}]}]}));
    let chat = to_value(&canonical_to_chat(&req, &TargetOptions::new("gpt")));
    let short = chat["messages"][1]["tool_calls"][0]["id"].as_str().unwrap();
    assert!(short.starts_with("call_") && short.len() == 21, "{short}");
    assert_eq!(chat["messages"][2]["tool_call_id"], short);
    assert_eq!(chat["messages"][1]["tool_calls"][1]["id"], "call_short");
    assert_eq!(chat["messages"][3]["tool_call_id"], "call_short");
    let responses: Value =
        serde_json::from_slice(&super::responses::canonical_to_request(&req, &TargetOptions::new("gpt")).unwrap())
            .unwrap();
    assert_eq!(responses["input"][1]["call_id"], short);
    assert_eq!(responses["input"][3]["call_id"], short);
}

/// Claude Code's first system block tells Anthropic its version and entry point; other
/// providers would take it as prompt text that changes from session to session.
#[test]
fn claude_codes_billing_header_block_stays_with_anthropic() {
    let body = json!({"model": "claude-x", "max_tokens": 10, "system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.cfd; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hi"}]});
    let mut req = PreparedRequest::new(Dialect::Anthropic, Bytes::from(body.to_string())).unwrap();
    let same = req.body_for(Dialect::Anthropic, &TargetOptions::new("claude-x"), ForeignThinking::None).unwrap();
    assert!(String::from_utf8_lossy(&same).contains("x-anthropic-billing-header"));
    let chat: Value = serde_json::from_slice(
        &req.body_for(Dialect::OpenAiChat, &TargetOptions::new("gpt"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(chat["messages"][0], json!({"role": "system", "content": "You are Claude Code."}));
    let gemini: Value = serde_json::from_slice(
        &req.body_for(Dialect::Gemini, &TargetOptions::new("gemini"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(gemini["systemInstruction"]["parts"], json!([{"text": "You are Claude Code."}]));
}

/// OpenAI's reasoning models refuse any temperature or top_p but their default: a request
/// that asks one to reason (`reasoning: true`) leaves them out; others keep them.
#[test]
fn sampling_is_left_to_a_model_asked_to_reason() {
    let req = anthropic_req(json!({"model": "m", "max_tokens": 5000, "temperature": 0.2, "top_p": 0.9,
        "thinking": {"type": "enabled", "budget_tokens": 2000}, "messages": [{"role": "user", "content": "think"}]}));
    let reasoning = TargetOptions { reasoning: true, ..TargetOptions::new("o3") };
    let chat = to_value(&canonical_to_chat(&req, &reasoning));
    assert_eq!((chat.get("temperature"), chat.get("top_p")), (None, None), "{chat}");
    assert_eq!(chat["reasoning_effort"], "low");
    let plain = to_value(&canonical_to_chat(&req, &TargetOptions::new("gpt-4o")));
    assert_eq!((plain["temperature"].clone(), plain["top_p"].clone()), (json!(0.2), json!(0.9)));
    // A reasoning model refuses them even when the request does not ask it to reason.
    let unthinking = anthropic_req(json!({"model": "m", "max_tokens": 50, "temperature": 0.2, "top_p": 0.9,
        "messages": [{"role": "user", "content": "hi"}]}));
    let chat = to_value(&canonical_to_chat(&unthinking, &reasoning));
    assert_eq!(
        (chat.get("temperature"), chat.get("top_p"), chat.get("reasoning_effort")),
        (None, None, None),
        "{chat}"
    );
}

/// OpenAI and Gemini cache a prompt's prefix by themselves; Anthropic only up to marked
/// breakpoints, which their clients do not write. Translated requests get three, unless
/// the request marks its own; the request itself is left as it was, for a retry.
#[test]
fn translated_requests_get_cache_breakpoints_towards_anthropic() {
    let chat = chat_req(json!({"model": "gpt", "messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "exec", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"}],
        "tools": [{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}},
                  {"type": "function", "function": {"name": "exec", "parameters": {"type": "object"}}}]}));
    let (mut req, _) = chat_to_canonical(chat).unwrap();
    let untouched = req.clone();
    let caching = TargetOptions { prompt_caching: true, ..TargetOptions::new("claude") };
    let sent: Value = serde_json::from_slice(&anthropic_body(&mut req, &caching, 0)).unwrap();
    let ephemeral = json!({"type": "ephemeral"});
    assert_eq!(sent["tools"][0].get("cache_control"), None);
    assert_eq!(sent["tools"][1]["cache_control"], ephemeral);
    assert_eq!(sent["system"], json!([{"type": "text", "text": "You are an agent.", "cache_control": ephemeral}]));
    assert_eq!(
        sent["messages"][2]["content"],
        json!([{"type": "tool_result", "tool_use_id": "c1", "content": "done", "cache_control": ephemeral}])
    );
    assert_eq!(sent["messages"][0]["content"], "run it");
    // The request is as it was, for a retry elsewhere.
    assert_eq!(req, untouched);
    let mut text_only = anthropic_req(json!({"model": "m", "max_tokens": 10, "system": "S",
        "messages": [{"role": "user", "content": "hi"}]}));
    let before = text_only.clone();
    let sent: Value = serde_json::from_slice(&anthropic_body(&mut text_only, &caching, 0)).unwrap();
    assert_eq!(sent["messages"][0]["content"], json!([{"type": "text", "text": "hi", "cache_control": ephemeral}]));
    assert_eq!(sent["system"], json!([{"type": "text", "text": "S", "cache_control": ephemeral}]));
    assert_eq!(text_only, before);
    // A request that marks its own breakpoints keeps them, and only them.
    let mut own = anthropic_req(json!({"model": "m", "max_tokens": 10,
        "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hi"}]}));
    let sent: Value = serde_json::from_slice(&anthropic_body(&mut own, &caching, 0)).unwrap();
    assert_eq!(sent["messages"][0]["content"], "hi");
    assert_eq!(sent["system"][0]["cache_control"], ephemeral);
}

/// Codex asks for a summary of its conversation without declaring its tools; Anthropic
/// refuses tool blocks in a request that declares none. The tools the history calls are
/// declared for it, and not to be called.
#[test]
fn a_history_with_tool_calls_and_no_tools_declares_them_towards_anthropic() {
    let mut req = anthropic_req(json!({"model": "m", "max_tokens": 100, "messages": [
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "exec_command", "input": {"cmd": "ls"}},
                                          {"type": "tool_use", "id": "t2", "name": "exec_command", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a"},
                                     {"type": "tool_result", "tool_use_id": "t2", "content": "b"},
                                     {"type": "text", "text": "Summarize the conversation."}]}]}));
    let before = req.clone();
    let sent: Value = serde_json::from_slice(&anthropic_body(&mut req, &TargetOptions::new("claude"), 0)).unwrap();
    assert_eq!(
        sent["tools"],
        json!([{"name": "exec_command", "description": "A tool called earlier in this conversation.",
                "input_schema": {"type": "object", "properties": {}}}])
    );
    assert_eq!(sent["tool_choice"], json!({"type": "none"}));
    assert_eq!(req, before, "the request is as it was, for a retry elsewhere");
}

/// DeepSeek's and Kimi's thinking modes want a tool-calling turn's reasoning back; the
/// gateway got it from them as unsigned thinking. Signed thinking (another provider's)
/// and the reasoning of a turn without calls are not given.
#[test]
fn a_tool_turns_unsigned_thinking_goes_back_to_chat_as_reasoning_content() {
    let req = anthropic_req(json!({"model": "m", "max_tokens": 100, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Plain answer.", "signature": ""}, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Run ls.", "signature": ""},
                                          {"type": "tool_use", "id": "c1", "name": "exec", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "x"}]},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "Claude's.", "signature": "EqQB"},
                                          {"type": "tool_use", "id": "c2", "name": "exec", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c2", "content": "y"}]}]}));
    let chat = to_value(&canonical_to_chat(&req, &TargetOptions::new("deepseek-reasoner")));
    let messages = chat["messages"].as_array().unwrap();
    assert_eq!(messages[1].get("reasoning_content"), None, "no calls: {chat}");
    assert_eq!(messages[3]["reasoning_content"], "Run ls.");
    assert_eq!(messages[5].get("reasoning_content"), None, "signed: {chat}");
}

/// A Codex conversation another provider answered holds reasoning items the gateway
/// made; OpenAI cannot read them (a seal) or finds no such item (`store: false`), and
/// would refuse the request. They are left out; OpenAI's own stay.
#[test]
fn reasoning_items_the_gateway_made_do_not_reach_a_responses_upstream() {
    let ours_sealed = json!({"type": "reasoning", "id": "rs_0123456789abcdef0123456789abcdef_0", "summary": [],
        "encrypted_content": "llmrelay1.eyJ0IjoieCIsInMiOiJ5In0"});
    let ours_bare = json!({"type": "reasoning", "id": "rs_0123456789abcdef0123456789abcdef_2", "summary": [], "encrypted_content": null});
    let openai = json!({"type": "reasoning", "id": "rs_68ab12cd34ef56ab78cd90ef12ab34cd56ef78ab90cd12ef", "summary": [],
        "encrypted_content": "gAAAAABo"});
    let body = json!({"model": "gpt-x", "store": false, "input": [
        {"type": "message", "role": "user", "content": "q"}, ours_sealed, ours_bare, openai,
        {"type": "message", "role": "user", "content": "q2"}]});
    let mut req = PreparedRequest::new(Dialect::OpenAiResponses, Bytes::from(body.to_string())).unwrap();
    let sent: Value = serde_json::from_slice(
        &req.body_for(Dialect::OpenAiResponses, &TargetOptions::new("gpt-5"), ForeignThinking::None).unwrap(),
    )
    .unwrap();
    assert_eq!(sent["model"], "gpt-5");
    let input = sent["input"].as_array().unwrap();
    assert_eq!(input.len(), 3, "{sent}");
    assert_eq!(input[1], openai);
    // A body without them passes as it came, model aside.
    let plain = json!({"model": "gpt-x", "input": [openai]}).to_string();
    let mut req = PreparedRequest::new(Dialect::OpenAiResponses, Bytes::from(plain.clone())).unwrap();
    let sent = req.body_for(Dialect::OpenAiResponses, &TargetOptions::new("gpt-x"), ForeignThinking::None).unwrap();
    assert_eq!(sent, plain.as_bytes());
}

/// Gemini CLI's dynamic thinking budget is adaptive thinking, which only Claude 4.6 and
/// later take: an older model, or another model served over Anthropic's API, gets a
/// budget, with `max_tokens` made room for.
#[test]
fn adaptive_thinking_becomes_a_budget_for_models_without_it() {
    let req = anthropic_req(json!({"model": "gemini-2.5-pro", "thinking": {"type": "adaptive"},
        "messages": [{"role": "user", "content": "hi"}]}));
    let sent = |model: &str| -> Value {
        let mut req = req.clone();
        let target = TargetOptions { default_max_tokens: 8192, ..TargetOptions::new(model) };
        serde_json::from_slice(&anthropic_body(&mut req, &target, 0)).unwrap()
    };
    for model in ["claude-opus-4-6", "claude-sonnet-4-6-20260217", "claude-opus-5", "claude-opus-4-8", "claude-next"] {
        let body = sent(model);
        assert_eq!(body["thinking"], json!({"type": "adaptive"}), "{model}");
        assert_eq!(body["max_tokens"], json!(8192), "{model}");
    }
    for model in [
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-20250514",
        "claude-opus-4-1",
        "claude-3-7-sonnet-latest",
        "claude-haiku-4-5@20251001",
        "deepseek-chat",
    ] {
        let body = sent(model);
        assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 8192}), "{model}");
        assert_eq!(body["max_tokens"], json!(16384), "{model}");
    }
}

/// Thinking a client turns off (Gemini's `thinkingBudget: 0`, a `none` or `minimal`
/// effort, Anthropic's `disabled`) reaches OpenAI's reasoning models as the least effort
/// all of them take, and Anthropic as `disabled`, with sampling kept.
#[test]
fn thinking_turned_off_is_the_least_reasoning_effort() {
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0.2, "thinkingConfig": {"thinkingBudget": 0}}});
    let chat = json!({"model": "m", "reasoning_effort": "minimal", "messages": [{"role": "user", "content": "hi"}]});
    let responses = json!({"model": "m", "reasoning": {"effort": "none"}, "input": "hi"});
    let anthropic = json!({"model": "m", "max_tokens": 64, "thinking": {"type": "disabled"}, "temperature": 0.2,
        "messages": [{"role": "user", "content": "hi"}]});
    let reasoning = TargetOptions { reasoning: true, ..TargetOptions::new("gpt-5.1") };
    for (client, body) in [
        (Dialect::Gemini, gemini),
        (Dialect::OpenAiChat, chat),
        (Dialect::OpenAiResponses, responses),
        (Dialect::Anthropic, anthropic),
    ] {
        let body = Bytes::from(body.to_string());
        let mut req = match client {
            Dialect::Gemini => PreparedRequest::new_gemini(body, "m".into(), false, false),
            _ => PreparedRequest::new_translated(client, body),
        }
        .unwrap();
        let mut sent = |d: Dialect, target: &TargetOptions| -> Value {
            serde_json::from_slice(&req.body_for(d, target, ForeignThinking::None).unwrap()).unwrap()
        };
        if client != Dialect::OpenAiChat {
            assert_eq!(sent(Dialect::OpenAiChat, &reasoning)["reasoning_effort"], "low", "{client:?}");
            assert_eq!(sent(Dialect::OpenAiChat, &TargetOptions::new("m")).get("reasoning_effort"), None);
        }
        if client != Dialect::OpenAiResponses {
            assert_eq!(sent(Dialect::OpenAiResponses, &reasoning)["reasoning"]["effort"], "low", "{client:?}");
        }
        if client != Dialect::Anthropic {
            let up = sent(Dialect::Anthropic, &TargetOptions::new("claude-sonnet-4-5"));
            assert_eq!(up["thinking"], json!({"type": "disabled"}), "{client:?}");
        }
        if matches!(client, Dialect::Gemini | Dialect::Anthropic) {
            // Thinking off takes sampling on Anthropic.
            let up = sent(Dialect::Anthropic, &TargetOptions::new("claude-sonnet-4-5"));
            assert_eq!(up["temperature"], 0.2, "{client:?}");
        }
    }
}
