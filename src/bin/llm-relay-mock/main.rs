//! llm-relay-mock: a small, fast, scripted mock of the Anthropic Messages, OpenAI
//! Chat Completions, OpenAI Responses and Gemini `generateContent` APIs, used by the
//! tests, the demo config and the benchmarks. It deliberately does not use the `llm_relay` library: it is an
//! independent witness of the wire protocols.
//!
//! Behaviour is chosen by `[[directive]]` markers in the last message; see
//! `script.rs`. `GET /_mock/requests`, `GET /_mock/stats` and `POST /_mock/reset`
//! expose what was received.

mod body;
mod gemini;
mod responses;
mod script;
mod wire;

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use log::debug;
use tokio::net::TcpListener;

use body::{MockBody, SseBody};
use wire::{Ctx, Dialect};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RING: usize = 64;
const JSON: &str = "application/json";

#[derive(Parser, Debug)]
#[command(
    name = "llm-relay-mock",
    about = "Scripted mock of the Anthropic Messages, OpenAI Chat Completions, OpenAI Responses and Gemini APIs"
)]
struct Cli {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Sleep between streamed content deltas, in milliseconds.
    #[arg(long, default_value_t = 0)]
    token_delay_ms: u64,
    /// Worker threads (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone)]
struct Entry {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct Log {
    ring: VecDeque<Entry>,
    total: u64,
    by_key: HashMap<String, u64>,
    /// `GET /v1/models` answered (active health checks probe it); not in `ring`.
    models_listed: u64,
}

struct State {
    log: Mutex<Log>,
    delay: Duration,
    ids: AtomicU64,
    tool_ids: AtomicU64,
}

impl State {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, entry: Entry, key: Option<&str>) {
        let mut log = self.log();
        if log.ring.len() >= RING {
            log.ring.pop_front();
        }
        log.ring.push_back(entry);
        log.total += 1;
        if let Some(k) = key {
            match log.by_key.get_mut(k) {
                Some(n) => *n += 1,
                None => {
                    log.by_key.insert(k.to_string(), 1);
                }
            }
        }
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())).max(1);
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("llm-relay-mock: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llm-relay-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> io::Result<()> {
    let listener = TcpListener::bind(&cli.listen).await?;
    let addr = listener.local_addr()?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "listening on {addr}")?;
        out.flush()?;
    }
    let state = Arc::new(State {
        log: Mutex::new(Log::default()),
        delay: Duration::from_millis(cli.token_delay_ms),
        ids: AtomicU64::new(0),
        tool_ids: AtomicU64::new(0),
    });
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                debug!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, state.clone()));
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                // Idle keep-alive connections stay open until the client closes them.
                .header_read_timeout(None)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                debug!("connection: {e}");
            }
        });
    }
}

fn respond(status: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The caller's key: `x-api-key`, `x-goog-api-key`, else the `Authorization: Bearer` token.
fn api_key(headers: &HeaderMap) -> Option<&str> {
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(k) = headers.get(name).and_then(|v| v.to_str().ok()) {
            return Some(k);
        }
    }
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
    auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")).map(str::trim)
}

/// Decodes `%XX` escapes (a key carrying `[[...]]` directives arrives encoded).
fn percent_decode(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// The decoded value of query parameter `name`.
fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<Cow<'a, str>> {
    query?.split('&').find_map(|kv| match kv.split_once('=') {
        Some((k, v)) if k == name => Some(percent_decode(v)),
        None if kv == name => Some(Cow::Borrowed("")),
        _ => None,
    })
}

/// A Gemini call: `POST /v1beta/models/{model}:generateContent` or
/// `:streamGenerateContent` (`/v1/models/...` is accepted too).
#[derive(Debug, Clone, PartialEq, Eq)]
struct GeminiCall {
    model: String,
    stream: bool,
    /// `?alt=sse`: SSE frames; otherwise a stream is one JSON array.
    sse: bool,
}

