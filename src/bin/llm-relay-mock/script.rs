//! Request parsing, directive scanning and the dialect-neutral response plan.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Thinking text, split into its two `thinking_delta` / `reasoning_content` fragments.
pub const THINKING_PARTS: [&str; 2] = ["Let me", " think."];
/// Signature closing the thinking block (Anthropic `signature_delta`).
pub const SIGNATURE: &str = "sig_mock_1";
/// Tool name used when the request declares no tools.
pub const DEFAULT_TOOL: &str = "get_weather";

/// Directives found in the text of the last message (`[[...]]` markers).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Directives {
    pub tool: bool,
    pub tools2: bool,
    pub think: bool,
    pub error: Option<u16>,
    /// The account is out of credit: 429 `insufficient_quota` (OpenAI dialects), 402
    /// `billing_error` (Anthropic), 429 `RESOURCE_EXHAUSTED` (Gemini).
    pub quota: bool,
    pub midstream_error: bool,
    pub first_event_error: bool,
    pub disconnect: bool,
    pub slow_ms: Option<u64>,
    /// A streamed answer pauses this long after its start, before its first content
    /// (an upstream thinking without showing it).
    pub quiet_ms: Option<u64>,
    pub long: Option<u32>,
}

/// Scans `text` for directives by plain substring search.
pub fn parse_directives(text: &str) -> Directives {
    if !text.contains("[[") {
        return Directives::default();
    }
    Directives {
        tool: text.contains("[[tool]]"),
        tools2: text.contains("[[tools2]]"),
        think: text.contains("[[think]]"),
        error: num_arg::<u16>(text, "[[error:").filter(|s| (400..=599).contains(s)),
        quota: text.contains("[[quota]]"),
        midstream_error: text.contains("[[midstream-error]]"),
        first_event_error: text.contains("[[first-event-error]]"),
        disconnect: text.contains("[[disconnect]]"),
        slow_ms: num_arg(text, "[[slow:"),
        quiet_ms: num_arg(text, "[[quiet:"),
        long: num_arg(text, "[[long:"),
    }
}

impl Directives {
    /// Adds the directives of `other` (e.g. those carried by the API key, which script
    /// one upstream key or channel independently of the message).
    pub fn merge(&mut self, other: Directives) {
        self.tool |= other.tool;
        self.tools2 |= other.tools2;
        self.think |= other.think;
        self.error = self.error.or(other.error);
        self.quota |= other.quota;
        self.midstream_error |= other.midstream_error;
        self.first_event_error |= other.first_event_error;
        self.disconnect |= other.disconnect;
        self.slow_ms = self.slow_ms.or(other.slow_ms);
        self.quiet_ms = self.quiet_ms.or(other.quiet_ms);
        self.long = self.long.or(other.long);
    }
}

/// Parses the number in `PREFIX<number>]]`, if present and well formed.
fn num_arg<T: std::str::FromStr>(text: &str, prefix: &str) -> Option<T> {
    let start = text.find(prefix)? + prefix.len();
    let rest = text.get(start..)?;
    let end = rest.find("]]")?;
    rest.get(..end)?.trim().parse().ok()
}

#[derive(Deserialize)]
struct RawReq<'a> {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default, borrow)]
    messages: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    tools: Option<Vec<ToolDef>>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct ToolDef {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    function: Option<FnDef>,
}

#[derive(Deserialize)]
struct FnDef {
    #[serde(default)]
    name: Option<String>,
}

/// What the mock needs from a request body of any dialect.
#[derive(Debug, Default)]
pub struct Req {
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    /// Names of the first two declared tools.
    pub tools: Vec<String>,
    /// Text of the tool result(s) if the last message carries one.
    pub tool_result: Option<String>,
    pub directives: Directives,
    /// Responses only: the request parameters a `response` object echoes, as
    /// `"key":value` pairs joined by commas (no leading or trailing comma).
    pub echo: String,
}

