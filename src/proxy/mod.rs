//! The Pingora `ProxyHttp` service: route, authenticate, read the body, hand the
//! request to the relay. Every request is answered in `request_filter`, so Pingora's
//! own proxy phase never runs.

pub mod access_log;
pub use cut::note_shutdown;
mod admin;
mod cut;
mod idle;
pub(crate) mod local;
mod models;
pub mod request_id;
pub mod routes;
#[cfg(test)]
mod tests;

pub use local::{open_connections as open_client_connections, LocalConnections};

use crate::auth;
use crate::metrics::{GaugeGuard, Metrics};
use crate::protocol::Dialect;
use crate::relay::{self, Live, Outcome, Relay};
use crate::reload::Reloader;
use crate::translate::request::PreparedRequest;
use crate::translate::{ApiError, ErrorKind};
use arc_swap::ArcSwap;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, AUTHORIZATION, CONTENT_LENGTH};
use pingora::prelude::*;
use pingora::ErrorSource;
use pingora_core::protocols::http::v1::common::is_expect_continue_req;
use pingora_proxy::{FailToProxy, ProxyHttp, Session};
use routes::Route;
use std::sync::Arc;
use std::time::Instant;

// Looked up as names, not strings: a string is parsed into a name on every lookup.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_GOOG_API_KEY: HeaderName = HeaderName::from_static("x-goog-api-key");
const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");

/// State shared by every request: the live config with its balancers, and the relay
/// (connection pool, health, affinity). Cloning it shares that state.
#[derive(Clone)]
pub struct Gateway {
    pub live: Arc<ArcSwap<Live>>,
    pub relay: Arc<Relay>,
    pub metrics: Arc<Metrics>,
    pub reloader: Arc<Reloader>,
}

