//! HTTP/2 connections: their streams accepted as Pingora's own server app accepts them
//! and each served by [`LocalConnections::serve_request`], with the limits an HTTP/2
//! client is held to.

use super::clock::ClientClock;
use super::LocalConnections;
use pingora::apps::HttpServerApp;
use pingora::protocols::http::v2::server::{self as h2_server, H2Accept, HttpSession as H2Session};
use pingora::protocols::http::ServerSession as HttpSession;
use pingora::protocols::{Digest, Stream};
use pingora::server::ShutdownWatch;
use pingora_proxy::{ProxyHttp, Session};
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// An HTTP/2 client is disconnected at this many requests Pingora refuses as malformed
/// (Pingora's limit). The h2 library resets the malformed requests it catches itself,
/// which are most, and closes the connection at the 1,025th.
const MAX_MALFORMED_H2_STREAMS: usize = 32;

/// How many bytes of request bodies an HTTP/2 client may send, on one stream and on the
/// whole connection, before the gateway has read them: the flow-control windows it
/// grants. With HTTP/2's default, 64 KiB, a client stops in the middle of an 80 KiB
/// request (Claude Code's requests are that size and larger) until the gateway's window
/// update comes back (`bench/optimisation.md`, "What mattered"). It is also what the
/// gateway may hold per connection of bodies not yet read.
const H2_WINDOW: u32 = 1 << 20;

/// How long an HTTP/2 client has to send its connection preface after the TLS handshake.
const H2_HANDSHAKE_SECS: u64 = 10;

/// How long the GOAWAY that closes an idle HTTP/2 connection is given to leave.
const H2_GOAWAY_SECS: u64 = 5;

impl<A, SV> LocalConnections<A, SV>
where
    A: HttpServerApp + Send + Sync + 'static,
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    /// The streams of one HTTP/2 connection until it closes, as Pingora's own server
    /// app accepts them: each request is served by [`LocalConnections::serve_request`] in
    /// a task of its own on this thread, and when the server begins shutting down the
    /// client is told (GOAWAY) and the streams already open are served to their end. A
    /// client that sends [`MAX_MALFORMED_H2_STREAMS`] malformed requests (each answered
    /// or reset by Pingora) loses the connection. A connection without an open stream
    /// for the client timeout (1 to 1.25 times it: see [`super::clock`]) is told GOAWAY
    /// and closed, as an idle HTTP/1 connection is closed. Every stream's writes (one
    /// stream event, or a whole answer that is not streamed, which a client that grants
    /// no flow-control window never takes), and the reads of its body
    /// (`proxy::read_body`), give up after the client timeout each, so a stalled client
    /// holds its streams, and then the connection, for a bounded time.
    pub(super) async fn serve_http2(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) {
        let digest = Arc::new(Digest {
            ssl_digest: stream.get_ssl_digest(),
            timing_digest: stream.get_timing_digest(),
            proxy_digest: stream.get_proxy_digest(),
            socket_digest: stream.get_socket_digest(),
        });
        let options = self.fallback.h2_options().unwrap_or_else(|| {
            let mut o = h2_server::default_h2_options();
            o.initial_window_size(H2_WINDOW).initial_connection_window_size(H2_WINDOW);
            o
        });
        let handshake = h2_server::handshake(stream, Some(options));
        let mut conn = match tokio::time::timeout(Duration::from_secs(H2_HANDSHAKE_SECS), handshake).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                log::debug!("HTTP/2 handshake failed: {e}");
                return;
            }
            Err(_) => {
                log::debug!("HTTP/2 handshake: no client preface in {H2_HANDSHAKE_SECS} s");
                return;
            }
        };
        let open = Arc::new(OpenStreams::default());
        let mut shutdown = shutdown.clone();
        let mut closing = false;
        let mut malformed = 0;
        loop {
            let accepted = tokio::select! {
                biased;
                _ = shutdown.changed(), if !closing => {
                    conn.graceful_shutdown();
                    closing = true;
                    continue;
                }
                accepted = H2Session::from_h2_conn(&mut conn, digest.clone()) => accepted,
                // A GOAWAY naming the last stream taken, then the connection closes: a
                // client that reads it before sending again knows its later requests were
                // not taken. Flushing it is given a few seconds (a vanished client's socket
                // may not take it). During shutdown, a connection closes so as soon as its
                // last stream has ended, whether or not its client answered the GOAWAY.
                () = open.idle(&self.clock) => {
                    conn.abrupt_shutdown(h2::Reason::NO_ERROR);
                    let close = H2Session::from_h2_conn(&mut conn, digest.clone());
                    let _ = tokio::time::timeout(Duration::from_secs(H2_GOAWAY_SECS), close).await;
                    return;
                }
            };
            match accepted {
                // Clients often close the socket without closing HTTP/2 first.
                Err(e) => {
                    log::debug!("HTTP/2 connection ended: {e}");
                    return;
                }
                Ok(None) => return,
                Ok(Some(H2Accept::Rejected)) => {
                    malformed += 1;
                    if malformed >= MAX_MALFORMED_H2_STREAMS {
                        log::warn!("closed an HTTP/2 connection after {malformed} malformed requests");
                        return;
                    }
                }
                Ok(Some(H2Accept::Session(h2))) => {
                    let this = Arc::clone(self);
                    let shutdown = shutdown.clone();
                    let guard = OpenStreams::guard(&open);
                    // Boxed: tokio moves a spawned future by value several times, and
                    // this one holds every phase of the request.
                    tokio::spawn(Box::pin(async move {
                        let _open = guard;
                        // Pingora's `Session` has no public constructor for HTTP/2: one is
                        // made around an empty stream, whose session is then replaced.
                        let mut session =
                            Session::new_h1_with_modules(Box::new(Cursor::new(Vec::new())), &this.modules);
                        *session.downstream_session = HttpSession::new_http2(h2);
                        // Also the limit on the body's reads (`proxy::next_chunk`).
                        session.downstream_session.set_write_timeout(Some(this.client_timeout));
                        this.serve_request(session, &shutdown).await;
                    }));
                }
            }
        }
    }
}

