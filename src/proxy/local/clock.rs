//! The wait for a client's next request head, limited without a timer per request.
//!
//! Pingora limits that wait with a timer registered by every read that has to wait: on
//! a kept-alive connection, one per request, about 1.5 k instructions of the 46 k a
//! small request costs (`scripts/instructions.sh`). The gateway counts coarse ticks
//! instead, a quarter of the client timeout apart, from one background task that wakes
//! the waiting connections at each tick. A connection closes at the first tick that
//! finds it waiting for more than four ticks: between 1 and 1.25 times the limit after
//! it began to wait. A waiting connection is registered with the clock's `Notify`
//! anyway, to hear when the server begins shutting down, so the limit costs no more
//! per request than that.

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// Ticks in one client timeout.
const TICKS_PER_LIMIT: u64 = 4;

/// Ticks, and the start of shutdown, for the connections waiting for a request head.
pub struct ClientClock {
    ticks: AtomicU64,
    period: Duration,
    shutting_down: AtomicBool,
    /// Notified at each tick and when shutdown begins.
    wake: Notify,
}

impl ClientClock {
    /// A clock for waits limited to `limit`.
    pub fn new(limit: Duration) -> Self {
        ClientClock {
            ticks: AtomicU64::new(0),
            period: (limit / TICKS_PER_LIMIT as u32).max(Duration::from_millis(1)),
            shutting_down: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// The current tick, to pass to [`ClientClock::expired`] later.
    pub fn now(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Whether a wait that began at tick `since` is over: the server is shutting down,
    /// or the limit has passed.
    pub fn expired(&self, since: u64) -> bool {
        self.shutting_down() || self.now().wrapping_sub(since) > TICKS_PER_LIMIT
    }

    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Resolves at the next tick or when shutdown begins, whichever comes first after
    /// this call (not after the first poll).
    pub fn woken(&self) -> Notified<'_> {
        self.wake.notified()
    }

    /// Begins shutdown: every wait is over.
    pub fn shut_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }

    pub(super) fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_waiters();
    }
}

/// The background task that ticks a [`ClientClock`].
pub struct ClientClockService(pub Arc<ClientClock>);

#[async_trait]
impl BackgroundService for ClientClockService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut ticks = tokio::time::interval(self.0.period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = ticks.tick() => self.0.tick(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_over_after_more_than_four_ticks_or_at_shutdown() {
        let clock = ClientClock::new(Duration::from_secs(60));
        assert_eq!(clock.period, Duration::from_secs(15));
        let since = clock.now();
        for _ in 0..TICKS_PER_LIMIT {
            clock.tick();
            assert!(!clock.expired(since), "over after {} ticks", clock.now() - since);
        }
        clock.tick();
        assert!(clock.expired(since));
        let later = clock.now();
        assert!(!clock.expired(later));
        clock.shut_down();
        assert!(clock.expired(later) && clock.shutting_down());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_tick_wakes_a_wait_registered_before_it() {
        let clock = ClientClock::new(Duration::from_secs(60));
        let woken = clock.woken();
        clock.tick();
        tokio::time::timeout(Duration::from_secs(1), woken).await.expect("not woken by the tick");
        let woken = clock.woken();
        clock.shut_down();
        tokio::time::timeout(Duration::from_secs(1), woken).await.expect("not woken by shutdown");
    }
}
