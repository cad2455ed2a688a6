//! Watching the client while its answer is awaited (Pingora glue): a client that leaves
//! takes the upstream request with it.

use super::timer::timeout;
use super::{conn, AttemptFailure};
use bytes::Bytes;
use pingora_proxy::Session;
use std::time::{Duration, Instant};

/// How long after its request the client's connection starts to be watched while the
/// answer is awaited (`unless_client_left`): a quick answer costs no read of its socket.
pub(super) const WATCH_CLIENT_AFTER: Duration = Duration::from_secs(1);

/// `wait` (the upstream's answer, or its first content), alone until `watch_from`,
/// then raced against the client leaving. A client that leaves while the answer is
/// awaited (Claude Code's Esc during a long wait for the first token) takes the upstream
/// request with it: the caller drops the exchange, which closes its connection, and
/// the upstream stops generating.
pub(super) async fn unless_client_left<F: std::future::Future>(
    session: &mut Session,
    watch_from: Instant,
    wait: F,
) -> Result<F::Output, AttemptFailure> {
    tokio::pin!(wait);
    let early = watch_from.saturating_duration_since(Instant::now());
    if !early.is_zero() {
        if let Ok(out) = timeout(early, wait.as_mut()).await {
            return Ok(out);
        }
    }
    tokio::select! {
        out = wait => Ok(out),
        () = client_left(session) => Err(AttemptFailure::ClientGone),
    }
}

/// The upstream's next body bytes (as `conn::Response::read_body` gives them), or
/// `None` once `deadline` has passed without any. A read that waits past `watch_from`
/// is raced against the client leaving, as in `unless_client_left`, with one timer
/// per read either way. `now` is the caller's clock reading.
pub(super) async fn read_until(
    session: &mut Session,
    up: &mut conn::Response,
    now: Instant,
    deadline: Instant,
    watch_from: Instant,
) -> Result<Option<pingora::Result<Option<Bytes>>>, AttemptFailure> {
    let alone = deadline.min(watch_from.max(now));
    if alone > now {
        // `read_body` is cancel-safe: a read cut short here loses nothing.
        if let Ok(read) = timeout(alone - now, up.read_body()).await {
            return Ok(Some(read));
        }
        if alone == deadline {
            return Ok(None);
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::select! {
        read = timeout(left, up.read_body()) => Ok(read.ok()),
        () = client_left(session) => Err(AttemptFailure::ClientGone),
    }
}

/// Resolves when the client leaves after its request: an HTTP/1 client closes its
/// connection (a read finds the end of the stream), an HTTP/2 client resets its stream
/// or loses its connection. Never otherwise. Bytes where none were due on HTTP/1 (a
/// pipelined request) end the request too, as in Pingora's own proxy.
async fn client_left(session: &mut Session) {
    // Both return only with an error once the request body has been read: HTTP/2 waits
    // for the stream's reset, not for data.
    if session.downstream_session.read_body_or_idle(true).await.is_err() {
        return;
    }
    std::future::pending::<()>().await
}
