//! Codex's tools declared outside `tools`, on upstreams of other dialects: its client-run
//! tool search (the search as a function tool, its calls and outputs sent back, the tools
//! it found declared, and the model's calls of it as `tool_search_call` items, complete
//! and streamed under every split), and its code mode's `additional_tools` input item.

use super::stream_tests::{assert_frames_valid, check_splits, encode_split, final_response};
use super::*;
use crate::protocol::openai_responses::Item;
use serde_json::{json, Value};

/// The shape Codex 0.171 sends for gpt-5.5 with one MCP server (`wt`), after a search
/// found `lookup_weather` and the model called it.
fn codex_request() -> Value {
    let weather = json!({"type": "function", "name": "lookup_weather", "description": "Look up the current weather for a city.",
        "strict": false, "defer_loading": true,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}});
    json!({
        "model": "gpt-5.5", "stream": true, "instructions": "You are Codex.",
        "tools": [
            {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
            {"type": "tool_search", "execution": "client", "description": "# Tool discovery\n\nSearches over deferred tool metadata.",
             "parameters": {"type": "object", "properties": {"limit": {"type": "number"}, "query": {"type": "string"}},
                            "required": ["query"], "additionalProperties": false}},
            {"type": "web_search", "external_web_access": true}
        ],
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "weather in Paris?"}]},
            {"type": "tool_search_call", "id": "tsc_1", "call_id": "call_ts1", "status": "completed", "execution": "client",
             "arguments": {"query": "weather city", "limit": 8}},
            {"type": "tool_search_output", "id": "tso_1", "call_id": "call_ts1", "status": "completed", "execution": "client",
             "tools": [{"type": "namespace", "name": "mcp__wt", "description": "Tools in the mcp__wt namespace.", "tools": [weather]}]},
            {"type": "function_call", "status": "completed", "id": "fc_1", "name": "lookup_weather", "namespace": "mcp__wt",
             "arguments": "{\"city\":\"Paris\"}", "call_id": "call_fc1"},
            {"type": "function_call_output", "call_id": "call_fc1",
             "output": [{"type": "input_text", "text": "Weather in Paris: 21C, sunny"}]},
            // The same tools found again are declared once.
            {"type": "tool_search_call", "call_id": "call_ts2", "execution": "client", "arguments": {"query": "weather"}},
            {"type": "tool_search_output", "call_id": "call_ts2", "execution": "client",
             "tools": [{"type": "namespace", "name": "mcp__wt", "tools": [weather]}]}
        ]
    })
}

/// An Anthropic stream of one `tool_use` block named `name` (id `id`), its input in
/// `fragments`, ending with `stop_reason`.
fn tool_use_stream(id: &str, name: &str, fragments: &[&str], stop_reason: &str) -> String {
    let mut out = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
    );
    let start = json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}});
    out.push_str(&format!("event: content_block_start\ndata: {start}\n\n"));
    for fragment in fragments {
        let delta = json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": fragment}});
        out.push_str(&format!("event: content_block_delta\ndata: {delta}\n\n"));
    }
    out.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    let end = json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": 12}});
    out.push_str(&format!(
        "event: message_delta\ndata: {end}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    ));
    out
}

#[test]
fn the_search_is_a_function_tool_and_the_tools_it_found_are_declared() {
    let (req, info) = request_to_canonical(codex_request().to_string().as_bytes()).unwrap();
    assert!(info.tool_search);
    let v = serde_json::to_value(&req).unwrap();
    let names: Vec<&str> = v["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    // (The hosted web search is Anthropic's, last.)
    assert_eq!(names, ["exec_command", "tool_search", "mcp__wt__lookup_weather", "web_search"]);
    assert_eq!(
        v["tools"][1],
        json!({"name": "tool_search", "description": "# Tool discovery\n\nSearches over deferred tool metadata.",
               "input_schema": {"type": "object", "properties": {"limit": {"type": "number"}, "query": {"type": "string"}},
                                "required": ["query"], "additionalProperties": false}})
    );
    assert_eq!(v["tools"][2]["input_schema"]["required"], json!(["city"]));
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(
        messages[1]["content"][0],
        json!({"type": "tool_use", "id": "call_ts1", "name": "tool_search", "input": {"query": "weather city", "limit": 8}})
    );
    assert_eq!(
        messages[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "call_ts1",
               "content": "{\"tools\":[{\"name\":\"mcp__wt__lookup_weather\",\"description\":\"Look up the current weather for a city.\"}]}"})
    );
    assert_eq!(messages[3]["content"][0]["name"], "mcp__wt__lookup_weather");
    assert_eq!(messages[3]["content"][0]["input"], json!({"city": "Paris"}));
    assert_eq!(messages[5]["content"][0]["input"], json!({"query": "weather"}));

    // Without a client-run search, nothing is declared for it.
    let mut server = codex_request();
    server["tools"][1]["execution"] = json!("server");
    let (req, info) = request_to_canonical(server.to_string().as_bytes()).unwrap();
    assert!(!info.tool_search);
    let names: Vec<String> = req.tools.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["exec_command", "web_search"]);
}

