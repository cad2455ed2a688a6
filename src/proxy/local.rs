//! Client connections: served by the thread that watches their socket, their HTTP/1
//! and HTTP/2 requests taken through the gateway's `ProxyHttp` phases without Pingora's
//! proxy app.
//!
//! Each worker thread runs its own runtime (see `main`). Pingora accepts every
//! connection on one of them, which registers the socket with its own event loop, and
//! hands the connection to a runtime picked at random. Half the connections were then
//! watched by one thread and served by the other: every readiness event woke the
//! watching thread, which woke the serving one (an eventfd write and, when idle, two
//! wake-ups in a row instead of one). [`LocalConnections`] moves a client socket to the
//! serving thread's event loop before anything is read from it. With `server.tls` the
//! listeners are plain TCP and the TLS handshake is made here, after the move: Pingora's
//! listener would have made it before, on a socket still watched by the accepting
//! thread.
//!
//! Every request is answered in `request_filter`, so of the phases Pingora's proxy app
//! drives, only reading the request, the downstream modules, `request_filter`,
//! `logging` and the error answer run. [`LocalConnections::serve_request`] runs just
//! those. Pingora's app runs them inside one future that also holds every phase of a
//! proxied request (caching, the upstream exchange, retries): about 14 KB, allocated
//! and copied for each request (the copy alone 2–3% of a small request's CPU). HTTP/2
//! streams are accepted as Pingora's app accepts them and served the same way, each in
//! a task of its own (see [`LocalConnections::serve_http2`]). Only h2c (HTTP/2 without
//! TLS, which the gateway does not turn on) and custom protocols go to Pingora's app.

use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream, ServerApp};
use pingora::listeners::tls::Acceptor;
use pingora::modules::http::HttpModules;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream, TimingDigest,
    UniqueID, UniqueIDType, ALPN,
};
use pingora::server::ShutdownWatch;
use pingora::{Error, ErrorType};
use pingora_proxy::{ProxyHttp, Session};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

mod clock;
mod closing;
mod http2;

use clock::ClientClock;
pub use clock::ClientClockService;
pub use closing::open_connections;
use closing::{Handover, Linger};

/// Writes to a client are gathered up to this size, as Pingora's listener does, so a
/// small response's head and body leave in one system call.
const WRITE_BUFFER: usize = 1460;

/// How long a client has to complete its TLS handshake (Pingora's listener's limit).
const TLS_HANDSHAKE_SECS: u64 = 60;

/// The gateway's server app. Client connections are first moved to the event loop of
/// the thread that serves them, then taken through the TLS handshake when the listeners
/// serve HTTPS; their HTTP/1 requests and HTTP/2 streams are then served by
/// [`LocalConnections::serve_request`], which runs the `ProxyHttp` phases the gateway
/// implements. h2c and custom protocols are handed to Pingora's proxy app.
pub struct LocalConnections<A, SV> {
    fallback: Arc<A>,
    app: SV,
    modules: HttpModules,
    /// Set when the listeners serve HTTPS: the handshake is made here.
    tls: Option<Acceptor>,
    /// Limits the wait for a request head to `client_timeout`, and ends it when the
    /// server begins shutting down.
    clock: Arc<ClientClock>,
    /// `server.client_timeout_secs`: how long a client may keep a connection idle between
    /// requests, and how long each read of a request and each write of its answer may
    /// wait for it.
    client_timeout: Duration,
}

impl<A, SV: ProxyHttp> LocalConnections<A, SV> {
    /// `fallback` is Pingora's proxy app around another instance of `app`; `tls`, when
    /// the listeners serve HTTPS; `client_timeout`, `server.client_timeout_secs`.
    pub fn new(fallback: Arc<A>, app: SV, tls: Option<Acceptor>, client_timeout: Duration) -> Self {
        let mut modules = HttpModules::new();
        app.init_downstream_modules(&mut modules);
        LocalConnections {
            fallback,
            app,
            modules,
            tls,
            clock: Arc::new(ClientClock::new(client_timeout)),
            client_timeout,
        }
    }

    /// The background service that ticks the clock limiting the wait for a request head;
    /// the server runs it beside this app.
    pub fn client_clock(&self) -> ClientClockService {
        ClientClockService(Arc::clone(&self.clock))
    }
}

