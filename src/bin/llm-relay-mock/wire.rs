//! Wire formatting: JSON bodies, SSE frames and error bodies of the Anthropic and
//! OpenAI Chat dialects, and the dispatch to `responses.rs` and `gemini.rs`.
//!
//! Everything is written by hand (compact JSON, fixed key order) so the bytes look
//! like the real APIs and the hot path does no `Value` building.

use std::fmt::Write as _;

use crate::script::{Block, Plan, SIGNATURE, THINKING_PARTS};
use crate::{gemini, responses};

/// Cached input tokens reported on every answer.
pub const CACHED: u64 = 3;

pub const ANTHROPIC_OVERLOADED: &str =
    r#"{"type":"error","error":{"type":"overloaded_error","message":"mock overloaded"}}"#;
pub const OPENAI_OVERLOADED: &str =
    r#"{"error":{"message":"mock overloaded","type":"server_error","param":null,"code":null}}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    OpenAi,
    /// OpenAI Responses (`/v1/responses`).
    Responses,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

/// Per-response values shared by every frame.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub dialect: Dialect,
    /// `msg_mock_N` / `chatcmpl-mockN` / `resp_mock_N` / `resp_gm_N`.
    pub id: String,
    /// The response number N (Responses item ids `msg_mock_N`, `rs_mock_N`).
    pub n: u64,
    /// The request's model as a JSON string literal (quotes included).
    pub model_json: String,
    pub created: u64,
    pub include_usage: bool,
    /// body length / 4 (uncached input).
    pub input_tokens: u64,
    /// Responses: echoed request parameters (see `script::Req::echo`).
    pub echo: String,
    /// Gemini stream without `alt=sse`: one JSON array written incrementally.
    pub array: bool,
    /// Frames written so far: the Responses `sequence_number`, and whether a Gemini
    /// array has been opened.
    pub seq: u64,
}

impl Ctx {
    pub fn new(dialect: Dialect, id: String, n: u64, model_json: String, created: u64, input_tokens: u64) -> Self {
        Ctx {
            dialect,
            id,
            n,
            model_json,
            created,
            include_usage: false,
            input_tokens,
            echo: String::new(),
            array: false,
            seq: 0,
        }
    }
}

/// One step of a stream; dialects map some steps to no frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    Start,
    Ping,
    BlockStart(usize),
    Delta(usize, usize),
    Signature(usize),
    BlockStop(usize),
    Finish,
    Usage,
    Done,
    Error,
}