/// Per-request state.
pub struct RequestCtx {
    started: Instant,
    /// Set for requests that are logged (API and admin calls).
    dialect: Option<Dialect>,
    access_key: Option<String>,
    model: Option<String>,
    stream: bool,
    outcome: Option<Outcome>,
    /// The config the request was served on, for metric labels.
    live: Option<Arc<Live>>,
    _inflight: Option<GaugeGuard>,
    /// Pingora's logging phase ran; else the request is logged when this drops, from
    /// `facts` (`cut`).
    logged: bool,
    facts: Option<Box<cut::RequestFacts>>,
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            dialect: None,
            access_key: None,
            model: None,
            stream: false,
            outcome: None,
            live: None,
            _inflight: None,
            logged: false,
            facts: None,
        }
    }

    /// Only the request-id module. Pingora's default adds a (disabled) response
    /// compression module, whose filter would run on every response chunk for nothing:
    /// the gateway never compresses.
    fn init_downstream_modules(&self, modules: &mut pingora::modules::http::HttpModules) {
        modules.add_module(Box::new(request_id::RequestIdBuilder::new()));
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        ctx.started = Instant::now();
        idle::note_activity();
        let route = {
            let req = session.req_header();
            // `/v1/models` is shared: Gemini clients (google-genai defaults to `v1`) send
            // their key as x-goog-api-key or ?key=, Anthropic ones send anthropic-version.
            let gemini = req.headers.contains_key(X_GOOG_API_KEY)
                || req.uri.query().is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
            let shape = if gemini {
                routes::ModelsShape::Gemini
            } else if req.headers.contains_key(ANTHROPIC_VERSION) {
                routes::ModelsShape::Anthropic
            } else {
                routes::ModelsShape::OpenAi
            };
            routes::classify(req.method.as_str(), req.uri.path(), shape)
        };
        // Local endpoints first; `dialect` is the API dialect of everything else.
        let (dialect, gemini, count_tokens) = match route {
            Route::Health => {
                relay::respond_json(session, 200, Bytes::from_static(b"{\"status\":\"ok\"}"), Vec::new()).await?;
                return Ok(true);
            }
            Route::Root => {
                relay::respond_text(session, 200, "llm-relay\n").await?;
                return Ok(true);
            }
            Route::Admin(admin_route) => {
                self.admin(session, ctx, admin_route).await?;
                return Ok(true);
            }
            Route::NotFound(d) => {
                let path = session.req_header().uri.path().to_string();
                self.reject(session, ctx, d, ApiError::new(ErrorKind::NotFound, format!("no endpoint at {path}")))
                    .await?;
                return Ok(true);
            }
            Route::MethodNotAllowed(d, allowed) => {
                let err = ApiError { status: Some(405), ..ApiError::invalid(format!("use {allowed}")) };
                self.reject(session, ctx, d, err).await?;
                return Ok(true);
            }
            Route::Models { shape, id } => {
                let d = match shape {
                    routes::ModelsShape::Anthropic => Dialect::Anthropic,
                    routes::ModelsShape::OpenAi => Dialect::OpenAiChat,
                    routes::ModelsShape::Gemini => Dialect::Gemini,
                };
                let live = self.live.load_full();
                let Some(key_name) = self.authenticate(session, ctx, &live, d).await? else { return Ok(true) };
                ctx.access_key = Some(key_name);
                let (status, body) = match models::list(&live, shape, id.as_deref()) {
                    Ok(body) => (200, body),
                    Err(err) => (err.status_for(d), err.body_for(d)),
                };
                ctx.dialect = Some(d);
                ctx.outcome = Some(Outcome { status, bytes_out: body.len(), ..Default::default() });
                relay::respond_json(session, status, Bytes::from(body), Vec::new()).await?;
                return Ok(true);
            }
            Route::CountTokens => (Dialect::Anthropic, None, true),
            Route::GeminiCountTokens { model } => (Dialect::Gemini, Some((model, false)), true),
            Route::Gemini { model, stream } => (Dialect::Gemini, Some((model, stream)), false),
            Route::Api(d) => (d, None, false),
        };
        ctx.dialect = Some(dialect);
        ctx._inflight = Some(GaugeGuard::new(&self.metrics.inflight));
        let live = self.live.load_full();
        ctx.live = Some(live.clone());
        let config = &live.config;
        let Some(key_name) = self.authenticate(session, ctx, &live, dialect).await? else { return Ok(true) };
        ctx.access_key = Some(key_name);

        let body = match read_body(session, config.server.max_body_bytes).await? {
            Ok(b) => b,
            Err(err) => {
                self.reject(session, ctx, dialect, err).await?;
                return Ok(true);
            }
        };
        let prepared = match &gemini {
            // countTokens takes its request as `contents`, or whole as
            // `generateContentRequest`.
            Some((model, _)) if count_tokens => crate::translate::gemini::count_tokens_request(&body)
                .and_then(|body| PreparedRequest::new_gemini(body, model.clone(), false, false)),
            Some((model, stream)) => {
                let sse = session.req_header().uri.query().is_some_and(|q| q.split('&').any(|p| p == "alt=sse"));
                PreparedRequest::new_gemini(body, model.clone(), *stream, *stream && !sse)
            }
            None if dialect != Dialect::Gemini && live.always_translates(dialect, &body) => {
                PreparedRequest::new_translated(dialect, body)
            }
            None => PreparedRequest::new(dialect, body),
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(err) => {
                self.reject(session, ctx, dialect, err).await?;
                return Ok(true);
            }
        };
        ctx.model = Some(prepared.model().to_string());
        ctx.stream = prepared.stream();
        let req = session.req_header();
        ctx.facts = Some(Box::new(cut::RequestFacts {
            request_id: request_id::of(&session.downstream_modules_ctx).map(str::to_string),
            method: req.method.clone(),
            path: req.uri.path().to_string(),
            bytes_in: session.body_bytes_read(),
        }));
        if count_tokens {
            let outcome = self.relay.count_tokens(session, &live, prepared).await?;
            ctx.outcome = Some(outcome);
            return Ok(true);
        }
        let session_key = session_key(config, &prepared, session, ctx.access_key.as_deref().unwrap_or(""));
        let caller = relay::Caller {
            key: ctx.access_key.as_deref().unwrap_or(""),
            session: session_key.as_deref(),
            started: ctx.started,
        };
        let outcome = ctx.outcome.insert(Outcome::default());
        self.relay.serve(session, &live, prepared, caller, outcome).await?;
        match outcome.client_gone() {
            Some(etype) => Error::e_explain(etype, "the client stopped taking the answer"),
            None => Ok(true),
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, _ctx: &mut RequestCtx) -> Result<Box<HttpPeer>> {
        // Every request is answered in request_filter.
        Err(Error::explain(ErrorType::InternalError, "no upstream peer: requests are relayed in request_filter"))
    }

    /// A request that failed with an error rather than an answer: a request body that
    /// could not be read (a malformed chunk), or a client that went away or stopped
    /// taking writes. The last two get nothing: an answer would wait for the client as
    /// long again. Otherwise, if nothing was sent yet, the status Pingora would send,
    /// with a body in the client's dialect (Pingora's own is empty). The connection is
    /// not reused.
    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
        let gone = client_left(e);
        let code = match e.etype() {
            _ if gone || session.response_written().is_some() => 0,
            HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => 502,
                ErrorSource::Downstream => 400,
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code > 0 {
            let message = match code {
                400..=499 => format!("the request could not be read ({})", e.etype().as_str()),
                _ => "the gateway failed to answer the request".to_string(),
            };
            let err = ApiError { status: Some(code), ..ApiError::new(ErrorKind::from_status(code), message) };
            let sent = match ctx.dialect {
                Some(dialect) => relay::respond_error(session, dialect, &err, None).await.map(drop),
                None => session.respond_error(code).await,
            };
            if let Err(e) = sent {
                log::debug!("failed to send an error answer: {e}");
            }
        }
        FailToProxy { error_code: code, can_reuse_downstream: false }
    }

    /// A client that went away, or stopped taking the answer, is not the gateway's
    /// error: the access log records it (`error`).
    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        client_left(e)
    }

    /// What an error log line says of its request: method, path and host. Pingora's
    /// summary has the query string, which may hold a Gemini client's key (`?key=`).
    fn request_summary(&self, session: &Session, _ctx: &RequestCtx) -> String {
        let req = session.req_header();
        let host = req.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        format!("{} {}, Host: {host}", req.method, req.uri.path())
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        idle::note_activity();
        let Some(dialect) = ctx.dialect else { return };
        ctx.logged = true;
        let o = ctx.outcome.take().unwrap_or_default();
        let status = session.response_written().map_or(o.status, |r| r.status.as_u16());
        let elapsed = ctx.started.elapsed();
        if let Some(live) = &ctx.live {
            self.metrics.record(live, dialect.as_str(), ctx.model.as_deref(), status, &o, elapsed.as_secs_f64());
        }
        let line = access_log::Line {
            request_id: request_id::of(&session.downstream_modules_ctx),
            method: session.req_header().method.as_str(),
            path: session.req_header().uri.path(),
            access_key: ctx.access_key.as_deref(),
            dialect,
            model: ctx.model.as_deref(),
            stream: ctx.stream,
            status,
            outcome: &o,
            elapsed,
            bytes_in: session.body_bytes_read(),
            pingora_error: e.map(|e| e.etype().as_str()),
        };
        access_log::emit(&line);
    }
}

