//! `Live`: which requests are parsed once up front.

use super::Live;
use crate::protocol::Dialect;

fn live(channels: &str) -> Live {
    Live::new(crate::config::load_str(&format!("channels:\n{channels}"), &|_| None).unwrap().config)
}

#[test]
fn anthropic_requests_are_parsed_once_when_no_channel_serving_their_model_speaks_anthropic() {
    let mixed = live(
        "  - {name: a, protocol: anthropic, base_url: 'http://a', keys: [k], models: ['claude-*']}\n  - {name: o, protocol: openai, base_url: 'http://o', keys: [k], models: ['tr-*', 'claude-both']}\n",
    );
    assert!(mixed.always_translates(Dialect::Anthropic, br#"{"model":"tr-x","messages":[]}"#));
    assert!(mixed.always_translates(Dialect::Anthropic, b" {\n  \"model\" : \"tr-x\", \"stream\": true}"));
    // An Anthropic channel serves it (alone or beside an OpenAI one): it may pass through.
    assert!(!mixed.always_translates(Dialect::Anthropic, br#"{"model":"claude-x","messages":[]}"#));
    assert!(!mixed.always_translates(Dialect::Anthropic, br#"{"model":"claude-both","messages":[]}"#));
    // No channel serves it: the usual path answers.
    assert!(!mixed.always_translates(Dialect::Anthropic, br#"{"model":"nobody","messages":[]}"#));
    // The model is not the first member: the peek reads it.
    assert!(!mixed.always_translates(Dialect::Anthropic, br#"{"messages":[],"model":"tr-x"}"#));

    let openai_only = live("  - {name: o, protocol: openai, base_url: 'http://o', keys: [k], models: ['*']}\n");
    assert!(openai_only.always_translates(Dialect::Anthropic, br#"{"messages":[],"model":"claude-x"}"#));
    assert!(openai_only.always_translates(Dialect::Anthropic, b"not json"));
}

#[test]
fn chat_requests_are_parsed_once_when_no_channel_serving_their_model_speaks_chat() {
    let mixed = live(
        "  - {name: a, protocol: anthropic, base_url: 'http://a', keys: [k], models: ['tr-*', 'gpt-both']}\n  - {name: o, protocol: openai, base_url: 'http://o', keys: [k], models: ['gpt-*']}\n",
    );
    assert!(mixed.always_translates(Dialect::OpenAiChat, br#"{"model":"tr-x","messages":[]}"#));
    assert!(!mixed.always_translates(Dialect::OpenAiChat, br#"{"model":"gpt-x","messages":[]}"#));
    assert!(!mixed.always_translates(Dialect::OpenAiChat, br#"{"model":"gpt-both","messages":[]}"#));
    assert!(!mixed.always_translates(Dialect::OpenAiChat, br#"{"messages":[],"model":"tr-x"}"#));
    // The same body from an Anthropic client may pass through on channel `a`.
    assert!(!mixed.always_translates(Dialect::Anthropic, br#"{"model":"tr-x","messages":[]}"#));

    let anthropic_only = live("  - {name: a, protocol: anthropic, base_url: 'http://a', keys: [k], models: ['*']}\n");
    assert!(anthropic_only.always_translates(Dialect::OpenAiChat, br#"{"messages":[],"model":"gpt-x"}"#));
    assert!(!anthropic_only.always_translates(Dialect::Anthropic, br#"{"messages":[],"model":"gpt-x"}"#));
}

#[test]
fn responses_requests_are_parsed_once_when_no_channel_serving_their_model_speaks_responses() {
    let mixed = live(
        "  - {name: a, protocol: anthropic, base_url: 'http://a', keys: [k], models: ['tr-*']}\n  - {name: r, protocol: responses, base_url: 'http://r', keys: [k], models: ['gpt-*']}\n",
    );
    assert!(mixed.always_translates(Dialect::OpenAiResponses, br#"{"model":"tr-x","input":"hi"}"#));
    assert!(!mixed.always_translates(Dialect::OpenAiResponses, br#"{"model":"gpt-x","input":"hi"}"#));
    let chat_only = live("  - {name: o, protocol: openai, base_url: 'http://o', keys: [k], models: ['*']}\n");
    assert!(chat_only.always_translates(Dialect::OpenAiResponses, br#"{"input":"hi","model":"gpt-x"}"#));
}
