use super::*;
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse, StreamEvent};
use crate::protocol::gemini::GenerateContentRequest;
use crate::protocol::json_scan::{mutations, random, SAMPLES};
use crate::protocol::openai_chat::{ChatRequest, ChatResponse};
use crate::protocol::openai_responses::ResponsesRequest;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Debug;

const ANTHROPIC: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":8192,"temperature":0.7,"stream":true,
"system":[{"type":"text","text":"You are Claude Code.\nBe brief: \"no fluff\".","cache_control":{"type":"ephemeral"}}],
"metadata":{"user_id":"user_abc_account__session_1f2e"},"thinking":{"type":"enabled","budget_tokens":1024},
"messages":[{"role":"user","content":"plain \u00e9 text"},
{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"c2ln"},{"type":"text","text":"ok"},
{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"/a\\b","n":[1,2.5e3,-0]}}]},
{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"line 1\nline 2\ttab","is_error":false},
{"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"a\tb"}]},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0K"}},{"text":"no type first","type":"text"}]}],
"tools":[{"name":"Read","description":"Reads a file.\n\nUsage:\n- path","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"],"$schema":"http://json-schema.org/draft-07/schema#"}}],
"tool_choice":{"type":"auto"},"unknown_field":{"kept":[null,true]}}"#;

const CHAT: &str = r#"{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":512,"top_p":0.9,"stop":["\n\n","END"],
"messages":[{"role":"system","content":"Be \"terse\"."},{"role":"user","content":[{"type":"text","text":"see\u2028this"},
{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"q\":\"x\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"result"}],
"tools":[{"type":"function","function":{"name":"get","description":"Gets.","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}],
"tool_choice":{"type":"function","function":{"name":"get"}},"response_format":{"type":"json_object"},"user":"u-1","seed":42}"#;

const RESPONSES: &str = r#"{"model":"gpt-5-codex","instructions":"You are Codex.\n","stream":true,"store":false,
"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"fix \"it\""}]},
{"type":"function_call","call_id":"c1","name":"shell","arguments":"{\"cmd\":[\"ls\"]}"},
{"type":"function_call_output","call_id":"c1","output":"a\nb"},{"type":"reasoning","id":"r1","summary":[{"type":"summary_text","text":"s"}]}],
"tools":[{"type":"function","name":"shell","description":"Runs.","parameters":{"type":"object","properties":{}},"strict":false}],
"reasoning":{"effort":"medium","summary":"auto"},"max_output_tokens":1000,"tool_choice":"auto","parallel_tool_calls":true}"#;

const GEMINI: &str = r#"{"contents":[{"role":"user","parts":[{"text":"hi \ud83d\ude00"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":1}}}]},
{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"ok":true}}}]}],
"systemInstruction":{"parts":[{"text":"sys"}]},"generationConfig":{"maxOutputTokens":100,"temperature":0.2,"stopSequences":["x"]},
"tools":[{"functionDeclarations":[{"name":"f","description":"d","parameters":{"type":"OBJECT"}}]}]}"#;

const ANTHROPIC_ANSWER: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
"content":[{"type":"text","text":"Hi\n"},{"type":"tool_use","id":"t","name":"f","input":{"x":[1]}}],
"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":3}}"#;

const CHAT_ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",
"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"you\"","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls","logprobs":null}],
"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0}}}"#;

const EVENT: &str =
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#;

/// What the reader makes of `text` is what serde_json makes of it: the same value,
/// written the same way.
fn same_as_serde_json<T>(text: &str) -> bool
where
    T: for<'de> serde::Deserialize<'de> + Serialize + Debug,
{
    let Some(ours) = try_parse::<T>(text) else {
        return false;
    };
    let theirs = match serde_json::from_str::<T>(text) {
        Ok(theirs) => theirs,
        Err(e) => panic!("accepted what serde_json refuses ({e}): {text}"),
    };
    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{text}");
    // Some values cannot be written (an unknown content block): then both fail alike.
    let written = |v: &T| serde_json::to_string(v).map_err(|e| e.to_string());
    assert_eq!(written(&ours), written(&theirs), "{text}");
    true
}

