//! Building an upstream call: address resolution, the peer, the request header.

use crate::config::{Channel, ChannelKey, Upstream};
use crate::protocol::Dialect;
use bytes::BytesMut;
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
    pub async fn resolve(&self, upstream: &Upstream) -> std::io::Result<SocketAddr> {
        let (host, port) = (upstream.host.as_str(), upstream.port);
        if let Some(ip) = upstream.ip {
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

/// Sent to Anthropic upstreams when the client did not choose a version.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The header that carries a channel key, as its protocol expects it.
fn auth_header(protocol: Dialect, key: &ChannelKey) -> (&'static str, &str) {
    match protocol {
        Dialect::Anthropic => ("x-api-key", key.secret.expose()),
        Dialect::OpenAiChat | Dialect::OpenAiResponses => ("authorization", key.bearer.expose()),
        Dialect::Gemini => ("x-goog-api-key", key.secret.expose()),
    }
}

/// The HTTP/1.1 request line and header block of an upstream call, ready for the wire
/// (the body follows it in the same write). A later header of the same name replaces
/// an earlier one: channel headers override everything, as configured.
pub fn request_head(
    channel: &Channel,
    key: &ChannelKey,
    client: Dialect,
    client_headers: &RequestHeader,
    body_len: usize,
    stream: bool,
    path: &str,
) -> Result<BytesMut, String> {
    let len = body_len.to_string();
    let mut h = HeaderList::default();
    h.set("host", channel.upstream.authority.as_bytes());
    for (name, value) in client_headers.headers.iter() {
        if forwardable(name.as_str(), client, channel.protocol) {
            h.set(name.as_str(), value.as_bytes());
        }
    }
    h.set("content-type", b"application/json");
    h.set("content-length", len.as_bytes());
    h.set("accept", if stream { b"text/event-stream" } else { b"application/json" });
    let (auth_name, auth_value) = auth_header(channel.protocol, key);
    finish_head("POST", path, channel, h, auth_name, auth_value)
}

/// The request line and header block of an active health check: `GET path` with the
/// channel key and the channel's own headers.
pub fn probe_head(channel: &Channel, key: &ChannelKey, path: &str) -> Result<BytesMut, String> {
    let mut h = HeaderList::default();
    h.set("host", channel.upstream.authority.as_bytes());
    h.set("accept", b"application/json");
    let (auth_name, auth_value) = auth_header(channel.protocol, key);
    finish_head("GET", path, channel, h, auth_name, auth_value)
}

/// The headers every upstream request carries, after `h`: no compression, a user agent,
/// the key, the Anthropic version, then the channel's headers over everything; then the
/// request line and header block on the wire.
fn finish_head<'a>(
    method: &str,
    path: &str,
    channel: &'a Channel,
    mut h: HeaderList<'a>,
    auth_name: &'a str,
    auth_value: &'a str,
) -> Result<BytesMut, String> {
    // Response bodies are rewritten in flight; compressed ones could not be.
    h.set("accept-encoding", b"identity");
    if !h.has("user-agent") {
        h.set("user-agent", concat!("llm-relay/", env!("CARGO_PKG_VERSION")).as_bytes());
    }
    h.set(auth_name, auth_value.as_bytes());
    if channel.protocol == Dialect::Anthropic && !h.has("anthropic-version") {
        h.set("anthropic-version", ANTHROPIC_VERSION.as_bytes());
    }
    for (name, value) in &channel.headers {
        h.set(name.as_str(), value.as_bytes());
    }

    if path.is_empty() || path.bytes().fold(false, |bad, b| bad | (b <= b' ') | (b == 0x7f)) {
        return Err("the upstream path contains spaces or control characters".into());
    }
    let mut out = BytesMut::with_capacity(64 + path.len() + h.wire_len());
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &h.0 {
        // Names come from parsed or validated headers; values are checked here, since
        // a key or a forwarded value must never split the header block.
        if has_control(value) {
            return Err(format!("header {name} contains control characters"));
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Whether a header value holds a control character other than tab. Every byte is
/// looked at (no early exit), which the compiler turns into a vector loop.
fn has_control(value: &[u8]) -> bool {
    value.iter().fold(false, |bad, &b| bad | ((b < b' ') & (b != b'\t')) | (b == 0x7f))
}

/// Header fields in order, names lower-case; setting a name again replaces its value.
#[derive(Default)]
struct HeaderList<'a>(Vec<(&'a str, &'a [u8])>);

impl<'a> HeaderList<'a> {
    fn set(&mut self, name: &'a str, value: &'a [u8]) {
        match self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn wire_len(&self) -> usize {
        self.0.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>() + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn channel(extra: &str) -> Arc<Channel> {
        let yaml = format!(
            "access_keys: [{{name: t, key: k}}]\nchannels:\n  - {{name: a, protocol: anthropic, \
             base_url: \"http://127.0.0.1:1/v1\", keys: [\"sk-1\"], models: [\"*\"]{extra}}}\n"
        );
        load_str(&yaml, &|_| None).unwrap().config.channels[0].clone()
    }

    fn client_headers(pairs: &[(&str, &str)]) -> RequestHeader {
        let mut h = RequestHeader::build("POST", b"/v1/messages", None).unwrap();
        for (n, v) in pairs {
            h.insert_header(n.to_string(), v.to_string()).unwrap();
        }
        h
    }

    #[test]
    fn head_forwards_client_headers_and_lets_channel_headers_override() {
        let ch = channel(", headers: {anthropic-version: \"2099-01-01\", x-extra: \"1\"}");
        let client = client_headers(&[
            ("anthropic-beta", "tools-1"),
            ("anthropic-version", "2023-06-01"),
            ("cookie", "secret"),
            ("user-agent", "claude-cli/2"),
        ]);
        let head = request_head(&ch, &ch.keys[0], Dialect::Anthropic, &client, 42, true, "/v1/messages").unwrap();
        assert_eq!(
            std::str::from_utf8(&head).unwrap(),
            "POST /v1/messages HTTP/1.1\r\n\
             host: 127.0.0.1:1\r\n\
             anthropic-beta: tools-1\r\n\
             anthropic-version: 2099-01-01\r\n\
             user-agent: claude-cli/2\r\n\
             content-type: application/json\r\n\
             content-length: 42\r\n\
             accept: text/event-stream\r\n\
             accept-encoding: identity\r\n\
             x-api-key: sk-1\r\n\
             x-extra: 1\r\n\r\n"
        );
        // Another dialect's client: nothing forwarded, defaults filled in.
        let head = request_head(&ch, &ch.keys[0], Dialect::OpenAiChat, &client, 0, false, "/v1/messages").unwrap();
        let text = std::str::from_utf8(&head).unwrap();
        assert!(text.contains("\r\nuser-agent: llm-relay/"), "{text}");
        assert!(!text.contains("tools-1") && !text.contains("cookie"), "{text}");
        assert!(text.contains("\r\naccept: application/json\r\n"), "{text}");
    }

    #[test]
    fn each_protocol_sends_the_key_in_its_own_header() {
        let yaml = "channels:\n  - {name: o, protocol: openai, base_url: 'http://127.0.0.1:1', keys: ['sk-o'], models: ['*']}\n  - {name: g, protocol: gemini, base_url: 'http://127.0.0.1:1', keys: ['sk-g'], models: ['*']}\n";
        let channels = load_str(yaml, &|_| None).unwrap().config.channels;
        let client = client_headers(&[]);
        let head = |c: &Channel| {
            let head = request_head(c, &c.keys[0], Dialect::OpenAiChat, &client, 0, false, "/p").unwrap();
            String::from_utf8(head.to_vec()).unwrap()
        };
        assert!(head(&channels[0]).ends_with("\r\nauthorization: Bearer sk-o\r\n\r\n"));
        assert!(head(&channels[1]).ends_with("\r\nx-goog-api-key: sk-g\r\n\r\n"));
        // The prepared value is a secret like the key: masked when printed.
        assert_eq!(format!("{:?}", channels[0].keys[0].bearer), "Secret(…)");
    }

    #[test]
    fn probe_head_is_a_get_with_the_key_and_the_channel_headers() {
        let ch = channel(", headers: {x-extra: \"1\"}");
        let head = probe_head(&ch, &ch.keys[0], "/v1/models").unwrap();
        assert_eq!(
            std::str::from_utf8(&head).unwrap(),
            concat!(
                "GET /v1/models HTTP/1.1\r\n\
                 host: 127.0.0.1:1\r\n\
                 accept: application/json\r\n\
                 accept-encoding: identity\r\n\
                 user-agent: llm-relay/",
                env!("CARGO_PKG_VERSION"),
                "\r\n\
                 x-api-key: sk-1\r\n\
                 anthropic-version: 2023-06-01\r\n\
                 x-extra: 1\r\n\r\n"
            )
        );
    }

    #[test]
    fn head_refuses_what_would_split_the_request() {
        let ch = channel("");
        let client = client_headers(&[]);
        let bad_path = request_head(&ch, &ch.keys[0], Dialect::Anthropic, &client, 0, false, "/v1/models/a b");
        assert!(bad_path.is_err());
        let key = ChannelKey::new(crate::config::Secret::new("sk-1\r\nx-injected: 1"));
        let bad_key = request_head(&ch, &key, Dialect::Anthropic, &client, 0, false, "/v1/messages");
        assert_eq!(bad_key.unwrap_err(), "header x-api-key contains control characters");
        // Tab and bytes above ASCII (obs-text) are allowed; every other control is not,
        // wherever it sits in a value longer than one vector.
        assert!(!super::has_control("Bearer sk-1\tcafé".as_bytes()));
        let long = [b'a'; 70];
        for at in 0..long.len() {
            for bad in [0u8, b'\r', b'\n', 0x1f, 0x7f] {
                let mut v = long;
                v[at] = bad;
                assert!(super::has_control(&v), "{bad:#x} at {at}");
            }
        }
        assert!(!super::has_control(&long));
    }
}