impl Gateway {
    /// The caller's access-key name; answers 401 in `dialect` (and returns `None`) when
    /// no configured key matches. Keys come in `x-api-key`, `Authorization: Bearer`, or
    /// for Gemini clients `x-goog-api-key` or `?key=`.
    async fn authenticate(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
        live: &Live,
        dialect: Dialect,
    ) -> Result<Option<String>> {
        let found = {
            let req = session.req_header();
            let h = &req.headers;
            let query_key = req.uri.query().and_then(auth::query_key);
            let x_key = h.get(X_API_KEY).or_else(|| h.get(X_GOOG_API_KEY)).map(|v| v.as_bytes());
            auth::presented_key(x_key.or(query_key.as_deref()), h.get(AUTHORIZATION).map(|v| v.as_bytes()))
                .and_then(|presented| auth::authenticate(&live.config.access_keys, presented))
                .map(|k| k.name.clone())
        };
        if found.is_none() {
            let err = ApiError::new(ErrorKind::Authentication, "invalid or missing API key");
            self.reject(session, ctx, dialect, err).await?;
        }
        Ok(found)
    }

    async fn admin(&self, session: &mut Session, ctx: &mut RequestCtx, route: routes::AdminRoute) -> Result<()> {
        let live = self.live.load_full();
        if !admin_authorized(&live, session) {
            let err = ApiError::new(ErrorKind::Authentication, "admin key required");
            return self.reject(session, ctx, Dialect::OpenAiChat, err).await;
        }
        ctx.access_key = Some("admin".to_string());
        let (status, body) = match route {
            routes::AdminRoute::Channels => (200, admin::channels(&live, &self.relay.health)),
            routes::AdminRoute::Config => (200, admin::config(&live)),
            routes::AdminRoute::Reload => match self.reloader.reload("POST /admin/reload") {
                Ok(warnings) => (200, serde_json::json!({"reloaded": true, "warnings": warnings})),
                Err(errors) => (422, serde_json::json!({"reloaded": false, "errors": errors})),
            },
            routes::AdminRoute::Unknown => {
                let err = ApiError::new(ErrorKind::NotFound, "no such admin endpoint");
                return self.reject(session, ctx, Dialect::OpenAiChat, err).await;
            }
        };
        ctx.dialect = Some(Dialect::OpenAiChat);
        ctx.outcome = Some(Outcome { status, ..Default::default() });
        relay::respond_json(session, status, Bytes::from(body.to_string()), Vec::new()).await
    }

