//! What clients and servers seen in use send, across dialects: requests as each kind
//! of upstream must get them, and answers as each kind of client must get them.

use super::anthropic_request::anthropic_body;
use super::request::{translate_response, ForeignThinking, PreparedRequest, ResponseContext};
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
