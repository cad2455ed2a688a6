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
//! after a request it did not read whole (a body it refused, a malformed head, a
//! `CONNECT`: the rest may still be coming); other HTTP/1 connections only when the
//! client's bytes are waiting. Connections handed to Pingora's own app (h2c, custom
//! protocols) and those whose TLS handshake fails close as before, without lingering.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;

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

/// The end of a client connection, once the stream that served it is gone: a second
/// descriptor of its socket, made as that stream is dropped, so that the socket stays
/// open for [`Closing::close`]. Made at the end rather than at accept, so that an open
/// connection holds one descriptor, not two.
pub(super) struct Closing(TcpStream);

/// Hands the socket of a connection over to [`Pending`] when the stream serving it is
/// dropped (see `Local`'s `Drop`).
pub(super) struct Handover(oneshot::Sender<OwnedFd>);

/// Receives the socket of a connection from its [`Handover`].
pub(super) struct Pending(oneshot::Receiver<OwnedFd>);

/// A handover and its receiving end, one per connection.
pub(super) fn handover() -> (Handover, Pending) {
    let (tx, rx) = oneshot::channel();
    (Handover(tx), Pending(rx))
}

impl Handover {
    /// Hands over a second descriptor of `socket`; none when it cannot be made, and the
    /// connection then closes as the stream is dropped.
    pub(super) fn hand_over(self, socket: BorrowedFd<'_>) {
        if let Ok(owned) = socket.try_clone_to_owned() {
            // Dropped, and closed, when nobody waits for it any more.
            let _ = self.0.send(owned);
        }
    }
}

impl Pending {
    /// The socket, once the stream serving the connection has been dropped.
    pub(super) fn take(mut self) -> Option<Closing> {
        self.0.try_recv().ok().map(|fd| Closing(TcpStream::from(fd)))
    }
}

/// Whether a connection lingers after the gateway closes it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Linger {
    /// Until the client closes.
    UntilClientCloses,
    /// Only when the client's bytes are waiting unread, then until the client closes.
    IfUnread,
}

impl Closing {
    /// Ends the connection once the stream that served it has been dropped: the
    /// gateway's side is shut (the client reads everything written, then the end), and
    /// what the client still sends is read and discarded as `linger` says.
    pub(super) async fn close(self, linger: Linger) {
        let socket = self.0;
        // The descriptor shares the served socket's non-blocking mode (a property of
        // the open file, not of the descriptor), which tokio set: this does not wait.
        let waiting = match socket.peek(&mut [0]) {
            // The client has closed its side: nothing more comes.
            Ok(0) => return,
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            // Gone already (reset, or closed on both sides).
            Err(_) => return,
        };
        // Nothing waiting and nothing expected: closing sends the end as well.
        if linger == Linger::IfUnread && !waiting {
            return;
        }
        if socket.shutdown(Shutdown::Write).is_err() {
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
