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
use pingora::protocols::{Stream, ALPN};
use pingora::server::ShutdownWatch;
use pingora::{Error, ErrorType};
use pingora_proxy::{ProxyHttp, Session};
use std::sync::Arc;
use std::time::Duration;

mod clock;
mod closing;
mod http2;
mod stream;

use clock::ClientClock;
pub use clock::ClientClockService;
pub use closing::open_connections;
use closing::Linger;
pub use stream::defer_next_flush;
use stream::on_this_thread;

/// The server is shutting down: no new connection is accepted, and an HTTP/1.1 answer
/// says `Connection: close` rather than keep-alive on a connection about to close.
static DRAINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// See [`DRAINING`].
pub fn draining() -> bool {
    DRAINING.load(std::sync::atomic::Ordering::Relaxed)
}

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
        let (handover, pending) = closing::handover();
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
        if let Some(closing) = pending.take() {
            closing.close(linger).await;
        }
        None
    }

    async fn cleanup(&self) {
        DRAINING.store(true, std::sync::atomic::Ordering::Relaxed);
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
