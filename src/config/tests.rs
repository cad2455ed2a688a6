use super::*;
use crate::protocol::Dialect;

fn env(name: &str) -> Option<String> {
    match name {
        "ALICE_RELAY_KEY" => Some("alice-key-0123456789".into()),
        "RELAY_ADMIN_KEY" => Some("admin-key-0123456789".into()),
        "UPSTREAM_KEY_1" => Some("sk-upstream-one-1111".into()),
        _ => None,
    }
}

const ISSUE_EXAMPLE: &str = r#"
server:
  listen: ["127.0.0.1:8080"]
  metrics_listen: "127.0.0.1:9091"
  max_body_bytes: 33554432
access_keys:
  - {name: alice, key: "${ALICE_RELAY_KEY}"}
admin_keys: ["${RELAY_ADMIN_KEY}"]
channels:
  - name: primary
    protocol: openai
    base_url: "https://api.example.com"
    keys: ["${UPSTREAM_KEY_1}", "${UPSTREAM_KEY_2}"]
    models: ["claude-*"]
    model_map: {"claude-*": "gpt-4o"}
    priority: 1
    weight: 1
    headers: {}
"#;

#[test]
fn loads_the_documented_example() {
    let loaded = load_str(ISSUE_EXAMPLE, &env).unwrap();
    let c = &loaded.config;
    assert_eq!(c.server.listen[0].to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.max_body_bytes, 33554432);
    assert_eq!(c.server.client_timeout, std::time::Duration::from_secs(60));
    assert_eq!(c.server.stream_keepalive, Some(std::time::Duration::from_secs(15)));
    assert_eq!(c.access_keys[0].name, "alice");
    let ch = &c.channels[0];
    assert_eq!(ch.protocol, Dialect::OpenAiChat);
    assert_eq!(ch.keys.len(), 1, "the unset second key is skipped");
    assert_eq!(ch.keys[0].id, "…1111");
    assert_eq!(ch.endpoint_path("gpt-4o", true), "/v1/chat/completions");
    assert_eq!(ch.upstream.authority, "api.example.com");
    assert_eq!(ch.upstream.port, 443);
    assert!(ch.serves("claude-opus-4-8"));
    assert!(!ch.serves("gpt-4o"));
    assert_eq!(ch.upstream_model("claude-opus-4-8"), "gpt-4o");
    assert_eq!(loaded.warnings, vec!["channels[0] (primary): some keys skipped, UPSTREAM_KEY_2 not set"]);
    // Secrets never print.
    let dump = format!("{c:?}");
    assert!(!dump.contains("alice-key-0123456789") && !dump.contains("sk-upstream-one-1111"), "{dump}");
}

#[test]
fn channel_without_any_key_is_skipped_with_a_warning() {
    let yaml = "channels:\n  - {name: real, protocol: anthropic, base_url: 'https://api.anthropic.com', keys: ['${ANTHROPIC_API_KEY}'], models: ['*']}\n";
    let loaded = load_str(yaml, &env).unwrap();
    assert!(loaded.config.channels.is_empty());
    assert_eq!(loaded.warnings[0], "channels[0] (real): skipped, ANTHROPIC_API_KEY is not set");
}

#[test]
fn every_error_is_reported_with_its_path() {
    let yaml = r#"
server: {listen: ["nope"], max_body_bytes: 0, client_timeout_secs: 0, stream_keepalive_ms: 50}
access_keys: [{name: "", key: ""}]
channels:
  - {name: a, protocol: gemini2, base_url: "ftp://x", keys: [], models: []}
  - {name: a, protocol: openai, base_url: "http://localhost:9", keys: ["k"], models: ["*"], weight: 0, timeouts: {connect_ms: 0}}
"#;
    let errs = load_str(yaml, &env).unwrap_err();
    let got: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        vec![
            "server.listen[0]: 'nope' is not an IP:port address",
            "server.max_body_bytes: must be between 1 and 4294967296",
            "server.client_timeout_secs: must be between 1 and 3600",
            "server.stream_keepalive_ms: must be 0 (off) or between 100 and 3600000",
            "access_keys[0].name: must not be empty",
            "access_keys[0].key: must not be empty",
            "channels[0].protocol: unknown protocol 'gemini2': use anthropic, openai, responses or gemini",
            "channels[0].base_url: 'ftp://x' must start with http:// or https://",
            "channels[0].models: list the model patterns this channel serves, or [\"*\"] for all",
            "channels[1].name: duplicate channel name 'a'",
            "channels[1].weight: must be between 1 and 1000",
            "channels[1].timeouts.connect_ms: must be at least 1 ms",
        ]
    );
}

