//! Closing a client connection without losing its last bytes, and counting the open
//! ones so that a graceful shutdown can wait for them.
//!
//! A socket closed with bytes from the client still unread is reset by the kernel, not
//! closed: the reset goes out at once, whatever the gateway wrote that has not left yet
//! is dropped, and the client's next read or write fails. An HTTP/2 client writes at
//! any time (window updates for the data it receives, its answers to pings), so when
//! the gateway ends a connection after its last stream, the client's frames can arrive
//! just before or just after the close: curl then reported "Connection reset by peer"
//! and lost the end of a stream it had been sent in full. An HTTP/1 client refused
//! before its body was read (a bad access key, an oversized body) is still sending it.
//!
//! So the gateway closes its side first (FIN, after everything it wrote) and reads
//! what the client still sends, discarding it, until the client closes too, for up to
//! [`LINGER_SECS`]. HTTP/2 connections always linger, and HTTP/1 ones the gateway ends
//! after a request whose body it did not read whole (the rest may still be coming);
//! other HTTP/1 connections only when the client's bytes are waiting.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long a closed connection is read for at most. A client may send as much in that
/// time as it could on an open connection, so no count of bytes limits it.
const LINGER_SECS: u64 = 5;

/// Client connections open, lingering ones included.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Client connections open, from accepted to closed (lingering included).
pub fn open_connections() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// One client connection, counted in [`open_connections`] until dropped.
pub(super) struct Open(());

impl Open {
    pub(super) fn count() -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open(())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A second descriptor of a client connection's socket, kept while the connection is
/// served so that the socket outlives the stream that serves it: when that stream is
/// dropped, the socket is still open and [`Closing::close`] ends it.
pub(super) struct Closing(TcpStream);

/// Whether a connection lingers after the gateway closes it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Linger {
    /// Until the client closes.
    UntilClientCloses,
    /// Only when the client's bytes are waiting unread, then until the client closes.
    IfUnread,
}

impl Closing {
    /// `None` when the descriptor cannot be duplicated; the connection then closes
    /// as the stream serving it is dropped.
    pub(super) fn of(stream: &impl AsRawFd) -> Option<Self> {
        // SAFETY: `stream` owns its descriptor and is borrowed for this whole call.
        let borrowed = unsafe { BorrowedFd::borrow_raw(stream.as_raw_fd()) };
        borrowed.try_clone_to_owned().ok().map(|owned| Closing(TcpStream::from(owned)))
    }

    /// Ends the connection once the stream that served it has been dropped: the
    /// gateway's side is shut (the client reads everything written, then the end), and
    /// what the client still sends is read and discarded as `linger` says.
    pub(super) async fn close(self, linger: Linger) {
        let socket = self.0;
        if socket.shutdown(Shutdown::Write).is_err() {
            // Reset by the client already.
            return;
        }
        // The descriptor shares the served socket's non-blocking mode (a property of
        // the open file, not of the descriptor), which tokio set.
        let waiting = match socket.peek(&mut [0]) {
            Ok(0) => return,
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(_) => return,
        };
        if linger == Linger::IfUnread && !waiting {
            return;
        }
        let Ok(mut socket) = tokio::net::TcpStream::from_std(socket) else {
            return;
        };
        let discard = async {
            let mut buf = [0; 4096];
            while let Ok(1..) = socket.read(&mut buf).await {}
        };
        let _ = tokio::time::timeout(Duration::from_secs(LINGER_SECS), discard).await;
    }
}