fn answer(input: Value) -> MessagesResponse {
    serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "text", "text": "Let me find a tool."},
            {"type": "tool_use", "id": "toolu_ts", "name": "tool_search", "input": input},
            {"type": "tool_use", "id": "toolu_fc", "name": "mcp__wt__lookup_weather", "input": {"city": "Paris"}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 9, "output_tokens": 5}
    }))
    .unwrap()
}

#[test]
fn the_models_search_is_a_tool_search_call_item() {
    let (_, info) = request_to_canonical(codex_request().to_string().as_bytes()).unwrap();
    let body: Value =
        serde_json::from_slice(&canonical_to_response(&answer(json!({"query": "time zone"})), "resp_r1", &info))
            .unwrap();
    assert_eq!(
        body["output"][1],
        json!({"type": "tool_search_call", "id": "tsc_r1_1", "status": "completed", "call_id": "toolu_ts",
               "execution": "client", "arguments": {"query": "time zone"}})
    );
    assert_eq!(
        (&body["output"][2]["name"], &body["output"][2]["namespace"]),
        (&json!("lookup_weather"), &json!("mcp__wt"))
    );

    // A request without a client-run search gets a function call of the same name.
    let plain = ResponsesRequestInfo::default();
    let body: Value = serde_json::from_slice(&canonical_to_response(&answer(json!({})), "resp_r1", &plain)).unwrap();
    assert_eq!(
        (&body["output"][1]["type"], &body["output"][1]["name"]),
        (&json!("function_call"), &json!("tool_search"))
    );
}

#[test]
fn a_streamed_search_is_added_then_done_whole_under_every_split() {
    let (_, info) = request_to_canonical(codex_request().to_string().as_bytes()).unwrap();
    let input = tool_use_stream("toolu_ts", "tool_search", &["{\"query\": \"wea", "ther\", \"limit\": 4}"], "tool_use");
    let out =
        check_splits("tool search", input.as_bytes(), |cuts| encode_split(input.as_bytes(), cuts, "resp_r1", &info));
    let events = assert_frames_valid(&out);
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let data: Vec<Value> = out
        .split_terminator("\n\n")
        .map(|f| serde_json::from_str(f.split_once("\ndata: ").unwrap().1).unwrap())
        .collect();
    assert_eq!(
        data[2]["item"],
        json!({"type": "tool_search_call", "id": "tsc_r1_0", "status": "in_progress", "call_id": "toolu_ts",
               "execution": "client", "arguments": {}})
    );
    let done = json!({"type": "tool_search_call", "id": "tsc_r1_0", "status": "completed", "call_id": "toolu_ts",
                      "execution": "client", "arguments": {"query": "weather", "limit": 4}});
    assert_eq!(data[3]["item"], done);
    assert_eq!(serde_json::to_value(&final_response(&events).output).unwrap(), json!([done]));
    assert!(matches!(final_response(&events).output[0], Item::ToolSearchCall { .. }));
}

#[test]
fn server_run_searches_and_a_function_of_the_same_name_are_left_alone() {
    // OpenAI's own search items (server-run, maybe without a call id) are not replayed.
    let mut body = codex_request();
    body["input"].as_array_mut().unwrap().push(
        json!({"type": "tool_search_call", "id": "tsc_9", "call_id": null, "execution": "server", "arguments": {"query": "x"}}),
    );
    let (req, _) = request_to_canonical(body.to_string().as_bytes()).unwrap();
    assert_eq!(req.messages.len(), 7);

    // A function of the client's named `tool_search` keeps the name: the search is left
    // out, and calls of that name are the function's.
    let mut body = codex_request();
    body["tools"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "function", "name": "tool_search", "parameters": {"type": "object"}}));
    let (req, info) = request_to_canonical(body.to_string().as_bytes()).unwrap();
    assert!(!info.tool_search);
    let names: Vec<String> = req.tools.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names.iter().filter(|n| *n == "tool_search").count(), 1, "{names:?}");
    let body: Value = serde_json::from_slice(&canonical_to_response(&answer(json!({})), "resp_r1", &info)).unwrap();
    assert_eq!(body["output"][1]["type"], "function_call");
}

#[test]
fn a_search_cut_off_before_its_input_is_whole_is_incomplete() {
    let (_, info) = request_to_canonical(codex_request().to_string().as_bytes()).unwrap();
    let input = tool_use_stream("toolu_ts", "tool_search", &["{\"query\": \"wea"], "max_tokens");
    let out = encode_split(input.as_bytes(), &[], "resp_r1", &info);
    let events = assert_frames_valid(&out);
    let item = serde_json::to_value(&final_response(&events).output[0]).unwrap();
    assert_eq!((&item["type"], &item["status"]), (&json!("tool_search_call"), &json!("incomplete")), "{item}");
}