#[test]
fn a_reasoning_summary_is_for_reasoning_responses_channels() {
    let yaml = |protocol: &str, extra: &str| one_channel(protocol, "http://x", extra);
    let loaded = load_str(&yaml("responses", ", reasoning: true, reasoning_summary: auto"), &env).unwrap();
    assert_eq!(loaded.config.channels[0].reasoning_summary, Some("auto"));
    let messages =
        |y: String| -> Vec<String> { load_str(&y, &env).unwrap_err().iter().map(ToString::to_string).collect() };
    assert_eq!(
        messages(yaml("openai", ", reasoning: true, reasoning_summary: auto")),
        ["channels[0].reasoning_summary: applies to a responses channel with reasoning: true only (only the Responses API gives reasoning summaries)"]
    );
    assert_eq!(
        messages(yaml("responses", ", reasoning: true, reasoning_summary: short")),
        ["channels[0].reasoning_summary: unknown summary 'short': use auto, concise or detailed"]
    );
}

#[test]
fn prompt_caching_is_on_for_anthropic_channels_and_for_them_only() {
    let yaml = |protocol: &str, extra: &str| one_channel(protocol, "http://x", extra);
    assert!(load_str(&yaml("anthropic", ""), &env).unwrap().config.channels[0].prompt_caching);
    assert!(!load_str(&yaml("anthropic", ", prompt_caching: false"), &env).unwrap().config.channels[0].prompt_caching);
    let errs: Vec<String> = load_str(&yaml("gemini", ", prompt_caching: true"), &env)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        ["channels[0].prompt_caching: applies to anthropic channels only (the other providers cache a prompt's prefix by themselves)"]
    );
}

#[test]
fn hosted_web_search_is_on_for_the_providers_own_apis_only() {
    let on = |protocol: &str, url: &str, extra: &str| {
        load_str(&one_channel(protocol, url, extra), &env).unwrap().config.channels[0].hosted_web_search
    };
    assert!(on("anthropic", "https://api.anthropic.com", ""));
    assert!(on("responses", "https://api.openai.com/v1", ""));
    assert!(!on("anthropic", "https://api.moonshot.ai/anthropic", ""));
    assert!(!on("responses", "https://example.openai.azure.com/openai", ""));
    assert!(on("gemini", "https://generativelanguage.googleapis.com", ""));
    assert!(on("gemini", "https://us-central1-aiplatform.googleapis.com", ""));
    assert!(!on("gemini", "http://127.0.0.1:9", ""));
    assert!(on("gemini", "http://127.0.0.1:9", ", hosted_web_search: true"));
    assert!(on("anthropic", "http://127.0.0.1:9", ", hosted_web_search: true"));
    assert!(!on("anthropic", "https://api.anthropic.com", ", hosted_web_search: false"));
    let errs: Vec<String> = load_str(&one_channel("openai", "http://x", ", hosted_web_search: true"), &env)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        ["channels[0].hosted_web_search: applies to anthropic, responses and gemini channels only (Chat Completions has no hosted search)"]
    );
}

#[test]
fn keys_masked_alike_are_told_apart_and_a_key_given_twice_is_refused() {
    let yaml = "access_keys: [{name: a, key: k-one-0001}, {name: b, key: k-two-0002}, {name: c, key: k-one-0001}]\n\
        channels:\n  - {name: x, protocol: openai, base_url: 'http://x', models: ['*'], keys: [aa, bb, cc, prod-key-0000-same, dev-key-00000-same]}\n";
    let errs: Vec<String> = load_str(yaml, &env).unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(errs, ["access_keys[2].key: the same key as access_keys[0] (a); give each caller its own"]);
    let loaded = load_str(&yaml.replace("{name: c, key: k-one-0001}", "{name: c, key: k-three-03}"), &env).unwrap();
    let ids: Vec<&str> = loaded.config.channels[0].keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["…", "…#2", "…#3", "…same", "…same#5"]);
}

