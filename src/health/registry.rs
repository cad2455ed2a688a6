//! Health of every channel and key, shared by all requests and kept across config
//! reloads (a key is known by its channel's name and a fingerprint of the key, so the
//! state of what survives a reload carries over). The lock is held only for quick
//! lookups and updates, never across an await. Its maps are keyed by configured channel
//! names and key fingerprints, never by anything a client sends, so they use a fast
//! non-keyed hash.

use super::{Failure, HealthPolicy, State, TargetHealth};
use rustc_hash::FxHashMap as HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Identifies one key of one channel. It borrows the channel's name: looking a key
/// up allocates nothing, and only a target seen for the first time copies the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    pub channel: &'a str,
    pub fingerprint: u64,
}

#[derive(Default)]
pub struct Targets {
    channels: HashMap<String, TargetHealth>,
    /// Per channel name, its keys by fingerprint.
    keys: HashMap<String, HashMap<u64, TargetHealth>>,
}

/// Runs `f` on the entry of `name` in `map`, created (and the name copied) only when
/// missing.
fn update<V: Default>(map: &mut HashMap<String, V>, name: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(name) {
        Some(v) => f(v),
        None => f(map.entry(name.to_string()).or_default()),
    }
}

impl Targets {
    pub fn channel(&self, name: &str) -> Option<&TargetHealth> {
        self.channels.get(name)
    }

    pub fn key(&self, k: &KeyRef<'_>) -> Option<&TargetHealth> {
        self.keys.get(k.channel).and_then(|keys| keys.get(&k.fingerprint))
    }

    fn update_channel(&mut self, name: &str, f: impl FnOnce(&mut TargetHealth)) {
        update(&mut self.channels, name, f);
    }

    fn update_key(&mut self, k: &KeyRef<'_>, f: impl FnOnce(&mut TargetHealth)) {
        update(&mut self.keys, k.channel, |keys| f(keys.entry(k.fingerprint).or_default()));
    }

    pub fn channel_available(&self, name: &str, now: Instant) -> bool {
        self.channel(name).is_none_or(|h| h.available(now))
    }

    pub fn key_available(&self, k: &KeyRef<'_>, now: Instant) -> bool {
        self.key(k).is_none_or(|h| h.available(now))
    }
}

/// The half-open trial slots an attempt took (`HealthRegistry::on_attempt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trials {
    pub channel: bool,
    pub key: bool,
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

    /// Counts an attempt; returns the trial slots it took.
    pub fn on_attempt(&self, key: &KeyRef<'_>, now: Instant) -> Trials {
        let mut t = self.lock();
        let mut trials = Trials::default();
        t.update_channel(key.channel, |h| trials.channel = h.on_attempt(now));
        t.update_key(key, |h| trials.key = h.on_attempt(now));
        trials
    }

    pub fn on_success(&self, key: &KeyRef<'_>, policy: &HealthPolicy) {
        let mut t = self.lock();
        t.update_channel(key.channel, |h| h.on_success(policy, true));
        t.update_key(key, |h| h.on_success(policy, false));
    }

    /// Records a failure on the key; `channel_too` when it says something about the
    /// whole channel (connect errors, 5xx, overload) rather than the key (429, quota).
    pub fn on_failure(
        &self,
        key: &KeyRef<'_>,
        now: Instant,
        policy: &HealthPolicy,
        failure: Failure,
        channel_too: bool,
        error: &str,
    ) {
        let mut t = self.lock();
        t.update_key(key, |h| h.on_failure(now, policy, failure, false, error));
        if channel_too {
            t.update_channel(key.channel, |h| h.on_failure(now, policy, failure, true, error));
        }
    }

    /// The attempt ended with no verdict on its channel (a failure of the key alone),
    /// or on its key too (`key_too`: the upstream refused the request itself, or the
    /// client left): the trial slots it took are free again, and the next request is
    /// the trial. Slots another attempt took stay taken.
    pub fn end_trials(&self, key: &KeyRef<'_>, trials: Trials, key_too: bool) {
        let mut t = self.lock();
        if trials.channel {
            t.update_channel(key.channel, TargetHealth::end_trial);
        }
        if trials.key && key_too {
            t.update_key(key, TargetHealth::end_trial);
        }
    }

    pub fn report_channel(&self, name: &str, now: Instant) -> TargetReport {
        self.read(|t| report(t.channel(name), now))
    }

    pub fn report_key(&self, key: &KeyRef<'_>, now: Instant) -> TargetReport {
        self.read(|t| report(t.key(key), now))
    }

    /// Drops the state of channels and keys no longer configured.
    pub fn retain(&self, keep: impl Fn(&str, Option<u64>) -> bool) {
        let mut t = self.lock();
        t.channels.retain(|name, _| keep(name, None));
        t.keys.retain(|channel, keys| {
            keys.retain(|&fingerprint, _| keep(channel, Some(fingerprint)));
            !keys.is_empty()
        });
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
