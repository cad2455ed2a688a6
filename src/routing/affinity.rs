//! Session affinity (pure, time passed in): a session keeps its channel and key while
//! they stay healthy, so the upstream's prompt cache keeps hitting. The map also
//! remembers which provider family answered a session last, which decides whether
//! thinking blocks must be stripped before another family sees them.
//!
//! Memory is bounded: past `capacity` sessions the least recently used is evicted.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub channel: String,
    pub key_fingerprint: u64,
    pub family: String,
}

#[derive(Debug)]
struct Entry {
    binding: Binding,
    last_used: Instant,
    /// Matches the newest queue entry for this session; older queue entries are stale.
    stamp: u64,
}

#[derive(Debug)]
pub struct AffinityMap {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<String, Entry>,
    /// Sessions in order of use, with the stamp they were queued with.
    order: VecDeque<(String, u64)>,
    next_stamp: u64,
}

impl AffinityMap {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        AffinityMap { ttl, capacity: capacity.max(1), entries: HashMap::new(), order: VecDeque::new(), next_stamp: 0 }
    }

    pub fn set_limits(&mut self, ttl: Duration, capacity: usize) {
        self.ttl = ttl;
        self.capacity = capacity.max(1);
        self.evict();
    }

    /// The binding to keep using: only within the TTL of the session's last use.
    pub fn sticky(&self, session: &str, now: Instant) -> Option<&Binding> {
        self.entries.get(session).filter(|e| now.duration_since(e.last_used) < self.ttl).map(|e| &e.binding)
    }

    /// The family that answered this session last, however long ago (while remembered).
    pub fn family(&self, session: &str) -> Option<&str> {
        self.entries.get(session).map(|e| e.binding.family.as_str())
    }

    pub fn record(&mut self, session: &str, binding: Binding, now: Instant) {
        self.next_stamp += 1;
        let stamp = self.next_stamp;
        match self.entries.get_mut(session) {
            Some(e) => {
                e.binding = binding;
                e.last_used = now;
                e.stamp = stamp;
            }
            None => {
                self.entries.insert(session.to_string(), Entry { binding, last_used: now, stamp });
            }
        }
        self.order.push_back((session.to_string(), stamp));
        self.evict();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn evict(&mut self) {
        // Stale queue entries (the session was used again later) are dropped on the way.
        while self.entries.len() > self.capacity || self.order.len() > 2 * self.capacity {
            let Some((session, stamp)) = self.order.pop_front() else { break };
            if self.entries.get(&session).is_some_and(|e| e.stamp == stamp) && self.entries.len() > self.capacity {
                self.entries.remove(&session);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ch: &str) -> Binding {
        Binding { channel: ch.into(), key_fingerprint: 1, family: format!("f-{ch}") }
    }

    #[test]
    fn sticky_within_ttl_family_beyond() {
        let t0 = Instant::now();
        let mut m = AffinityMap::new(Duration::from_secs(300), 10);
        m.record("s1", b("a"), t0);
        assert_eq!(m.sticky("s1", t0 + Duration::from_secs(299)), Some(&b("a")));
        assert_eq!(m.sticky("s1", t0 + Duration::from_secs(300)), None);
        assert_eq!(m.family("s1"), Some("f-a"));
        assert_eq!(m.sticky("other", t0), None);
    }

    #[test]
    fn bounded_by_least_recent_use() {
        let t0 = Instant::now();
        let mut m = AffinityMap::new(Duration::from_secs(300), 3);
        for (i, s) in ["s1", "s2", "s3"].iter().enumerate() {
            m.record(s, b("a"), t0 + Duration::from_secs(i as u64));
        }
        m.record("s1", b("b"), t0 + Duration::from_secs(5)); // s1 is now the most recent
        m.record("s4", b("a"), t0 + Duration::from_secs(6)); // evicts s2
        assert_eq!(m.len(), 3);
        assert!(m.family("s2").is_none());
        assert_eq!(m.family("s1"), Some("f-b"));
        for i in 0..10_000u64 {
            m.record(&format!("x{i}"), b("a"), t0);
        }
        assert_eq!(m.len(), 3);
        assert!(m.order.len() <= 6);
    }
}