    async fn reject(&self, session: &mut Session, ctx: &mut RequestCtx, dialect: Dialect, err: ApiError) -> Result<()> {
        let (status, bytes_out) = relay::respond_error(session, dialect, &err, None).await?;
        ctx.dialect = Some(dialect);
        let error = Some(err.kind.anthropic_type().to_string());
        ctx.outcome = Some(Outcome { status, bytes_out, error, ..Default::default() });
        Ok(())
    }
}

/// Whether `e` says the client went away or stopped taking the answer, rather than an
/// upstream or the gateway failing.
fn client_left(e: &Error) -> bool {
    matches!(e.etype(), WriteTimedout | WriteError | ReadError | ConnectionClosed)
        && !matches!(e.esource(), ErrorSource::Upstream)
}

/// The conversation a request belongs to: Anthropic `metadata.user_id` (Claude Code
/// embeds its session id there), else the first configured session header. Scoped to
/// the access key, so two callers never share a binding.
fn session_key(
    config: &crate::config::Config,
    req: &PreparedRequest,
    session: &Session,
    access_key: &str,
) -> Option<String> {
    let headers = &session.req_header().headers;
    let id = req.peek.user_id.as_deref().filter(|u| !u.is_empty()).map(str::to_string).or_else(|| {
        config
            .routing
            .affinity_headers
            .iter()
            .find_map(|h| headers.get(h).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()))
            .map(str::to_string)
    })?;
    Some(format!("{access_key}\n{id}"))
}

fn admin_authorized(live: &Live, session: &Session) -> bool {
    let h = &session.req_header().headers;
    let Some(presented) =
        auth::presented_key(h.get(X_API_KEY).map(|v| v.as_bytes()), h.get(AUTHORIZATION).map(|v| v.as_bytes()))
    else {
        return false;
    };
    let mut ok = false;
    for k in &live.config.admin_keys {
        ok |= k.matches(presented);
    }
    ok
}

/// Past the limit the body is still read and discarded up to this much, so that the
/// client, still sending, receives the 413 instead of a reset connection.
const DISCARD_LIMIT: usize = 64 * 1024 * 1024;

/// Room made for a request body from its declared length before any of it has come;
/// beyond this, the rest is made once the body outgrows it.
const PREALLOCATE_MAX: usize = 1 << 20;