/// Every document made by breaking `sample`: what the reader accepts must be what
/// serde_json reads, to the same value. Returns (accepted, refused).
fn mutated<T>(sample: &str) -> (usize, usize)
where
    T: for<'de> serde::Deserialize<'de> + Serialize + Debug,
{
    assert!(same_as_serde_json::<T>(sample), "the sample itself is refused: {sample}");
    let (mut accepted, mut refused) = (0, 0);
    for doc in mutations(sample.as_bytes()) {
        let Ok(text) = std::str::from_utf8(&doc) else { continue };
        if same_as_serde_json::<T>(text) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    (accepted, refused)
}

#[test]
fn typed_requests_and_answers_read_as_serde_json_reads_them_at_every_broken_byte() {
    let counts = [
        mutated::<MessagesRequest>(ANTHROPIC),
        mutated::<ChatRequest>(CHAT),
        mutated::<ResponsesRequest>(RESPONSES),
        mutated::<GenerateContentRequest>(GEMINI),
        mutated::<MessagesResponse>(ANTHROPIC_ANSWER),
        mutated::<ChatResponse>(CHAT_ANSWER),
        mutated::<StreamEvent>(EVENT),
    ];
    // Many changes keep a document valid (a digit for a digit, a space more), so the
    // property is checked on both sides of the line, for every type.
    for (accepted, refused) in counts {
        assert!(accepted > 300 && refused > 300, "{accepted} accepted, {refused} refused");
    }
}

#[test]
fn untyped_values_read_as_serde_json_reads_them_at_every_broken_byte() {
    let (mut accepted, mut refused) = (0, 0);
    for sample in SAMPLES {
        let (a, r) = mutated::<Value>(sample);
        accepted += a;
        refused += r;
    }
    assert!(accepted > 1000 && refused > 1000, "{accepted} accepted, {refused} refused");
}

#[test]
fn escaped_names_and_strings_are_unescaped_as_serde_json_does() {
    let text = r#"{"mo\u0064el":"m\u00e9","max_tokens":1,"messages":[{"role":"us\u0065r","content":"a\"b\\c\/d\ud83d\ude00"}]}"#;
    assert!(same_as_serde_json::<MessagesRequest>(text));
    assert!(same_as_serde_json::<Value>(text));
    let req: MessagesRequest = try_parse(text).unwrap();
    assert_eq!(req.model, "mé");
}

#[test]
fn what_the_reader_leaves_is_parsed_by_serde_json() {
    // A lone surrogate: serde_json's error, in its words.
    let lone = r#"{"model":"\ud800","max_tokens":1,"messages":[]}"#;
    assert!(try_parse::<MessagesRequest>(lone).is_none());
    let err = parse::<MessagesRequest>(lone).unwrap_err().to_string();
    assert_eq!(err, serde_json::from_str::<MessagesRequest>(lone).unwrap_err().to_string());
    // A struct written as an array, which serde_json reads and this reader leaves.
    let array = r#"["m",[]]"#;
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Pair {
        model: String,
        messages: Vec<Value>,
    }
    assert!(try_parse::<Pair>(array).is_none());
    assert_eq!(parse::<Pair>(array).unwrap(), Pair { model: "m".into(), messages: vec![] });
    // Integer member names, which serde_json reads out of their quotes.
    let keyed = r#"{"1":2}"#;
    assert!(try_parse::<std::collections::HashMap<u32, u32>>(keyed).is_none());
    assert_eq!(parse::<std::collections::HashMap<u32, u32>>(keyed).unwrap(), [(1, 2)].into());
    // Nesting past the reader's limit but within serde_json's.
    let deep = format!("{}{}", "[".repeat(110), "]".repeat(110));
    assert!(try_parse::<Value>(&deep).is_none());
    assert!(parse::<Value>(&deep).is_ok());
    let within = format!("{}{}", "[".repeat(100), "]".repeat(100));
    assert_eq!(try_parse::<Value>(&within).unwrap(), serde_json::from_str::<Value>(&within).unwrap());
    // Trailing text after the value.
    assert!(try_parse::<Value>("{} x").is_none());
    assert_eq!(
        parse::<Value>("{} x").unwrap_err().to_string(),
        serde_json::from_str::<Value>("{} x").unwrap_err().to_string()
    );
}

#[test]
fn numbers_are_read_by_serde_json() {
    for text in [
        "0",
        "-0",
        "1e400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "0.1e-5",
        "2.2250738585072014e-308",
    ] {
        match serde_json::from_str::<Value>(text) {
            Ok(theirs) => assert_eq!(try_parse::<Value>(text), Some(theirs), "{text}"),
            Err(_) => assert!(try_parse::<Value>(text).is_none(), "{text}"),
        }
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Limits {
        max_tokens: u32,
        temperature: f32,
    }
    let ok = r#"{"max_tokens":4294967295,"temperature":0.3}"#;
    assert_eq!(try_parse::<Limits>(ok).unwrap(), serde_json::from_str::<Limits>(ok).unwrap());
    assert!(try_parse::<Limits>(r#"{"max_tokens":4294967296,"temperature":0}"#).is_none());
    assert!(try_parse::<Limits>(r#"{"max_tokens":"1","temperature":0}"#).is_none());
}

/// Strings of random pieces, escapes of every kind among them (surrogate pairs, their
/// halves alone or reversed): read as strings, the reader and serde_json must agree on
/// every one, to the character.
#[test]
fn random_escaped_strings_unescape_as_serde_json_unescapes_them() {
    const PIECES: &[&str] = &[
        "a",
        "plain text, longer than sixteen bytes",
        "é漢😀",
        "\\n",
        "\\\\",
        "\\\"",
        "\\/",
        "\\b\\f\\r\\t",
        "\\u0000",
        "\\u00e9",
        "\\u00E9",
        "\\u2028",
        "\\uD83D\\uDE00",
        "\\uDBFF\\uDFFF",
        "\\uD83D",
        "\\uDE00",
        "\\uD83D\\u0041",
        "\\uD83D\\n",
        "\\tDC00",
    ];
    let mut next = random(0x2545_f491_4f6c_dd1d);
    let (mut read, mut total) = (0, 0);
    for _ in 0..20_000 {
        let mut doc = String::from("[\"");
        for _ in 0..next(12) {
            doc.push_str(PIECES[next(PIECES.len())]);
        }
        doc.push_str("\",\"k\"]");
        let theirs = serde_json::from_str::<Vec<String>>(&doc).ok();
        assert_eq!(try_parse::<Vec<String>>(&doc), theirs, "{doc:?}");
        read += usize::from(theirs.is_some());
        total += 1;
    }
    assert!(read > 1000 && total - read > 1000, "{read} of {total}");
}
