//! The attempt loop: call upstreams through Pingora's connector, retry before the
//! client has seen a byte, then commit and pump the (translated) response.
//!
//! The relay reads the whole request body itself and drives the connector, instead of
//! letting Pingora's proxy phase stream it: routing needs `model` from the body, and a
//! failover must resend bodies far larger than Pingora's 64 KiB retry buffer.

mod respond;
mod upstream;

pub use respond::{error as respond_error, json as respond_json, text as respond_text};

use crate::config::{Channel, Config};
use crate::protocol::anthropic::Usage;
use crate::protocol::Dialect;
use crate::routing;
use crate::translate::request::{response_usage, translate_response, PreparedRequest};
use crate::translate::{ApiError, ErrorKind, TargetOptions};
use bytes::{Bytes, BytesMut};
use pingora::connectors::http::Connector;
use pingora::protocols::http::client::HttpSession;
use pingora::upstreams::peer::HttpPeer;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Error bodies from upstreams are read up to this size.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// A non-streaming answer larger than this is refused rather than buffered.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// What happened to one request, for logs and metrics.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub status: u16,
    pub attempts: u32,
    pub channel: Option<String>,
    pub key_id: Option<String>,
    pub upstream_model: Option<String>,
    pub usage: Option<Usage>,
    /// Error class when the request did not succeed cleanly.
    pub error: Option<String>,
    pub first_byte: Option<Duration>,
    pub first_token: Option<Duration>,
    pub bytes_out: usize,
}

pub struct Relay {
    connector: Connector,
    dns: upstream::DnsCache,
    rotation: AtomicUsize,
}

/// A response header received from one attempt.
struct Call {
    up: HttpSession,
    peer: HttpPeer,
    status: u16,
    header: ResponseHeader,
}

enum AttemptFailure {
    /// Worth another channel or key: connect errors, timeouts, 408/429/5xx/529.
    Retryable(ApiError),
    /// The upstream's answer stands (400, 401, …): pass it on.
    Final(ApiError),
}

impl Relay {
    pub fn new(connector: Connector) -> Self {
        Relay { connector, dns: upstream::DnsCache::default(), rotation: AtomicUsize::new(0) }
    }

    /// Serves one API request end to end; the response (success or error) is written.
    pub async fn serve(
        &self,
        session: &mut Session,
        config: &Config,
        mut req: PreparedRequest,
        started: Instant,
    ) -> pingora::Result<Outcome> {
        let client = req.client;
        let mut outcome = Outcome::default();
        let candidates = routing::candidates(&config.channels, req.model());
        if candidates.is_empty() {
            let err = ApiError::new(ErrorKind::NotFound, format!("no channel serves model '{}'", req.model()));
            return self.fail(session, client, err, outcome).await;
        }
        let rotation = self.rotation.fetch_add(1, Ordering::Relaxed);
        let plan = routing::attempt_order(&candidates, rotation, routing::DEFAULT_MAX_ATTEMPTS);

        let mut last_error = None;
        for (channel, key_index) in plan {
            let key = &channel.keys[key_index];
            outcome.attempts += 1;
            outcome.channel = Some(channel.name.clone());
            outcome.key_id = Some(key.id.clone());
            let target = TargetOptions {
                model: channel.upstream_model(req.model()).to_string(),
                default_max_tokens: channel.default_max_tokens,
                max_tokens_cap: channel.max_tokens_cap,
                reasoning: channel.reasoning,
            };
            outcome.upstream_model = Some(target.model.clone());
            let body = match req.body_for(channel.protocol, &target) {
                Ok(b) => b,
                Err(e) => return self.fail(session, client, e, outcome).await,
            };
            let call = match self.call(channel, key_index, &req, body, session).await {
                Ok(call) => call,
                Err(AttemptFailure::Retryable(e)) => {
                    log::warn!("channel {} key {}: {}", channel.name, key.id, e);
                    last_error = Some(e);
                    continue;
                }
                Err(AttemptFailure::Final(e)) => return self.fail(session, client, e, outcome).await,
            };
            let result = if req.stream() {
                self.pump_stream(session, call, channel, &req, started, &mut outcome).await
            } else {
                self.finish_json(session, call, channel, client, started, &mut outcome).await
            };
            match result {
                Ok(()) => return Ok(outcome),
                Err(AttemptFailure::Retryable(e)) => {
                    log::warn!("channel {} key {}: {}", channel.name, key.id, e);
                    last_error = Some(e);
                }
                Err(AttemptFailure::Final(e)) => return self.fail(session, client, e, outcome).await,
            }
        }
        let err = last_error.unwrap_or_else(|| ApiError::new(ErrorKind::Api, "no upstream attempt was possible"));
        self.fail(session, client, err, outcome).await
    }

    async fn fail(
        &self,
        session: &mut Session,
        client: Dialect,
        err: ApiError,
        mut outcome: Outcome,
    ) -> pingora::Result<Outcome> {
        outcome.error = Some(err.kind.anthropic_type().to_string());
        outcome.status = respond_error(session, client, &err).await?;
        Ok(outcome)
    }

