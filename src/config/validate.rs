//! Raw YAML types → runtime `Config`. Every problem is collected (not just the first),
//! each naming its YAML path and what to do about it.

use super::expand::MissingVar;
use super::raw::{RawChannel, RawConfig, RawHealth, RawRouting, RawServer, StringOrList};
use super::runtime::{
    AccessKey, Channel, ChannelKey, ChannelStrategy, Config, HealthCheck, KeyStrategy, RoutingSettings, ServerSettings,
    Timeouts, TlsFiles, Upstream,
};
use super::secret::Secret;
use crate::health::HealthPolicy;
use crate::protocol::Dialect;
use crate::routing::ModelPattern;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// One configuration error: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;
pub const DEFAULT_GRACE_PERIOD_SECS: u64 = 600;
/// `server.client_timeout_secs`: Pingora's own limit on a request's reads and on idle
/// keep-alive connections, and nginx's on client reads, writes and keep-alive.
pub const DEFAULT_CLIENT_TIMEOUT_SECS: u64 = 60;
/// `server.stream_keepalive_ms`: well under the 60 s a proxy in front (nginx's
/// `proxy_read_timeout`) commonly waits for a byte.
pub const DEFAULT_STREAM_KEEPALIVE_MS: u64 = 15_000;
pub const DEFAULT_CONNECT_MS: u64 = 5_000;
pub const DEFAULT_FIRST_BYTE_MS: u64 = 120_000;
pub const DEFAULT_IDLE_MS: u64 = 300_000;
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

struct Ctx<'a> {
    errors: Vec<ConfigError>,
    warnings: Vec<String>,
    missing: &'a [MissingVar],
}

impl Ctx<'_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.into(), message: message.into() });
    }

    /// The unset variable a string at `path` referred to, if any.
    fn missing_at(&self, path: &str) -> Option<&str> {
        self.missing.iter().find(|m| m.path == path).map(|m| m.var.as_str())
    }
}

/// Validates; on success returns the config and warnings (skipped channels and keys).
pub fn validate(raw: RawConfig, missing: &[MissingVar]) -> Result<(Config, Vec<String>), Vec<ConfigError>> {
    let mut cx = Ctx { errors: Vec::new(), warnings: Vec::new(), missing };

    // Unset variables are fatal except where a key or channel can simply be left out.
    for m in missing {
        let optional = m.path.starts_with("access_keys[") && m.path.ends_with(".key")
            || m.path.starts_with("admin_keys[")
            || (m.path.starts_with("channels[") && m.path.contains(".keys["));
        if !optional {
            cx.err(
                &m.path,
                format!("environment variable {} is not set (use ${{{}:-default}} for a fallback)", m.var, m.var),
            );
        }
    }

    let server = server(&raw.server, &mut cx);
    let routing = routing(&raw.routing, &mut cx);
    let health = health(&raw.health, &mut cx);

    // A file with neither is a mistake (an empty or truncated file, a wrong path):
    // every request would be refused. Refused, a reload keeps the old config.
    if raw.access_keys.is_empty() && raw.channels.is_empty() {
        cx.err("channels", "the config lists no channel and no access key (is the file empty?)");
    }

    let mut access_keys: Vec<AccessKey> = Vec::new();
    // Where each kept key is listed.
    let mut listed_at = Vec::new();
    let mut names = HashSet::new();
    for (i, k) in raw.access_keys.into_iter().enumerate() {
        let path = format!("access_keys[{i}]");
        if k.name.trim().is_empty() {
            cx.err(format!("{path}.name"), "must not be empty");
        } else if !names.insert(k.name.clone()) {
            cx.err(format!("{path}.name"), format!("duplicate access key name '{}'", k.name));
        }
        if k.key.is_empty() {
            match cx.missing_at(&format!("{path}.key")).map(str::to_string) {
                Some(var) => cx.warnings.push(format!("{path} ({}): skipped, {var} is not set", k.name)),
                None => cx.err(format!("{path}.key"), "must not be empty"),
            }
            continue;
        }
        // The same key under two names would be logged under the first only.
        if let Some(same) = access_keys.iter().position(|a| a.key.expose() == k.key) {
            let (at, name) = (listed_at[same], &access_keys[same].name);
            cx.err(
                format!("{path}.key"),
                format!("the same key as access_keys[{at}] ({name}); give each caller its own"),
            );
            continue;
        }
        listed_at.push(i);
        access_keys.push(AccessKey { name: k.name, key: Secret::new(k.key) });
    }

    let mut admin_keys = Vec::new();
    for (i, k) in raw.admin_keys.into_iter().enumerate() {
        let path = format!("admin_keys[{i}]");
        if k.is_empty() {
            match cx.missing_at(&path).map(str::to_string) {
                Some(var) => cx.warnings.push(format!("{path}: skipped, {var} is not set")),
                None => cx.err(path, "must not be empty"),
            }
            continue;
        }
        if access_keys.iter().any(|a: &AccessKey| a.key.expose() == k) {
            cx.err(path, "an admin key must differ from every access key");
            continue;
        }
        admin_keys.push(Secret::new(k));
    }

    let mut channels = Vec::new();
    let mut channel_names = HashSet::new();
    for (i, c) in raw.channels.into_iter().enumerate() {
        let path = format!("channels[{i}]");
        if !c.name.trim().is_empty() && !channel_names.insert(c.name.clone()) {
            cx.err(format!("{path}.name"), format!("duplicate channel name '{}'", c.name));
        }
        if let Some(ch) = channel(c, &path, &mut cx) {
            channels.push(Arc::new(ch));
        }
    }
    if channels.is_empty() && cx.errors.is_empty() {
        cx.warnings.push("no channel is enabled: every API request will fail with 404".to_string());
    }

    if cx.errors.is_empty() {
        if let Some(server) = server {
            return Ok((Config { server, access_keys, admin_keys, routing, health, channels }, cx.warnings));
        }
    }
    Err(cx.errors)
}