#[async_trait]
impl<A, SV> ServerApp for LocalConnections<A, SV>
where
    A: HttpServerApp + Send + Sync + 'static,
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    async fn process_new(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let _open = closing::Open::count();
        if self.fallback.server_options().is_some_and(|o| o.h2c || o.force_custom) {
            let stream = on_this_thread(stream, None).map_or_else(|s| s, |local| Box::new(local) as Stream);
            return self.fallback.process_new(stream, shutdown).await;
        }
        let (handover, closing) = closing::handover();
        let stream = match (on_this_thread(stream, Some(handover)), &self.tls) {
            (Ok(local), None) => Box::new(local),
            (Err(other), None) => other,
            (Ok(local), Some(acceptor)) => tls_handshake(acceptor, local).await?,
            // Not moved (the descriptor could not be duplicated): served where it is.
            (Err(other), Some(acceptor)) => {
                let Some(l4) = other.into_any().downcast::<L4Stream>().ok() else {
                    log::warn!("a client connection of an unknown kind was closed before its TLS handshake");
                    return None;
                };
                tls_handshake(acceptor, *l4).await?
            }
        };
        // TLS: HTTP/2 and custom protocols were chosen by ALPN in the handshake.
        let linger = match stream.selected_alpn_proto() {
            // Boxed: a connection's future lives as long as the connection, and the
            // HTTP/2 state would otherwise be part of every HTTP/1 connection's too.
            Some(ALPN::H2) => {
                Box::pin(self.serve_http2(stream, shutdown)).await;
                Linger::UntilClientCloses
            }
            Some(ALPN::Custom(_)) => return self.fallback.process_new(stream, shutdown).await,
            _ => self.serve_http1(stream, shutdown).await,
        };
        // The stream has been dropped: its socket was handed over.
        if let Some(closing) = closing.take() {
            closing.close(linger).await;
        }
        None
    }

    async fn cleanup(&self) {
        self.clock.shut_down();
        self.fallback.cleanup().await;
    }
}