/// How long the rest of a refused request body is read for.
const REFUSED_BODY_SECS: u64 = 5;

/// Reads the rest of a request body the answer did not need (a request refused before
/// its body was read, by its access key for one), when the client can send it within
/// the flow-control window and a few seconds. Otherwise the stream is reset once the
/// answer has been sent (h2's `NO_ERROR` reset, as RFC 9113 allows), and some clients
/// report that reset instead of the answer: curl 7.88 fails with "Stream error in the
/// HTTP/2 framing layer" when the reset arrives before it has sent its whole body.
pub(super) async fn read_rest_of_refused_body(session: &mut Session) {
    if session.downstream_session.is_body_done() {
        return;
    }
    if crate::proxy::declared_length(session).is_none_or(|n| n > H2_WINDOW as usize) {
        return;
    }
    let downstream = &mut session.downstream_session;
    let drain = async {
        let mut seen = 0;
        while let Ok(Some(chunk)) = downstream.read_request_body().await {
            seen += chunk.len();
            if seen > H2_WINDOW as usize {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(REFUSED_BODY_SECS), drain).await;
}

/// The streams of one HTTP/2 connection being served.
#[derive(Default)]
struct OpenStreams {
    count: AtomicUsize,
    /// Notified when the count drops to zero.
    none: Notify,
}

/// One open stream of an [`OpenStreams`], counted until dropped.
struct OpenStream(Arc<OpenStreams>);

impl OpenStreams {
    fn guard(this: &Arc<Self>) -> OpenStream {
        this.count.fetch_add(1, Ordering::Relaxed);
        OpenStream(Arc::clone(this))
    }

    /// Resolves once no stream has been open for the client timeout, or when no stream
    /// is open and the server is shutting down. The caller drops this future when a
    /// stream is accepted. The clock's ticks measure the wait: a timer would be
    /// registered at the end of every stream of a client that sends one at a time.
    async fn idle(&self, clock: &ClientClock) {
        while self.count.load(Ordering::Acquire) > 0 {
            self.none.notified().await;
        }
        let since = clock.now();
        loop {
            let woken = clock.woken();
            if clock.expired(since) {
                return;
            }
            woken.await;
        }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `idle` resolves once the clock has ticked `ticks` times.
    async fn idle_after(
        idle: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
        clock: &ClientClock,
        ticks: u32,
    ) -> bool {
        for _ in 0..ticks {
            clock.tick();
        }
        tokio::time::timeout(Duration::from_millis(50), idle).await.is_ok()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_http2_connection_is_idle_only_a_full_limit_after_its_last_stream() {
        let clock = ClientClock::new(Duration::from_secs(60));
        let open = Arc::new(OpenStreams::default());
        let (first, second) = (OpenStreams::guard(&open), OpenStreams::guard(&open));
        let idle = open.idle(&clock);
        tokio::pin!(idle);
        assert!(!idle_after(&mut idle, &clock, 10).await, "idle with two streams open");
        drop(first);
        assert!(!idle_after(&mut idle, &clock, 10).await, "idle with one stream open");
        drop(second);
        assert!(!idle_after(&mut idle, &clock, 0).await, "idle as its last stream ended");
        assert!(!idle_after(&mut idle, &clock, 4).await, "idle four ticks after its last stream");
        assert!(idle_after(&mut idle, &clock, 1).await, "not idle five ticks after its last stream");

        // At shutdown, a connection without a stream is idle at once.
        let guard = OpenStreams::guard(&open);
        let idle = open.idle(&clock);
        tokio::pin!(idle);
        clock.shut_down();
        assert!(!idle_after(&mut idle, &clock, 0).await, "idle with a stream open at shutdown");
        drop(guard);
        assert!(idle_after(&mut idle, &clock, 0).await, "not idle without a stream at shutdown");
    }
}