/// `Some(Ok(call))` for a Gemini generate path, `Some(Err(()))` for another path
/// under a Gemini prefix, `None` otherwise.
fn gemini_route(path: &str, query: Option<&str>) -> Option<Result<GeminiCall, ()>> {
    let rest = path.strip_prefix("/v1beta/models/").or_else(|| path.strip_prefix("/v1/models/"))?;
    let Some((model, method)) = rest.rsplit_once(':') else {
        return Some(Err(()));
    };
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return Some(Err(())),
    };
    let sse = query_param(query, "alt").is_some_and(|a| a == "sse");
    Some(Ok(GeminiCall { model: percent_decode(model).into_owned(), stream, sse }))
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Response<MockBody>, BoxError> {
    let (parts, incoming) = req.into_parts();
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/health") => return Ok(respond(StatusCode::OK, "text/plain", "ok")),
        (&Method::GET, "/v1/models") => {
            state.log().models_listed += 1;
            return Ok(models_json());
        }
        (&Method::GET, "/_mock/requests") => return Ok(requests_json(&state)),
        (&Method::GET, "/_mock/stats") => return Ok(stats_json(&state)),
        (&Method::POST, "/_mock/reset") => {
            *state.log() = Log::default();
            body::STREAMS_CUT.store(0, std::sync::atomic::Ordering::Relaxed);
            return Ok(respond(StatusCode::OK, JSON, r#"{"ok":true}"#));
        }
        _ => {}
    }
    enum Route {
        Api(Dialect),
        Gemini(GeminiCall),
        CountTokens,
        GeminiCountTokens,
        NotFound(Dialect),
    }
    let query = parts.uri.query();
    let route = match (&parts.method, path) {
        (&Method::POST, "/v1/messages") => Route::Api(Dialect::Anthropic),
        (&Method::POST, "/v1/chat/completions") => Route::Api(Dialect::OpenAi),
        (&Method::POST, "/v1/responses") => Route::Api(Dialect::Responses),
        (&Method::POST, "/v1/messages/count_tokens") => Route::CountTokens,
        (&Method::POST, _) if path.ends_with(":countTokens") && path.starts_with("/v1beta/models/") => {
            Route::GeminiCountTokens
        }
        (&Method::POST, _) => match gemini_route(path, query) {
            Some(Ok(call)) => Route::Gemini(call),
            Some(Err(())) => Route::NotFound(Dialect::Gemini),
            None if path.starts_with("/v1beta") => Route::NotFound(Dialect::Gemini),
            None => Route::NotFound(Dialect::OpenAi),
        },
        _ if path.starts_with("/v1beta") => Route::NotFound(Dialect::Gemini),
        _ => Route::NotFound(Dialect::OpenAi),
    };
    let body = incoming.collect().await?.to_bytes();
    let mut key = api_key(&parts.headers).map(str::to_string);
    if key.is_none() && matches!(route, Route::Gemini(_) | Route::GeminiCountTokens | Route::NotFound(Dialect::Gemini))
    {
        key = query_param(query, "key").map(Cow::into_owned);
    }
    state.record(
        Entry { method: parts.method, uri: parts.uri, headers: parts.headers, body: body.clone() },
        key.as_deref(),
    );
    match route {
        Route::Api(d) => api(d, None, &body, key.as_deref(), &state).await,
        Route::Gemini(call) => api(Dialect::Gemini, Some(call), &body, key.as_deref(), &state).await,
        Route::CountTokens => Ok(respond(StatusCode::OK, JSON, format!(r#"{{"input_tokens":{}}}"#, body.len() / 4))),
        Route::GeminiCountTokens => {
            Ok(respond(StatusCode::OK, JSON, format!(r#"{{"totalTokens":{}}}"#, body.len() / 4)))
        }
        Route::NotFound(d) => Ok(error_response(d, 404, "mock: no such route")),
    }
}

fn error_response(d: Dialect, code: u16, message: &str) -> Response<MockBody> {
    let code = if d == Dialect::Gemini { gemini::http_status(code) } else { code };
    let st = status(code);
    let mut resp = respond(st, JSON, wire::error_body(d, code, message));
    if st.canonical_reason().is_none() {
        // hyper writes `<none>` for statuses without a canonical reason (529).
        let reason: &[u8] = if code == 529 { b"Overloaded" } else { b"Error" };
        if let Ok(r) = hyper::ext::ReasonPhrase::try_from(reason) {
            resp.extensions_mut().insert(r);
        }
    }
    // Gemini sends no retry headers (its 429 body carries a RetryInfo).
    if code == 429 && d != Dialect::Gemini {
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

async fn api(
    d: Dialect,
    gemini_call: Option<GeminiCall>,
    body: &Bytes,
    key: Option<&str>,
    state: &State,
) -> Result<Response<MockBody>, BoxError> {
    match (key, d) {
        (Some("bad-key"), Dialect::Anthropic) => {
            let b = wire::anthropic_error("authentication_error", "invalid x-api-key");
            return Ok(respond(StatusCode::UNAUTHORIZED, JSON, b));
        }
        (Some("bad-key"), Dialect::OpenAi | Dialect::Responses) => {
            let msg = "Incorrect API key provided: bad-key.";
            let b = wire::openai_error("invalid_request_error", Some("invalid_api_key"), msg);
            return Ok(respond(StatusCode::UNAUTHORIZED, JSON, b));
        }
        (Some("quota-key"), Dialect::Anthropic) => {
            let msg = "Your credit balance is too low";
            let b = wire::anthropic_error("invalid_request_error", msg);
            return Ok(respond(StatusCode::BAD_REQUEST, JSON, b));
        }
        (Some("quota-key"), Dialect::OpenAi | Dialect::Responses) => {
            let msg = "You exceeded your current quota";
            let b = wire::openai_error("insufficient_quota", Some("insufficient_quota"), msg);
            return Ok(respond(StatusCode::TOO_MANY_REQUESTS, JSON, b));
        }
        (Some("bad-key"), Dialect::Gemini) => return Ok(respond(StatusCode::BAD_REQUEST, JSON, gemini::bad_key())),
        (Some("quota-key"), Dialect::Gemini) => {
            return Ok(respond(StatusCode::TOO_MANY_REQUESTS, JSON, gemini::quota()));
        }
        _ => {}
    }
    let parsed = match d {
        Dialect::Anthropic | Dialect::OpenAi => script::parse_request(body),
        Dialect::Responses => script::parse_responses_request(body),
        Dialect::Gemini => script::parse_gemini_request(body),
    };
    let mut req = match parsed {
        Ok(r) => r,
        Err(e) => return Ok(error_response(d, 400, &format!("mock: invalid JSON body: {e}"))),
    };
    let mut array = false;
    if let Some(call) = gemini_call {
        req.model = call.model;
        req.stream = call.stream;
        array = call.stream && !call.sse;
    }
    // Directives in the key script one upstream key (or a channel's only key).
    if let Some(k) = key {
        req.directives.merge(script::parse_directives(k));
    }
    let dir = &req.directives;
    if let Some(ms) = dir.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(code) = dir.error {
        return Ok(error_response(d, code, &format!("mock error {code}")));
    }
    if dir.quota {
        let message = "mock: you exceeded your current quota";
        return Ok(match d {
            Dialect::OpenAi | Dialect::Responses => respond(
                status(429),
                JSON,
                wire::openai_error("insufficient_quota", Some("insufficient_quota"), message),
            ),
            Dialect::Anthropic => error_response(d, 402, message),
            Dialect::Gemini => error_response(d, 429, message),
        });
    }
    if dir.disconnect && !req.stream {
        // Returning an error makes hyper drop the connection without a response.
        return Err("mock disconnect".into());
    }
    let plan = script::build_plan(&req, &state.tool_ids);
    let n = state.ids.fetch_add(1, Ordering::Relaxed) + 1;
    let (id, id_header) = match d {
        Dialect::Anthropic => (format!("msg_mock_{n}"), Some("request-id")),
        Dialect::OpenAi => (format!("chatcmpl-mock{n}"), Some("x-request-id")),
        Dialect::Responses => (format!("resp_mock_{n}"), Some("x-request-id")),
        Dialect::Gemini => (format!("resp_gm_{n}"), None),
    };
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.as_secs());
    let ctx = Ctx {
        include_usage: req.include_usage,
        echo: std::mem::take(&mut req.echo),
        array,
        ..Ctx::new(d, id, n, wire::q(&req.model), created, (body.len() / 4) as u64)
    };
    let mut resp = if req.stream {
        let ctype = if array { JSON } else { "text/event-stream" };
        let quiet = Duration::from_millis(req.directives.quiet_ms.unwrap_or(0));
        let body = SseBody::new(ctx, plan, state.delay).quiet(quiet);
        let mut resp = Response::new(MockBody::Sse(Box::new(body)));
        let h = resp.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
        h.insert("cache-control", HeaderValue::from_static("no-cache"));
        resp
    } else {
        respond(StatusCode::OK, JSON, wire::full_body(&ctx, &plan))
    };
    if let Some(name) = id_header {
        if let Ok(v) = HeaderValue::try_from(format!("req_mock_{n}")) {
            resp.headers_mut().insert(name, v);
        }
    }
    Ok(resp)
}

/// `GET /v1/models` (OpenAI shape).
fn models_json() -> Response<MockBody> {
    respond(
        StatusCode::OK,
        JSON,
        r#"{"object":"list","data":[{"id":"mock-model","object":"model","created":1700000000,"owned_by":"mock"}]}"#,
    )
}

fn requests_json(state: &State) -> Response<MockBody> {
    let entries: Vec<Entry> = state.log().ring.iter().cloned().collect();
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let mut headers = serde_json::Map::new();
            for name in e.headers.keys() {
                let vals: Vec<String> = e
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                headers.insert(name.as_str().to_string(), vals.join(", ").into());
            }
            serde_json::json!({
                "method": e.method.as_str(),
                "path": e.uri.path(),
                "query": e.uri.query(),
                "headers": headers,
                "body": String::from_utf8_lossy(&e.body),
            })
        })
        .collect();
    let body = serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec());
    respond(StatusCode::OK, JSON, body)
}

fn stats_json(state: &State) -> Response<MockBody> {
    let (total, by_key, models_listed) = {
        let log = state.log();
        (log.total, log.by_key.clone(), log.models_listed)
    };
    let cut = body::STREAMS_CUT.load(std::sync::atomic::Ordering::Relaxed);
    let v = serde_json::json!({"total": total, "by_key": by_key, "streams_cut": cut, "models_listed": models_listed});
    let body = serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec());
    respond(StatusCode::OK, JSON, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_routes() {
        let call = |model: &str, stream, sse| Some(Ok(GeminiCall { model: model.into(), stream, sse }));
        assert_eq!(
            gemini_route("/v1beta/models/gemini-2.5-flash:generateContent", None),
            call("gemini-2.5-flash", false, false)
        );
        assert_eq!(gemini_route("/v1beta/models/g:streamGenerateContent", Some("alt=sse")), call("g", true, true));
        assert_eq!(
            gemini_route("/v1beta/models/g:streamGenerateContent", Some("key=k&alt=json")),
            call("g", true, false)
        );
        assert_eq!(gemini_route("/v1/models/g:streamGenerateContent", Some("key=k&alt=sse")), call("g", true, true));
        assert_eq!(gemini_route("/v1beta/models/g:countTokens", None), Some(Err(())));
        assert_eq!(gemini_route("/v1beta/models/g", None), Some(Err(())));
        assert_eq!(gemini_route("/v1/responses", None), None);
    }

    #[test]
    fn query_and_decoding() {
        assert_eq!(
            query_param(Some("alt=sse&key=k1-%5B%5Berror%3A529%5D%5D"), "key").as_deref(),
            Some("k1-[[error:529]]")
        );
        assert_eq!(query_param(Some("alt=sse"), "key"), None);
        assert_eq!(query_param(None, "key"), None);
        assert_eq!(query_param(Some("flag&x=1"), "flag").as_deref(), Some(""));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    #[test]
    fn gemini_errors_map_529() {
        let resp = error_response(Dialect::Gemini, 529, "mock error 529");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let resp = error_response(Dialect::Gemini, 429, "x");
        assert!(resp.headers().get(RETRY_AFTER).is_none());
        let resp = error_response(Dialect::Responses, 429, "x");
        assert!(resp.headers().get(RETRY_AFTER).is_some());
        assert_eq!(error_response(Dialect::Responses, 529, "x").status().as_u16(), 529);
    }
}