impl<A, SV> LocalConnections<A, SV>
where
    A: HttpServerApp + Send + Sync + 'static,
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    /// HTTP/1 requests on one connection until it closes, as Pingora's own server app
    /// serves them: keep-alive between requests unless the server is shutting down, and
    /// the reuse settings carried from one request to the next. The client timeout
    /// limits the wait for each request head ([`LocalConnections::next_head`]; Pingora's
    /// session has no limit once it has read a head that does not ask to close) and each
    /// read and write of a request: Pingora puts no limit on writes, so a client that
    /// stopped reading a stream held it, and its upstream connection, until it went away.
    /// Returns how the closed connection lingers: until its client closes too when the
    /// gateway ended it after a request it did not read whole (a body it refused, a
    /// malformed head, a `CONNECT`: the client may still be sending), otherwise only if
    /// the client's bytes are waiting.
    async fn serve_http1(&self, stream: Stream, shutdown: &ShutdownWatch) -> Linger {
        let mut session = self.h1_session(stream);
        // Unlimited for Pingora (its limit is a timer per request); see `next_head`.
        session.set_keepalive(if *shutdown.borrow() { None } else { Some(0) });
        session.set_keepalive_reuses_remaining(self.fallback.server_options().and_then(|o| o.keepalive_request_limit));
        loop {
            let read = match self.next_head(&mut session).await {
                None | Some(Ok(false)) => return Linger::IfUnread,
                Some(read) => read,
            };
            let (stream, settings) = match self.serve_head(session, read, shutdown).await {
                Ok(reused) => reused.consume(),
                Err(linger) => return linger,
            };
            session = self.h1_session(stream);
            if let Some(settings) = settings {
                settings.apply_to_session(&mut session.downstream_session);
            }
        }
    }

    /// A session for the next HTTP/1 request on `stream`, its reads and writes limited to
    /// the client timeout.
    fn h1_session(&self, stream: Stream) -> Session {
        let mut session = Session::new_h1_with_modules(stream, &self.modules);
        session.downstream_session.set_read_timeout(Some(self.client_timeout));
        session.downstream_session.set_write_timeout(Some(self.client_timeout));
        session
    }

    /// One request, through the phases Pingora's proxy app runs for a request answered
    /// in `request_filter`: read the head (a malformed one gets 400, `CONNECT` 405),
    /// the downstream modules' request filter, `request_filter`, `logging`, then finish
    /// the response and hand back the connection if it can be reused. An error from a
    /// phase is answered by `fail_to_proxy` and logged as Pingora's app logs it.
    /// `request_filter` must answer every request: one it leaves unanswered gets a 500.
    /// `early_request_filter` and the phases of a proxied request are not run.
    async fn serve_request(&self, mut session: Session, shutdown: &ShutdownWatch) {
        if let Some(read) = self.next_head(&mut session).await {
            let _ = self.serve_head(session, read, shutdown).await;
        }
    }

    /// [`LocalConnections::serve_request`] once the head has been read (`read`). When
    /// the connection cannot be reused, how it lingers once closed: until the client
    /// closes when the request's body was not all read (it may still be coming).
    async fn serve_head(
        &self,
        mut session: Session,
        read: pingora::Result<bool>,
        shutdown: &ShutdownWatch,
    ) -> Result<ReusedHttpStream, Linger> {
        match read {
            Ok(true) => {}
            Ok(false) => return Err(Linger::IfUnread),
            Err(mut e) => {
                e.as_down();
                if matches!(e.etype, ErrorType::InvalidHTTPHeader) {
                    log::debug!("bad request head: {e}");
                    if let Err(e) = session.downstream_session.respond_error(400).await {
                        log::debug!("failed to answer a bad request: {e}");
                    }
                } else {
                    log::warn!("client connection failed before a request head was read: {e}");
                }
                session.downstream_session.shutdown().await;
                return Err(Linger::UntilClientCloses);
            }
        }
        let connect_allowed = self.fallback.server_options().is_some_and(|o| o.allow_connect_method_proxying);
        if session.req_header().method == http::Method::CONNECT && !connect_allowed {
            if let Err(e) = session.downstream_session.respond_error(405).await {
                log::debug!("failed to answer a CONNECT request: {e}");
            }
            session.downstream_session.shutdown().await;
            return Err(Linger::UntilClientCloses);
        }
        if *shutdown.borrow() {
            session.set_keepalive(None);
        }

        let mut ctx = self.app.new_ctx();
        let req = session.downstream_session.req_header_mut();
        if let Err(e) = session.downstream_modules_ctx.request_header_filter(req).await {
            return self.fail(session, &mut ctx, e, "Failed in downstream modules request filter:").await;
        }
        match self.app.request_filter(&mut session, &mut ctx).await {
            Ok(true) => {}
            Ok(false) => {
                let e = Error::explain(ErrorType::InternalError, "request_filter did not answer the request");
                return self.fail(session, &mut ctx, e, "Fail to filter request:").await;
            }
            Err(e) => return self.fail(session, &mut ctx, e, "Fail to filter request:").await,
        }
        self.app.logging(&mut session, None, &mut ctx).await;
        // Answered and logged: the request no longer counts as in flight.
        drop(ctx);
        let stalled = session.response_written().is_some_and(|r| r.status == http::StatusCode::REQUEST_TIMEOUT);
        if session.downstream_session.is_http2() && !stalled {
            http2::read_rest_of_refused_body(&mut session).await;
        }
        self.finish(session).await
    }

    /// An error from a phase: answered (if nothing was sent yet) and logged, as
    /// Pingora's proxy app handles it.
    async fn fail(
        &self,
        mut session: Session,
        ctx: &mut SV::CTX,
        e: Box<Error>,
        context: &str,
    ) -> Result<ReusedHttpStream, Linger> {
        let res = self.app.fail_to_proxy(&mut session, &e, ctx).await;
        if !self.app.suppress_error_log(&session, ctx, &e) {
            log::error!("{context} {e}, status: {}, {}", res.error_code, self.app.request_summary(&session, ctx));
        }
        self.app.logging(&mut session, Some(&e), ctx).await;
        session.downstream_session.on_proxy_failure(e);
        if !res.can_reuse_downstream {
            return Err(linger_after(&mut session));
        }
        self.finish(session).await
    }

    /// Ends the response; the connection, with its keep-alive settings, when it can be
    /// reused. Ending the response, a flush Pingora does not limit, and reading what is
    /// left of the request body are given the client timeout.
    async fn finish(&self, mut session: Session) -> Result<ReusedHttpStream, Linger> {
        let settings = HttpPersistentSettings::for_session(&session.downstream_session);
        let linger = linger_after(&mut session);
        // Pinned in place, so that the timeout holds a pointer to it, not a copy.
        let finish = session.downstream_session.finish();
        tokio::pin!(finish);
        let finished = pingora_timeout::timeout(self.client_timeout, finish).await;
        let reusable = finished.ok().and_then(|f| f.ok().flatten()).ok_or(linger)?;
        Ok(ReusedHttpStream::from_reusable_stream(reusable, settings))
    }

    /// The request head, or `None` when the connection closes first: the server began
    /// shutting down, or the head did not come, whole, within the client timeout (see
    /// [`clock`]). An HTTP/2 request head has been read already: the read is ready at
    /// once, and polled first, so every stream accepted is served, during shutdown too.
    async fn next_head(&self, session: &mut Session) -> Option<pingora::Result<bool>> {
        let since = self.clock.now();
        let read = session.downstream_session.read_request();
        tokio::pin!(read);
        loop {
            // Registered before the check, so a tick or shutdown between the two wakes it.
            let woken = self.clock.woken();
            let over = self.clock.expired(since);
            tokio::select! {
                biased;
                read = &mut read => return Some(read),
                () = woken, if !over => {}
                () = std::future::ready(()), if over => return None,
            }
        }
    }
}

