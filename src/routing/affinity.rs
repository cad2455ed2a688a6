//! Session affinity (pure, time passed in): a session keeps its channel and key while
//! they stay healthy, so the upstream's prompt cache keeps hitting. The map also
//! remembers which provider family answered a session last, which decides whether
//! thinking blocks must be stripped before another family sees them.
//!
//! Memory is bounded: past `capacity` sessions the least recently used is evicted. A
//! session holds one entry however often it is used, and using it again allocates
//! nothing unless its binding changed.

use lru::LruCache;
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
}

#[derive(Debug)]
pub struct AffinityMap {
    ttl: Duration,
    capacity: usize,
    /// Unbounded as a cache (no table sized for `capacity` up front); `evict` keeps it
    /// within `capacity`.
    entries: LruCache<String, Entry>,
}

impl AffinityMap {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        AffinityMap { ttl, capacity: capacity.max(1), entries: LruCache::unbounded() }
    }

    pub fn set_limits(&mut self, ttl: Duration, capacity: usize) {
        self.ttl = ttl;
        self.capacity = capacity.max(1);
        self.evict();
    }

    /// The binding to keep using: only within the TTL of the session's last use.
    pub fn sticky(&self, session: &str, now: Instant) -> Option<&Binding> {
        self.entries.peek(session).filter(|e| now.duration_since(e.last_used) < self.ttl).map(|e| &e.binding)
    }

    /// The family that answered this session last, however long ago (while remembered).
    pub fn family(&self, session: &str) -> Option<&str> {
        self.entries.peek(session).map(|e| e.binding.family.as_str())
    }

    /// Records that `channel` (of `family`), with the key of `key_fingerprint`, answered
    /// `session` at `now`; the session becomes the most recently used.
    pub fn record(&mut self, session: &str, channel: &str, key_fingerprint: u64, family: &str, now: Instant) {
        if let Some(e) = self.entries.get_mut(session) {
            e.last_used = now;
            let b = &mut e.binding;
            if b.channel != channel {
                b.channel = channel.to_string();
            }
            if b.family != family {
                b.family = family.to_string();
            }
            b.key_fingerprint = key_fingerprint;
            return;
        }
        let binding = Binding { channel: channel.to_string(), key_fingerprint, family: family.to_string() };
        self.entries.push(session.to_string(), Entry { binding, last_used: now });
        self.evict();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn evict(&mut self) {
        while self.entries.len() > self.capacity {
            self.entries.pop_lru();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ch: &str) -> Binding {
        Binding { channel: ch.into(), key_fingerprint: 1, family: format!("f-{ch}") }
    }

    fn record(m: &mut AffinityMap, session: &str, ch: &str, now: Instant) {
        let b = b(ch);
        m.record(session, &b.channel, b.key_fingerprint, &b.family, now);
    }

    #[test]
    fn sticky_within_ttl_family_beyond() {
        let t0 = Instant::now();
        let mut m = AffinityMap::new(Duration::from_secs(300), 10);
        record(&mut m, "s1", "a", t0);
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
            record(&mut m, s, "a", t0 + Duration::from_secs(i as u64));
        }
        record(&mut m, "s1", "b", t0 + Duration::from_secs(5)); // s1 is now the most recent
        record(&mut m, "s4", "a", t0 + Duration::from_secs(6)); // evicts s2
        assert_eq!(m.len(), 3);
        assert!(m.family("s2").is_none());
        assert_eq!(m.family("s1"), Some("f-b"));
        for i in 0..10_000u64 {
            record(&mut m, &format!("x{i}"), "a", t0);
        }
        assert_eq!(m.len(), 3);
        assert!(m.family("x9999").is_some() && m.family("x9996").is_none());
    }

    #[test]
    fn using_a_session_again_updates_it_in_place() {
        let t0 = Instant::now();
        let mut m = AffinityMap::new(Duration::from_secs(300), 2);
        record(&mut m, "s1", "a", t0);
        record(&mut m, "s2", "a", t0);
        for i in 0..1_000u64 {
            m.record("s1", "b", 7, "f-b", t0 + Duration::from_millis(i));
        }
        assert_eq!(m.len(), 2);
        let later = t0 + Duration::from_millis(300_500);
        let want = Binding { channel: "b".into(), key_fingerprint: 7, family: "f-b".into() };
        assert_eq!(m.sticky("s1", later), Some(&want), "the TTL runs from the last use");
        assert_eq!(m.sticky("s2", later), None);
        // s2 is the least recently used: a third session evicts it, not s1.
        record(&mut m, "s3", "a", later);
        assert!(m.family("s2").is_none());
        assert_eq!(m.family("s1"), Some("f-b"));
    }

    #[test]
    fn a_smaller_capacity_evicts_at_once() {
        let t0 = Instant::now();
        let mut m = AffinityMap::new(Duration::from_secs(300), 10);
        for s in ["s1", "s2", "s3"] {
            record(&mut m, s, "a", t0);
        }
        m.set_limits(Duration::from_secs(300), 1);
        assert_eq!(m.len(), 1);
        assert_eq!(m.family("s3"), Some("f-a"));
    }
}
