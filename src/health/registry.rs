//! Health of every channel and key, shared by all requests and kept across config
//! reloads (a key is known by its channel's name and a fingerprint of the key, so the
//! state of what survives a reload carries over). The lock is held only for quick
//! lookups and updates, never across an await.

use super::{Failure, HealthPolicy, State, TargetHealth};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Identifies one key of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyRef {
    pub channel: String,
    pub fingerprint: u64,
}

#[derive(Default)]
pub struct Targets {
    pub channels: HashMap<String, TargetHealth>,
    pub keys: HashMap<KeyRef, TargetHealth>,
}

impl Targets {
    pub fn channel(&self, name: &str) -> Option<&TargetHealth> {
        self.channels.get(name)
    }

    pub fn key(&self, k: &KeyRef) -> Option<&TargetHealth> {
        self.keys.get(k)
    }

    pub fn channel_available(&self, name: &str, now: Instant) -> bool {
        self.channel(name).is_none_or(|h| h.available(now))
    }

    pub fn key_available(&self, k: &KeyRef, now: Instant) -> bool {
        self.key(k).is_none_or(|h| h.available(now))
    }
}

#[derive(Default)]
pub struct HealthRegistry {
    targets: Mutex<Targets>,
}

/// One target's state for the admin view.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetReport {
    pub state: State,
    pub consecutive_failures: u32,
    pub failure_rate: f64,
    pub requests: u64,
    pub failures: u64,
    pub last_error: Option<String>,
    pub blocked_until: Option<Instant>,
}

impl HealthRegistry {
    fn lock(&self) -> MutexGuard<'_, Targets> {
        // A panic elsewhere cannot leave health counters in a state worth refusing.
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the current state under the lock (keep `f` short).
    pub fn read<R>(&self, f: impl FnOnce(&Targets) -> R) -> R {
        f(&self.lock())
    }

    pub fn on_attempt(&self, key: &KeyRef, now: Instant) {
        let mut t = self.lock();
        t.channels.entry(key.channel.clone()).or_default().on_attempt(now);
        t.keys.entry(key.clone()).or_default().on_attempt(now);
    }

    pub fn on_success(&self, key: &KeyRef, policy: &HealthPolicy) {
        let mut t = self.lock();
        t.channels.entry(key.channel.clone()).or_default().on_success(policy, true);
        t.keys.entry(key.clone()).or_default().on_success(policy, false);
    }

    /// Records a failure on the key; `channel_too` when it says something about the
    /// whole channel (connect errors, 5xx, overload) rather than the key (429, quota).
    pub fn on_failure(
        &self,
        key: &KeyRef,
        now: Instant,
        policy: &HealthPolicy,
        failure: Failure,
        channel_too: bool,
        error: &str,
    ) {
        let mut t = self.lock();
        t.keys.entry(key.clone()).or_default().on_failure(now, policy, failure, false, error);
        if channel_too {
            t.channels.entry(key.channel.clone()).or_default().on_failure(now, policy, failure, true, error);
        }
    }

    pub fn report_channel(&self, name: &str, now: Instant) -> TargetReport {
        self.read(|t| report(t.channel(name), now))
    }

    pub fn report_key(&self, key: &KeyRef, now: Instant) -> TargetReport {
        self.read(|t| report(t.key(key), now))
    }

    /// Drops the state of channels and keys no longer configured.
    pub fn retain(&self, keep: impl Fn(&str, Option<u64>) -> bool) {
        let mut t = self.lock();
        t.channels.retain(|name, _| keep(name, None));
        t.keys.retain(|k, _| keep(&k.channel, Some(k.fingerprint)));
    }
}

fn report(h: Option<&TargetHealth>, now: Instant) -> TargetReport {
    match h {
        None => TargetReport {
            state: State::Up,
            consecutive_failures: 0,
            failure_rate: 0.0,
            requests: 0,
            failures: 0,
            last_error: None,
            blocked_until: None,
        },
        Some(h) => TargetReport {
            state: h.state(now),
            consecutive_failures: h.consecutive_failures(),
            failure_rate: h.failure_rate(),
            requests: h.requests(),
            failures: h.failures(),
            last_error: h.last_error().map(str::to_string),
            blocked_until: h.blocked_until(now),
        },
    }
}
