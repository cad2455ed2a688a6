//! Request bodies: a small one (~300 B) and a Claude-Code-sized one (~80 KiB: system
//! blocks, a dozen tools with JSON schemas, a conversation with tool calls and long tool
//! results, long user text), in the Anthropic and Chat dialects the bench drives, and in
//! Responses for the in-process measurements. Deterministic: the same bytes every run.

use bytes::Bytes;
use serde_json::{json, Value};

use llm_relay::protocol::Dialect;

/// Size of the large body, in bytes (the last user message is padded to reach it).
pub const LARGE_BYTES: usize = 80 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Large,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Large => "80KiB",
        }
    }
}

/// What the request asks of the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// A plain non-streaming answer.
    Json,
    /// A stream of `n` text deltas (`[[long:n]]`).
    Stream(u32),
}

/// Request body for `dialect` with `model`. `session` goes into Anthropic
/// `metadata.user_id` of the large body (Claude Code sends its session there).
pub fn request(dialect: Dialect, model: &str, size: Size, ask: Ask, session: &str) -> Bytes {
    let directive = match ask {
        Ask::Json => String::new(),
        Ask::Stream(n) => format!(" [[long:{n}]]"),
    };
    let stream = matches!(ask, Ask::Stream(_));
    // Anthropic Messages, Responses, else OpenAI Chat.
    let v = match (dialect, size) {
        (Dialect::Anthropic, Size::Small) => small_anthropic(model, stream, &directive),
        (Dialect::OpenAiResponses, Size::Small) => small_responses(model, stream, &directive),
        (_, Size::Small) => small_openai(model, stream, &directive),
        (Dialect::Anthropic, Size::Large) => padded(|pad| large_anthropic(model, stream, &directive, session, pad)),
        (Dialect::OpenAiResponses, Size::Large) => padded(|pad| large_responses(model, stream, &directive, pad)),
        (_, Size::Large) => padded(|pad| large_openai(model, stream, &directive, pad)),
    };
    Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
}

