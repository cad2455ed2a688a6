//! Gemini wire format (`:generateContent`, `:streamGenerateContent`): the
//! `GenerateContentResponse` body, its stream chunks (SSE `data: <json>\r\n\r\n`
//! with `alt=sse`, else one JSON array written incrementally) and error bodies.
//!
//! Stream chunks: the thought in one chunk, one chunk per text word, and all
//! function calls together in one chunk (args complete, no id). The last chunk
//! carries `finishReason` and the final `usageMetadata`.

use std::fmt::Write as _;

use crate::script::{Block, Plan, THINKING_PARTS};
use crate::wire::{esc_into, Ctx, Ev, CACHED};

/// base64 of `sig_mock_1`, on the thought part.
pub const THOUGHT_SIGNATURE: &str = "c2lnX21vY2tfMQ==";
/// base64 of `sig_tool_1`, on the first function call part.
pub const TOOL_SIGNATURE: &str = "c2lnX3Rvb2xfMQ==";

pub const OVERLOADED: &str = r#"{"error":{"code":503,"message":"mock overloaded","status":"UNAVAILABLE"}}"#;

/// Number of stream chunks `block` produces.
pub fn stream_parts(block: &Block) -> usize {
    match block {
        Block::Thinking => 1,
        Block::Text(_) => block.parts(),
        // All calls travel in the chunk of the first one.
        Block::Tool { index, .. } => usize::from(*index == 0),
    }
}

