//! The attempt loop: call upstreams over pooled HTTP/1.1 connections, retry before the
//! client has seen a byte, then commit and pump the (translated) response.
//!
//! The relay reads the whole request body itself and drives the upstream connections, instead of
//! letting Pingora's proxy phase stream it: routing needs `model` from the body, and a
//! failover must resend bodies far larger than Pingora's 64 KiB retry buffer.

mod client;
mod conn;
mod failure;
mod live;
mod outcome;
pub(crate) mod respond;
mod timer;
mod upstream;

use failure::{refused_for_client, AttemptFailure};
pub use live::Live;
use outcome::{write_failure, CLIENT_CLOSED, CLIENT_CLOSED_STATUS};
pub use outcome::{AttemptRecord, Outcome};
pub use respond::{error as respond_error, json as respond_json, text as respond_text};

use crate::config::{Channel, Config};
use crate::health::{retry_after, Failure, HealthRegistry};
use crate::metrics::Metrics;
use crate::protocol::anthropic::MessagesResponse;
use crate::protocol::anthropic::Usage;
use crate::protocol::Dialect;
use crate::routing::{AffinityMap, Binding, ConversationStore};
use crate::translate::request::{
    response_usage, translate_response, ForeignThinking, PreparedRequest, ResponseContext,
};
use crate::translate::{ApiError, ErrorKind, TargetOptions};
use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue};
use pingora::connectors::TransportConnector;
use pingora::upstreams::peer::{HttpPeer, Peer};
use pingora::ErrorType::{ConnectionClosed, H1Error, InvalidHTTPHeader, ReadError, WriteError};
use pingora_proxy::Session;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timer::timeout;

/// Error bodies from upstreams are read up to this size.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// A non-streaming answer larger than this is refused rather than buffered.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub struct Relay {
    transport: TransportConnector,
    pool: pool::ConnPool,
    dns: upstream::DnsCache,
    /// Passive health of every channel and key; survives reloads.
    pub health: HealthRegistry,
    affinity: Mutex<AffinityMap>,
    /// Conversations answered for Responses clients (`previous_response_id`).
    conversations: Mutex<ConversationStore>,
    metrics: Arc<Metrics>,
}

/// Responses conversations kept for `previous_response_id`: at most this many, and at
/// most this many bytes of serialized messages.
const CONVERSATIONS_MAX: usize = 10_000;
const CONVERSATIONS_MAX_BYTES: usize = 256 * 1024 * 1024;

/// An upstream answer whose header has arrived (status 2xx), and where it came from.
struct Call {
    up: conn::Response,
    /// The pool key of the connection's peer (the peer itself is 672 bytes, and a
    /// `Call` is held in the request's future for as long as a stream lasts).
    pool_key: u64,
}

/// Who asks: the caller's access-key name, the conversation it continues (its affinity
/// key, if it has one), and when its request came in.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub key: &'a str,
    pub session: Option<&'a str>,
    pub started: Instant,
}

/// One attempt's fixed facts: where it goes and what the answer will be called.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    channel: &'a Channel,
    /// CA certificates the upstream must chain to (else the system roots).
    ca: Option<&'a Arc<pingora::protocols::tls::CaType>>,
    key_index: usize,
    /// The model name sent upstream.
    upstream_model: &'a str,
    /// The id a Responses client's answer gets.
    response_id: Option<&'a str>,
    /// When the client's request came in.
    started: Instant,
    /// Longest wait for the response header.
    first_byte: Duration,
    /// `server.stream_keepalive_ms`.
    keepalive: Option<Duration>,
}

impl Relay {
    pub fn new(transport: TransportConnector, routing: &crate::config::RoutingSettings, metrics: Arc<Metrics>) -> Self {
        Relay {
            transport,
            pool: pool::ConnPool::new(pool::IDLE_PER_PEER, pool::IDLE_TIMEOUT),
            dns: upstream::DnsCache::default(),
            health: HealthRegistry::default(),
            affinity: Mutex::new(AffinityMap::new(routing.affinity_ttl, routing.affinity_max_sessions)),
            conversations: Mutex::new(ConversationStore::new(CONVERSATIONS_MAX, CONVERSATIONS_MAX_BYTES)),
            metrics,
        }
    }

    /// Applies a reloaded config's affinity TTL and size; bindings are kept.
    pub fn set_affinity_limits(&self, routing: &crate::config::RoutingSettings) {
        self.affinity().set_limits(routing.affinity_ttl, routing.affinity_max_sessions);
    }