/// Parses a request body of either dialect.
pub fn parse_request(body: &[u8]) -> Result<Req, serde_json::Error> {
    let raw: RawReq = serde_json::from_slice(body)?;
    let tools = raw
        .tools
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.name.or_else(|| t.function.and_then(|f| f.name)))
        .take(2)
        .collect();
    let mut req = Req {
        model: raw.model.unwrap_or_default(),
        stream: raw.stream.unwrap_or(false),
        include_usage: raw.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
        tools,
        ..Req::default()
    };
    if let Some(last) = raw.messages.as_ref().and_then(|m| m.last()) {
        let msg: Value = serde_json::from_str(last.get())?;
        let (text, tool_result) = last_message_text(&msg);
        req.directives = parse_directives(&text);
        req.tool_result = tool_result;
    }
    Ok(req)
}

#[derive(Deserialize)]
struct RawResponsesReq<'a> {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tools: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    tool_choice: Option<&'a RawValue>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default, borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(default, borrow)]
    max_output_tokens: Option<&'a RawValue>,
    #[serde(default, borrow)]
    max_tool_calls: Option<&'a RawValue>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(default, borrow)]
    previous_response_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(default, borrow)]
    store: Option<&'a RawValue>,
    #[serde(default, borrow)]
    temperature: Option<&'a RawValue>,
    #[serde(default, borrow)]
    text: Option<&'a RawValue>,
    #[serde(default, borrow)]
    top_p: Option<&'a RawValue>,
    #[serde(default, borrow)]
    truncation: Option<&'a RawValue>,
    #[serde(default, borrow)]
    user: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct NameOnly<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