/// How a connection ended after `session`'s request lingers: until the client closes
/// when the request's body was not all read (the client may still be sending it).
fn linger_after(session: &mut Session) -> Linger {
    if session.downstream_session.is_body_done() {
        Linger::IfUnread
    } else {
        Linger::UntilClientCloses
    }
}

/// The client's TLS handshake on `stream`; `None`, logged, when it fails or times out.
async fn tls_handshake<S: pingora::protocols::IO + 'static>(acceptor: &Acceptor, stream: S) -> Option<Stream> {
    let peer = stream.get_socket_digest().and_then(|d| d.peer_addr().map(ToString::to_string));
    let peer = peer.unwrap_or_else(|| "a client".to_string());
    let limit = Duration::from_secs(TLS_HANDSHAKE_SECS);
    match tokio::time::timeout(limit, acceptor.tls_handshake(stream)).await {
        Ok(Ok(tls)) => Some(Box::new(tls)),
        Ok(Err(e)) => {
            log::warn!("TLS handshake with {peer} failed: {e}");
            None
        }
        Err(_) => {
            log::warn!("TLS handshake with {peer}: no handshake in {TLS_HANDSHAKE_SECS} s");
            None
        }
    }
}

/// The same connection, its socket registered with the current runtime (`Ok`), handed
/// over to `handover` when dropped. Anything that is not a plain TCP stream, or whose
/// socket cannot be duplicated, is returned unchanged (`Err`).
fn on_this_thread(stream: Stream, handover: Option<Handover>) -> Result<Local, Stream> {
    if stream.get_ssl().is_some() || !stream.as_any().is::<L4Stream>() {
        return Err(stream);
    }
    let fd = stream.id();
    // SAFETY: `fd` is the socket of `stream`, which is alive for this whole function.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(owned) = borrowed.try_clone_to_owned() else {
        return Err(stream);
    };
    let std_stream = std::net::TcpStream::from(owned);
    let Ok(tokio_stream) = tokio::net::TcpStream::from_std(std_stream) else {
        return Err(stream);
    };
    let mut moved = L4Stream::from(tokio_stream);
    moved.set_socket_digest(SocketDigest::from_raw_fd(moved.as_raw_fd()));
    // Dropping the original takes the socket out of the other event loop and closes
    // its descriptor; the duplicate keeps the connection open.
    drop(stream);
    Ok(Local { inner: moved, buf: Vec::new(), defer_flush: AtomicBool::new(false), handover })
}

