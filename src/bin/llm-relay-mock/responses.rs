//! OpenAI Responses wire format (`POST /v1/responses`): the `response` object and
//! its `event: <type>` / `data: <json>` stream with increasing `sequence_number`.
//!
//! Every plan block is one output item, so a block's index is its `output_index`:
//! thinking → `reasoning` (`rs_mock_N`), text → `message` (`msg_mock_N`), tool →
//! `function_call` (`fc_mock_K`, `call_id` `call_mock_K`).

use std::fmt::Write as _;

use crate::script::{Block, Plan, THINKING_PARTS};
use crate::wire::{esc_into, Ctx, Ev, CACHED};

/// In-band error payload (without `sequence_number`, added per event).
const OVERLOADED: &str = r#","code":"server_error","message":"mock overloaded","param":null"#;

/// Opens an event: `event: TY\ndata: {"type":"TY","sequence_number":N`. The caller
/// appends the other fields (each with a leading comma) and calls `end`.
fn begin(out: &mut String, ctx: &mut Ctx, ty: &str) {
    let _ = write!(out, r#"event: {ty}{}data: {{"type":"{ty}","sequence_number":{}"#, '\n', ctx.seq);
    ctx.seq += 1;
}

fn end(out: &mut String) {
    out.push_str("}\n\n");
}

/// Writes the output item of `block` (`done`: as in `output_item.done` and the final
/// response; else as in `output_item.added`).
fn item(out: &mut String, n: u64, block: &Block, done: bool) {
    match block {
        Block::Thinking => {
            let _ = write!(out, r#"{{"id":"rs_mock_{n}","type":"reasoning","summary":["#);
            if done {
                out.push_str(r#"{"type":"summary_text","text":"#);
                esc_into(out, &THINKING_PARTS.concat());
                out.push('}');
            }
            out.push_str("]}");
        }
        Block::Text(_) => {
            let (status, open) = if done { ("completed", true) } else { ("in_progress", false) };
            let _ = write!(out, r#"{{"id":"msg_mock_{n}","type":"message","status":"{status}","content":["#);
            if open {
                text_part(out, &block.full_text());
            }
            out.push_str(r#"],"role":"assistant"}"#);
        }
        Block::Tool { num, name, args, .. } => {
            let status = if done { "completed" } else { "in_progress" };
            let _ = write!(out, r#"{{"id":"fc_mock_{num}","type":"function_call","status":"{status}","arguments":"#);
            esc_into(out, if done { args } else { "" });
            let _ = write!(out, r#","call_id":"call_mock_{num}","name":"#);
            esc_into(out, name);
            out.push('}');
        }
    }
}

fn text_part(out: &mut String, text: &str) {
    out.push_str(r#"{"type":"output_text","annotations":[],"logprobs":[],"text":"#);
    esc_into(out, text);
    out.push('}');
}

fn usage(out: &mut String, ctx: &Ctx, plan: &Plan) {
    let input = ctx.input_tokens + CACHED;
    let output = plan.output_tokens();
    let _ = write!(
        out,
        r#"{{"input_tokens":{input},"input_tokens_details":{{"cached_tokens":{CACHED},"cache_write_tokens":0}},"output_tokens":{output},"output_tokens_details":{{"reasoning_tokens":{}}},"total_tokens":{}}}"#,
        plan.reasoning_tokens(),
        input + output
    );
}

/// The `response` object: in progress (no output, no usage) or completed.
fn object(out: &mut String, ctx: &Ctx, plan: &Plan, done: bool) {
    let status = if done { "completed" } else { "in_progress" };
    let _ = write!(
        out,
        r#"{{"id":"{}","object":"response","created_at":{},"status":"{status}","background":false,"error":null,"incomplete_details":null,"model":{},"output":["#,
        ctx.id, ctx.created, ctx.model_json
    );
    if done {
        for (i, b) in plan.blocks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item(out, ctx.n, b, true);
        }
    }
    out.push_str("],");
    out.push_str(&ctx.echo);
    out.push_str(r#","usage":"#);
    if done {
        usage(out, ctx, plan);
    } else {
        out.push_str("null");
    }
    out.push('}');
}

/// The non-stream body.
pub fn full_body(ctx: &Ctx, plan: &Plan) -> String {
    let mut s = String::with_capacity(768 + ctx.echo.len());
    object(&mut s, ctx, plan, true);
    s
}

/// The item id of block `block` in a response numbered `n`.
fn item_id(out: &mut String, n: u64, block: &Block) {
    let _ = match block {
        Block::Thinking => write!(out, r#","item_id":"rs_mock_{n}""#),
        Block::Text(_) => write!(out, r#","item_id":"msg_mock_{n}""#),
        Block::Tool { num, .. } => write!(out, r#","item_id":"fc_mock_{num}""#),
    };
}

/// The stream frame(s) for `ev`.
pub fn frame(ctx: &mut Ctx, plan: &Plan, ev: Ev) -> Option<String> {
    let n = ctx.n;
    let mut out = String::with_capacity(256);
    match ev {
        Ev::Start => {
            for ty in ["response.created", "response.in_progress"] {
                begin(&mut out, ctx, ty);
                out.push_str(r#","response":"#);
                object(&mut out, ctx, plan, false);
                end(&mut out);
            }
        }
        Ev::BlockStart(i) => {
            let block = plan.blocks.get(i)?;
            begin(&mut out, ctx, "response.output_item.added");
            let _ = write!(out, r#","output_index":{i},"item":"#);
            item(&mut out, n, block, false);
            end(&mut out);
            match block {
                Block::Thinking => {
                    begin(&mut out, ctx, "response.reasoning_summary_part.added");
                    item_id(&mut out, n, block);
                    let _ = write!(
                        out,
                        r#","output_index":{i},"summary_index":0,"part":{{"type":"summary_text","text":""}}"#
                    );
                    end(&mut out);
                }
                Block::Text(_) => {
                    begin(&mut out, ctx, "response.content_part.added");
                    item_id(&mut out, n, block);
                    let _ = write!(out, r#","output_index":{i},"content_index":0,"part":"#);
                    text_part(&mut out, "");
                    end(&mut out);
                }
                Block::Tool { .. } => {}
            }
        }
        Ev::Delta(i, k) => {
            let block = plan.blocks.get(i)?;
            let part = block.part(k)?;
            let (ty, extra) = match block {
                Block::Thinking => ("response.reasoning_summary_text.delta", r#","summary_index":0"#),
                Block::Text(_) => ("response.output_text.delta", r#","content_index":0"#),
                Block::Tool { .. } => ("response.function_call_arguments.delta", ""),
            };
            begin(&mut out, ctx, ty);
            item_id(&mut out, n, block);
            let _ = write!(out, r#","output_index":{i}{extra},"delta":"#);
            esc_into(&mut out, &part);
            if matches!(block, Block::Text(_)) {
                out.push_str(r#","logprobs":[]"#);
            }
            end(&mut out);
        }
        Ev::BlockStop(i) => {
            let block = plan.blocks.get(i)?;
            match block {
                Block::Thinking => {
                    let text = THINKING_PARTS.concat();
                    begin(&mut out, ctx, "response.reasoning_summary_text.done");
                    item_id(&mut out, n, block);
                    let _ = write!(out, r#","output_index":{i},"summary_index":0,"text":"#);
                    esc_into(&mut out, &text);
                    end(&mut out);
                    begin(&mut out, ctx, "response.reasoning_summary_part.done");
                    item_id(&mut out, n, block);
                    let _ =
                        write!(out, r#","output_index":{i},"summary_index":0,"part":{{"type":"summary_text","text":"#);
                    esc_into(&mut out, &text);
                    out.push('}');
                    end(&mut out);
                }
                Block::Text(_) => {
                    let text = block.full_text();
                    begin(&mut out, ctx, "response.output_text.done");
                    item_id(&mut out, n, block);
                    let _ = write!(out, r#","output_index":{i},"content_index":0,"text":"#);
                    esc_into(&mut out, &text);
                    out.push_str(r#","logprobs":[]"#);
                    end(&mut out);
                    begin(&mut out, ctx, "response.content_part.done");
                    item_id(&mut out, n, block);
                    let _ = write!(out, r#","output_index":{i},"content_index":0,"part":"#);
                    text_part(&mut out, &text);
                    end(&mut out);
                }
                Block::Tool { name, args, .. } => {
                    begin(&mut out, ctx, "response.function_call_arguments.done");
                    item_id(&mut out, n, block);
                    let _ = write!(out, r#","output_index":{i},"name":"#);
                    esc_into(&mut out, name);
                    out.push_str(r#","arguments":"#);
                    esc_into(&mut out, args);
                    end(&mut out);
                }
            }
            begin(&mut out, ctx, "response.output_item.done");
            let _ = write!(out, r#","output_index":{i},"item":"#);
            item(&mut out, n, block, true);
            end(&mut out);
        }
        Ev::Finish => {
            begin(&mut out, ctx, "response.completed");
            out.push_str(r#","response":"#);
            object(&mut out, ctx, plan, true);
            end(&mut out);
        }
        Ev::Error => {
            let _ = write!(
                out,
                "event: error\ndata: {{\"type\":\"error\"{OVERLOADED},\"sequence_number\":{}}}\n\n",
                ctx.seq
            );
            ctx.seq += 1;
        }
        Ev::Ping | Ev::Signature(_) | Ev::Usage | Ev::Done => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{split_words, Fail, Text};
    use crate::wire::{q, Dialect};
    use serde_json::Value;

    const ECHO: &str =
        r#""instructions":null,"metadata":{},"parallel_tool_calls":true,"tool_choice":"auto","tools":[]"#;

    fn ctx() -> Ctx {
        Ctx { echo: ECHO.into(), ..Ctx::new(Dialect::Responses, "resp_mock_7".into(), 7, q("gpt-x"), 1700000000, 10) }
    }

    fn text_plan() -> Plan {
        Plan {
            blocks: vec![Block::Text(Text::Words(split_words("Hello from mock.")))],
            tool_use: false,
            fail: Fail::None,
        }
    }

    fn tool_plan() -> Plan {
        Plan {
            blocks: vec![
                Block::Text(Text::Words(split_words("Checking."))),
                Block::Tool { num: 3, index: 0, name: "get_weather".into(), args: r#"{"city":"Paris","unit":"c"}"# },
            ],
            tool_use: true,
            fail: Fail::None,
        }
    }

    /// All events of a stream of `plan`, concatenated.
    fn stream(plan: &Plan) -> String {
        let mut c = ctx();
        let mut evs = vec![Ev::Start, Ev::Ping];
        for (i, b) in plan.blocks.iter().enumerate() {
            evs.push(Ev::BlockStart(i));
            evs.extend((0..b.parts()).map(|k| Ev::Delta(i, k)));
            evs.push(Ev::Signature(i));
            evs.push(Ev::BlockStop(i));
        }
        evs.extend([Ev::Finish, Ev::Usage, Ev::Done]);
        evs.into_iter().filter_map(|ev| frame(&mut c, plan, ev)).collect()
    }

    fn events(s: &str) -> Vec<(String, Value)> {
        s.split_terminator("\n\n")
            .map(|f| {
                let mut lines = f.lines();
                let name = lines.next().and_then(|l| l.strip_prefix("event: ")).unwrap_or("").to_string();
                let data = lines.next().and_then(|l| l.strip_prefix("data: ")).unwrap_or("");
                (name, serde_json::from_str(data).unwrap_or(Value::Null))
            })
            .collect()
    }

    #[test]
    fn text_stream_frames() {
        let s = stream(&text_plan());
        let obj = |status: &str, output: &str, usage: &str| {
            format!(
                r#"{{"id":"resp_mock_7","object":"response","created_at":1700000000,"status":"{status}","background":false,"error":null,"incomplete_details":null,"model":"gpt-x","output":[{output}],{ECHO},"usage":{usage}}}"#
            )
        };
        let done_item = r#"{"id":"msg_mock_7","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello from mock."}],"role":"assistant"}"#;
        let usage = r#"{"input_tokens":13,"input_tokens_details":{"cached_tokens":3,"cache_write_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":16}"#;
        let expected = [
            format!("event: response.created\ndata: {{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{}}}\n\n", obj("in_progress", "", "null")),
            format!("event: response.in_progress\ndata: {{\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{}}}\n\n", obj("in_progress", "", "null")),
            "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{\"id\":\"msg_mock_7\",\"type\":\"message\",\"status\":\"in_progress\",\"content\":[],\"role\":\"assistant\"}}\n\n".to_string(),
            "event: response.content_part.added\ndata: {\"type\":\"response.content_part.added\",\"sequence_number\":3,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"\"}}\n\n".to_string(),
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hello\",\"logprobs\":[]}\n\n".to_string(),
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":5,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"delta\":\" from\",\"logprobs\":[]}\n\n".to_string(),
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":6,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"delta\":\" mock.\",\"logprobs\":[]}\n\n".to_string(),
            "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"sequence_number\":7,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"text\":\"Hello from mock.\",\"logprobs\":[]}\n\n".to_string(),
            "event: response.content_part.done\ndata: {\"type\":\"response.content_part.done\",\"sequence_number\":8,\"item_id\":\"msg_mock_7\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"Hello from mock.\"}}\n\n".to_string(),
            format!("event: response.output_item.done\ndata: {{\"type\":\"response.output_item.done\",\"sequence_number\":9,\"output_index\":0,\"item\":{done_item}}}\n\n"),
            format!("event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":10,\"response\":{}}}\n\n", obj("completed", done_item, usage)),
        ];
        assert_eq!(s, expected.concat());
        assert_eq!(full_body(&ctx(), &text_plan()), obj("completed", done_item, usage));
    }

    #[test]
    fn tool_stream_frames() {
        let s = stream(&tool_plan());
        let ev = events(&s);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
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
                "response.completed"
            ]
        );
        for (k, (name, v)) in ev.iter().enumerate() {
            assert_eq!(v["type"], name.as_str());
            assert_eq!(v["sequence_number"], k);
        }
        let tool_frames: Vec<&str> = s.split_inclusive("\n\n").skip(8).take(5).collect();
        assert_eq!(
            tool_frames,
            [
                "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":8,\"output_index\":1,\"item\":{\"id\":\"fc_mock_3\",\"type\":\"function_call\",\"status\":\"in_progress\",\"arguments\":\"\",\"call_id\":\"call_mock_3\",\"name\":\"get_weather\"}}\n\n",
                "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":9,\"item_id\":\"fc_mock_3\",\"output_index\":1,\"delta\":\"{\\\"city\\\":\\\"Pari\"}\n\n",
                "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":10,\"item_id\":\"fc_mock_3\",\"output_index\":1,\"delta\":\"s\\\",\\\"unit\\\":\\\"c\\\"}\"}\n\n",
                "event: response.function_call_arguments.done\ndata: {\"type\":\"response.function_call_arguments.done\",\"sequence_number\":11,\"item_id\":\"fc_mock_3\",\"output_index\":1,\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"c\\\"}\"}\n\n",
                "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"sequence_number\":12,\"output_index\":1,\"item\":{\"id\":\"fc_mock_3\",\"type\":\"function_call\",\"status\":\"completed\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"c\\\"}\",\"call_id\":\"call_mock_3\",\"name\":\"get_weather\"}}\n\n",
            ]
        );
        let done = &ev[13].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"][1]["call_id"], "call_mock_3");
        assert_eq!(done["usage"]["output_tokens"], 3);
    }

    #[test]
    fn reasoning_and_error_events() {
        let plan = Plan {
            blocks: vec![Block::Thinking, Block::Text(Text::Words(split_words("Hi")))],
            tool_use: false,
            fail: Fail::None,
        };
        let ev = events(&stream(&plan));
        let names: Vec<&str> = ev.iter().take(9).map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done"
            ]
        );
        assert_eq!(ev[2].1["item"], serde_json::json!({"id":"rs_mock_7","type":"reasoning","summary":[]}));
        assert_eq!(ev[4].1["delta"], "Let me");
        assert_eq!(ev[4].1["item_id"], "rs_mock_7");
        assert_eq!(ev[8].1["item"]["summary"][0]["text"], "Let me think.");
        let done = &ev.last().map(|e| e.1.clone()).unwrap_or_default()["response"];
        assert_eq!(done["output"][1]["id"], "msg_mock_7");
        assert_eq!(done["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
        let mut c = ctx();
        c.seq = 5;
        assert_eq!(
            frame(&mut c, &plan, Ev::Error).as_deref(),
            Some(
                "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"mock overloaded\",\"param\":null,\"sequence_number\":5}\n\n"
            )
        );
        assert_eq!(c.seq, 6);
    }
}
