//! The load generator: HTTP/1.1 keep-alive connections (hyper's low-level client), each
//! running requests back to back, all on the bench's single-threaded runtime; over TLS
//! (rustls, the gateway's own TLS library) when the target has a connector, and then
//! HTTP/2 when the connector offers it by ALPN (one request at a time per connection).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use memchr::memmem;
use pingora_rustls::{ServerName, TlsConnector};
use tokio::net::TcpStream;

use crate::BenchError;

/// A keep-alive connection, HTTP/2 when the TLS handshake chose it.
pub enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    pub async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::Http1(s) => s.ready().await,
            Sender::Http2(s) => s.ready().await,
        }
    }

    pub async fn send_request(&mut self, req: Request<Full<Bytes>>) -> hyper::Result<Response<Incoming>> {
        match self {
            Sender::Http1(s) => s.send_request(req).await,
            Sender::Http2(s) => s.send_request(req).await,
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }
}

/// One kind of request sent to one address.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// HTTPS when set: the connector trusts the bench's throwaway CA.
    pub tls: Option<TlsConnector>,
    /// The path, or over HTTP/2 the whole URL (HTTP/2 sends the scheme and authority).
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Every request on a connection of its own, opened (TLS handshake included) inside
    /// the request's time.
    pub fresh: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("uri", &self.uri)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Target {
    pub fn new(
        addr: SocketAddr,
        tls: Option<TlsConnector>,
        path: &'static str,
        auth: (&'static str, String),
        body: Bytes,
    ) -> Target {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::try_from(addr.to_string()) {
            headers.insert(HOST, v);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        if let Ok(v) = HeaderValue::try_from(auth.1) {
            headers.insert(HeaderName::from_static(auth.0), v);
        }
        Target { addr, tls, uri: Uri::from_static(path), headers, body, fresh: false }
    }

    /// The same requests, each on a new connection (see [`Target::fresh`]).
    pub fn fresh(self) -> Target {
        Target { fresh: true, ..self }
    }

    /// The same requests over HTTP/2: `tls` must offer `h2` by ALPN. The URL is whole and
    /// the `host` header goes (its authority takes its place).
    pub fn over_http2(mut self, tls: TlsConnector) -> Result<Target, BenchError> {
        self.uri = Uri::try_from(format!("https://{}{}", self.addr, self.uri))?;
        self.headers.remove(HOST);
        self.tls = Some(tls);
        Ok(self)
    }

    /// A connection to the target; an error when it asked for HTTP/2 and the server chose
    /// HTTP/1.1, so that an HTTP/2 row never measures HTTP/1.1.
    pub async fn connect(&self) -> Result<Sender, BenchError> {
        let sender = connect(self.addr, self.tls.as_ref()).await?;
        if self.uri.scheme().is_some() && matches!(sender, Sender::Http1(_)) {
            return Err(format!("{} did not choose HTTP/2 by ALPN", self.addr).into());
        }
        Ok(sender)
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, BenchError> {
        let mut req =
            Request::builder().method(Method::POST).uri(self.uri.clone()).body(Full::new(self.body.clone()))?;
        *req.headers_mut() = self.headers.clone();
        Ok(req)
    }
}

/// How long a TLS handshake may take before the connection counts as failed.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// TLS handshakes made, and how many of them resumed a session.
pub static TLS_HANDSHAKES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// (handshakes, resumed) so far.
pub fn tls_handshakes() -> (u64, u64) {
    (TLS_HANDSHAKES[0].load(Ordering::Relaxed), TLS_HANDSHAKES[1].load(Ordering::Relaxed))
}

/// A keep-alive connection to `addr`, over TLS when `tls` is given (the certificate is
/// checked for the address's IP), HTTP/2 when the server chose it by ALPN.
pub async fn connect(addr: SocketAddr, tls: Option<&TlsConnector>) -> Result<Sender, BenchError> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let Some(tls) = tls else { return handshake(tcp).await };
    let connecting = tls.connect(ServerName::IpAddress(addr.ip().into()), tcp);
    let stream = tokio::time::timeout(TLS_HANDSHAKE, connecting)
        .await
        .map_err(|_| format!("TLS handshake with {addr}: no answer in {} s", TLS_HANDSHAKE.as_secs()))??;
    TLS_HANDSHAKES[0].fetch_add(1, Ordering::Relaxed);
    if stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
        TLS_HANDSHAKES[1].fetch_add(1, Ordering::Relaxed);
    }
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(Sender::Http2(sender));
    }
    handshake(stream).await
}

