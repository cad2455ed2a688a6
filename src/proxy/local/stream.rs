//! A client connection's socket as the gateway serves it: moved to the event loop of
//! the thread that serves it ([`on_this_thread`]), small writes gathered until a flush,
//! and handed over for its lingering close when dropped (see `closing`).

use super::closing::Handover;
use async_trait::async_trait;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream, TimingDigest,
    UniqueID, UniqueIDType,
};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Writes to a client are gathered up to this size, as Pingora's listener does, so a
/// small response's head and body leave in one system call.
const WRITE_BUFFER: usize = 1460;

/// The same connection, its socket registered with the current runtime (`Ok`), handed
/// over to `handover` when dropped. Anything that is not a plain TCP stream, or whose
/// socket cannot be duplicated, is returned unchanged (`Err`).
pub(super) fn on_this_thread(stream: Stream, handover: Option<Handover>) -> Result<Local, Stream> {
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
pub(super) struct Local {
    inner: L4Stream,
    buf: Vec<u8>,
    /// The next flush keeps the buffer (see [`defer_next_flush`]).
    defer_flush: AtomicBool,
    /// Where the socket goes when this is dropped (see [`super::closing`]).
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
    use super::super::closing::{self, Linger};
    use super::*;
    use pingora::ErrorType;
    use pingora_proxy::Session;
    use std::time::Duration;
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