/// Reads the whole request body, refusing more than `limit` bytes (413).
///
/// A client that sent `Expect: 100-continue` (curl does for bodies over 1 MiB) waits
/// for `100 Continue` before it sends the body, or gives up waiting after a second: it
/// gets the `100` once the body is known to be wanted. Refused before that, its body
/// was never sent, so none is waited for: the connection closes after the answer.
async fn read_body(session: &mut Session, limit: usize) -> Result<std::result::Result<Bytes, ApiError>> {
    let too_large =
        || ApiError::new(ErrorKind::RequestTooLarge, format!("request body exceeds the {limit}-byte limit"));
    let declared = declared_length(session);
    let expects_continue = is_expect_continue_req(session.req_header());
    if declared.is_some_and(|n| n > limit) {
        if expects_continue {
            session.set_keepalive(None);
        } else {
            discard_body(session, declared.unwrap_or(0)).await;
        }
        return Ok(Err(too_large()));
    }
    if expects_continue {
        // Pingora turns keep-alive off for a response written before the request body
        // was read, and counts this interim one: the setting is put back after it.
        let keepalive = session.get_keepalive();
        session.write_continue_response().await?;
        session.set_keepalive(keepalive);
    }
    // A declared length is taken at its word only up to PREALLOCATE_MAX before any of the
    // body has come: an HTTP/2 client may declare it on a hundred streams at once.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(PREALLOCATE_MAX));
    loop {
        let chunk = match next_chunk(session).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // The body's state is unknown: the connection closes after the answer.
            Err(e) if e.etype == ReadTimedout => {
                session.set_keepalive(None);
                let waited = client_timeout(session).map_or(0, |t| t.as_secs());
                let message = format!("the request body stalled: nothing of it came for {waited} s");
                return Ok(Err(ApiError { status: Some(408), ..ApiError::new(ErrorKind::Timeout, message) }));
            }
            // The client is gone: no answer can reach it.
            Err(e) if matches!(e.etype, ConnectionClosed | ReadError) => return Err(e),
            Err(e) => {
                session.set_keepalive(None);
                let message = format!("the request body could not be read ({})", e.etype.as_str());
                return Ok(Err(ApiError::invalid(message)));
            }
        };
        if buf.len() + chunk.len() > limit {
            discard_body(session, DISCARD_LIMIT).await;
            return Ok(Err(too_large()));
        }
        if buf.is_empty() && declared == Some(chunk.len()) {
            return Ok(Ok(chunk));
        }
        if let Some(whole) = declared.filter(|&d| d >= buf.len() + chunk.len()) {
            if buf.capacity() - buf.len() < chunk.len() {
                // Past the preallocated part: the declared length exactly, one copy.
                let mut grown = BytesMut::with_capacity(whole);
                grown.extend_from_slice(&buf);
                buf = grown;
            }
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Ok(buf.freeze()))
}

/// The request body's length as its `content-length` declares it, if it does.
pub(crate) fn declared_length(session: &Session) -> Option<usize> {
    let value = session.req_header().headers.get(CONTENT_LENGTH)?;
    value.to_str().ok()?.parse().ok()
}

/// The next chunk of the request body, each read limited to the client timeout (a
/// `ReadTimedout` error past it). Pingora limits HTTP/1 reads itself, with the timeout
/// `proxy::local` gives the session.
async fn next_chunk(session: &mut Session) -> Result<Option<Bytes>> {
    let limit = match client_timeout(session) {
        Some(limit) if session.downstream_session.is_http2() => limit,
        _ => return session.read_request_body().await,
    };
    // Pingora's timer, made only if the read has to wait, around the read pinned in place.
    let read = session.read_request_body();
    tokio::pin!(read);
    match pingora_timeout::timeout(limit, read).await {
        Ok(read) => read,
        Err(_) => Error::e_explain(ReadTimedout, format!("no request body data for {limit:?}")),
    }
}

/// The client timeout of the connection `session` came on (`server.client_timeout_secs`).
/// Pingora keeps no read limit for an HTTP/2 stream: `proxy::local` gives each stream
/// the client timeout as its write limit, which its body reads take too.
fn client_timeout(session: &Session) -> Option<std::time::Duration> {
    let downstream = &session.downstream_session;
    if downstream.is_http2() {
        downstream.get_write_timeout()
    } else {
        downstream.get_read_timeout()
    }
}

/// Reads and drops the rest of a refused body; gives up (and closes the connection
/// after the response) past `DISCARD_LIMIT` or on any error.
async fn discard_body(session: &mut Session, declared: usize) {
    if declared > DISCARD_LIMIT {
        session.set_keepalive(None);
        return;
    }
    let mut seen = 0usize;
    loop {
        match next_chunk(session).await {
            Ok(Some(chunk)) => {
                seen += chunk.len();
                if seen > DISCARD_LIMIT {
                    session.set_keepalive(None);
                    return;
                }
            }
            Ok(None) => return,
            Err(_) => {
                session.set_keepalive(None);
                return;
            }
        }
    }
}