/// Parses an OpenAI Responses request body (`POST /v1/responses`).
pub fn parse_responses_request(body: &[u8]) -> Result<Req, serde_json::Error> {
    let raw: RawResponsesReq = serde_json::from_slice(body)?;
    let mut tools = Vec::with_capacity(2);
    for t in raw.tools.iter().flatten() {
        if tools.len() == 2 {
            break;
        }
        // Flat function tools carry `name`; hosted tools (web_search, ...) do not.
        if let Ok(NameOnly { name: Some(n) }) = serde_json::from_str(t.get()) {
            tools.push(n.into_owned());
        }
    }
    let mut echo = String::with_capacity(512);
    let mut put = |key: &str, v: Option<&RawValue>, default: &str| {
        if !echo.is_empty() {
            echo.push(',');
        }
        echo.push('"');
        echo.push_str(key);
        echo.push_str("\":");
        echo.push_str(v.map_or(default, RawValue::get));
    };
    put("instructions", raw.instructions, "null");
    put("max_output_tokens", raw.max_output_tokens, "null");
    put("max_tool_calls", raw.max_tool_calls, "null");
    put("metadata", raw.metadata, "{}");
    put("parallel_tool_calls", None, if raw.parallel_tool_calls.unwrap_or(true) { "true" } else { "false" });
    put("previous_response_id", raw.previous_response_id, "null");
    put("reasoning", raw.reasoning, r#"{"effort":null,"summary":null}"#);
    put("service_tier", None, r#""default""#);
    put("store", raw.store, "true");
    put("temperature", raw.temperature, "1.0");
    put("text", raw.text, r#"{"format":{"type":"text"},"verbosity":"medium"}"#);
    put("tool_choice", raw.tool_choice, r#""auto""#);
    echo.push_str(r#","tools":["#);
    for (i, t) in raw.tools.iter().flatten().enumerate() {
        if i > 0 {
            echo.push(',');
        }
        echo.push_str(t.get());
    }
    echo.push(']');
    let mut put = |key: &str, v: Option<&RawValue>, default: &str| {
        echo.push_str(",\"");
        echo.push_str(key);
        echo.push_str("\":");
        echo.push_str(v.map_or(default, RawValue::get));
    };
    put("top_logprobs", None, "0");
    put("top_p", raw.top_p, "1.0");
    put("truncation", raw.truncation, r#""disabled""#);
    put("user", raw.user, "null");
    let mut req = Req {
        model: raw.model.unwrap_or_default(),
        stream: raw.stream.unwrap_or(false),
        tools,
        echo,
        ..Req::default()
    };
    let Some(input) = raw.input else {
        return Ok(req);
    };
    if input.get().starts_with('"') {
        let text: Cow<str> = serde_json::from_str(input.get())?;
        req.directives = parse_directives(&text);
        return Ok(req);
    }
    let items: Vec<&RawValue> = serde_json::from_str(input.get())?;
    // A trailing run of function_call_output items is the tool result.
    let mut outputs: Vec<String> = Vec::new();
    let mut last: Option<Value> = None;
    for item in items.iter().rev() {
        let v: Value = serde_json::from_str(item.get())?;
        if v.get("type").and_then(Value::as_str) != Some("function_call_output") {
            if outputs.is_empty() {
                last = Some(v);
            }
            break;
        }
        let mut out = String::new();
        if let Some(o) = v.get("output") {
            collect_text(o, &mut out);
        }
        outputs.push(out);
    }
    if !outputs.is_empty() {
        outputs.reverse();
        let text = outputs.join("\n");
        req.directives = parse_directives(&text);
        req.tool_result = Some(text);
    } else if let Some(item) = last {
        let (text, _) = last_message_text(&item);
        req.directives = parse_directives(&text);
    }
    Ok(req)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGeminiReq<'a> {
    #[serde(default, borrow)]
    contents: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    tools: Option<Vec<GeminiTool>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiTool {
    #[serde(default)]
    function_declarations: Option<Vec<FnDef>>,
}

/// Parses a Gemini `generateContent` body. The model and the stream switch live in
/// the URL, so the caller fills `model` and `stream`.
pub fn parse_gemini_request(body: &[u8]) -> Result<Req, serde_json::Error> {
    let raw: RawGeminiReq = serde_json::from_slice(body)?;
    let tools = raw
        .tools
        .unwrap_or_default()
        .into_iter()
        .flat_map(|t| t.function_declarations.unwrap_or_default())
        .filter_map(|f| f.name)
        .take(2)
        .collect();
    let mut req = Req { tools, ..Req::default() };
    if let Some(last) = raw.contents.as_ref().and_then(|c| c.last()) {
        let content: Value = serde_json::from_str(last.get())?;
        let (text, tool_result) = gemini_content_text(&content);
        req.directives = parse_directives(&text);
        req.tool_result = tool_result;
    }
    Ok(req)
}

/// Text of a Gemini content (its text parts and function responses), and the tool
/// result text if it carries `functionResponse` parts: `response.output` when it is a
/// string, else that value (or the whole `response`) as JSON text.
pub fn gemini_content_text(content: &Value) -> (String, Option<String>) {
    let mut text = String::new();
    let mut results: Option<String> = None;
    let parts = content.get("parts").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for part in parts {
        if let Some(t) = part.get("text") {
            collect_text(t, &mut text);
        }
        let Some(fr) = part.get("functionResponse") else {
            continue;
        };
        let resp = fr.get("response").unwrap_or(&Value::Null);
        let out = match resp.get("output") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => resp.to_string(),
        };
        collect_text(&Value::String(out.clone()), &mut text);
        let r = results.get_or_insert_with(String::new);
        if !r.is_empty() {
            r.push('\n');
        }
        r.push_str(&out);
    }
    (text, results)
}

/// All text of a message (string content, text blocks/parts, tool results), and
/// the tool result text if the message is a tool result.
pub fn last_message_text(msg: &Value) -> (String, Option<String>) {
    let mut text = String::new();
    let content = msg.get("content");
    if let Some(c) = content {
        collect_text(c, &mut text);
    }
    let role = msg.get("role").and_then(Value::as_str).unwrap_or("");
    let tool_result = if role == "tool" {
        Some(text.clone())
    } else if let Some(Value::Array(blocks)) = content {
        let mut out = String::new();
        let mut found = false;
        for b in blocks {
            if b.get("type").and_then(Value::as_str) == Some("tool_result") {
                found = true;
                if let Some(c) = b.get("content") {
                    collect_text(c, &mut out);
                }
            }
        }
        found.then_some(out)
    } else {
        None
    };
    (text, tool_result)
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            if !out.is_empty() && !s.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(o) => {
            if let Some(t) = o.get("text") {
                collect_text(t, out);
            }
            if let Some(c) = o.get("content") {
                collect_text(c, out);
            }
        }
        _ => {}
    }
}

/// Splits text into word deltas: `Hello`, ` from`, ` mock.`; concatenation is the input.
pub fn split_words(text: &str) -> Vec<String> {
    text.split(' ').enumerate().map(|(i, w)| if i == 0 { w.to_string() } else { format!(" {w}") }).collect()
}

/// The two fragments a tool's arguments JSON is streamed in.
pub fn tool_fragment(args: &str, k: usize) -> &str {
    let mut mid = args.len() / 2;
    while !args.is_char_boundary(mid) {
        mid += 1;
    }
    let (a, b) = args.split_at(mid);
    if k == 0 {
        a
    } else {
        b
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Words(Vec<String>),
    /// `w0 `, `w1 `, ... `w{n-1} `.
    Long(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Thinking,
    Text(Text),
    Tool {
        /// Numeric part of the tool id (`toolu_mock_N` / `call_mock_N`).
        num: u64,
        /// Position among the response's tool calls (OpenAI `tool_calls[].index`).
        index: usize,
        name: String,
        args: &'static str,
    },
}

impl Block {
    /// Number of content deltas the block streams.
    pub fn parts(&self) -> usize {
        match self {
            Block::Thinking => THINKING_PARTS.len(),
            Block::Text(Text::Words(w)) => w.len(),
            Block::Text(Text::Long(n)) => *n as usize,
            Block::Tool { .. } => 2,
        }
    }

    /// Delta `k` of the block.
    pub fn part(&self, k: usize) -> Option<Cow<'_, str>> {
        match self {
            Block::Thinking => THINKING_PARTS.get(k).map(|s| Cow::Borrowed(*s)),
            Block::Text(Text::Words(w)) => w.get(k).map(|s| Cow::Borrowed(s.as_str())),
            Block::Text(Text::Long(n)) => (k < *n as usize).then(|| Cow::Owned(format!("w{k} "))),
            Block::Tool { args, .. } => (k < 2).then(|| Cow::Borrowed(tool_fragment(args, k))),
        }
    }

    /// Full text of a text block (non-stream answers).
    pub fn full_text(&self) -> String {
        (0..self.parts()).filter_map(|k| self.part(k)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    None,
    /// In-band error after the start and one delta.
    Mid,
    /// In-band error as the very first event.
    First,
    /// Abort the connection after the start and one delta.
    Disconnect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub blocks: Vec<Block>,
    pub tool_use: bool,
    pub fail: Fail,
}

impl Plan {
    /// Output tokens: number of content deltas, at least 1.
    pub fn output_tokens(&self) -> u64 {
        let n: usize = self.blocks.iter().map(Block::parts).sum();
        n.max(1) as u64
    }

    /// Deltas spent on thinking (OpenAI `reasoning_tokens`).
    pub fn reasoning_tokens(&self) -> u64 {
        self.blocks.iter().filter(|b| matches!(b, Block::Thinking)).map(Block::parts).sum::<usize>() as u64
    }
}

/// Builds the response plan from the parsed request.
pub fn build_plan(req: &Req, tool_ids: &AtomicU64) -> Plan {
    let d = &req.directives;
    let first = req.tools.first().map_or(DEFAULT_TOOL, String::as_str);
    let second = req.tools.get(1).map_or(first, String::as_str);
    let tool = |index: usize, name: &str, args: &'static str| Block::Tool {
        num: tool_ids.fetch_add(1, Ordering::Relaxed) + 1,
        index,
        name: name.to_string(),
        args,
    };
    let mut blocks = Vec::with_capacity(3);
    if d.think {
        blocks.push(Block::Thinking);
    }
    let mut tool_use = false;
    if d.tools2 {
        blocks.push(tool(0, first, r#"{"city":"Paris"}"#));
        blocks.push(tool(1, second, r#"{"city":"Rome"}"#));
        tool_use = true;
    } else if d.tool {
        blocks.push(Block::Text(Text::Words(split_words("Checking."))));
        blocks.push(tool(0, first, r#"{"city":"Paris","unit":"c"}"#));
        tool_use = true;
    } else if let Some(n) = d.long {
        blocks.push(Block::Text(Text::Long(n.max(1))));
    } else if let Some(r) = &req.tool_result {
        let text = format!("Got tool result: {r}");
        blocks.push(Block::Text(Text::Words(split_words(&text))));
    } else {
        blocks.push(Block::Text(Text::Words(split_words("Hello from mock."))));
    }
    let fail = if d.first_event_error {
        Fail::First
    } else if d.midstream_error {
        Fail::Mid
    } else if d.disconnect {
        Fail::Disconnect
    } else {
        Fail::None
    };
    Plan { blocks, tool_use, fail }
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