/// Writes the non-streaming bodies of `routes` (client, upstream, model, route name as
/// in the report) in both sizes into `dir`, as `<client>-<upstream>-<size>.json`: the
/// bytes the throughput runs send (see `Cli::write_bodies`).
pub fn write(dir: &std::path::Path, routes: &[(Dialect, Dialect, &str, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (client, upstream, model, name) in routes {
        for size in [Size::Small, Size::Large] {
            let body = request(*client, model, size, Ask::Json, &format!("{name}-{}", size.as_str()));
            let file = format!("{}-{}-{}.json", client.as_str(), upstream.as_str(), size.as_str());
            std::fs::write(dir.join(file), &body)?;
        }
    }
    Ok(())
}

fn small_anthropic(model: &str, stream: bool, directive: &str) -> Value {
    let text = format!(
        "Write a short haiku about a gateway that translates between two API dialects, then explain \
         in one sentence why latency matters for interactive coding tools.{directive}"
    );
    let mut v = json!({
        "model": model,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
    });
    if stream {
        v["stream"] = json!(true);
    }
    v
}

fn small_openai(model: &str, stream: bool, directive: &str) -> Value {
    let text = format!(
        "Write a short haiku about a gateway that translates between two API dialects, then explain \
         in one sentence why it matters.{directive}"
    );
    let mut v = json!({
        "model": model,
        "max_tokens": 1024,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": text},
        ],
    });
    if stream {
        v["stream"] = json!(true);
        v["stream_options"] = json!({"include_usage": true});
    }
    v
}

fn small_responses(model: &str, stream: bool, directive: &str) -> Value {
    let text = format!(
        "Write a short haiku about a gateway that translates between two API dialects, then explain \
         in one sentence why it matters.{directive}"
    );
    json!({
        "model": model,
        "instructions": "You are a helpful assistant.",
        "max_output_tokens": 1024,
        "input": text,
        "stream": stream,
    })
}

/// Builds with no padding, then again with the padding that brings the body to
/// `LARGE_BYTES` (serialized size is linear in the padding, which is plain ASCII).
fn padded(build: impl Fn(usize) -> Value) -> Value {
    let base = serde_json::to_vec(&build(0)).map_or(0, |b| b.len());
    build(LARGE_BYTES.saturating_sub(base))
}

/// Deterministic prose of exactly `len` bytes (ASCII words, no JSON escapes needed).
pub fn prose(seed: u64, len: usize) -> String {
    const WORDS: [&str; 32] = [
        "the",
        "gateway",
        "request",
        "stream",
        "token",
        "channel",
        "upstream",
        "client",
        "config",
        "route",
        "translate",
        "latency",
        "buffer",
        "frame",
        "event",
        "schema",
        "tool",
        "result",
        "message",
        "system",
        "should",
        "returns",
        "every",
        "value",
        "when",
        "with",
        "into",
        "after",
        "before",
        "handles",
        "a",
        "of",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut words_in_sentence = 0;
    while s.len() < len {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let w = WORDS[((x >> 33) % WORDS.len() as u64) as usize];
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
        words_in_sentence += 1;
        if words_in_sentence > 12 && (x >> 20) % 5 == 0 {
            s.push('.');
            words_in_sentence = 0;
        }
    }
    s.truncate(len);
    s
}

/// Source-file-looking text for tool results.
fn code(seed: u64, lines: usize) -> String {
    let mut s = String::new();
    for i in 0..lines {
        let body = prose(seed.wrapping_add(i as u64), 40 + (i * 7) % 50);
        s.push_str(&format!("{:>5}\t    let v{i} = handle(\"{body}\")?;\n", i + 1));
    }
    s
}

struct Tool {
    name: &'static str,
    description: String,
    schema: Value,
}

fn prop(ty: &str, seed: u64, len: usize) -> Value {
    json!({"type": ty, "description": prose(seed, len)})
}

/// A dozen tools shaped like Claude Code's: long descriptions, JSON schemas.
fn tools() -> Vec<Tool> {
    let names: [(&str, usize); 12] = [
        ("Task", 1800),
        ("Bash", 2600),
        ("Glob", 600),
        ("Grep", 1200),
        ("LS", 400),
        ("Read", 1100),
        ("Edit", 1000),
        ("MultiEdit", 1300),
        ("Write", 700),
        ("WebFetch", 800),
        ("TodoWrite", 2200),
        ("WebSearch", 600),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (name, desc_len))| {
            let s = 100 + i as u64 * 10;
            let schema = json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "additionalProperties": false,
                "required": ["path", "command"],
                "properties": {
                    "path": prop("string", s, 90),
                    "command": prop("string", s + 1, 120),
                    "timeout": {"type": "number", "description": prose(s + 2, 60), "minimum": 0, "maximum": 600000},
                    "flags": {"type": "array", "items": {"type": "string", "enum": ["-n", "-i", "-A", "-B", "-C"]},
                              "description": prose(s + 3, 50)},
                    "mode": {"type": "string", "enum": ["content", "files_with_matches", "count"],
                             "description": prose(s + 4, 70)},
                    "options": {"type": "object", "properties": {
                        "multiline": prop("boolean", s + 5, 40),
                        "head_limit": prop("number", s + 6, 40),
                    }},
                },
            });
            Tool { name, description: prose(s + 9, *desc_len), schema }
        })
        .collect()
}

/// The conversation's fixed parts, shared by both dialects.
struct Conversation {
    system_intro: &'static str,
    system_long: String,
    reminder: String,
    file: String,
    grep: String,
}

fn conversation() -> Conversation {
    Conversation {
        system_intro: "You are Claude Code, Anthropic's official CLI for Claude.",
        system_long: prose(1, 14_000),
        reminder: format!("<system-reminder>\n{}\n</system-reminder>", prose(2, 3_000)),
        file: code(3, 180),
        grep: code(4, 60),
    }
}

fn large_anthropic(model: &str, stream: bool, directive: &str, session: &str, pad: usize) -> Value {
    let c = conversation();
    let tools: Vec<Value> = tools()
        .into_iter()
        .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.schema}))
        .collect();
    let last = format!("{} {}{directive}", prose(5, 1_500), prose(6, pad));
    let mut v = json!({
        "model": model,
        "max_tokens": 32000,
        "temperature": 1,
        "system": [
            {"type": "text", "text": c.system_intro, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": c.system_long, "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools,
        "metadata": {"user_id": format!("user_bench_account__session_{session}")},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": c.reminder},
                {"type": "text", "text": "Find where the gateway decides which channel serves a model and explain it."},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll look at the routing code first."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {"path": "src/routing/mod.rs", "command": "read"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": c.file},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Now let me search for the balancer."},
                {"type": "tool_use", "id": "toolu_01B", "name": "Grep", "input": {"path": "src", "command": "Balancer", "mode": "content"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [{"type": "text", "text": c.grep}]},
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": prose(7, 1_200)}]},
            {"role": "user", "content": [{"type": "text", "text": last, "cache_control": {"type": "ephemeral"}}]},
        ],
    });
    if stream {
        v["stream"] = json!(true);
    }
    v
}