    fn affinity(&self) -> std::sync::MutexGuard<'_, AffinityMap> {
        self.affinity.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves one API request end to end; the response (success or error) is written.
    /// What happens is written into `outcome` as it happens, so that a request cut off
    /// (its task dropped when the grace period of a shutdown ends) is still told.
    pub async fn serve(
        &self,
        session: &mut Session,
        live: &Live,
        mut req: PreparedRequest,
        caller: Caller<'_>,
        outcome: &mut Outcome,
    ) -> pingora::Result<()> {
        let config = &live.config;
        let client = req.client;
        if !config.channels.iter().any(|c| c.serves(req.model())) {
            let err = ApiError::new(ErrorKind::NotFound, format!("no channel serves model '{}'", req.model()));
            return self.fail(session, client, err, outcome).await;
        }
        // An Anthropic conversation may hold thinking the gateway signed (another provider
        // answered some of it), which Anthropic refuses: under this config, or an earlier
        // one (a reload or a restart may leave only Anthropic channels).
        let may_hold_signed = client == Dialect::Anthropic;
        let (affinity, origin_family) = match caller.session {
            Some(s) => {
                let map = self.affinity();
                let pick = map.sticky(s, Instant::now()).and_then(|b| find_binding(config, b));
                (pick, map.family(s).map(str::to_string))
            }
            None => (None, None),
        };

        let (response_id, previous_unknown) = match self.prepare_responses(&mut req, caller.key) {
            Ok(r) => r,
            Err(e) => return self.fail(session, client, e, outcome).await,
        };

        let deadline = caller.started + config.routing.retry_budget;
        let max_attempts = config.routing.max_attempts as usize;
        let mut tried: Vec<Pick> = Vec::with_capacity(max_attempts);
        // What the client is told when every attempt fails: the last passing failure
        // (a rate limit, an overload) over a key refused, so that a client whose request
        // a retry can mend is not told to give up because the last key tried was spent.
        let mut passing: Option<(ApiError, Option<Duration>)> = None;
        let mut refused = None;
        while tried.len() < max_attempts {
            let now = Instant::now();
            if !tried.is_empty() && now >= deadline {
                break;
            }
            let selection = Selection { model: req.model(), tried: &tried, last: tried.last().copied(), affinity };
            let Some(pick) = self.health.read(|t| live.balancer.next(config, &selection, t, now)) else { break };
            tried.push(pick);
            let channel = &config.channels[pick.channel];
            let key_ref = channel.key_ref(pick.key);
            let trials = self.health.on_attempt(&key_ref, now);
            outcome.attempts += 1;
            outcome.channel = Some(channel.name.clone());
            outcome.key_id = Some(channel.keys[pick.key].id.clone());
            let target = TargetOptions {
                model: channel.upstream_model(req.model()).to_string(),
                default_max_tokens: channel.default_max_tokens,
                max_tokens_cap: channel.max_tokens_cap,
                reasoning: channel.reasoning,
                reasoning_summary: channel.reasoning_summary,
                prompt_caching: channel.prompt_caching,
                hosted_web_search: channel.hosted_web_search,
                family: channel.family.clone(),
            };
            outcome.upstream_model = Some(target.model.clone());
            if previous_unknown && channel.protocol != Dialect::OpenAiResponses {
                let prev = req.responses_info().ok().flatten().and_then(|i| i.previous_response_id.clone());
                let err = ApiError::invalid(format!(
                    "previous_response_id '{}' is not known to this gateway",
                    prev.unwrap_or_default()
                ));
                return self.fail(session, client, err, outcome).await;
            }
            let thinking = if origin_family.as_deref().is_some_and(|f| f != channel.family) {
                ForeignThinking::Held
            } else if may_hold_signed {
                ForeignThinking::Possible
            } else {
                ForeignThinking::None
            };
            let body = match req.body_for(channel.protocol, &target, thinking) {
                Ok(b) => b,
                Err(e) => return self.fail(session, client, e, outcome).await,
            };
            // Retries must not outlast the budget: later attempts wait at most what is left.
            let first_byte = if tried.len() == 1 {
                channel.timeouts.first_byte
            } else {
                channel.timeouts.first_byte.min(deadline.saturating_duration_since(now).max(Duration::from_secs(1)))
            };
            let attempt = Attempt {
                channel,
                ca: live.peer_ca.get(pick.channel).and_then(Option::as_ref),
                key_index: pick.key,
                upstream_model: &target.model,
                response_id: response_id.as_deref(),
                started: caller.started,
                first_byte,
                keepalive: config.server.stream_keepalive,
            };
            let path = channel.endpoint_path(&target.model, req.stream());
            // The exchange up to the response head is boxed: it is freed once the head is
            // in, instead of widening every held stream's state by its size.
            let result = match Box::pin(self.call(&attempt, &req, body, session, &path)).await {
                Ok(call) if req.stream() => self.pump_stream(session, call, &attempt, &mut req, outcome).await,
                Ok(call) => self.finish_json(session, call, &attempt, &mut req, outcome).await,
                Err(f) => Err(f),
            };
            let now = Instant::now();
            let record = |outcome: &mut Outcome, class: &'static str, wasted: Option<Usage>| {
                outcome.attempts_log.push(AttemptRecord { channel: channel.name.clone(), outcome: class, wasted });
            };
            match result {
                Ok(answer) => {
                    record(outcome, "ok", None);
                    if let (Some(answer), Some(rid)) = (answer, response_id.as_deref()) {
                        // A passed-through answer reached the client under the upstream's id.
                        let passthrough = channel.protocol == client && !req.forces_translation();
                        let key = if passthrough { answer.id.clone() } else { rid.to_string() };
                        self.remember(&mut req, caller.key, &key, answer);
                    }
                    self.health.on_success(&key_ref, &config.health);
                    if let Some(s) = caller.session {
                        self.affinity().record(s, &channel.name, key_ref.fingerprint, &channel.family, now);
                    }
                    return Ok(());
                }
                Err(AttemptFailure::Retryable { err, channel_too, retry_after, class, wasted }) => {
                    record(outcome, class, wasted);
                    log::warn!("channel {} key {}: {err}", channel.name, key_ref_id(channel, pick.key));
                    let failure = Failure::Retryable { retry_after };
                    self.health.on_failure(&key_ref, now, &config.health, failure, channel_too, &err.message);
                    if !channel_too {
                        self.health.end_trials(&key_ref, trials, false);
                    }
                    passing = Some((err, retry_after));
                }
                Err(AttemptFailure::Retire(err)) => {
                    record(outcome, "key_refused", None);
                    log::warn!("channel {} key {} retired: {err}", channel.name, key_ref_id(channel, pick.key));
                    self.health.on_failure(&key_ref, now, &config.health, Failure::Retire, false, &err.message);
                    self.health.end_trials(&key_ref, trials, false);
                    refused = Some(err);
                }
                Err(AttemptFailure::Final(err)) => {
                    record(outcome, "client_error", None);
                    self.health.end_trials(&key_ref, trials, true);
                    return self.fail(session, client, err, outcome).await;
                }
                Err(AttemptFailure::ClientGone) => {
                    record(outcome, CLIENT_CLOSED, None);
                    self.health.end_trials(&key_ref, trials, true);
                    outcome.error = Some(CLIENT_CLOSED.into());
                    // Nothing was sent: logged and counted under nginx's 499.
                    outcome.status = CLIENT_CLOSED_STATUS;
                    return Ok(());
                }
            }
        }
        let (err, retry_after) = passing
            .or(refused.map(|e| (refused_for_client(e), None)))
            .unwrap_or_else(|| (ApiError::new(ErrorKind::Api, "no upstream attempt was possible"), None));
        self.fail_after(session, client, err, outcome, retry_after).await
    }

    async fn fail(
        &self,
        session: &mut Session,
        client: Dialect,
        err: ApiError,
        outcome: &mut Outcome,
    ) -> pingora::Result<()> {
        self.fail_after(session, client, err, outcome, None).await
    }

    async fn fail_after(
        &self,
        session: &mut Session,
        client: Dialect,
        err: ApiError,
        outcome: &mut Outcome,
        retry_after: Option<Duration>,
    ) -> pingora::Result<()> {
        outcome.error = Some(err.kind.anthropic_type().to_string());
        (outcome.status, outcome.bytes_out) = respond_error(session, client, &err, retry_after).await?;
        Ok(())
    }

    /// Sends the request to `path` and reads the response header. Success statuses come
    /// back as a `Call`; error statuses are read and classified.
    async fn call(
        &self,
        a: &Attempt<'_>,
        req: &PreparedRequest,
        body: Bytes,
        session: &mut Session,
        path: &str,
    ) -> Result<Call, AttemptFailure> {
        let (channel, key_index, first_byte) = (a.channel, a.key_index, a.first_byte);
        let retry = |kind: ErrorKind, what: String| AttemptFailure::retry("connect_error", ApiError::new(kind, what));
        let addr = self
            .dns
            .resolve(&channel.upstream)
            .await
            .map_err(|e| retry(ErrorKind::Api, format!("cannot resolve the upstream host: {e}")))?;
        let peer = upstream::peer(channel, addr, a.ca);
        // The pool key hashes the whole peer: made once per attempt.
        let pool_key = peer.reuse_hash();
        let head = upstream::request_head(
            channel,
            &channel.keys[key_index],
            req.client,
            session.req_header(),
            body.len(),
            req.stream(),
            path,
        )
        .map_err(|e| AttemptFailure::Final(ApiError::invalid(format!("cannot build the upstream request: {e}"))))?;
        let exchange = timeout(first_byte, self.exchange(&peer, pool_key, head, &body));
        let mut up = match client::unless_client_left(session, a.started + client::WATCH_CLIENT_AFTER, exchange).await?
        {
            Err(_) => {
                let what = format!("upstream sent no response within {first_byte:?}");
                return Err(AttemptFailure::retry("timeout", ApiError::new(ErrorKind::Timeout, what)));
            }
            Ok(Err(e)) => {
                let what = match e.etype() {
                    InvalidHTTPHeader => format!("upstream sent an invalid response: {}", conn::describe(&e)),
                    H1Error => format!("upstream response failed: {}", conn::describe(&e)),
                    other => format!("upstream connection failed: {}", other.as_str()),
                };
                return Err(retry(ErrorKind::Api, what));
            }
            Ok(Ok(up)) => up,
        };
        let status = up.status;
        if (200..300).contains(&status) {
            return Ok(Call { up, pool_key });
        }
        let body = up.read_to_end(ERROR_BODY_LIMIT, channel.timeouts.idle).await.unwrap_or_default();
        let value = |name: &str| up.headers.get_str(name);
        // Gemini says when to retry in the body; its per-minute limits speak of "quota".
        let gemini_delay =
            (channel.protocol == Dialect::Gemini).then(|| crate::translate::gemini::retry_delay(&body)).flatten();
        let retry_after = retry_after(value("retry-after-ms"), value("retry-after")).or(gemini_delay);
        // An error answer read to its end leaves the connection usable (a burst of 429s
        // must not cost a new handshake each).
        self.release(up, pool_key);
        let mut err = ApiError::from_upstream(status, &body, channel.protocol);
        // Some upstreams quote the key they refused; it must not reach a client or a log.
        let key = &channel.keys[key_index];
        if err.message.contains(key.secret.expose()) {
            err.message = err.message.replace(key.secret.expose(), &key.id);
        }
        if memchr::memmem::find(&body, key.secret.expose().as_bytes()).is_some() {
            // The client gets the error written anew rather than a body quoting the key.
            err.upstream_body = None;
        }
        Err(AttemptFailure::classified(err, status, gemini_delay.is_some(), retry_after, "retryable_status", None))
    }

    /// Sends one request (header block and body in one write) on a pooled connection, or
    /// a new one, and reads the response header. A pooled connection the upstream closed
    /// in the meantime fails before any answer: the request then goes once more on a
    /// fresh connection.
    async fn exchange(
        &self,
        peer: &HttpPeer,
        pool_key: u64,
        head: BytesMut,
        body: &Bytes,
    ) -> pingora::Result<conn::Response> {
        let mut pooled = self.pool.take(pool_key);
        loop {
            let reused = pooled.is_some();
            let stream = match pooled.take() {
                Some(s) => s,
                // Connecting (DNS, TCP, TLS) is a 17 KiB future: boxed only when a
                // connection is opened, not for every exchange on a pooled one.
                None => Box::pin(self.transport.new_stream(peer)).await?,
            };
            match conn::send(stream, &head, body).await {
                // End of file, reset or a failed write: the upstream had closed it.
                Err(e) if reused && matches!(e.etype(), ConnectionClosed | ReadError | WriteError) => {
                    log::debug!("pooled upstream connection unusable ({}), using a new one", e.etype().as_str());
                }
                result => return result,
            }
        }
    }

    /// Closes the pooled upstream connections idle past the pool's timeout; returns how
    /// many. For a timer: returns to the pool sweep them too, but only while there are
    /// returns.
    pub fn close_expired_idle(&self) -> usize {
        self.pool.sweep()
    }

    /// Returns an upstream connection whose exchange ended cleanly to the pool.
    fn release(&self, up: conn::Response, pool_key: u64) {
        if let Some(stream) = up.into_reusable() {
            self.pool.put(pool_key, stream);
        }
    }

    async fn finish_json(
        &self,
        session: &mut Session,
        mut call: Call,
        a: &Attempt<'_>,
        req: &mut PreparedRequest,
        outcome: &mut Outcome,
    ) -> Result<Option<MessagesResponse>, AttemptFailure> {
        let (channel, response_id, upstream_model, started) = (a.channel, a.response_id, a.upstream_model, a.started);
        let client = req.client;
        let body = call.up.read_to_end(RESPONSE_BODY_LIMIT, channel.timeouts.idle).await.map_err(|e| {
            let what = format!("reading the upstream response failed: {e}");
            AttemptFailure::retry("connect_error", ApiError::new(ErrorKind::Api, what))
        })?;
        let info = req.responses_info().ok().flatten().cloned();
        let force = req.forces_translation();
        let responses = response_id.zip(info.as_ref());
        let used_tool_ids = req.used_tool_ids(channel.protocol);
        let cx = ResponseContext {
            upstream_model,
            responses,
            force,
            gemini_thoughts: req.gemini_thoughts(),
            tool_names: req.tool_names(),
            used_tool_ids: &used_tool_ids,
            family: (channel.protocol == Dialect::Anthropic && client != channel.protocol).then_some(&*channel.family),
        };
        let answer =
            translate_response(channel.protocol, client, &body, &cx).map_err(|e| AttemptFailure::in_band(e, None))?;
        let (translated, mut canonical) = (answer.body, answer.canonical);
        if canonical.is_none() && info.as_ref().is_some_and(|i| i.store) {
            // A Responses answer passed through: kept too, so the conversation can fail
            // over to another kind of channel.
            canonical = crate::translate::responses::response_to_canonical(&body).ok();
        }
        outcome.usage = answer
            .usage
            .or_else(|| canonical.as_ref().map(|c| c.usage))
            .or_else(|| response_usage(channel.protocol, &body, upstream_model));
        let (status, extra) = (call.up.status, passthrough_headers(&call.up.headers, channel.protocol == client));
        self.release(call.up, call.pool_key);
        outcome.first_byte = Some(started.elapsed());
        outcome.bytes_out = translated.len();
        outcome.status = status;
        if let Err(e) = respond_json(session, status, translated, extra).await {
            outcome.error = Some(write_failure(&e).into());
        }
        Ok(canonical)
    }
}