pub const DEFAULT_RETRY_BUDGET_MS: u64 = 30_000;

fn routing(raw: &RawRouting, cx: &mut Ctx<'_>) -> RoutingSettings {
    let strategy = match raw.strategy.as_deref() {
        None | Some("round_robin") => ChannelStrategy::RoundRobin,
        Some("random") => ChannelStrategy::Random,
        Some("weighted") => ChannelStrategy::Weighted,
        Some("failover") => ChannelStrategy::Failover,
        Some(other) => {
            cx.err(
                "routing.strategy",
                format!("unknown strategy '{other}': use round_robin, random, weighted or failover"),
            );
            ChannelStrategy::RoundRobin
        }
    };
    let max_attempts = raw.max_attempts.unwrap_or(crate::routing::DEFAULT_MAX_ATTEMPTS as u32);
    if max_attempts == 0 || max_attempts > 20 {
        cx.err("routing.max_attempts", "must be between 1 and 20");
    }
    let budget = raw.retry_budget_ms.unwrap_or(DEFAULT_RETRY_BUDGET_MS);
    if budget == 0 {
        cx.err("routing.retry_budget_ms", "must be at least 1");
    }
    at_most(cx, "routing.retry_budget_ms", budget, DAY_MS, "one day");
    let affinity_ttl = raw.affinity_ttl_secs.unwrap_or(300);
    at_most(cx, "routing.affinity_ttl_secs", affinity_ttl, MONTH_SECS, "30 days");
    let affinity_headers = match &raw.affinity_header {
        // Claude Code's, and Codex's (`session-id`; `session_id` in other releases).
        None => ["x-session-id", "x-claude-code-session-id", "session-id", "session_id"].map(str::to_string).to_vec(),
        Some(StringOrList::One(h)) => vec![h.to_ascii_lowercase()],
        Some(StringOrList::Many(v)) => v.iter().map(|h| h.to_ascii_lowercase()).collect(),
    };
    let mut affinity_header_names = Vec::with_capacity(affinity_headers.len());
    for (i, h) in affinity_headers.iter().enumerate() {
        match http::HeaderName::from_bytes(h.as_bytes()) {
            Ok(name) => affinity_header_names.push(name),
            Err(_) => cx.err(format!("routing.affinity_header[{i}]"), format!("'{h}' is not a valid header name")),
        }
    }
    let max_sessions = raw.affinity_max_sessions.unwrap_or(100_000);
    if max_sessions == 0 {
        cx.err("routing.affinity_max_sessions", "must be at least 1");
    }
    RoutingSettings {
        strategy,
        max_attempts: max_attempts.max(1),
        retry_budget: Duration::from_millis(budget),
        affinity_ttl: Duration::from_secs(affinity_ttl.min(MONTH_SECS)),
        affinity_headers: affinity_header_names,
        affinity_max_sessions: max_sessions.max(1),
    }
}

