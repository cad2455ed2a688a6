//! Watching the client while its answer is awaited (Pingora glue): a client that leaves
//! takes the upstream request with it.

use super::timer::timeout;
use super::AttemptFailure;
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
