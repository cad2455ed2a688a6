//! Tests of request parsing, directives and plans.
use super::*;
use serde_json::json;

#[test]
fn directives_none() {
    assert_eq!(parse_directives("hello there"), Directives::default());
    assert_eq!(parse_directives("[[unknown]]"), Directives::default());
}

#[test]
fn directives_all() {
    let d = parse_directives(
        "x [[tool]] [[think]] [[error:429]] [[slow: 250]] [[quiet:40]] [[long:12]] [[disconnect]] \
         [[midstream-error]] [[first-event-error]]",
    );
    assert!(d.tool && d.think && d.disconnect && d.midstream_error && d.first_event_error);
    assert!(!d.tools2);
    assert_eq!(d.error, Some(429));
    assert_eq!(d.slow_ms, Some(250));
    assert_eq!(d.quiet_ms, Some(40));
    assert_eq!(d.long, Some(12));
    assert!(parse_directives("[[tools2]]").tools2);
    assert!(!parse_directives("[[tools2]]").tool);
}

#[test]
fn directives_bad_numbers() {
    assert_eq!(parse_directives("[[error:abc]]").error, None);
    assert_eq!(parse_directives("[[error:200]]").error, None);
    assert_eq!(parse_directives("[[error:529").error, None);
    assert_eq!(parse_directives("[[error:529]]").error, Some(529));
    assert_eq!(parse_directives("[[slow:-1]]").slow_ms, None);
}

#[test]
fn words() {
    assert_eq!(split_words("Hello from mock."), ["Hello", " from", " mock."]);
    assert_eq!(split_words("Checking."), ["Checking."]);
    assert_eq!(split_words("").concat(), "");
    assert_eq!(split_words("a  b").concat(), "a  b");
}

#[test]
fn fragments() {
    let args = r#"{"city":"Paris","unit":"c"}"#;
    let (a, b) = (tool_fragment(args, 0), tool_fragment(args, 1));
    assert!(!a.is_empty() && !b.is_empty());
    assert_eq!(format!("{a}{b}"), args);
    assert_eq!(tool_fragment("é", 0).len() + tool_fragment("é", 1).len(), 2);
}

#[test]
fn text_of_anthropic_tool_result() {
    let msg = json!({"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"sunny [[think]]"}]},
        {"type":"text","text":"thanks"}]});
    let (text, result) = last_message_text(&msg);
    assert!(text.contains("sunny") && text.contains("thanks"));
    assert_eq!(result.as_deref(), Some("sunny [[think]]"));
    assert!(parse_directives(&text).think);
}

#[test]
fn text_of_openai_messages() {
    let tool = json!({"role":"tool","tool_call_id":"call_1","content":"20C"});
    assert_eq!(last_message_text(&tool).1.as_deref(), Some("20C"));
    let user = json!({"role":"user","content":[{"type":"text","text":"[[tool]]"},{"type":"image_url","image_url":{"url":"x"}}]});
    let (text, result) = last_message_text(&user);
    assert_eq!(text, "[[tool]]");
    assert_eq!(result, None);
}

#[test]
fn request_and_plan() {
    let body = br#"{"model":"m1","stream":true,"stream_options":{"include_usage":true},
        "tools":[{"type":"function","function":{"name":"lookup","parameters":{}}}],
        "messages":[{"role":"user","content":"[[tool]]"},{"role":"user","content":"[[tools2]] [[think]]"}]}"#;
    let req = parse_request(body).unwrap_or_default();
    assert_eq!(req.model, "m1");
    assert!(req.stream && req.include_usage);
    assert_eq!(req.tools, ["lookup"]);
    assert!(req.directives.tools2 && req.directives.think && !req.directives.tool);
    let ids = AtomicU64::new(0);
    let plan = build_plan(&req, &ids);
    assert_eq!(plan.blocks.len(), 3);
    assert!(plan.tool_use);
    assert_eq!(plan.output_tokens(), 6);
    assert_eq!(plan.reasoning_tokens(), 2);
    assert!(matches!(&plan.blocks[2], Block::Tool { num: 2, index: 1, name, .. } if name == "lookup"));
}