fn large_openai(model: &str, stream: bool, directive: &str, pad: usize) -> Value {
    let c = conversation();
    let tools: Vec<Value> = tools()
        .into_iter()
        .map(|t| {
            json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.schema}})
        })
        .collect();
    let last = format!("{} {}{directive}", prose(5, 1_500), prose(6, pad));
    let mut v = json!({
        "model": model,
        "max_completion_tokens": 32000,
        "temperature": 1,
        "tools": tools,
        "messages": [
            {"role": "system", "content": format!("{}\n\n{}", c.system_intro, c.system_long)},
            {"role": "user", "content": [
                {"type": "text", "text": c.reminder},
                {"type": "text", "text": "Find where the gateway decides which channel serves a model and explain it."},
            ]},
            {"role": "assistant", "content": "I'll look at the routing code first.", "tool_calls": [
                {"id": "call_01A", "type": "function", "function": {"name": "Read",
                 "arguments": "{\"path\":\"src/routing/mod.rs\",\"command\":\"read\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_01A", "content": c.file},
            {"role": "assistant", "content": "Now let me search for the balancer.", "tool_calls": [
                {"id": "call_01B", "type": "function", "function": {"name": "Grep",
                 "arguments": "{\"path\":\"src\",\"command\":\"Balancer\",\"mode\":\"content\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_01B", "content": c.grep},
            {"role": "assistant", "content": prose(7, 1_200)},
            {"role": "user", "content": last},
        ],
    });
    if stream {
        v["stream"] = json!(true);
        v["stream_options"] = json!({"include_usage": true});
    }
    v
}

/// The conversation of `large_anthropic` as a Codex-style Responses request.
fn large_responses(model: &str, stream: bool, directive: &str, pad: usize) -> Value {
    let c = conversation();
    let tools: Vec<Value> = tools()
        .into_iter()
        .map(|t| json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.schema}))
        .collect();
    let last = format!("{} {}{directive}", prose(5, 1_500), prose(6, pad));
    let said = |text: &str| json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]});
    json!({
        "model": model,
        "instructions": format!("{}\n\n{}", c.system_intro, c.system_long),
        "max_output_tokens": 32000,
        "temperature": 1,
        "tools": tools,
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": c.reminder},
                {"type": "input_text", "text": "Find where the gateway decides which channel serves a model and explain it."},
            ]},
            said("I'll look at the routing code first."),
            {"type": "function_call", "call_id": "call_01A", "name": "Read",
             "arguments": "{\"path\":\"src/routing/mod.rs\",\"command\":\"read\"}"},
            {"type": "function_call_output", "call_id": "call_01A", "output": c.file},
            said("Now let me search for the balancer."),
            {"type": "function_call", "call_id": "call_01B", "name": "Grep",
             "arguments": "{\"path\":\"src\",\"command\":\"Balancer\",\"mode\":\"content\"}"},
            {"type": "function_call_output", "call_id": "call_01B", "output": c.grep},
            said(&prose(7, 1_200)),
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": last}]},
        ],
        "stream": stream,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for d in [Dialect::Anthropic, Dialect::OpenAiChat, Dialect::OpenAiResponses] {
            let small = request(d, "claude-sonnet-4-5", Size::Small, Ask::Json, "s");
            assert!((200..400).contains(&small.len()), "{}", small.len());
            let large = request(d, "claude-sonnet-4-5", Size::Large, Ask::Json, "s");
            assert!(large.len().abs_diff(LARGE_BYTES) < 64, "{}", large.len());
            let v: Value = serde_json::from_slice(&large).unwrap();
            assert_eq!(v["tools"].as_array().unwrap().len(), 12);
        }
        let s = request(Dialect::Anthropic, "m", Size::Small, Ask::Stream(7), "s");
        assert!(String::from_utf8_lossy(&s).contains("[[long:7]]"));
    }

    #[test]
    fn prose_len() {
        assert_eq!(prose(9, 1234).len(), 1234);
        assert_eq!(prose(9, 0).len(), 0);
    }
}