fn health(raw: &RawHealth, cx: &mut Ctx<'_>) -> HealthPolicy {
    let d = HealthPolicy::default();
    let p = HealthPolicy {
        error_threshold: raw.error_threshold.unwrap_or(d.error_threshold),
        cooldown: raw.cooldown_secs.map_or(d.cooldown, Duration::from_secs),
        breaker_window: raw.breaker_window.unwrap_or(d.breaker_window),
        breaker_failure_rate: raw.breaker_failure_rate.unwrap_or(d.breaker_failure_rate),
        key_retire: raw.key_retire_secs.map_or(d.key_retire, Duration::from_secs),
    };
    if p.error_threshold == 0 {
        cx.err("health.error_threshold", "must be at least 1");
    }
    at_most(cx, "health.cooldown_secs", p.cooldown.as_secs(), DAY_SECS, "one day");
    at_most(cx, "health.key_retire_secs", p.key_retire.as_secs(), MONTH_SECS, "30 days");
    if p.breaker_window > 10_000 {
        cx.err("health.breaker_window", "must be at most 10000 (0 disables the breaker)");
    }
    if !(p.breaker_failure_rate > 0.0 && p.breaker_failure_rate <= 1.0) {
        cx.err("health.breaker_failure_rate", "must be greater than 0 and at most 1");
    }
    p
}

/// Longest durations taken: a time added to the clock must not overflow it, and longer
/// ones are mistakes.
const DAY_SECS: u64 = 86_400;
const DAY_MS: u64 = DAY_SECS * 1000;
const MONTH_SECS: u64 = 30 * DAY_SECS;

fn at_most(cx: &mut Ctx<'_>, path: impl Into<String>, value: u64, max: u64, said: &str) {
    if value > max {
        cx.err(path, format!("must be at most {max} ({said})"));
    }
}

fn server(raw: &RawServer, cx: &mut Ctx<'_>) -> Option<ServerSettings> {
    let listen_raw = raw.listen.clone().unwrap_or_else(|| vec![DEFAULT_LISTEN.to_string()]);
    if listen_raw.is_empty() {
        cx.err("server.listen", "list at least one address, e.g. [\"127.0.0.1:8080\"]");
    }
    let mut listen = Vec::new();
    for (i, a) in listen_raw.iter().enumerate() {
        match a.parse::<SocketAddr>() {
            Ok(addr) => listen.push(addr),
            Err(_) => cx.err(format!("server.listen[{i}]"), format!("'{a}' is not an IP:port address")),
        }
    }
    let metrics_listen = match &raw.metrics_listen {
        None => None,
        Some(a) => match a.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                cx.err("server.metrics_listen", format!("'{a}' is not an IP:port address"));
                None
            }
        },
    };
    let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if max_body_bytes == 0 || max_body_bytes > 1 << 32 {
        cx.err("server.max_body_bytes", "must be between 1 and 4294967296");
    }
    let threads = raw.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    if threads == 0 || threads > 1024 {
        cx.err("server.threads", "must be between 1 and 1024");
    }
    let client_timeout_secs = raw.client_timeout_secs.unwrap_or(DEFAULT_CLIENT_TIMEOUT_SECS);
    if !(1..=3600).contains(&client_timeout_secs) {
        cx.err("server.client_timeout_secs", "must be between 1 and 3600");
    }
    let keepalive_ms = raw.stream_keepalive_ms.unwrap_or(DEFAULT_STREAM_KEEPALIVE_MS);
    if keepalive_ms != 0 && !(100..=3_600_000).contains(&keepalive_ms) {
        cx.err("server.stream_keepalive_ms", "must be 0 (off) or between 100 and 3600000");
    }
    let grace_period_secs = raw.grace_period_secs.unwrap_or(DEFAULT_GRACE_PERIOD_SECS);
    at_most(cx, "server.grace_period_secs", grace_period_secs, DAY_SECS, "one day");
    Some(ServerSettings {
        listen,
        metrics_listen,
        max_body_bytes: max_body_bytes as usize,
        threads,
        grace_period_secs: grace_period_secs.min(DAY_SECS),
        client_timeout: std::time::Duration::from_secs(client_timeout_secs),
        stream_keepalive: (keepalive_ms != 0).then(|| std::time::Duration::from_millis(keepalive_ms)),
        tls: raw.tls.as_ref().and_then(|t| {
            let files = TlsFiles { cert: t.cert.clone().into(), key: t.key.clone().into() };
            match crate::tls::load_certified_key(&files) {
                Ok(_) => Some(files),
                Err(e) => {
                    cx.err("server.tls", e);
                    None
                }
            }
        }),
        upgrade_sock: raw.upgrade_sock.clone().unwrap_or_else(|| "/tmp/llm-relay.upgrade.sock".to_string()),
        pid_file: raw.pid_file.clone().unwrap_or_else(|| "/tmp/llm-relay.pid".to_string()),
    })
}

