//! Client connections served by the thread that watches their socket.
//!
//! Each worker thread runs its own runtime (see `main`). Pingora accepts every
//! connection on one of them, which registers the socket with its own event loop, and
//! hands the connection to a runtime picked at random. Half the connections were then
//! watched by one thread and served by the other: every readiness event woke the
//! watching thread, which woke the serving one (an eventfd write and, when idle, two
//! wake-ups in a row instead of one). [`LocalConnections`] moves a plain-TCP client
//! socket to the serving thread's event loop before the first request is read; TLS
//! connections (already past their handshake) are served as they come.

use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream, TimingDigest,
    UniqueID, UniqueIDType,
};
use pingora::server::ShutdownWatch;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, BufWriter, ReadBuf};

/// Writes to a client are gathered up to this size, as Pingora's listener does, so a
/// small response's head and body leave in one system call.
const WRITE_BUFFER: usize = 1460;

/// A Pingora server app whose plain-TCP connections are first moved to the event loop
/// of the thread that serves them.
pub struct LocalConnections<A>(pub Arc<A>);

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServerApp for LocalConnections<A> {
    async fn process_new(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        self.0.process_new(on_this_thread(stream), shutdown).await
    }

    async fn cleanup(&self) {
        self.0.cleanup().await;
    }
}

/// The same connection, its socket registered with the current runtime. Anything
/// that is not a plain TCP stream, or whose socket cannot be duplicated, is returned
/// unchanged.
fn on_this_thread(stream: Stream) -> Stream {
    if stream.get_ssl().is_some() || !stream.as_any().is::<L4Stream>() {
        return stream;
    }
    let fd = stream.id();
    // SAFETY: `fd` is the socket of `stream`, which is alive for this whole function.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(owned) = borrowed.try_clone_to_owned() else {
        return stream;
    };
    let std_stream = std::net::TcpStream::from(owned);
    let Ok(tokio_stream) = tokio::net::TcpStream::from_std(std_stream) else {
        return stream;
    };
    let mut moved = L4Stream::from(tokio_stream);
    moved.set_socket_digest(SocketDigest::from_raw_fd(moved.as_raw_fd()));
    // Dropping the original takes the socket out of the other event loop and closes
    // its descriptor; the duplicate keeps the connection open.
    drop(stream);
    Box::new(Local(BufWriter::with_capacity(WRITE_BUFFER, moved)))
}

/// A client connection on this thread's event loop, with a small write buffer.
#[derive(Debug)]
struct Local(BufWriter<L4Stream>);

impl AsyncRead for Local {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Local {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for Local {
    async fn shutdown(&mut self) {
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut self.0).await;
    }
}

impl UniqueID for Local {
    fn id(&self) -> UniqueIDType {
        self.0.get_ref().id()
    }
}

impl Ssl for Local {}

impl GetTimingDigest for Local {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.0.get_ref().get_timing_digest()
    }
}

impl GetProxyDigest for Local {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.0.get_ref().get_proxy_digest()
    }
}

impl GetSocketDigest for Local {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.0.get_ref().get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.0.get_mut().set_socket_digest(digest);
    }
}

#[async_trait]
impl Peek for Local {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.0.get_mut().try_peek(buf).await
    }
}
