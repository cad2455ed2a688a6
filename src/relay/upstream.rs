//! Building an upstream call: address resolution, the peer, the request header.

use crate::config::{Channel, ChannelKey};
use crate::protocol::Dialect;
use pingora::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DNS_TTL: Duration = Duration::from_secs(30);

/// Resolved upstream addresses, cached briefly so that a request never waits on DNS
/// for a host that was resolved a moment ago. The lock is never held across an await.
#[derive(Default)]
pub struct DnsCache {
    entries: Mutex<HashMap<(String, u16), (SocketAddr, Instant)>>,
}

impl DnsCache {
    pub async fn resolve(&self, host: &str, port: u16) -> std::io::Result<SocketAddr> {
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (host.to_string(), port);
        if let Ok(map) = self.entries.lock() {
            if let Some((addr, at)) = map.get(&key) {
                if at.elapsed() < DNS_TTL {
                    return Ok(*addr);
                }
            }
        }
        let addr = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} has no address")))?;
        if let Ok(mut map) = self.entries.lock() {
            map.insert(key, (addr, Instant::now()));
        }
        Ok(addr)
    }
}

pub fn peer(channel: &Channel, addr: SocketAddr, ca: Option<&Arc<pingora::protocols::tls::CaType>>) -> HttpPeer {
    let mut peer = HttpPeer::new(addr, channel.upstream.tls, channel.upstream.host.clone());
    peer.options.connection_timeout = Some(channel.timeouts.connect);
    peer.options.total_connection_timeout = Some(channel.timeouts.connect * 2);
    peer.options.read_timeout = Some(channel.timeouts.idle);
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    if channel.insecure_skip_verify {
        peer.options.verify_cert = false;
        peer.options.verify_hostname = false;
    }
    if let Some(ca) = ca {
        peer.options.ca = Some(ca.clone());
    }
    peer
}

/// Client headers worth passing upstream when the dialects match. Keys, cookies,
/// hop-by-hop headers and anything else stay behind.
fn forwardable(name: &str, client: Dialect, upstream: Dialect) -> bool {
    if client != upstream {
        return false;
    }
    match upstream {
        Dialect::Anthropic => {
            name.starts_with("anthropic-") && name != "anthropic-api-key"
                || name.starts_with("x-stainless-")
                || matches!(name, "user-agent" | "x-app" | "x-claude-code-session-id")
        }
        Dialect::OpenAiChat | Dialect::OpenAiResponses => name.starts_with("x-stainless-") || name == "user-agent",
        Dialect::Gemini => name == "user-agent" || name == "x-goog-api-client",
    }
}

/// The channel key in the header its protocol expects.
pub fn insert_auth(req: &mut RequestHeader, protocol: Dialect, key: &ChannelKey) -> pingora::Result<()> {
    match protocol {
        Dialect::Anthropic => {
            req.insert_header("x-api-key", key.secret.expose())?;
            if req.headers.get("anthropic-version").is_none() {
                req.insert_header("anthropic-version", "2023-06-01")?;
            }
        }
        Dialect::OpenAiChat | Dialect::OpenAiResponses => {
            req.insert_header("authorization", format!("Bearer {}", key.secret.expose()))?;
        }
        Dialect::Gemini => req.insert_header("x-goog-api-key", key.secret.expose())?,
    }
    Ok(())
}

pub fn request_header(
    channel: &Channel,
    key: &ChannelKey,
    client: Dialect,
    client_headers: &RequestHeader,
    body_len: usize,
    stream: bool,
    path: &str,
) -> pingora::Result<RequestHeader> {
    let mut req = RequestHeader::build("POST", path.as_bytes(), Some(16))?;
    req.insert_header("host", channel.upstream.authority.as_str())?;
    for (name, value) in client_headers.headers.iter() {
        if forwardable(name.as_str(), client, channel.protocol) {
            req.insert_header(name.clone(), value.clone())?;
        }
    }
    req.insert_header("content-type", "application/json")?;
    req.insert_header("content-length", body_len.to_string())?;
    req.insert_header("accept", if stream { "text/event-stream" } else { "application/json" })?;
    // Response bodies are rewritten in flight; compressed ones could not be.
    req.insert_header("accept-encoding", "identity")?;
    if req.headers.get("user-agent").is_none() {
        req.insert_header("user-agent", concat!("llm-relay/", env!("CARGO_PKG_VERSION")))?;
    }
    insert_auth(&mut req, channel.protocol, key)?;
    for (name, value) in &channel.headers {
        req.insert_header(name.clone(), value.clone())?;
    }
    Ok(req)
}