/// Appends `s` as a JSON string literal.
pub fn esc_into(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string literal.
pub fn q(s: &str) -> String {
    let mut out = String::new();
    esc_into(&mut out, s);
    out
}

/// `event: NAME\ndata: JSON\n\n`.
pub fn sse_event(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// `data: JSON\n\n`.
pub fn sse_data(data: &str) -> String {
    format!("data: {data}\n\n")
}

/// The stream frame(s) for `ev`, or `None` if the dialect has no frame for it.
pub fn frame(ctx: &mut Ctx, plan: &Plan, ev: Ev) -> Option<String> {
    match ctx.dialect {
        Dialect::Anthropic => anthropic_frame(ctx, plan, ev),
        Dialect::OpenAi => openai_frame(ctx, plan, ev),
        Dialect::Responses => responses::frame(ctx, plan, ev),
        Dialect::Gemini => gemini::frame(ctx, plan, ev),
    }
}

/// Number of content deltas `block` streams in dialect `d` (Gemini sends the
/// thought in one chunk and all function calls together in one chunk).
pub fn stream_parts(d: Dialect, block: &Block) -> usize {
    match d {
        Dialect::Gemini => gemini::stream_parts(block),
        _ => block.parts(),
    }
}

fn stop_reason(d: Dialect, plan: &Plan) -> &'static str {
    match (d, plan.tool_use) {
        (Dialect::Anthropic, true) => "tool_use",
        (Dialect::Anthropic, false) => "end_turn",
        (Dialect::OpenAi, true) => "tool_calls",
        (Dialect::OpenAi | Dialect::Responses, _) => "stop",
        (Dialect::Gemini, _) => "STOP",
    }
}

fn anthropic_usage(ctx: &Ctx, output: u64) -> String {
    format!(
        r#"{{"input_tokens":{},"cache_creation_input_tokens":0,"cache_read_input_tokens":{CACHED},"output_tokens":{output},"service_tier":"standard"}}"#,
        ctx.input_tokens
    )
}

fn anthropic_frame(ctx: &Ctx, plan: &Plan, ev: Ev) -> Option<String> {
    let mut d = String::with_capacity(160);
    let name = match ev {
        Ev::Start => {
            let _ = write!(
                d,
                r#"{{"type":"message_start","message":{{"id":"{}","type":"message","role":"assistant","model":{},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{}}}}}"#,
                ctx.id,
                ctx.model_json,
                anthropic_usage(ctx, 1)
            );
            "message_start"
        }
        Ev::Ping => {
            d.push_str(r#"{"type": "ping"}"#);
            "ping"
        }
        Ev::BlockStart(i) => {
            let _ = write!(d, r#"{{"type":"content_block_start","index":{i},"content_block":"#);
            match plan.blocks.get(i)? {
                Block::Thinking => d.push_str(r#"{"type":"thinking","thinking":"","signature":""}"#),
                Block::Text(_) => d.push_str(r#"{"type":"text","text":""}"#),
                Block::Tool { num, name, .. } => {
                    let _ = write!(d, r#"{{"type":"tool_use","id":"toolu_mock_{num}","name":"#);
                    esc_into(&mut d, name);
                    d.push_str(r#","input":{}}"#);
                }
            }
            d.push('}');
            "content_block_start"
        }
        Ev::Delta(i, k) => {
            let block = plan.blocks.get(i)?;
            let (ty, field) = match block {
                Block::Thinking => ("thinking_delta", "thinking"),
                Block::Text(_) => ("text_delta", "text"),
                Block::Tool { .. } => ("input_json_delta", "partial_json"),
            };
            let _ = write!(d, r#"{{"type":"content_block_delta","index":{i},"delta":{{"type":"{ty}","{field}":"#);
            esc_into(&mut d, &block.part(k)?);
            d.push_str("}}");
            "content_block_delta"
        }
        Ev::Signature(i) => {
            let _ = write!(
                d,
                r#"{{"type":"content_block_delta","index":{i},"delta":{{"type":"signature_delta","signature":"{SIGNATURE}"}}}}"#
            );
            "content_block_delta"
        }
        Ev::BlockStop(i) => {
            let _ = write!(d, r#"{{"type":"content_block_stop","index":{i}}}"#);
            "content_block_stop"
        }
        Ev::Finish => {
            let _ = write!(
                d,
                r#"{{"type":"message_delta","delta":{{"stop_reason":"{}","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
                stop_reason(Dialect::Anthropic, plan),
                plan.output_tokens()
            );
            "message_delta"
        }
        Ev::Usage => return None,
        Ev::Done => {
            d.push_str(r#"{"type":"message_stop"}"#);
            "message_stop"
        }
        Ev::Error => {
            d.push_str(ANTHROPIC_OVERLOADED);
            "error"
        }
    };
    Some(sse_event(name, &d))
}

fn openai_usage(ctx: &Ctx, plan: &Plan) -> String {
    let prompt = ctx.input_tokens + CACHED;
    let completion = plan.output_tokens();
    format!(
        r#"{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":{CACHED},"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":{},"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
        prompt + completion,
        plan.reasoning_tokens()
    )
}

fn openai_chunk(ctx: &Ctx, choices: &str, usage: &str) -> String {
    format!(
        "data: {{\"id\":\"{}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},\"system_fingerprint\":\"fp_mock\",\"choices\":[{choices}]{usage}}}\n\n",
        ctx.id, ctx.created, ctx.model_json
    )
}

fn openai_choice(delta: &str, finish: &str) -> String {
    format!(r#"{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}"#)
}

fn openai_frame(ctx: &Ctx, plan: &Plan, ev: Ev) -> Option<String> {
    let choice = match ev {
        Ev::Start => openai_choice(r#"{"role":"assistant","content":"","refusal":null}"#, "null"),
        Ev::Ping | Ev::Signature(_) | Ev::BlockStop(_) => return None,
        Ev::BlockStart(i) => match plan.blocks.get(i)? {
            Block::Tool { num, index, name, .. } => {
                let delta = format!(
                    r#"{{"tool_calls":[{{"index":{index},"id":"call_mock_{num}","type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
                    q(name)
                );
                openai_choice(&delta, "null")
            }
            _ => return None,
        },
        Ev::Delta(i, k) => {
            let block = plan.blocks.get(i)?;
            let part = q(&block.part(k)?);
            let delta = match block {
                Block::Thinking => format!(r#"{{"reasoning_content":{part}}}"#),
                Block::Text(_) => format!(r#"{{"content":{part}}}"#),
                Block::Tool { index, .. } => {
                    format!(r#"{{"tool_calls":[{{"index":{index},"function":{{"arguments":{part}}}}}]}}"#)
                }
            };
            openai_choice(&delta, "null")
        }
        Ev::Finish => openai_choice("{}", &q(stop_reason(Dialect::OpenAi, plan))),
        Ev::Usage => {
            if !ctx.include_usage {
                return None;
            }
            let usage = format!(r#","usage":{}"#, openai_usage(ctx, plan));
            return Some(openai_chunk(ctx, "", &usage));
        }
        Ev::Done => return Some("data: [DONE]\n\n".to_string()),
        Ev::Error => return Some(sse_data(OPENAI_OVERLOADED)),
    };
    let usage = if ctx.include_usage { r#","usage":null"# } else { "" };
    Some(openai_chunk(ctx, &choice, usage))
}

/// The complete non-stream JSON body for `plan`.
pub fn full_body(ctx: &Ctx, plan: &Plan) -> String {
    match ctx.dialect {
        Dialect::Anthropic => anthropic_full(ctx, plan),
        Dialect::OpenAi => openai_full(ctx, plan),
        Dialect::Responses => responses::full_body(ctx, plan),
        Dialect::Gemini => gemini::full_body(ctx, plan),
    }
}

fn anthropic_full(ctx: &Ctx, plan: &Plan) -> String {
    let mut s = String::with_capacity(512);
    let _ =
        write!(s, r#"{{"id":"{}","type":"message","role":"assistant","model":{},"content":["#, ctx.id, ctx.model_json);
    for (i, b) in plan.blocks.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match b {
            Block::Thinking => {
                s.push_str(r#"{"type":"thinking","thinking":"#);
                esc_into(&mut s, &THINKING_PARTS.concat());
                let _ = write!(s, r#","signature":"{SIGNATURE}"}}"#);
            }
            Block::Text(_) => {
                s.push_str(r#"{"type":"text","text":"#);
                esc_into(&mut s, &b.full_text());
                s.push('}');
            }
            Block::Tool { num, name, args, .. } => {
                let _ = write!(s, r#"{{"type":"tool_use","id":"toolu_mock_{num}","name":"#);
                esc_into(&mut s, name);
                let _ = write!(s, r#","input":{args}}}"#);
            }
        }
    }
    let _ = write!(
        s,
        r#"],"stop_reason":"{}","stop_sequence":null,"usage":{}}}"#,
        stop_reason(Dialect::Anthropic, plan),
        anthropic_usage(ctx, plan.output_tokens())
    );
    s
}

fn openai_full(ctx: &Ctx, plan: &Plan) -> String {
    let mut text: Option<String> = None;
    let mut tools = Vec::new();
    let mut reasoning = false;
    for b in &plan.blocks {
        match b {
            Block::Thinking => reasoning = true,
            Block::Text(_) => text.get_or_insert_with(String::new).push_str(&b.full_text()),
            Block::Tool { num, name, args, .. } => tools.push(format!(
                r#"{{"id":"call_mock_{num}","type":"function","function":{{"name":{},"arguments":{}}}}}"#,
                q(name),
                q(args)
            )),
        }
    }
    let mut s = String::with_capacity(768);
    let _ = write!(
        s,
        r#"{{"id":"{}","object":"chat.completion","created":{},"model":{},"choices":[{{"index":0,"message":{{"role":"assistant","content":"#,
        ctx.id, ctx.created, ctx.model_json
    );
    match &text {
        Some(t) => esc_into(&mut s, t),
        None => s.push_str("null"),
    }
    if reasoning {
        s.push_str(r#","reasoning_content":"#);
        esc_into(&mut s, &THINKING_PARTS.concat());
    }
    if !tools.is_empty() {
        let _ = write!(s, r#","tool_calls":[{}]"#, tools.join(","));
    }
    let _ = write!(
        s,
        r#","refusal":null,"annotations":[]}},"logprobs":null,"finish_reason":"{}"}}],"usage":{},"service_tier":"default","system_fingerprint":"fp_mock"}}"#,
        stop_reason(Dialect::OpenAi, plan),
        openai_usage(ctx, plan)
    );
    s
}

/// Anthropic `error.type` for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

/// OpenAI `error.type` and `error.code` for an HTTP status.
pub fn openai_error_type(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        429 => ("requests", Some("rate_limit_exceeded")),
        401 => ("invalid_request_error", Some("invalid_api_key")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

/// The dialect's error body for `status` with `message`, typed from the status.
pub fn error_body(d: Dialect, status: u16, message: &str) -> String {
    match d {
        Dialect::Anthropic => anthropic_error(anthropic_error_type(status), message),
        Dialect::OpenAi | Dialect::Responses => {
            let (ty, code) = openai_error_type(status);
            openai_error(ty, code, message)
        }
        Dialect::Gemini => gemini::error_body(status, message),
    }
}

pub fn anthropic_error(ty: &str, message: &str) -> String {
    format!(r#"{{"type":"error","error":{{"type":"{ty}","message":{}}}}}"#, q(message))
}

pub fn openai_error(ty: &str, code: Option<&str>, message: &str) -> String {
    let code = code.map_or_else(|| "null".to_string(), q);
    format!(r#"{{"error":{{"message":{},"type":"{ty}","param":null,"code":{code}}}}}"#, q(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{split_words, Fail, Text};
    use serde_json::Value;

    fn ctx(dialect: Dialect, include_usage: bool) -> Ctx {
        Ctx { include_usage, ..Ctx::new(dialect, "msg_mock_7".into(), 7, q("m\"1"), 1700000000, 10) }
    }

    fn hello() -> Plan {
        Plan {
            blocks: vec![Block::Text(Text::Words(split_words("Hello from mock.")))],
            tool_use: false,
            fail: Fail::None,
        }
    }

    fn tool_plan() -> Plan {
        Plan {
            blocks: vec![
                Block::Thinking,
                Block::Tool { num: 4, index: 0, name: "get_weather".into(), args: r#"{"city":"Paris"}"# },
            ],
            tool_use: true,
            fail: Fail::None,
        }
    }

    fn data_json(frame: &str) -> Value {
        let line = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("");
        serde_json::from_str(line).unwrap_or(Value::Null)
    }

    #[test]
    fn escaping() {
        assert_eq!(q("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
        let s = "tab\t \"quoted\" \u{7f} ✓";
        assert_eq!(serde_json::from_str::<String>(&q(s)).ok().as_deref(), Some(s));
    }

    #[test]
    fn sse_framing() {
        assert_eq!(sse_event("ping", r#"{"type": "ping"}"#), "event: ping\ndata: {\"type\": \"ping\"}\n\n");
        assert_eq!(sse_data("[DONE]"), "data: [DONE]\n\n");
    }

    #[test]
    fn anthropic_frames() {
        let mut c = ctx(Dialect::Anthropic, false);
        let p = hello();
        let start = frame(&mut c, &p, Ev::Start).unwrap_or_default();
        assert!(start.starts_with("event: message_start\ndata: {\"type\":\"message_start\""));
        assert!(start.ends_with("}}\n\n"));
        let v = data_json(&start);
        assert_eq!(v["message"]["model"], "m\"1");
        assert_eq!(v["message"]["usage"]["input_tokens"], 10);
        assert_eq!(v["message"]["usage"]["cache_read_input_tokens"], 3);
        assert_eq!(v["message"]["usage"]["output_tokens"], 1);
        assert_eq!(
            frame(&mut c, &p, Ev::Delta(0, 1)).unwrap_or_default(),
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" from\"}}\n\n"
        );
        let fin = data_json(&frame(&mut c, &p, Ev::Finish).unwrap_or_default());
        assert_eq!(fin["delta"]["stop_reason"], "end_turn");
        assert_eq!(fin["usage"]["output_tokens"], 3);
        assert_eq!(frame(&mut c, &p, Ev::Usage), None);
        assert_eq!(
            frame(&mut c, &p, Ev::Done).unwrap_or_default(),
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let t = tool_plan();
        let tool_start = data_json(&frame(&mut c, &t, Ev::BlockStart(1)).unwrap_or_default());
        assert_eq!(tool_start["content_block"]["id"], "toolu_mock_4");
        assert_eq!(tool_start["content_block"]["input"], serde_json::json!({}));
        let sig = data_json(&frame(&mut c, &t, Ev::Signature(0)).unwrap_or_default());
        assert_eq!(sig["delta"]["signature"], "sig_mock_1");
        let err = frame(&mut c, &p, Ev::Error).unwrap_or_default();
        assert!(err.starts_with("event: error\ndata: {\"type\":\"error\""));
    }

    #[test]
    fn openai_frames() {
        let mut c = ctx(Dialect::OpenAi, true);
        let t = tool_plan();
        let start = data_json(&frame(&mut c, &t, Ev::Start).unwrap_or_default());
        assert_eq!(start["object"], "chat.completion.chunk");
        assert_eq!(start["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(start["usage"], Value::Null);
        assert!(start.get("usage").is_some());
        assert_eq!(frame(&mut c, &t, Ev::Ping), None);
        assert_eq!(frame(&mut c, &t, Ev::Signature(0)), None);
        let r = data_json(&frame(&mut c, &t, Ev::Delta(0, 0)).unwrap_or_default());
        assert_eq!(r["choices"][0]["delta"]["reasoning_content"], "Let me");
        let first = data_json(&frame(&mut c, &t, Ev::BlockStart(1)).unwrap_or_default());
        let call = &first["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["id"], "call_mock_4");
        assert_eq!(call["function"]["arguments"], "");
        let frag = data_json(&frame(&mut c, &t, Ev::Delta(1, 0)).unwrap_or_default());
        let call = &frag["choices"][0]["delta"]["tool_calls"][0];
        assert!(call.get("id").is_none());
        assert_eq!(call["index"], 0);
        let fin = data_json(&frame(&mut c, &t, Ev::Finish).unwrap_or_default());
        assert_eq!(fin["choices"][0]["finish_reason"], "tool_calls");
        let usage = data_json(&frame(&mut c, &t, Ev::Usage).unwrap_or_default());
        assert_eq!(usage["choices"], serde_json::json!([]));
        assert_eq!(usage["usage"]["prompt_tokens"], 13);
        assert_eq!(usage["usage"]["completion_tokens"], 4);
        assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
        assert_eq!(frame(&mut c, &t, Ev::Done).as_deref(), Some("data: [DONE]\n\n"));
        let mut no_usage = ctx(Dialect::OpenAi, false);
        assert_eq!(frame(&mut no_usage, &t, Ev::Usage), None);
        assert!(data_json(&frame(&mut no_usage, &t, Ev::Start).unwrap_or_default()).get("usage").is_none());
    }

    #[test]
    fn full_bodies() {
        let a = data_json(&format!("data: {}", full_body(&ctx(Dialect::Anthropic, false), &tool_plan())));
        assert_eq!(a["content"][0]["thinking"], "Let me think.");
        assert_eq!(a["content"][1]["input"]["city"], "Paris");
        assert_eq!(a["stop_reason"], "tool_use");
        let o = data_json(&format!("data: {}", full_body(&ctx(Dialect::OpenAi, false), &tool_plan())));
        let msg = &o["choices"][0]["message"];
        assert_eq!(msg["content"], Value::Null);
        assert_eq!(msg["reasoning_content"], "Let me think.");
        assert_eq!(msg["tool_calls"][0]["function"]["arguments"], r#"{"city":"Paris"}"#);
        assert_eq!(o["usage"]["total_tokens"], 17);
        let h = data_json(&format!("data: {}", full_body(&ctx(Dialect::OpenAi, false), &hello())));
        assert_eq!(h["choices"][0]["message"]["content"], "Hello from mock.");
        assert_eq!(h["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_body(Dialect::Anthropic, 529, "mock error 529"),
            r#"{"type":"error","error":{"type":"overloaded_error","message":"mock error 529"}}"#
        );
        assert_eq!(anthropic_error_type(503), "api_error");
        assert_eq!(anthropic_error_type(413), "request_too_large");
        assert_eq!(
            error_body(Dialect::OpenAi, 429, "mock error 429"),
            r#"{"error":{"message":"mock error 429","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
        );
        assert_eq!(
            error_body(Dialect::OpenAi, 503, "x"),
            r#"{"error":{"message":"x","type":"server_error","param":null,"code":null}}"#
        );
        assert_eq!(openai_error_type(400).0, "invalid_request_error");
    }
}
