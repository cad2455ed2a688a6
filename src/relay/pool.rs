//! Idle upstream connections kept for reuse, per peer and per worker thread.
//!
//! Each worker thread runs its own runtime (see `main`), and a socket is registered
//! with the runtime that opened it: a connection used from another thread would have
//! its readiness noticed by a thread that may be busy, then handed across. So a thread
//! reuses only the connections it opened.
//!
//! Taking a connection is a lock, a pop and a non-blocking liveness probe; giving one
//! back is a probe, a lock and a push. No task watches an idle connection: one the
//! upstream closed while it sat here is readable (end of file) and the probe drops it
//! when it is next taken. The lock is never held across an await, nor while a
//! connection is closed.

use futures::FutureExt;
use pingora::protocols::Stream;
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Idle connections kept per peer; the oldest is closed when one more comes back.
pub const IDLE_PER_PEER: usize = 128;
/// An idle connection older than this is closed instead of reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Every this many returns, connections past the idle timeout are closed for all peers,
/// so that peers no longer called (a channel removed by a reload) do not keep theirs.
const SWEEP_EVERY: u32 = 1024;

pub struct ConnPool {
    idle: Mutex<Idle>,
    per_peer: usize,
    timeout: Duration,
}

#[derive(Default)]
struct Idle {
    /// Keyed by the peer's reuse hash and the worker thread's slot (configured peers
    /// only, so a fast non-keyed hash).
    peers: HashMap<(u64, usize), VecDeque<(Stream, Instant)>>,
    puts: u32,
}

/// A small number naming the current thread.
fn thread_slot() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SLOT.try_with(|s| *s).unwrap_or(usize::MAX)
}

impl ConnPool {
    pub fn new(per_peer: usize, timeout: Duration) -> Self {
        ConnPool { idle: Mutex::new(Idle::default()), per_peer, timeout }
    }

    /// The most recently returned live connection to `peer` (its reuse hash), if any.
    pub fn take(&self, peer: u64) -> Option<Stream> {
        loop {
            let (mut stream, since) = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                idle.peers.get_mut(&(peer, thread_slot()))?.pop_back()?
            };
            if since.elapsed() < self.timeout && is_quiet(&mut stream) {
                return Some(stream);
            }
            // Dropped here, outside the lock: closed.
        }
    }

    /// Keeps a connection whose last exchange ended cleanly.
    pub fn put(&self, peer: u64, mut stream: Stream) {
        if !is_quiet(&mut stream) {
            return;
        }
        let now = Instant::now();
        let mut closing = Vec::new();
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            let list = idle.peers.entry((peer, thread_slot())).or_default();
            list.push_back((stream, now));
            if list.len() > self.per_peer {
                closing.extend(list.pop_front());
            }
            idle.puts = idle.puts.wrapping_add(1);
            if idle.puts % SWEEP_EVERY == 0 {
                self.expire(&mut idle, now, &mut closing);
            }
        }
        // Closed outside the lock.
        drop(closing);
    }

    /// Closes the connections idle past the timeout, of every peer. Returns call it
    /// every `SWEEP_EVERY` returns; a quiet gateway, which returns none, needs it on a
    /// timer (`Relay::close_expired_idle`). Returns how many were closed.
    pub fn sweep(&self) -> usize {
        let mut closing = Vec::new();
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            self.expire(&mut idle, Instant::now(), &mut closing);
        }
        closing.len()
    }

    fn expire(&self, idle: &mut Idle, now: Instant, closing: &mut Vec<(Stream, Instant)>) {
        for list in idle.peers.values_mut() {
            // Oldest first: expired ones are at the front.
            while list.front().is_some_and(|(_, since)| now.duration_since(*since) >= self.timeout) {
                closing.extend(list.pop_front());
            }
        }
        idle.peers.retain(|_, list| !list.is_empty());
    }

    /// Idle connections held, all peers together.
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|m| m.peers.values().map(VecDeque::len).sum()).unwrap_or(0)
    }
}

