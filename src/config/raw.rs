//! The YAML file as written: serde types only, unknown fields rejected. `validate`
//! turns these into the runtime `Config`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub access_keys: Vec<RawAccessKey>,
    #[serde(default)]
    pub admin_keys: Vec<String>,
    #[serde(default)]
    pub routing: RawRouting,
    #[serde(default)]
    pub health: RawHealth,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    pub strategy: Option<String>,
    pub max_attempts: Option<u32>,
    pub retry_budget_ms: Option<u64>,
    pub affinity_ttl_secs: Option<u64>,
    /// Headers carrying a session id, tried in order (after `metadata.user_id`).
    pub affinity_header: Option<StringOrList>,
    pub affinity_max_sessions: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub error_threshold: Option<u32>,
    pub cooldown_secs: Option<u64>,
    pub breaker_window: Option<usize>,
    pub breaker_failure_rate: Option<f64>,
    pub key_retire_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub path: String,
    pub interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<Vec<String>>,
    pub metrics_listen: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub threads: Option<usize>,
    pub grace_period_secs: Option<u64>,
    pub client_timeout_secs: Option<u64>,
    pub stream_keepalive_ms: Option<u64>,
    pub upgrade_sock: Option<String>,
    pub pid_file: Option<String>,
    pub tls: Option<RawTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKey {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub name: String,
    pub protocol: String,
    pub base_url: String,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub model_map: serde_yaml::Mapping,
    pub priority: Option<i64>,
    pub weight: Option<u64>,
    #[serde(default)]
    pub headers: serde_yaml::Mapping,
    pub default_max_tokens: Option<u32>,
    pub max_tokens_cap: Option<u32>,
    pub reasoning: Option<bool>,
    /// Responses upstreams: the reasoning summary asked for (`auto`, `concise`,
    /// `detailed`) when the request thinks.
    pub reasoning_summary: Option<String>,
    /// Anthropic upstreams: cache breakpoints on translated requests (default true).
    pub prompt_caching: Option<bool>,
    /// Anthropic, Responses and Gemini upstreams: a client's hosted web search runs there
    /// (default: when `base_url` is the provider's own API).
    pub hosted_web_search: Option<bool>,
    pub enabled: Option<bool>,
    pub key_strategy: Option<String>,
    pub health_check: Option<RawHealthCheck>,
    /// Provider family for thinking signatures; default: protocol and host.
    pub family: Option<String>,
    /// Upstream TLS: a CA bundle to trust instead of the system's, or no verification.
    pub ca_file: Option<String>,
    pub insecure_skip_verify: Option<bool>,
    #[serde(default)]
    pub timeouts: RawTimeouts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub connect_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
}
