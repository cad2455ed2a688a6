//! Passive health (pure): each upstream key and each channel is a `TargetHealth`
//! state machine fed the outcome of every attempt, with the time passed in.
//!
//! - `error_threshold` consecutive retryable failures take a target down for
//!   `cooldown`; after it, the target is half-open and admits one trial request at a
//!   time; a success brings it back, a failure takes it down again.
//! - A channel also has a circuit breaker: over its last `breaker_window` outcomes, a
//!   failure rate of `breaker_failure_rate` or more opens it (down for `cooldown`).
//! - A key refused for auth, billing or quota is retired for `key_retire`.
//! - A `retry-after` from the upstream blocks the key until it has passed.

mod classify;
mod registry;

pub use classify::{classify, retry_after, ErrorClass};

pub use registry::{HealthRegistry, KeyRef, TargetReport, Targets, Trials};

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthPolicy {
    pub error_threshold: u32,
    pub cooldown: Duration,
    pub breaker_window: usize,
    pub breaker_failure_rate: f64,
    pub key_retire: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            error_threshold: 2,
            cooldown: Duration::from_secs(180),
            breaker_window: 20,
            breaker_failure_rate: 0.5,
            key_retire: Duration::from_secs(3600),
        }
    }
}

/// A half-open trial that never reported back (its client went away) stops blocking
/// the next trial after this long.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(120);

/// What an attempt's failure says about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connect error, timeout, 5xx, 529, an error as the first stream event, 429.
    Retryable { retry_after: Option<Duration> },
    /// Authentication, billing or quota: the key is unusable for a long while.
    Retire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    Down { until: Instant },
    HalfOpen,
    Retired { until: Instant },
}

#[derive(Debug, Clone, Default)]
pub struct TargetHealth {
    consecutive_failures: u32,
    down_until: Option<Instant>,
    retired_until: Option<Instant>,
    blocked_until: Option<Instant>,
    trial_started: Option<Instant>,
    last_failure: Option<Instant>,
    /// Recent outcomes, `true` for a failure (channels only).
    window: VecDeque<bool>,
    requests: u64,
    failures: u64,
    last_error: Option<String>,
}

impl TargetHealth {
    pub fn state(&self, now: Instant) -> State {
        if let Some(until) = self.retired_until.filter(|u| now < *u) {
            return State::Retired { until };
        }
        match self.down_until {
            Some(until) if now < until => State::Down { until },
            Some(_) => State::HalfOpen,
            None => State::Up,
        }
    }

    /// Whether a request may be sent now. A half-open target admits one trial at a
    /// time; a key under `retry-after` waits.
    pub fn available(&self, now: Instant) -> bool {
        if self.blocked_until.is_some_and(|b| now < b) {
            return false;
        }
        match self.state(now) {
            State::Up => true,
            State::HalfOpen => self.trial_started.is_none_or(|t| now.duration_since(t) >= TRIAL_TIMEOUT),
            State::Down { .. } | State::Retired { .. } => false,
        }
    }

    /// When it last failed, for the "least recently failed" fallback.
    pub fn last_failure(&self) -> Option<Instant> {
        self.last_failure
    }

    /// A retired target sorts behind every other in failover order.
    pub fn is_retired(&self, now: Instant) -> bool {
        matches!(self.state(now), State::Retired { .. })
    }

    /// Counts an attempt; true when it is the half-open target's trial.
    pub fn on_attempt(&mut self, now: Instant) -> bool {
        self.requests += 1;
        let trial = self.state(now) == State::HalfOpen;
        if trial {
            self.trial_started = Some(now);
        }
        trial
    }

    /// The attempt ended with no verdict on this target (a client error, or a failure
    /// of the key only): a half-open target's trial slot is free again, and the next
    /// request is the trial.
    pub fn end_trial(&mut self) {
        self.trial_started = None;
    }

    pub fn on_success(&mut self, policy: &HealthPolicy, breaker: bool) {
        self.consecutive_failures = 0;
        self.down_until = None;
        self.retired_until = None;
        self.trial_started = None;
        if breaker {
            self.record(false, policy);
        }
    }

    pub fn on_failure(&mut self, now: Instant, policy: &HealthPolicy, failure: Failure, breaker: bool, error: &str) {
        self.failures += 1;
        self.last_failure = Some(now);
        self.last_error = Some(error.to_string());
        let was_trial = self.state(now) == State::HalfOpen;
        self.trial_started = None;
        match failure {
            Failure::Retire => {
                self.retired_until = Some(now + policy.key_retire);
            }
            Failure::Retryable { retry_after } => {
                if let Some(d) = retry_after {
                    self.blocked_until = Some(now + d);
                }
                self.consecutive_failures += 1;
                if was_trial || self.consecutive_failures >= policy.error_threshold {
                    self.down_until = Some(now + policy.cooldown);
                }
                if breaker && self.record(true, policy) {
                    self.down_until = Some(now + policy.cooldown);
                }
            }
        }
    }

    /// Adds an outcome to the breaker window; true when the breaker opens.
    fn record(&mut self, failed: bool, policy: &HealthPolicy) -> bool {
        if policy.breaker_window == 0 {
            return false;
        }
        self.window.push_back(failed);
        while self.window.len() > policy.breaker_window {
            self.window.pop_front();
        }
        if self.window.len() < policy.breaker_window {
            return false;
        }
        let open = self.failure_rate() >= policy.breaker_failure_rate;
        if open {
            // A fresh window after the cooldown: the half-open trial decides.
            self.window.clear();
        }
        open
    }

    /// Failure share of the recent window (0 when empty).
    pub fn failure_rate(&self) -> f64 {
        if self.window.is_empty() {
            return 0.0;
        }
        self.window.iter().filter(|f| **f).count() as f64 / self.window.len() as f64
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub fn requests(&self) -> u64 {
        self.requests
    }

    pub fn failures(&self) -> u64 {
        self.failures
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    pub fn blocked_until(&self, now: Instant) -> Option<Instant> {
        self.blocked_until.filter(|b| now < *b)
    }
}

#[cfg(test)]
mod tests;