fn channel(c: RawChannel, path: &str, cx: &mut Ctx<'_>) -> Option<Channel> {
    let errors_before = cx.errors.len();
    if c.name.trim().is_empty() {
        cx.err(format!("{path}.name"), "must not be empty");
    }
    let protocol = match c.protocol.as_str() {
        "anthropic" => Some(Dialect::Anthropic),
        "openai" => Some(Dialect::OpenAiChat),
        "responses" => Some(Dialect::OpenAiResponses),
        "gemini" => Some(Dialect::Gemini),
        other => {
            cx.err(
                format!("{path}.protocol"),
                format!("unknown protocol '{other}': use anthropic, openai, responses or gemini"),
            );
            None
        }
    };
    let default_version = if protocol == Some(Dialect::Gemini) { "v1beta" } else { "v1" };
    let upstream = match parse_base_url(&c.base_url, default_version) {
        Ok(u) => Some(u),
        Err(m) => {
            cx.err(format!("{path}.base_url"), m);
            None
        }
    };

    let mut keys = Vec::new();
    let mut unset = Vec::new();
    for (j, k) in c.keys.into_iter().enumerate() {
        let key_path = format!("{path}.keys[{j}]");
        if k.is_empty() {
            match cx.missing_at(&key_path) {
                Some(var) => unset.push(var.to_string()),
                None => cx.err(key_path, "must not be empty"),
            }
            continue;
        }
        keys.push(ChannelKey::new(Secret::new(k)));
    }
    // Keys masked alike (`…same`, or short keys masked whole) would share a metric
    // series and look like one key: the later ones get their place in the list.
    for j in 1..keys.len() {
        if keys[..j].iter().any(|k| k.id == keys[j].id) {
            keys[j].id = format!("{}#{}", keys[j].id, j + 1);
        }
    }
    if keys.is_empty() && unset.is_empty() && cx.errors.len() == errors_before {
        cx.err(format!("{path}.keys"), "list at least one upstream API key");
    }

    if c.models.is_empty() {
        cx.err(format!("{path}.models"), "list the model patterns this channel serves, or [\"*\"] for all");
    }
    let models = c.models.iter().map(ModelPattern::new).collect();
    let mut model_map = Vec::new();
    for (from, to) in &c.model_map {
        match (from.as_str(), to.as_str()) {
            (Some(f), Some(t)) if !f.is_empty() && !t.is_empty() => {
                model_map.push((ModelPattern::new(f), t.to_string()));
            }
            _ => cx
                .err(format!("{path}.model_map"), "entries must map a non-empty model name or pattern to a model name"),
        }
    }
    // The most specific pattern wins whatever the order of the YAML (`claude-opus-*`
    // before `claude-*`); equally specific ones keep their order. Exact names win first.
    model_map.sort_by_key(|(p, _)| std::cmp::Reverse(p.literal_len()));

    let weight = c.weight.unwrap_or(1);
    if weight == 0 || weight > 1000 {
        cx.err(format!("{path}.weight"), "must be between 1 and 1000");
    }
    let key_strategy = match c.key_strategy.as_deref() {
        None | Some("round_robin") => KeyStrategy::RoundRobin,
        Some("random") => KeyStrategy::Random,
        Some("failover") => KeyStrategy::Failover,
        Some(other) => {
            cx.err(
                format!("{path}.key_strategy"),
                format!("unknown strategy '{other}': use round_robin, random or failover"),
            );
            KeyStrategy::RoundRobin
        }
    };
    let reasoning_summary = c.reasoning_summary.as_deref().and_then(|asked| {
        let Some(known) = ["auto", "concise", "detailed"].into_iter().find(|k| *k == asked) else {
            let what = format!("unknown summary '{asked}': use auto, concise or detailed");
            cx.err(format!("{path}.reasoning_summary"), what);
            return None;
        };
        if protocol != Some(Dialect::OpenAiResponses) || c.reasoning != Some(true) {
            let what = "applies to a responses channel with reasoning: true only (only the Responses API gives reasoning summaries)";
            cx.err(format!("{path}.reasoning_summary"), what);
            return None;
        }
        Some(known)
    });
    if c.prompt_caching.is_some() && protocol != Some(Dialect::Anthropic) {
        let what = "applies to anthropic channels only (the other providers cache a prompt's prefix by themselves)";
        cx.err(format!("{path}.prompt_caching"), what);
    }
    if c.hosted_web_search.is_some() && protocol == Some(Dialect::OpenAiChat) {
        let what = "applies to anthropic, responses and gemini channels only (Chat Completions has no hosted search)";
        cx.err(format!("{path}.hosted_web_search"), what);
    }
    let health_check = match &c.health_check {
        None => None,
        Some(hc) => {
            if !hc.path.starts_with('/') {
                cx.err(format!("{path}.health_check.path"), "must start with /");
            }
            let interval = hc.interval_secs.unwrap_or(30);
            if interval == 0 {
                cx.err(format!("{path}.health_check.interval_secs"), "must be at least 1");
            }
            at_most(cx, format!("{path}.health_check.interval_secs"), interval, DAY_SECS, "one day");
            Some(HealthCheck { path: hc.path.clone(), interval: Duration::from_secs(interval.clamp(1, DAY_SECS)) })
        }
    };
    let mut headers = Vec::new();
    for (name, value) in &c.headers {
        let (Some(n), Some(v)) = (name.as_str(), value.as_str()) else {
            cx.err(format!("{path}.headers"), "header names and values must be strings");
            continue;
        };
        match (http::HeaderName::from_bytes(n.as_bytes()), http::HeaderValue::from_str(v)) {
            (Ok(hn), Ok(hv)) => headers.push((hn, hv)),
            _ => cx.err(format!("{path}.headers.{n}"), "not a valid HTTP header name or value"),
        }
    }
    let default_max_tokens = c.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if default_max_tokens == 0 {
        cx.err(format!("{path}.default_max_tokens"), "must be at least 1");
    }
    if c.max_tokens_cap == Some(0) {
        cx.err(format!("{path}.max_tokens_cap"), "must be at least 1");
    }
    let ms = |v: Option<u64>, d: u64, field: &str, cx: &mut Ctx<'_>| {
        let v = v.unwrap_or(d);
        if v == 0 {
            cx.err(format!("{path}.timeouts.{field}"), "must be at least 1 ms");
        }
        at_most(cx, format!("{path}.timeouts.{field}"), v, DAY_MS, "one day");
        Duration::from_millis(v.min(DAY_MS))
    };
    let timeouts = Timeouts {
        connect: ms(c.timeouts.connect_ms, DEFAULT_CONNECT_MS, "connect_ms", cx),
        first_byte: ms(c.timeouts.first_byte_ms, DEFAULT_FIRST_BYTE_MS, "first_byte_ms", cx),
        idle: ms(c.timeouts.idle_ms, DEFAULT_IDLE_MS, "idle_ms", cx),
    };

    let ca_certs = match &c.ca_file {
        None => None,
        Some(file) => match crate::tls::load_ca_file(std::path::Path::new(file)) {
            Ok(certs) => Some(certs),
            Err(e) => {
                cx.err(format!("{path}.ca_file"), e);
                None
            }
        },
    };
    if cx.errors.len() != errors_before {
        return None;
    }
    if c.enabled == Some(false) {
        cx.warnings.push(format!("{path} ({}): disabled in the config", c.name));
        return None;
    }
    if keys.is_empty() {
        cx.warnings.push(format!("{path} ({}): skipped, {} is not set", c.name, unset.join(", ")));
        return None;
    }
    if !unset.is_empty() {
        cx.warnings.push(format!("{path} ({}): some keys skipped, {} not set", c.name, unset.join(", ")));
    }
    let upstream = upstream?;
    let protocol = protocol?;
    let family = c.family.clone().unwrap_or_else(|| format!("{}:{}", protocol.as_str(), upstream.host));
    let hosted_web_search = c.hosted_web_search.unwrap_or(match protocol {
        Dialect::Anthropic => upstream.host == "api.anthropic.com",
        Dialect::OpenAiResponses => upstream.host == "api.openai.com",
        Dialect::Gemini => {
            upstream.host == "generativelanguage.googleapis.com" || upstream.host.ends_with("aiplatform.googleapis.com")
        }
        Dialect::OpenAiChat => false,
    });
    let insecure_skip_verify = c.insecure_skip_verify.unwrap_or(false);
    if insecure_skip_verify {
        cx.warnings.push(format!(
            "{path} ({}): insecure_skip_verify is on: the upstream's TLS certificate is not verified",
            c.name
        ));
    }
    Some(Channel {
        name: c.name,
        protocol,
        endpoint: super::runtime::fixed_endpoint(protocol, &upstream),
        upstream,
        keys,
        models,
        model_map,
        priority: c.priority.unwrap_or(1),
        weight,
        headers,
        default_max_tokens,
        max_tokens_cap: c.max_tokens_cap,
        reasoning: c.reasoning.unwrap_or(false),
        reasoning_summary,
        prompt_caching: c.prompt_caching.unwrap_or(true),
        // Servers that speak these APIs without being their providers may refuse the
        // tool, and with it the whole request.
        hosted_web_search,
        timeouts,
        key_strategy,
        health_check,
        family,
        ca_certs,
        insecure_skip_verify,
    })
}