/// Asks the client connection of `session` to let its next flush keep the gathered
/// bytes for the write that follows at once. Pingora flushes a response head without
/// `content-length` on its own; a stream's head then leaves together with its first
/// events, and its last events with the end of the body: one system call (and one
/// wake-up of the client) instead of two. No effect on TLS connections, whose stream is
/// the TLS layer's, nor on HTTP/2.
pub fn defer_next_flush(session: &pingora_proxy::Session) {
    if let Some(stream) = session.stream() {
        defer_flush_of(stream);
    }
}

fn defer_flush_of(stream: &Stream) {
    if let Some(local) = stream.as_any().downcast_ref::<Local>() {
        local.defer_flush.store(true, Ordering::Relaxed);
    }
}

/// A client connection on this thread's event loop. Small writes are gathered until
/// a flush; the buffer is allocated by the first of them and freed by the flush, so
/// a connection waiting for its next request or stream event holds none.
struct Local {
    inner: L4Stream,
    buf: Vec<u8>,
    /// The next flush keeps the buffer (see [`defer_next_flush`]).
    defer_flush: AtomicBool,
    /// Where the socket goes when this is dropped (see [`closing`]).
    handover: Option<Handover>,
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(handover) = self.handover.take() {
            // SAFETY: `inner` owns this descriptor and is alive until after this call.
            handover.hand_over(unsafe { BorrowedFd::borrow_raw(self.inner.as_raw_fd()) });
        }
    }
}

/// The gathered bytes are response data: only their count is shown.
impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("inner", &self.inner).field("buffered", &self.buf.len()).finish()
    }
}