fn key_ref_id(channel: &Channel, key: usize) -> &str {
    channel.keys.get(key).map_or("?", |k| k.id.as_str())
}

/// The pick a session's binding stands for in this config, if its channel and key
/// still exist.
fn find_binding(config: &Config, b: &Binding) -> Option<Pick> {
    let channel = config.channels.iter().position(|c| c.name == b.channel)?;
    let key = config.channels[channel].keys.iter().position(|k| k.fingerprint == b.key_fingerprint)?;
    Some(Pick { channel, key })
}

/// Upstream headers a client may see: rate-limit information and request ids, and
/// only when the dialects match (their names are dialect-specific).
fn passthrough_headers(headers: &crate::http1::Headers, same_dialect: bool) -> Vec<(HeaderName, HeaderValue)> {
    const NAMES: [HeaderName; 3] =
        [http::header::RETRY_AFTER, HeaderName::from_static("request-id"), crate::proxy::request_id::HEADER];
    let mut out = Vec::new();
    if !same_dialect {
        return out;
    }
    for name in NAMES {
        if let Some(v) = headers.get_str(name.as_str()).and_then(|v| HeaderValue::from_str(v).ok()) {
            out.push((name, v));
        }
    }
    out
}

mod background;
mod balancer;
mod conversations;
mod count_tokens;
mod pool;
mod probe;
mod pump;

pub use background::ActiveHealthChecks;
pub use balancer::{Balancer, Pick, Selection};
pub use probe::ChannelProbe;

#[cfg(test)]
mod tests;