async fn handshake<S>(io: S) -> Result<Sender, BenchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Sender::Http1(sender))
}

/// Sends one request and drains the response: (status, body bytes, body if not 200).
async fn send(sender: &mut Sender, t: &Target) -> Result<(u16, usize, Option<Bytes>), BenchError> {
    sender.ready().await?;
    let resp = sender.send_request(t.request()?).await?;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let mut n = 0;
    let mut kept: Option<Bytes> = None;
    while let Some(frame) = body.frame().await {
        if let Ok(d) = frame?.into_data() {
            n += d.len();
            if status != 200 && kept.is_none() {
                kept = Some(d);
            }
        }
    }
    Ok((status, n, kept))
}

/// Requests, latencies and errors of one run.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latencies of successful requests, nanoseconds, sorted.
    pub lat_ns: Vec<u64>,
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub first_error: Option<String>,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }
}

struct WorkerOut {
    lat: Vec<u64>,
    ok: u64,
    errors: u64,
    last: Instant,
    first_error: Option<String>,
}

async fn worker(t: Arc<Target>, sender: Sender, deadline: Instant, limit: u64) -> WorkerOut {
    let mut out =
        WorkerOut { lat: Vec::with_capacity(4096), ok: 0, errors: 0, last: Instant::now(), first_error: None };
    let mut sender = Some(sender);
    while Instant::now() < deadline && out.ok + out.errors < limit {
        let started = Instant::now();
        if t.fresh {
            // The client closes the last one, as a client making one request does.
            sender = None;
        }
        let s = match sender.as_mut() {
            Some(s) if !s.is_closed() => s,
            _ => match t.connect().await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let t0 = if t.fresh { started } else { Instant::now() };
        match send(s, &t).await {
            Ok((200, _, _)) => {
                out.ok += 1;
                out.lat.push(t0.elapsed().as_nanos() as u64);
            }
            Ok((status, _, body)) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| {
                    let b = body.unwrap_or_default();
                    format!("HTTP {status}: {}", String::from_utf8_lossy(&b[..b.len().min(300)]))
                });
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| e.to_string());
                sender = None;
            }
        }
        out.last = Instant::now();
    }
    out
}

/// `conns` keep-alive connections, each sending requests back to back until `dur` has
/// passed or `limit` requests were sent in all (per connection: `limit / conns`).
/// Connections are opened before the clock starts.
pub async fn closed_loop(t: &Arc<Target>, conns: usize, dur: Duration, limit: Option<u64>) -> LoadResult {
    let open = Open::connect(t, conns).await;
    open.run(dur, limit).await
}

/// Connections opened for a [`closed_loop`] run, so that what opening them costs (TLS
/// handshakes) can be left out of a measurement.
pub struct Open {
    t: Arc<Target>,
    conns: usize,
    senders: Vec<Sender>,
    result: LoadResult,
}

impl Open {
    pub async fn connect(t: &Arc<Target>, conns: usize) -> Open {
        let mut result = LoadResult::default();
        let mut senders = Vec::with_capacity(conns);
        for _ in 0..conns {
            match t.connect().await {
                Ok(s) => senders.push(s),
                Err(e) => {
                    result.errors += 1;
                    result.first_error.get_or_insert_with(|| format!("connect: {e}"));
                }
            }
        }
        Open { t: t.clone(), conns, senders, result }
    }

    /// Runs requests on the open connections; see [`closed_loop`].
    pub async fn run(self, dur: Duration, limit: Option<u64>) -> LoadResult {
        let Open { t, conns, senders, mut result } = self;
        let per_conn = limit.map_or(u64::MAX, |l| l.div_ceil(conns.max(1) as u64));
        let start = Instant::now();
        let deadline = start + dur;
        let handles: Vec<_> =
            senders.into_iter().map(|s| tokio::spawn(worker(t.clone(), s, deadline, per_conn))).collect();
        let mut end = start;
        for h in handles {
            match h.await {
                Ok(w) => {
                    result.lat_ns.extend(w.lat);
                    result.ok += w.ok;
                    result.errors += w.errors;
                    end = end.max(w.last);
                    if result.first_error.is_none() {
                        result.first_error = w.first_error;
                    }
                }
                Err(e) => {
                    result.errors += 1;
                    result.first_error.get_or_insert_with(|| format!("worker: {e}"));
                }
            }
        }
        result.elapsed = end - start;
        result.lat_ns.sort_unstable();
        result
    }
}