/// `https://host[:port][/prefix]`. A prefix ending in a version segment (`/v1`, `/v4`,
/// `/v1beta`) is used as is; otherwise `/<default_version>` is appended, so both
/// `https://api.openai.com` and `https://api.deepseek.com/v1` work.
pub fn parse_base_url(url: &str, default_version: &str) -> Result<Upstream, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("'{url}' is not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("'{url}' must start with http:// or https://")),
    };
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| format!("'{url}' has no host"))?;
    if uri.query().is_some() {
        return Err(format!("'{url}' must not have a query string"));
    }
    let default_port = if tls { 443 } else { 80 };
    let port = uri.port_u16().unwrap_or(default_port);
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let authority = match (uri.port_u16(), host.contains(':')) {
        (Some(p), true) => format!("[{host}]:{p}"),
        (Some(p), false) => format!("{host}:{p}"),
        (None, true) => format!("[{host}]"),
        (None, false) => host.clone(),
    };
    let mut prefix = uri.path().trim_end_matches('/').to_string();
    if !ends_with_version(&prefix) {
        prefix.push('/');
        prefix.push_str(default_version);
    }
    let ip = host.parse().ok();
    Ok(Upstream { tls, host, ip, port, authority, path_prefix: prefix })
}

fn ends_with_version(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    let mut chars = last.chars();
    chars.next() == Some('v') && chars.next().is_some_and(|c| c.is_ascii_digit())
}