    /// Sends the request and reads the response header. Success statuses come back as a
    /// `Call`; error statuses are read and classified.
    async fn call(
        &self,
        channel: &Channel,
        key_index: usize,
        req: &PreparedRequest,
        body: Bytes,
        session: &Session,
    ) -> Result<Call, AttemptFailure> {
        let retry = |kind: ErrorKind, what: String| AttemptFailure::Retryable(ApiError::new(kind, what));
        let addr =
            self.dns.resolve(&channel.upstream.host, channel.upstream.port).await.map_err(|e| {
                retry(ErrorKind::Api, format!("channel {}: cannot resolve upstream: {e}", channel.name))
            })?;
        let peer = upstream::peer(channel, addr);
        let header = upstream::request_header(
            channel,
            &channel.keys[key_index],
            req.client,
            session.req_header(),
            body.len(),
            req.stream(),
        )
        .map_err(|e| AttemptFailure::Final(ApiError::invalid(format!("cannot build the upstream request: {e}"))))?;
        let exchange = async {
            let (mut up, _reused) = self.connector.get_http_session(&peer).await?;
            up.write_request_header(Box::new(header)).await?;
            up.write_request_body(body, true).await?;
            up.finish_request_body().await?;
            up.read_response_header().await?;
            Ok::<_, Box<pingora::Error>>(up)
        };
        let mut up = match timeout(channel.timeouts.first_byte, exchange).await {
            Err(_) => {
                return Err(retry(
                    ErrorKind::Timeout,
                    format!("channel {}: no response within {:?}", channel.name, channel.timeouts.first_byte),
                ))
            }
            Ok(Err(e)) => {
                return Err(retry(
                    ErrorKind::Api,
                    format!("channel {}: upstream connection failed: {}", channel.name, e.etype().as_str()),
                ))
            }
            Ok(Ok(up)) => up,
        };
        let header = match up.response_header() {
            Some(h) => h.clone(),
            None => return Err(retry(ErrorKind::Api, format!("channel {}: no response header", channel.name))),
        };
        let status = header.status.as_u16();
        if (200..300).contains(&status) {
            return Ok(Call { up, peer, status, header });
        }
        let body = read_body(&mut up, ERROR_BODY_LIMIT, channel.timeouts.idle).await.unwrap_or_default();
        let err = ApiError::from_upstream(status, &body, channel.protocol);
        if is_retryable_status(status) {
            Err(AttemptFailure::Retryable(err))
        } else {
            Err(AttemptFailure::Final(err))
        }
    }

    async fn finish_json(
        &self,
        session: &mut Session,
        mut call: Call,
        channel: &Channel,
        client: Dialect,
        started: Instant,
        outcome: &mut Outcome,
    ) -> Result<(), AttemptFailure> {
        let retry = |what: String| AttemptFailure::Retryable(ApiError::new(ErrorKind::Api, what));
        let body = read_body(&mut call.up, RESPONSE_BODY_LIMIT, channel.timeouts.idle)
            .await
            .map_err(|e| retry(format!("channel {}: reading the response failed: {e}", channel.name)))?;
        let translated = translate_response(channel.protocol, client, &body).map_err(AttemptFailure::Final)?;
        outcome.usage = response_usage(channel.protocol, &body);
        self.connector.release_http_session(call.up, &call.peer, None).await;
        let extra = passthrough_headers(&call.header, channel.protocol == client);
        outcome.first_byte = Some(started.elapsed());
        outcome.bytes_out = translated.len();
        outcome.status = call.status;
        respond_json(session, call.status, Bytes::from(translated), &extra)
            .await
            .map_err(|e| AttemptFailure::Final(ApiError::new(ErrorKind::Api, format!("client write failed: {e}"))))?;
        Ok(())
    }
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// Reads a whole body up to `limit` bytes, with `idle` as the longest wait per read.
async fn read_body(up: &mut HttpSession, limit: usize, idle: Duration) -> Result<Bytes, String> {
    let mut buf = BytesMut::new();
    loop {
        match timeout(idle, up.read_response_body()).await {
            Err(_) => return Err("timed out".into()),
            Ok(Err(e)) => return Err(e.etype().as_str().to_string()),
            Ok(Ok(None)) => return Ok(buf.freeze()),
            Ok(Ok(Some(chunk))) => {
                if buf.len() + chunk.len() > limit {
                    return Err(format!("body larger than {limit} bytes"));
                }
                if buf.is_empty() && up.response_done() {
                    return Ok(chunk);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
}

/// Upstream headers a client may see: rate-limit information and request ids, and
/// only when the dialects match (their names are dialect-specific).
fn passthrough_headers(header: &ResponseHeader, same_dialect: bool) -> Vec<(&'static str, String)> {
    const NAMES: [&str; 3] = ["retry-after", "request-id", "x-request-id"];
    let mut out = Vec::new();
    if !same_dialect {
        return out;
    }
    for name in NAMES {
        if let Some(v) = header.headers.get(name).and_then(|v| v.to_str().ok()) {
            out.push((name, v.to_string()));
        }
    }
    out
}

mod balancer;
mod pump;

pub use balancer::{Balancer, Pick, Selection};