/// What one streamed response looked like to the client.
#[derive(Debug, Clone, Default)]
pub struct StreamOut {
    pub status: u16,
    /// Until the response head.
    pub ttfb_ns: u64,
    /// Until the first text token (`w0 `).
    pub ttft_ns: Option<u64>,
    /// Gaps between the arrivals of consecutive tokens.
    pub gaps_ns: Vec<u64>,
    /// SSE frames received (blank-line separated).
    pub frames: u64,
    pub tokens: u32,
    pub terminated: bool,
    pub stalled: bool,
    pub error: Option<String>,
    pub total_ns: u64,
}

impl StreamOut {
    /// Every token and the terminator arrived.
    pub fn complete(&self, n_tokens: u32) -> bool {
        self.status == 200 && self.terminated && self.tokens == n_tokens && self.error.is_none()
    }
}

/// Incremental scan of an SSE body for the mock's `[[long:N]]` tokens (`w0 `, `w1 `,
/// ...), frame separators and the terminator, tolerant of any chunking.
struct Scanner {
    tail: Vec<u8>,
    next: u32,
    pat: Vec<u8>,
    terminator: &'static [u8],
    terminated: bool,
    frames: u64,
    last_nl: bool,
}

impl Scanner {
    fn new(terminator: &'static [u8]) -> Scanner {
        Scanner {
            tail: Vec::new(),
            next: 0,
            pat: b"w0 ".to_vec(),
            terminator,
            terminated: false,
            frames: 0,
            last_nl: false,
        }
    }

    /// Returns how many new tokens the chunk completed.
    fn push(&mut self, chunk: &[u8]) -> u32 {
        for &b in chunk {
            if b == b'\n' {
                if self.last_nl {
                    self.frames += 1;
                    self.last_nl = false;
                } else {
                    self.last_nl = true;
                }
            } else if b != b'\r' {
                self.last_nl = false;
            }
        }
        let mut scan = std::mem::take(&mut self.tail);
        scan.extend_from_slice(chunk);
        let mut from = 0;
        let mut found = 0;
        while let Some(pos) = memmem::find(&scan[from..], &self.pat) {
            from += pos + self.pat.len();
            found += 1;
            self.next += 1;
            self.pat = format!("w{} ", self.next).into_bytes();
        }
        if !self.terminated && memmem::find(&scan, self.terminator).is_some() {
            self.terminated = true;
        }
        let keep = scan.len().min(64);
        self.tail = scan.split_off(scan.len() - keep);
        found
    }
}

/// Sends one streaming request and reads it to the end. A stream that receives
/// nothing for `stall` is given up as stalled.
pub async fn stream_one(
    sender: &mut Sender,
    t: &Target,
    terminator: &'static [u8],
    stall: Duration,
    on_head: Option<&Active>,
) -> StreamOut {
    let mut out = StreamOut::default();
    let t0 = Instant::now();
    let resp = async {
        sender.ready().await?;
        let req = t.request()?;
        Ok::<_, BenchError>(sender.send_request(req).await?)
    };
    let resp = match tokio::time::timeout(stall, resp).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            out.error = Some(e.to_string());
            return out;
        }
        Err(_) => {
            out.stalled = true;
            out.error = Some("no response head".into());
            return out;
        }
    };
    out.status = resp.status().as_u16();
    out.ttfb_ns = t0.elapsed().as_nanos() as u64;
    let _guard = on_head.map(Active::enter);
    let mut body = resp.into_body();
    let mut scanner = Scanner::new(terminator);
    let mut last_token: Option<Instant> = None;
    let mut err_body = Vec::new();
    loop {
        match tokio::time::timeout(stall, body.frame()).await {
            Err(_) => {
                out.stalled = true;
                out.error = Some(format!("stalled after {} tokens", scanner.next));
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                out.error = Some(format!("body: {e}"));
                break;
            }
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else { continue };
                let now = Instant::now();
                if out.status != 200 && err_body.len() < 300 {
                    err_body.extend_from_slice(&data);
                }
                let new = scanner.push(&data);
                if new > 0 {
                    match last_token {
                        None => out.ttft_ns = Some((now - t0).as_nanos() as u64),
                        Some(prev) => out.gaps_ns.push((now - prev).as_nanos() as u64),
                    }
                    last_token = Some(now);
                }
            }
        }
    }
    out.total_ns = t0.elapsed().as_nanos() as u64;
    out.frames = scanner.frames;
    out.tokens = scanner.next;
    out.terminated = scanner.terminated;
    if out.status != 200 && out.error.is_none() {
        out.error = Some(format!("HTTP {}: {}", out.status, String::from_utf8_lossy(&err_body)));
    }
    out
}