/// True when the connection has nothing to read and is not closed: an idle HTTP/1.1
/// upstream connection never speaks first, so data or end of file means it is unusable.
fn is_quiet(stream: &mut Stream) -> bool {
    let mut byte = [0u8; 1];
    // `unconstrained`: the read must not be turned into Pending by the task budget.
    tokio::task::unconstrained(stream.read(&mut byte)).now_or_never().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (Stream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (Box::new(pingora::protocols::l4::stream::Stream::from(client.unwrap())), server.unwrap().0)
    }

    #[tokio::test]
    async fn reuses_the_latest_connection_of_the_same_peer() {
        let pool = ConnPool::new(4, IDLE_TIMEOUT);
        let (a, _sa) = pair().await;
        let (b, _sb) = pair().await;
        let (a_id, b_id) = (a.id(), b.id());
        pool.put(1, a);
        pool.put(1, b);
        assert!(pool.take(2).is_none());
        assert_eq!(pool.take(1).map(|s| s.id()), Some(b_id));
        assert_eq!(pool.take(1).map(|s| s.id()), Some(a_id));
        assert!(pool.take(1).is_none());
    }

    #[tokio::test]
    async fn a_thread_takes_only_the_connections_it_gave_back() {
        let pool = std::sync::Arc::new(ConnPool::new(4, IDLE_TIMEOUT));
        let (a, _sa) = pair().await;
        let a_id = a.id();
        pool.put(1, a);
        let other = pool.clone();
        let taken = std::thread::spawn(move || other.take(1).map(|s| s.id())).join().unwrap();
        assert_eq!(taken, None);
        assert_eq!(pool.take(1).map(|s| s.id()), Some(a_id));
    }

    #[tokio::test]
    async fn drops_connections_the_upstream_closed_or_wrote_to() {
        let pool = ConnPool::new(4, IDLE_TIMEOUT);
        let (closed, server) = pair().await;
        let (chatty, mut server2) = pair().await;
        let (fine, _server3) = pair().await;
        let fine_id = fine.id();
        pool.put(1, fine);
        pool.put(1, closed);
        pool.put(1, chatty);
        drop(server);
        server2.write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.take(1).map(|s| s.id()), Some(fine_id));
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn bounds_each_peer_and_expires_old_connections() {
        let pool = ConnPool::new(2, IDLE_TIMEOUT);
        let mut servers = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let (s, server) = pair().await;
            ids.push(s.id());
            servers.push(server);
            pool.put(7, s);
        }
        assert_eq!(pool.idle_count(), 2);
        assert_eq!(pool.take(7).map(|s| s.id()), Some(ids[2]));
        assert_eq!(pool.take(7).map(|s| s.id()), Some(ids[1]));

        let expiring = ConnPool::new(2, Duration::from_millis(20));
        let (s, _server) = pair().await;
        expiring.put(7, s);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(expiring.take(7).is_none());
    }

    #[tokio::test]
    async fn a_sweep_closes_expired_connections_of_peers_no_longer_called() {
        let pool = ConnPool::new(4, Duration::from_millis(20));
        let (gone, _a) = pair().await;
        pool.put(1, gone); // return 1
        tokio::time::sleep(Duration::from_millis(40)).await;
        let (live, _b) = pair().await;
        pool.put(2, live); // return 2
        for _ in 0..SWEEP_EVERY - 3 {
            let s = pool.take(2).unwrap();
            pool.put(2, s);
        }
        assert_eq!(pool.idle_count(), 2, "peer 1's expired connection is still held");
        let s = pool.take(2).unwrap();
        pool.put(2, s); // return SWEEP_EVERY: the sweep
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_timed_sweep_closes_expired_connections_without_returns() {
        let pool = ConnPool::new(4, Duration::from_millis(300));
        let (old, mut old_server) = pair().await;
        pool.put(1, old);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (fresh, _b) = pair().await;
        pool.put(2, fresh);
        assert_eq!(pool.sweep(), 1);
        assert_eq!(pool.idle_count(), 1);
        // The upstream sees the expired connection closed.
        let mut byte = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(5), old_server.read(&mut byte)).await;
        assert_eq!(closed.expect("the expired connection was not closed").unwrap(), 0);
        assert_eq!(pool.sweep(), 0);
        assert!(pool.take(2).is_some());
    }
}