#[test]
fn default_and_tool_result_plans() {
    let ids = AtomicU64::new(0);
    let req = parse_request(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#).unwrap_or_default();
    let plan = build_plan(&req, &ids);
    assert_eq!(plan.blocks[0].full_text(), "Hello from mock.");
    assert_eq!(plan.output_tokens(), 3);
    let req = parse_request(
        br#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"sunny"}]}]}"#,
    )
    .unwrap_or_default();
    let plan = build_plan(&req, &ids);
    assert_eq!(plan.blocks[0].full_text(), "Got tool result: sunny");
    let req = parse_request(br#"{"messages":[{"role":"user","content":"[[long:3]]"}]}"#).unwrap_or_default();
    assert_eq!(build_plan(&req, &ids).blocks[0].full_text(), "w0 w1 w2 ");
    assert!(parse_request(b"{not json").is_err());
}

#[test]
fn responses_request() {
    let body = br#"{"model":"gpt-x","stream":true,"instructions":"be brief","temperature":0.5,
        "tools":[{"type":"web_search"},{"type":"function","name":"lookup","parameters":{}},{"type":"function","name":"b"},{"type":"function","name":"c"}],
        "tool_choice":{"type":"function","name":"lookup"},"parallel_tool_calls":false,
        "input":[{"role":"user","content":[{"type":"input_text","text":"[[tool]] please"}]}]}"#;
    let req = parse_responses_request(body).unwrap_or_default();
    assert_eq!(req.model, "gpt-x");
    assert!(req.stream && req.directives.tool);
    assert_eq!(req.tools, ["lookup", "b"]);
    assert_eq!(req.tool_result, None);
    let echo: Value = serde_json::from_str(&format!("{{{}}}", req.echo)).unwrap_or(Value::Null);
    assert_eq!(echo["instructions"], "be brief");
    assert_eq!(echo["temperature"], 0.5);
    assert_eq!(echo["parallel_tool_calls"], false);
    assert_eq!(echo["tool_choice"]["name"], "lookup");
    assert_eq!(echo["tools"].as_array().map(Vec::len), Some(4));
    assert_eq!(echo["top_p"], 1.0);
    assert_eq!(echo["metadata"], json!({}));

    let req = parse_responses_request(br#"{"input":"hi [[think]]"}"#).unwrap_or_default();
    assert!(req.directives.think && !req.stream);
    let echo: Value = serde_json::from_str(&format!("{{{}}}", req.echo)).unwrap_or(Value::Null);
    assert_eq!((echo["tool_choice"].clone(), echo["tools"].clone()), (json!("auto"), json!([])));
    assert_eq!(echo["parallel_tool_calls"], true);

    let body = br#"{"input":[{"role":"user","content":"[[tool]]"},
        {"type":"function_call","call_id":"call_1","name":"f","arguments":"{}"},
        {"type":"function_call","call_id":"call_2","name":"f","arguments":"{}"},
        {"type":"function_call_output","call_id":"call_1","output":"sunny"},
        {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"rainy [[think]]"}]}]}"#;
    let req = parse_responses_request(body).unwrap_or_default();
    assert_eq!(req.tool_result.as_deref(), Some("sunny\nrainy [[think]]"));
    assert!(req.directives.think && !req.directives.tool);
    assert_eq!(build_plan(&req, &AtomicU64::new(0)).blocks[1].full_text(), "Got tool result: sunny\nrainy [[think]]");
    assert!(parse_responses_request(br#"{"input":5}"#).is_err());
    assert!(parse_responses_request(br#"{}"#).is_ok_and(|r| r.directives == Directives::default()));
}

#[test]
fn gemini_request() {
    let body = br#"{"systemInstruction":{"parts":[{"text":"[[error:500]] sys"}]},
        "tools":[{"googleSearch":{}},{"functionDeclarations":[{"name":"lookup","parameters":{}},{"name":"other"},{"name":"third"}]}],
        "contents":[{"role":"user","parts":[{"text":"[[error:429]]"}]},{"role":"model","parts":[{"text":"ok"}]},
                    {"role":"user","parts":[{"text":"[[tools2]]"},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}]}"#;
    let req = parse_gemini_request(body).unwrap_or_default();
    assert_eq!(req.tools, ["lookup", "other"]);
    assert!(req.directives.tools2);
    assert_eq!(req.directives.error, None);
    assert_eq!(req.tool_result, None);

    let body = br#"{"contents":[{"role":"user","parts":[
        {"functionResponse":{"name":"lookup","response":{"output":"sunny"}}},
        {"functionResponse":{"name":"lookup","response":{"output":{"t":20}}}},
        {"functionResponse":{"name":"lookup","response":{"error":"boom [[think]]"}}}]}]}"#;
    let req = parse_gemini_request(body).unwrap_or_default();
    assert_eq!(req.tool_result.as_deref(), Some("sunny\n{\"t\":20}\n{\"error\":\"boom [[think]]\"}"));
    assert!(req.directives.think);
    assert!(parse_gemini_request(b"5").is_err());
    assert!(parse_gemini_request(b"{}").is_ok());
}