/// Counts streams between their response head and their end; remembers the peak.
#[derive(Debug, Default)]
pub struct Active {
    now: AtomicUsize,
    peak: AtomicUsize,
}

pub struct ActiveGuard<'a>(&'a Active);

impl Active {
    fn enter(&self) -> ActiveGuard<'_> {
        let n = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(n, Ordering::Relaxed);
        ActiveGuard(self)
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A one-off request on a fresh connection: (status, body).
pub async fn simple(
    addr: SocketAddr,
    tls: Option<&TlsConnector>,
    method: Method,
    path: &str,
) -> Result<(u16, Bytes), BenchError> {
    let fut = async {
        let mut s = connect(addr, tls).await?;
        let mut req = Request::builder().method(method).uri(path).body(Full::new(Bytes::new()))?;
        if let Ok(v) = HeaderValue::try_from(addr.to_string()) {
            req.headers_mut().insert(HOST, v);
        }
        s.ready().await?;
        let resp = s.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, BenchError>((status, body))
    };
    tokio::time::timeout(Duration::from_secs(5), fut).await.map_err(|_| format!("{path}: timed out"))?
}

/// Sends `t` once on a fresh connection and returns (status, whole body).
pub async fn fetch(t: &Target) -> Result<(u16, Bytes), BenchError> {
    let fut = async {
        let mut s = t.connect().await?;
        s.ready().await?;
        let resp = s.send_request(t.request()?).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, BenchError>((status, body))
    };
    tokio::time::timeout(Duration::from_secs(30), fut).await.map_err(|_| "request timed out")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http2_target_sends_the_whole_url_and_no_host_header() {
        pingora_rustls::install_default_crypto_provider();
        let config = pingora_rustls::ClientConfig::builder()
            .with_root_certificates(pingora_rustls::RootCertStore::empty())
            .with_no_client_auth();
        let addr = SocketAddr::from(([127, 0, 0, 1], 8443));
        let auth = ("x-api-key", "k".to_string());
        let h1 = Target::new(addr, None, "/v1/messages", auth, Bytes::from_static(b"{}"));
        let req = h1.request().unwrap();
        assert_eq!(req.uri(), "/v1/messages");
        assert_eq!(req.headers()[HOST], "127.0.0.1:8443");

        let h2 = h1.over_http2(TlsConnector::from(Arc::new(config))).unwrap();
        let req = h2.request().unwrap();
        assert_eq!(req.uri(), "https://127.0.0.1:8443/v1/messages");
        assert!(!req.headers().contains_key(HOST));
        assert_eq!(req.headers()["x-api-key"], "k");
        assert!(h2.tls.is_some());
    }

    #[test]
    fn scanner_any_chunking() {
        let body = b"event: a\ndata: {\"text\":\"w0 \"}\n\nevent: a\ndata: {\"text\":\"w1 \"}\n\ndata: {\"text\":\"w10 \"}\n\nevent: message_stop\ndata: {}\n\n";
        for split in 1..body.len() {
            let mut s = Scanner::new(b"event: message_stop");
            let n = s.push(&body[..split]) + s.push(&body[split..]);
            assert_eq!(n, 2, "split {split}");
            assert_eq!(s.frames, 4);
            assert!(s.terminated);
        }
    }
}