/// Codex's code-mode models (its default, gpt-6.2-sol) send no `tools`: an
/// `additional_tools` input item gives them, `exec` (JavaScript, a custom tool) and `wait`
/// in the `functions` namespace, called by their own names, and other namespaces.
fn code_mode_request() -> Value {
    json!({
        "model": "gpt-6.2-sol", "stream": true, "tool_choice": "auto", "parallel_tool_calls": false,
        "input": [
            {"type": "additional_tools", "id": "at_1", "role": "developer", "tools": [
                {"type": "namespace", "name": "functions", "description": "", "tools": [
                    {"type": "custom", "name": "exec", "description": "Run JavaScript.",
                     "format": {"type": "grammar", "syntax": "lark", "definition": "start: SOURCE\nSOURCE: /[\\s\\S]+/\n"}},
                    {"type": "function", "name": "wait", "strict": false,
                     "parameters": {"type": "object", "properties": {"cell_id": {"type": "string"}}, "required": ["cell_id"]}}]},
                {"type": "namespace", "name": "clock", "description": "Tools for reading and waiting on time.", "tools": [
                    {"type": "function", "name": "sleep", "parameters": {"type": "object", "properties": {"duration_ms": {"type": "number"}}}}]}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "say hello"}]},
            {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_c1", "name": "exec", "status": "completed",
             "input": "const r = await tools.exec_command({cmd: \"echo hello\"});\ntext(r.output);"},
            {"type": "custom_tool_call_output", "call_id": "call_c1",
             "output": [{"type": "input_text", "text": "Script completed\nWall time 0.1 seconds\nOutput:\n"}, {"type": "input_text", "text": "hello\n"}]}
        ]
    })
}

#[test]
fn code_mode_tools_given_in_the_input_are_declared_and_called_back_as_codex_names_them() {
    let (req, info) = request_to_canonical(code_mode_request().to_string().as_bytes()).unwrap();
    let v = serde_json::to_value(&req).unwrap();
    let names: Vec<&str> = v["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["exec", "wait", "clock__sleep"]);
    // The JavaScript goes in as a custom tool's text.
    assert_eq!(v["tools"][0]["input_schema"]["required"], json!(["input"]));
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"][0]["name"], "exec");
    assert_eq!(
        messages[1]["content"][0]["input"]["input"],
        "const r = await tools.exec_command({cmd: \"echo hello\"});\ntext(r.output);"
    );
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "call_c1");

    let answer: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "exec", "input": {"input": "text('hi');"}},
            {"type": "tool_use", "id": "toolu_2", "name": "clock__sleep", "input": {"duration_ms": 5}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 9, "output_tokens": 5}
    }))
    .unwrap();
    let body: Value = serde_json::from_slice(&canonical_to_response(&answer, "resp_r1", &info)).unwrap();
    assert_eq!(
        body["output"][0],
        json!({"type": "custom_tool_call", "id": "ctc_r1_0", "status": "completed", "call_id": "toolu_1",
               "name": "exec", "input": "text('hi');"})
    );
    assert_eq!((&body["output"][1]["name"], &body["output"][1]["namespace"]), (&json!("sleep"), &json!("clock")));
}

#[test]
fn a_tool_given_twice_is_declared_once_and_a_search_given_in_the_input_counts() {
    let mut body = code_mode_request();
    // `exec` in `tools` too, and the `clock` namespace given again in a second item.
    body["tools"] = json!([{"type": "custom", "name": "exec", "description": "Run JavaScript (tools)."}]);
    let again = body["input"][0].clone();
    body["input"].as_array_mut().unwrap().insert(1, again);
    let (req, _) = request_to_canonical(body.to_string().as_bytes()).unwrap();
    let names: Vec<String> = req.tools.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["exec", "wait", "clock__sleep"]);

    // A client-run search given in `additional_tools` is the search, with what it found.
    let mut body = codex_request();
    let search = body["tools"][1].clone();
    body["tools"].as_array_mut().unwrap().remove(1);
    body["input"].as_array_mut().unwrap().insert(0, json!({"type": "additional_tools", "tools": [search]}));
    let (req, info) = request_to_canonical(body.to_string().as_bytes()).unwrap();
    assert!(info.tool_search);
    let names: Vec<String> = req.tools.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["exec_command", "tool_search", "mcp__wt__lookup_weather", "web_search"]);
    // Given in both places, it is declared once.
    body["tools"].as_array_mut().unwrap().push(search);
    let (req, _) = request_to_canonical(body.to_string().as_bytes()).unwrap();
    let names: Vec<String> = req.tools.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["exec_command", "tool_search", "mcp__wt__lookup_weather", "web_search"]);
}

#[test]
fn an_exec_call_cut_off_before_its_script_is_whole_is_incomplete() {
    let (_, info) = request_to_canonical(code_mode_request().to_string().as_bytes()).unwrap();
    let input = tool_use_stream("toolu_x", "exec", &["{\"input\": \"const r = await tools.exec_com"], "max_tokens");
    let out = encode_split(input.as_bytes(), &[], "resp_r1", &info);
    let events = assert_frames_valid(&out);
    let item = serde_json::to_value(&final_response(&events).output[0]).unwrap();
    assert_eq!((&item["type"], &item["status"]), (&json!("custom_tool_call"), &json!("incomplete")), "{item}");
}