impl Local {
    /// Writes out the gathered bytes; the buffer is released once they are all out.
    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut written = 0;
        while written < self.buf.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf[written..]) {
                Poll::Ready(Ok(0)) => {
                    self.buf.drain(..written);
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) => {
                    self.buf.drain(..written);
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    self.buf.drain(..written);
                    return Poll::Pending;
                }
            }
        }
        self.buf = Vec::new();
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Local {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Local {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() + data.len() > WRITE_BUFFER {
            std::task::ready!(this.poll_write_buf(cx))?;
        }
        if data.len() >= WRITE_BUFFER {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        if this.buf.capacity() == 0 {
            this.buf.reserve_exact(WRITE_BUFFER);
        }
        this.buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.defer_flush.swap(false, Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(this.poll_write_buf(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_write_buf(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for Local {
    async fn shutdown(&mut self) {
        let _ = tokio::io::AsyncWriteExt::shutdown(self).await;
    }
}

impl UniqueID for Local {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Local {}

impl GetTimingDigest for Local {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }
}

impl GetProxyDigest for Local {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }
}

impl GetSocketDigest for Local {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest);
    }
}

#[async_trait]
impl Peek for Local {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client connection as the listener hands it over, moved onto this runtime, and
    /// the peer that reads what it writes.
    async fn moved_pair() -> (Stream, tokio::net::TcpStream) {
        moved_pair_handing_over(None).await
    }

    async fn moved_pair_handing_over(handover: Option<Handover>) -> (Stream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let stream: Stream = Box::new(L4Stream::from(accepted));
        let local: Stream = Box::new(on_this_thread(stream, handover).unwrap());
        (local, peer)
    }

    async fn read_within(peer: &mut tokio::net::TcpStream, n: usize, wait: Duration) -> Option<Vec<u8>> {
        let mut got = vec![0; n];
        tokio::time::timeout(wait, peer.read_exact(&mut got)).await.ok()?.ok()?;
        Some(got)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_deferred_flush_keeps_the_bytes_for_the_next_one() {
        let (mut local, mut peer) = moved_pair().await;
        local.write_all(b"head;").await.unwrap();
        defer_flush_of(&local);
        local.flush().await.unwrap();
        assert_eq!(read_within(&mut peer, 1, Duration::from_millis(100)).await, None, "the head left alone");

        local.write_all(b"event;").await.unwrap();
        local.flush().await.unwrap();
        assert_eq!(read_within(&mut peer, 11, Duration::from_secs(5)).await.as_deref(), Some(&b"head;event;"[..]));

        // Only the next flush is deferred.
        local.write_all(b"end").await.unwrap();
        local.flush().await.unwrap();
        assert_eq!(read_within(&mut peer, 3, Duration::from_secs(5)).await.as_deref(), Some(&b"end"[..]));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_dropped_connection_hands_its_socket_over_and_lingers_while_the_client_sends() {
        let (handover, pending) = closing::handover();
        let (local, mut peer) = moved_pair_handing_over(Some(handover)).await;
        peer.write_all(b"unread").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(local);
        let closing = pending.take().expect("no socket handed over");
        let linger = tokio::spawn(closing.close(Linger::IfUnread));
        // The gateway's side ends cleanly, and what the client still sends is taken.
        let mut buf = [0u8; 16];
        let end = tokio::time::timeout(Duration::from_secs(5), peer.read(&mut buf)).await.unwrap();
        assert_eq!(end.unwrap(), 0);
        peer.write_all(&[0u8; 64 * 1024]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!linger.is_finished(), "stopped lingering while the client was still there");
        drop(peer);
        tokio::time::timeout(Duration::from_secs(1), linger)
            .await
            .expect("still lingering after the client closed")
            .unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_with_nothing_waiting_closes_at_once() {
        let (handover, pending) = closing::handover();
        let (local, mut peer) = moved_pair_handing_over(Some(handover)).await;
        drop(local);
        let closing = pending.take().expect("no socket handed over");
        tokio::time::timeout(Duration::from_millis(100), closing.close(Linger::IfUnread)).await.expect("lingered");
        let mut buf = [0u8; 16];
        let end = tokio::time::timeout(Duration::from_secs(5), peer.read(&mut buf)).await.unwrap();
        assert_eq!(end.unwrap(), 0);
    }

    /// The last events of a stream wait in the connection's write buffer for the flush
    /// that ends the body (`relay::respond::end_body`); when the client takes nothing
    /// (its socket is full), that flush gives up after the write limit. Pingora limits
    /// each write of a body, not the end of one: without the limit this waits for good.
    #[tokio::test(flavor = "current_thread")]
    async fn the_end_of_a_stream_the_client_does_not_take_fails_after_the_write_limit() {
        let (local, mut peer) = moved_pair().await;
        peer.write_all(b"POST /v1/messages HTTP/1.1\r\nhost: relay\r\ncontent-length: 0\r\n\r\n").await.unwrap();
        // Fill the socket from the gateway's side; the peer reads nothing.
        // SAFETY: `local` owns this descriptor and is alive for the borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(local.id()) }.try_clone_to_owned().unwrap();
        let mut filler = std::net::TcpStream::from(fd);
        let chunk = [b'x'; 64 * 1024];
        loop {
            match std::io::Write::write(&mut filler, &chunk) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let mut session = Session::new_h1(local);
        session.downstream_session.set_write_timeout(Some(Duration::from_millis(200)));
        assert!(session.downstream_session.read_request().await.unwrap());
        // As the stream pump writes: the head leaves with the first events, the last
        // events with the end of the body.
        let mut head = pingora_http::ResponseHeader::build(200, None).unwrap();
        head.insert_header("content-type", "text/event-stream").unwrap();
        defer_next_flush(&session);
        session.write_response_header(Box::new(head), false).await.unwrap();
        defer_next_flush(&session);
        let event = bytes::Bytes::from_static(b"event: message_stop\ndata: {}\n\n");
        session.write_response_body(Some(event), false).await.unwrap();
        let started = std::time::Instant::now();
        let end = crate::relay::respond::end_body(&mut session, None);
        let ended = tokio::time::timeout(Duration::from_secs(5), end).await.expect("the end of the stream waited");
        let e = ended.expect_err("ended on a full socket");
        assert_eq!(e.etype, ErrorType::WriteTimedout, "{e}");
        assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn shutting_down_writes_what_a_deferred_flush_kept() {
        let (mut local, mut peer) = moved_pair().await;
        local.write_all(b"last").await.unwrap();
        defer_flush_of(&local);
        local.flush().await.unwrap();
        local.shutdown().await.unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), peer.read_to_end(&mut rest)).await.unwrap().unwrap();
        assert_eq!(rest, b"last");
    }
}