fn thought_part(out: &mut String) {
    out.push_str(r#"{"text":"#);
    esc_into(out, &THINKING_PARTS.concat());
    let _ = write!(out, r#","thought":true,"thoughtSignature":"{THOUGHT_SIGNATURE}"}}"#);
}

fn text_part(out: &mut String, text: &str) {
    out.push_str(r#"{"text":"#);
    esc_into(out, text);
    out.push('}');
}

/// All function call parts of the plan, comma-separated; the first carries the signature.
fn tool_parts(out: &mut String, plan: &Plan) {
    let mut first = true;
    for b in &plan.blocks {
        if let Block::Tool { name, args, .. } = b {
            if !first {
                out.push(',');
            }
            out.push_str(r#"{"functionCall":{"name":"#);
            esc_into(out, name);
            let _ = write!(out, r#","args":{args}}}"#);
            if first {
                let _ = write!(out, r#","thoughtSignature":"{TOOL_SIGNATURE}""#);
            }
            out.push('}');
            first = false;
        }
    }
}

/// Candidate and thought tokens once chunk `(i, k)` has been sent.
fn running(plan: &Plan, i: usize, k: usize) -> (u64, u64) {
    let tool_chunk = matches!(plan.blocks.get(i), Some(Block::Tool { .. }));
    let (mut cand, mut thoughts) = (0, 0);
    for (j, b) in plan.blocks.iter().enumerate() {
        let n = b.parts() as u64;
        match b {
            Block::Thinking if j <= i => thoughts += n,
            Block::Text(_) if j < i => cand += n,
            Block::Text(_) if j == i => cand += k as u64 + 1,
            Block::Tool { .. } if j <= i || tool_chunk => cand += n,
            _ => {}
        }
    }
    (cand, thoughts)
}

/// Final candidate and thought tokens.
fn totals(plan: &Plan) -> (u64, u64) {
    let thoughts = plan.reasoning_tokens();
    let all: u64 = plan.blocks.iter().map(|b| b.parts() as u64).sum();
    (all - thoughts, thoughts)
}

/// One `GenerateContentResponse`; `parts` is the comma-separated part list.
fn response(out: &mut String, ctx: &Ctx, parts: &str, finish: bool, (cand, thoughts): (u64, u64)) {
    let prompt = ctx.input_tokens + CACHED;
    let _ = write!(out, r#"{{"candidates":[{{"content":{{"role":"model","parts":[{parts}]}},"#);
    if finish {
        out.push_str(r#""finishReason":"STOP","#);
    }
    let _ = write!(
        out,
        r#""index":0}}],"usageMetadata":{{"promptTokenCount":{prompt},"candidatesTokenCount":{cand},"totalTokenCount":{},"cachedContentTokenCount":{CACHED}"#,
        prompt + cand + thoughts
    );
    if thoughts > 0 {
        let _ = write!(out, r#","thoughtsTokenCount":{thoughts}"#);
    }
    let _ = write!(out, r#"}},"modelVersion":{},"responseId":"{}"}}"#, ctx.model_json, ctx.id);
}

/// The non-stream body.
pub fn full_body(ctx: &Ctx, plan: &Plan) -> String {
    let mut parts = String::with_capacity(256);
    let mut tools_done = false;
    for b in &plan.blocks {
        let before = parts.len();
        if before > 0 {
            parts.push(',');
        }
        match b {
            Block::Thinking => thought_part(&mut parts),
            Block::Text(_) => text_part(&mut parts, &b.full_text()),
            Block::Tool { .. } if !tools_done => {
                tool_parts(&mut parts, plan);
                tools_done = true;
            }
            Block::Tool { .. } => parts.truncate(before),
        }
    }
    let mut s = String::with_capacity(parts.len() + 384);
    response(&mut s, ctx, &parts, true, totals(plan));
    s
}

/// Frames `json` as the next stream element: an SSE event with CRLF framing, or an
/// element of the JSON array (`[` before the first, `,\r\n` before the others;
/// `close` appends the `]`).
fn element(ctx: &mut Ctx, json: &str, close: bool) -> String {
    let mut s = String::with_capacity(json.len() + 10);
    if ctx.array {
        s.push_str(if ctx.seq == 0 { "[" } else { ",\r\n" });
        s.push_str(json);
        if close {
            s.push(']');
        }
    } else {
        s.push_str("data: ");
        s.push_str(json);
        s.push_str("\r\n\r\n");
    }
    ctx.seq += 1;
    s
}

/// The stream frame for `ev`.
pub fn frame(ctx: &mut Ctx, plan: &Plan, ev: Ev) -> Option<String> {
    match ev {
        Ev::Delta(i, k) => {
            let block = plan.blocks.get(i)?;
            let mut parts = String::with_capacity(96);
            match block {
                Block::Thinking if k == 0 => thought_part(&mut parts),
                Block::Text(_) => text_part(&mut parts, &block.part(k)?),
                Block::Tool { index: 0, .. } if k == 0 => tool_parts(&mut parts, plan),
                _ => return None,
            }
            let last = k + 1 >= stream_parts(block) && plan.blocks.iter().skip(i + 1).all(|b| stream_parts(b) == 0);
            let mut json = String::with_capacity(parts.len() + 320);
            response(&mut json, ctx, &parts, last, running(plan, i, k));
            Some(element(ctx, &json, false))
        }
        Ev::Error => Some(element(ctx, OVERLOADED, true)),
        Ev::Done => ctx.array.then(|| "]".to_string()),
        Ev::Start | Ev::Ping | Ev::BlockStart(_) | Ev::Signature(_) | Ev::BlockStop(_) | Ev::Finish | Ev::Usage => None,
    }
}

/// The HTTP status Gemini answers for a scripted `[[error:NNN]]`: 529 is not a
/// Gemini status, so it becomes 503 UNAVAILABLE.
pub fn http_status(code: u16) -> u16 {
    if code == 529 {
        503
    } else {
        code
    }
}

/// The gRPC status name Gemini puts in `error.status` for an HTTP status.
pub fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "NOT_IMPLEMENTED",
        502 | 503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// `{"error":{"code","message","status"[,"details"]}}`; `details` is a JSON array.
pub fn error(code: u16, status: &str, message: &str, details: Option<&str>) -> String {
    let mut s = String::with_capacity(128 + message.len());
    let _ = write!(s, r#"{{"error":{{"code":{code},"message":"#);
    esc_into(&mut s, message);
    let _ = write!(s, r#","status":"{status}""#);
    if let Some(d) = details {
        let _ = write!(s, r#","details":{d}"#);
    }
    s.push_str("}}");
    s
}

/// The error body for HTTP status `code` (already mapped by `http_status`).
pub fn error_body(code: u16, message: &str) -> String {
    let code = http_status(code);
    let details =
        (code == 429).then_some(r#"[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]"#);
    error(code, status_name(code), message, details)
}

/// 400 for the `bad-key` key, as real Gemini answers an invalid API key.
pub fn bad_key() -> String {
    let msg = "API key not valid. Please pass a valid API key.";
    let details = format!(
        r#"[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{{"service":"generativelanguage.googleapis.com"}}}},{{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"{msg}"}}]"#
    );
    error(400, "INVALID_ARGUMENT", msg, Some(&details))
}

/// 429 for the `quota-key` key.
pub fn quota() -> String {
    let details = r#"[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]"#;
    error(429, "RESOURCE_EXHAUSTED", "quota exceeded", Some(details))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{split_words, Fail, Text};
    use crate::wire::{q, Dialect};
    use serde_json::Value;

    fn ctx(array: bool) -> Ctx {
        Ctx { array, ..Ctx::new(Dialect::Gemini, "resp_gm_4".into(), 4, q("gemini-x"), 1700000000, 10) }
    }

    fn plan(blocks: Vec<Block>) -> Plan {
        let tool_use = blocks.iter().any(|b| matches!(b, Block::Tool { .. }));
        Plan { blocks, tool_use, fail: Fail::None }
    }

    fn hello() -> Plan {
        plan(vec![Block::Text(Text::Words(split_words("Hello from mock.")))])
    }

    fn tool(num: u64, index: usize, args: &'static str) -> Block {
        Block::Tool { num, index, name: "get_weather".into(), args }
    }

    /// Every frame of a full stream of `plan`.
    fn stream(c: &mut Ctx, plan: &Plan) -> Vec<String> {
        let mut evs = vec![Ev::Start, Ev::Ping];
        for (i, b) in plan.blocks.iter().enumerate() {
            evs.push(Ev::BlockStart(i));
            evs.extend((0..stream_parts(b)).map(|k| Ev::Delta(i, k)));
            evs.push(Ev::Signature(i));
            evs.push(Ev::BlockStop(i));
        }
        evs.extend([Ev::Finish, Ev::Usage, Ev::Done]);
        evs.into_iter().filter_map(|ev| frame(c, plan, ev)).collect()
    }

    const U: &str = r#""promptTokenCount":13"#;

    #[test]
    fn text_stream_frames() {
        let frames = stream(&mut ctx(false), &hello());
        let chunk = |text: &str, finish: &str, cand: u64| {
            format!(
                "data: {{\"candidates\":[{{\"content\":{{\"role\":\"model\",\"parts\":[{{\"text\":\"{text}\"}}]}},{finish}\"index\":0}}],\"usageMetadata\":{{{U},\"candidatesTokenCount\":{cand},\"totalTokenCount\":{},\"cachedContentTokenCount\":3}},\"modelVersion\":\"gemini-x\",\"responseId\":\"resp_gm_4\"}}\r\n\r\n",
                13 + cand
            )
        };
        assert_eq!(
            frames,
            [chunk("Hello", "", 1), chunk(" from", "", 2), chunk(" mock.", "\"finishReason\":\"STOP\",", 3)]
        );
    }

    #[test]
    fn tool_stream_frames() {
        let p = plan(vec![
            Block::Text(Text::Words(split_words("Checking."))),
            tool(1, 0, r#"{"city":"Paris","unit":"c"}"#),
        ]);
        let frames = stream(&mut ctx(false), &p);
        assert_eq!(
            frames,
            [
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Checking.\"}]},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":13,\"candidatesTokenCount\":1,\"totalTokenCount\":14,\"cachedContentTokenCount\":3},\"modelVersion\":\"gemini-x\",\"responseId\":\"resp_gm_4\"}\r\n\r\n",
                "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\",\"unit\":\"c\"}},\"thoughtSignature\":\"c2lnX3Rvb2xfMQ==\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":13,\"candidatesTokenCount\":3,\"totalTokenCount\":16,\"cachedContentTokenCount\":3},\"modelVersion\":\"gemini-x\",\"responseId\":\"resp_gm_4\"}\r\n\r\n",
            ]
        );
    }

    #[test]
    fn tools2_and_thinking() {
        let p = plan(vec![Block::Thinking, tool(1, 0, r#"{"city":"Paris"}"#), tool(2, 1, r#"{"city":"Rome"}"#)]);
        let frames = stream(&mut ctx(false), &p);
        assert_eq!(frames.len(), 2);
        let json = |f: &str| -> Value {
            serde_json::from_str(f.strip_prefix("data: ").unwrap_or("").trim_end()).unwrap_or(Value::Null)
        };
        let (a, b) = (json(&frames[0]), json(&frames[1]));
        assert_eq!(
            a["candidates"][0]["content"]["parts"],
            serde_json::json!([{"text":"Let me think.","thought":true,"thoughtSignature":"c2lnX21vY2tfMQ=="}])
        );
        assert_eq!(a["usageMetadata"]["thoughtsTokenCount"], 2);
        assert_eq!(a["usageMetadata"]["candidatesTokenCount"], 0);
        assert!(a["candidates"][0].get("finishReason").is_none());
        assert_eq!(
            b["candidates"][0]["content"]["parts"],
            serde_json::json!([
                {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2lnX3Rvb2xfMQ=="},
                {"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}
            ])
        );
        assert_eq!(b["candidates"][0]["finishReason"], "STOP");
        assert_eq!(b["usageMetadata"]["candidatesTokenCount"], 4);
        assert_eq!(b["usageMetadata"]["totalTokenCount"], 19);
        let full: Value = serde_json::from_str(&full_body(&ctx(false), &p)).unwrap_or(Value::Null);
        assert_eq!(full["candidates"][0]["content"]["parts"].as_array().map(Vec::len), Some(3));
        assert_eq!(full["candidates"][0]["content"]["parts"][1], b["candidates"][0]["content"]["parts"][0]);
        assert_eq!(full["usageMetadata"], b["usageMetadata"]);
        assert_eq!(full["responseId"], "resp_gm_4");
    }

    #[test]
    fn json_array_framing() {
        let mut c = ctx(true);
        let frames = stream(&mut c, &hello());
        assert_eq!(frames.len(), 4);
        assert!(frames[0].starts_with("[{\"candidates\""));
        assert!(frames[1].starts_with(",\r\n{\"candidates\""));
        assert!(frames[2].starts_with(",\r\n{\"candidates\"") && frames[2].contains("\"finishReason\":\"STOP\""));
        assert_eq!(frames[3], "]");
        let all: Value = serde_json::from_str(&frames.concat()).unwrap_or(Value::Null);
        assert_eq!(all.as_array().map(Vec::len), Some(3));
        assert_eq!(all[1]["candidates"][0]["content"]["parts"][0]["text"], " from");
        // In-band errors close the array.
        let mut c = ctx(true);
        assert_eq!(frame(&mut c, &hello(), Ev::Error).as_deref(), Some(&*format!("[{OVERLOADED}]")));
        let mut c = ctx(true);
        let first = frame(&mut c, &hello(), Ev::Delta(0, 0)).unwrap_or_default();
        let err = frame(&mut c, &hello(), Ev::Error).unwrap_or_default();
        let v: Value = serde_json::from_str(&format!("{first}{err}")).unwrap_or(Value::Null);
        assert_eq!(v[1]["error"]["status"], "UNAVAILABLE");
        let mut c = ctx(false);
        assert_eq!(frame(&mut c, &hello(), Ev::Error).as_deref(), Some(&*format!("data: {OVERLOADED}\r\n\r\n")));
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_body(529, "mock error 529"),
            r#"{"error":{"code":503,"message":"mock error 529","status":"UNAVAILABLE"}}"#
        );
        assert_eq!(http_status(529), 503);
        assert_eq!(status_name(500), "INTERNAL");
        assert_eq!(status_name(504), "DEADLINE_EXCEEDED");
        let rate: Value = serde_json::from_str(&error_body(429, "x")).unwrap_or(Value::Null);
        assert_eq!(rate["error"]["status"], "RESOURCE_EXHAUSTED");
        assert_eq!(rate["error"]["details"][0]["retryDelay"], "1s");
        let bad: Value = serde_json::from_str(&bad_key()).unwrap_or(Value::Null);
        assert_eq!(bad["error"]["code"], 400);
        assert_eq!(bad["error"]["details"][0]["reason"], "API_KEY_INVALID");
        let quota: Value = serde_json::from_str(&quota()).unwrap_or(Value::Null);
        assert_eq!(quota["error"]["message"], "quota exceeded");
    }
}