#[test]
fn a_config_to_serve_with_no_usable_access_key_is_refused() {
    let dir = std::env::temp_dir().join(format!("llm-relay-no-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.yaml");
    let channels = "channels:\n  - {name: x, protocol: openai, base_url: 'http://x', models: ['*'], keys: [k]}\n";
    let refused = |yaml: String| -> Vec<String> {
        std::fs::write(&path, yaml).unwrap();
        assert!(super::load_file(&path).is_ok(), "valid as such");
        super::load_file_to_serve(&path).unwrap_err().iter().map(ToString::to_string).collect()
    };
    assert_eq!(
        refused(format!("access_keys: [{{name: a, key: '${{LLM_RELAY_TEST_UNSET_KEY}}'}}]\n{channels}")),
        ["access_keys: no access key is usable (access_keys[0] (a): skipped, LLM_RELAY_TEST_UNSET_KEY is not set): every request would be refused"]
    );
    assert_eq!(
        refused(channels.to_string()),
        ["access_keys: no access key is usable (none is listed): every request would be refused"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn durations_past_their_limit_are_refused() {
    let yaml = "health: {cooldown_secs: 18446744073709551615, key_retire_secs: 2592001}\n\
        access_keys: [{name: a, key: k-0001}]\n\
        channels:\n  - {name: x, protocol: openai, base_url: 'http://x', models: ['*'], keys: [k], \
        health_check: {path: /v1/models, interval_secs: 86401}, timeouts: {idle_ms: 86400001}}\n";
    let errs: Vec<String> = load_str(yaml, &env).unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        [
            "health.cooldown_secs: must be at most 86400 (one day)",
            "health.key_retire_secs: must be at most 2592000 (30 days)",
            "channels[0].health_check.interval_secs: must be at most 86400 (one day)",
            "channels[0].timeouts.idle_ms: must be at most 86400000 (one day)",
        ]
    );
}

#[test]
fn unknown_fields_are_errors() {
    let errs = load_str("server: {listen: [], lsiten: 1}\n", &env).unwrap_err();
    assert!(errs[0].message.contains("unknown field `lsiten`"), "{}", errs[0]);
    let errs = load_str(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://x', models: ['*'], keys: [k], wieght: 2}\n",
        &env,
    )
    .unwrap_err();
    assert_eq!(errs[0].path, "channels[0].wieght");
    assert!(errs[0].message.starts_with("unknown field `wieght`"), "{}", errs[0]);
}

#[test]
fn base_url_prefixes() {
    let u = parse_base_url("https://api.deepseek.com/v1", "v1").unwrap();
    assert_eq!((u.path_prefix.as_str(), u.port, u.tls), ("/v1", 443, true));
    let u = parse_base_url("https://open.bigmodel.cn/api/paas/v4/", "v1").unwrap();
    assert_eq!(u.path_prefix, "/api/paas/v4");
    let u = parse_base_url("http://127.0.0.1:9000", "v1").unwrap();
    assert_eq!((u.path_prefix.as_str(), u.authority.as_str(), u.port), ("/v1", "127.0.0.1:9000", 9000));
    let u = parse_base_url("https://gw.example.com/openai", "v1").unwrap();
    assert_eq!(u.path_prefix, "/openai/v1");
    let u = parse_base_url("https://generativelanguage.googleapis.com", "v1beta").unwrap();
    assert_eq!(u.path_prefix, "/v1beta");
}

#[test]
fn ip_hosts_are_parsed_once_at_load() {
    let ip = |url: &str| parse_base_url(url, "v1").unwrap().ip.map(|ip| ip.to_string());
    assert_eq!(ip("http://127.0.0.1:9000").as_deref(), Some("127.0.0.1"));
    assert_eq!(ip("http://[::1]:9000/v1").as_deref(), Some("::1"));
    assert_eq!(ip("https://api.openai.com"), None);
    assert_eq!(ip("http://localhost:8080"), None);
}

#[test]
fn model_map_prefers_exact_entries() {
    let yaml = "channels:\n  - {name: a, protocol: openai, base_url: 'http://x', keys: [k], models: ['*'], model_map: {'claude-*': big, 'claude-haiku-4': small}}\n";
    let loaded = load_str(yaml, &env).unwrap();
    let ch = &loaded.config.channels[0];
    assert_eq!(ch.upstream_model("claude-haiku-4"), "small");
    assert_eq!(ch.upstream_model("claude-opus"), "big");
    assert_eq!(ch.upstream_model("gpt-4o"), "gpt-4o");
}

#[test]
fn model_map_prefers_the_most_specific_pattern_whatever_the_yaml_order() {
    let yaml = "channels:\n  - {name: a, protocol: openai, base_url: 'http://x', keys: [k], models: ['*'], model_map: {'claude-*': generic, 'claude-opus-*': opus, '*-latest': latest, 'gpt-*': gpt}}\n";
    let ch = &load_str(yaml, &env).unwrap().config.channels[0];
    assert_eq!(ch.upstream_model("claude-opus-4-1"), "opus");
    assert_eq!(ch.upstream_model("claude-sonnet-4-5"), "generic");
    // Equally specific: the first listed.
    assert_eq!(ch.upstream_model("claude-latest"), "generic");
    assert_eq!(ch.upstream_model("gpt-latest"), "latest");
}

#[test]
fn unset_variable_outside_keys_is_an_error() {
    let errs =
        load_str("channels:\n  - {name: a, protocol: openai, base_url: '${BASE}', keys: [k], models: ['*']}\n", &env)
            .unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "channels[0].base_url: environment variable BASE is not set (use ${BASE:-default} for a fallback)"
    );
}

/// A config of one channel of `protocol` at `url`, with `extra` keys.
fn one_channel(protocol: &str, url: &str, extra: &str) -> String {
    format!("channels:\n  - {{name: a, protocol: {protocol}, base_url: '{url}', models: ['*'], keys: [k]{extra}}}\n")
}
