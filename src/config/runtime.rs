//! The validated, immutable configuration the gateway runs on. No serde here.

use super::secret::Secret;
use crate::health::HealthPolicy;
use crate::protocol::Dialect;
use crate::routing::ModelPattern;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub struct Config {
    pub server: ServerSettings,
    pub access_keys: Vec<AccessKey>,
    pub admin_keys: Vec<Secret>,
    pub routing: RoutingSettings,
    pub health: HealthPolicy,
    pub channels: Vec<Arc<Channel>>,
}

/// How a channel is picked inside a priority tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelStrategy {
    RoundRobin,
    Random,
    Weighted,
    /// Always the first healthy channel in config order.
    Failover,
}

impl ChannelStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelStrategy::RoundRobin => "round_robin",
            ChannelStrategy::Random => "random",
            ChannelStrategy::Weighted => "weighted",
            ChannelStrategy::Failover => "failover",
        }
    }
}

/// How a key is picked inside a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStrategy {
    RoundRobin,
    Random,
    /// The first healthy key in config order (retired keys last).
    Failover,
}

impl KeyStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStrategy::RoundRobin => "round_robin",
            KeyStrategy::Random => "random",
            KeyStrategy::Failover => "failover",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSettings {
    pub strategy: ChannelStrategy,
    pub max_attempts: u32,
    /// No new attempt starts once this much time has passed since the request came in.
    pub retry_budget: Duration,
    pub affinity_ttl: Duration,
    /// Lower-case header names carrying a session id.
    pub affinity_headers: Vec<http::HeaderName>,
    pub affinity_max_sessions: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: Vec<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    pub max_body_bytes: usize,
    pub threads: usize,
    pub grace_period_secs: u64,
    /// How long the gateway waits on a client: between requests on a kept-alive
    /// connection (an idle HTTP/2 connection is then told GOAWAY and closed), for each
    /// read of a request's head or body, and for each write of its answer to be taken.
    pub client_timeout: std::time::Duration,
    /// How long a stream to a client may go without a byte while its upstream is
    /// silent: a held stream is then committed, and a keepalive in the client's dialect
    /// (`StreamTranslator::keepalive`) written at this interval. `None`: off.
    pub stream_keepalive: Option<std::time::Duration>,
    pub upgrade_sock: String,
    pub pid_file: String,
    /// Serve HTTPS (HTTP/2 when the client offers it) with these PEM files.
    pub tls: Option<TlsFiles>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

#[derive(Debug)]
pub struct AccessKey {
    pub name: String,
    pub key: Secret,
}

#[derive(Debug)]
pub struct Channel {
    pub name: String,
    pub protocol: Dialect,
    pub upstream: Upstream,
    /// See [`fixed_endpoint`]; read through [`Channel::endpoint_path`].
    pub endpoint: String,
    pub keys: Vec<ChannelKey>,
    pub models: Vec<ModelPattern>,
    /// Client model → upstream model; exact entries are tried before patterns.
    pub model_map: Vec<(ModelPattern, String)>,
    pub priority: i64,
    pub weight: u64,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub default_max_tokens: u32,
    pub max_tokens_cap: Option<u32>,
    pub reasoning: bool,
    /// Responses upstreams: the reasoning summary asked for when the request thinks.
    pub reasoning_summary: Option<&'static str>,
    /// Anthropic upstreams: translated requests get cache breakpoints (tools, system,
    /// conversation), as OpenAI and Gemini cache a prompt's prefix by themselves.
    pub prompt_caching: bool,
    /// Anthropic, Responses and Gemini upstreams: a client's hosted web search (of
    /// another dialect) runs there, as the provider's own search tool.
    pub hosted_web_search: bool,
    pub timeouts: Timeouts,
    pub key_strategy: KeyStrategy,
    pub health_check: Option<HealthCheck>,
    /// Thinking signatures are only valid within one provider family.
    pub family: String,
    /// CA certificates (DER, from `ca_file`) the upstream's certificate must chain to;
    /// the system roots when absent.
    pub ca_certs: Option<Vec<Vec<u8>>>,
    /// Upstream certificates are not verified (a warning is logged at every load).
    pub insecure_skip_verify: bool,
}

#[derive(Debug)]
pub struct ChannelKey {
    pub secret: Secret,
    /// `Bearer <secret>`, the `authorization` value of OpenAI-style upstreams, made once.
    pub bearer: Secret,
    /// Masked form (`…abcd`) for logs, metrics and the admin view.
    pub id: String,
    /// Identifies the key in health state across reloads; never shown.
    pub fingerprint: u64,
}

impl ChannelKey {
    pub fn new(secret: Secret) -> ChannelKey {
        ChannelKey {
            bearer: Secret::new(format!("Bearer {}", secret.expose())),
            id: secret.masked(),
            fingerprint: secret.fingerprint(),
            secret,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub tls: bool,
    pub host: String,
    /// The host when it is an IP address: no lookup, and no parse per request.
    pub ip: Option<std::net::IpAddr>,
    pub port: u16,
    /// `Host` header value: host, plus the port when it is not the scheme's default.
    pub authority: String,
    /// Path the dialect's endpoint is appended to, e.g. `/v1` or `/api/paas/v4`.
    pub path_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the response header.
    pub first_byte: Duration,
    /// Longest silence between two reads of the response body.
    pub idle: Duration,
}

impl Channel {
    /// The health-registry handle of key `index`.
    pub fn key_ref(&self, index: usize) -> crate::health::KeyRef<'_> {
        crate::health::KeyRef { channel: &self.name, fingerprint: self.keys.get(index).map_or(0, |k| k.fingerprint) }
    }

    /// Whether this channel serves the client's model.
    pub fn serves(&self, model: &str) -> bool {
        self.models.iter().any(|p| p.matches(model))
    }

    /// The model name to send upstream for the client's model.
    pub fn upstream_model<'a>(&'a self, model: &'a str) -> &'a str {
        let exact = self.model_map.iter().find(|(p, _)| p.is_exact() && p.as_str() == model);
        let found = exact.or_else(|| self.model_map.iter().find(|(p, _)| !p.is_exact() && p.matches(model)));
        found.map_or(model, |(_, to)| to.as_str())
    }

    /// Path (and query) of the generation endpoint on this upstream for `model`.
    pub fn endpoint_path(&self, model: &str, stream: bool) -> Cow<'_, str> {
        let prefix = &self.upstream.path_prefix;
        match self.protocol {
            Dialect::Gemini if stream => format!("{prefix}/models/{model}:streamGenerateContent?alt=sse").into(),
            Dialect::Gemini => format!("{prefix}/models/{model}:generateContent").into(),
            _ => Cow::Borrowed(&self.endpoint),
        }
    }
}

/// The endpoint path of a protocol whose path does not name the model (empty for
/// Gemini's, which does); made once per load instead of once per request.
pub fn fixed_endpoint(protocol: Dialect, upstream: &Upstream) -> String {
    let prefix = &upstream.path_prefix;
    match protocol {
        Dialect::Anthropic => format!("{prefix}/messages"),
        Dialect::OpenAiChat => format!("{prefix}/chat/completions"),
        Dialect::OpenAiResponses => format!("{prefix}/responses"),
        Dialect::Gemini => String::new(),
    }
}
