//! Channel and key selection through pingora-load-balancing.
//!
//! Each priority tier has a load balancer whose backends are its channels (weights
//! from the config under `weighted`), and each channel has one whose backends are its
//! keys: every (channel, key) pair is a `Backend` with a synthetic, unique address and
//! its indices in `ext`. Selection asks them for a backend that passes the accept
//! rules: serves the model, not tried yet in this request, passively healthy
//! (`health::Targets`) and, where a channel has active checks, ready.

use crate::config::{ChannelStrategy, Config, KeyStrategy};
use crate::health::{KeyRef, Targets};
use futures::FutureExt;
use pingora_load_balancing::discovery::Static;
use pingora_load_balancing::health_check::HealthCheck;
use pingora_load_balancing::selection::{Random, RoundRobin};
use pingora_load_balancing::{Backend, Backends, LoadBalancer};
use std::collections::BTreeSet;
use std::time::Instant;

/// One attempt's target: indices into `Config::channels` and the channel's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pick {
    pub channel: usize,
    pub key: usize,
}

/// Where a backend points, kept in its `ext`.
#[derive(Debug, Clone, Copy)]
struct Target {
    channel: usize,
    key: Option<usize>,
}

enum Lb {
    RoundRobin(LoadBalancer<RoundRobin>),
    Random(LoadBalancer<Random>),
    /// Config order; no balancer needed.
    Ordered,
}

impl Lb {
    fn select(&self, accept: impl Fn(&Backend, bool) -> bool, n: usize) -> Option<Backend> {
        // The balancer's own walk is bounded; a full scan guarantees that an acceptable
        // backend is found when one exists.
        match self {
            Lb::RoundRobin(lb) => lb.select_with(b"", 2 * n + 4, &accept),
            Lb::Random(lb) => lb.select_with(b"", 2 * n + 4, &accept),
            Lb::Ordered => None,
        }
    }

    fn backends(&self) -> Option<&Backends> {
        match self {
            Lb::RoundRobin(lb) => Some(lb.backends()),
            Lb::Random(lb) => Some(lb.backends()),
            Lb::Ordered => None,
        }
    }
}

struct Tier {
    channels: Vec<usize>,
    backends: Vec<Backend>,
    lb: Lb,
}

struct ChannelKeys {
    backends: Vec<Backend>,
    lb: Lb,
    /// An active health check records readiness in `lb`'s backends. Without one every
    /// key is ready (the gateway never disables a backend by hand), and asking the
    /// registry would hash the backend with SipHash and look it up, per request.
    probed: bool,
}

pub struct Balancer {
    tiers: Vec<Tier>,
    channels: Vec<ChannelKeys>,
}

/// What one selection knows about the request so far.
pub struct Selection<'a> {
    pub model: &'a str,
    pub tried: &'a [Pick],
    /// The previous attempt: its channel's other keys come first.
    pub last: Option<Pick>,
    /// The session's sticky channel and key.
    pub affinity: Option<Pick>,
}

fn backend(addr: String, weight: usize, target: Target) -> Option<Backend> {
    let mut b = Backend::new_with_weight(&addr, weight).ok()?;
    b.ext.insert(target);
    Some(b)
}

fn build<S>(backends: &[Backend], hc: Option<Box<dyn HealthCheck + Send + Sync>>) -> Option<LoadBalancer<S>>
where
    S: pingora_load_balancing::selection::BackendSelection + 'static,
    S::Iter: pingora_load_balancing::selection::BackendIter,
{
    let set: BTreeSet<Backend> = backends.iter().cloned().collect();
    let mut lb = LoadBalancer::<S>::from_backends(Backends::new(Static::new(set)));
    if let Some(hc) = hc {
        lb.set_health_check(hc);
    }
    // Static discovery completes immediately.
    lb.update().now_or_never()?.ok()?;
    Some(lb)
}

fn target_of(b: &Backend) -> Option<Target> {
    b.ext.get::<Target>().copied()
}

impl Balancer {
    /// Builds the balancers for `config`. `probe` makes the active health check of a
    /// channel that has one configured.
    pub fn new(config: &Config, probe: &dyn Fn(usize) -> Option<Box<dyn HealthCheck + Send + Sync>>) -> Balancer {
        let mut channels = Vec::with_capacity(config.channels.len());
        for (c, ch) in config.channels.iter().enumerate() {
            let backends: Vec<Backend> = (0..ch.keys.len())
                .filter_map(|k| {
                    let addr = format!("127.{}.{}.2:{}", (c >> 8) & 255, c & 255, k + 1);
                    backend(addr, 1, Target { channel: c, key: Some(k) })
                })
                .collect();
            let hc = if ch.health_check.is_some() { probe(c) } else { None };
            let probed = hc.is_some();
            // Failover picks in config order but still keeps a balancer: its backend
            // registry is where active health checks record readiness.
            let lb = match ch.key_strategy {
                KeyStrategy::Random => build::<Random>(&backends, hc).map(Lb::Random),
                KeyStrategy::RoundRobin | KeyStrategy::Failover => {
                    build::<RoundRobin>(&backends, hc).map(Lb::RoundRobin)
                }
            }
            .unwrap_or(Lb::Ordered);
            channels.push(ChannelKeys { backends, lb, probed });
        }

        let mut priorities: Vec<i64> = config.channels.iter().map(|c| c.priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        let tiers = priorities
            .into_iter()
            .map(|p| {
                let members: Vec<usize> =
                    (0..config.channels.len()).filter(|&c| config.channels[c].priority == p).collect();
                let weighted = config.routing.strategy == ChannelStrategy::Weighted;
                let backends: Vec<Backend> = members
                    .iter()
                    .filter_map(|&c| {
                        let weight = if weighted { config.channels[c].weight as usize } else { 1 };
                        backend(
                            format!("127.{}.{}.1:1", (c >> 8) & 255, c & 255),
                            weight,
                            Target { channel: c, key: None },
                        )
                    })
                    .collect();
                let lb = match config.routing.strategy {
                    ChannelStrategy::RoundRobin | ChannelStrategy::Weighted => {
                        build::<RoundRobin>(&backends, None).map_or(Lb::Ordered, Lb::RoundRobin)
                    }
                    ChannelStrategy::Random => build::<Random>(&backends, None).map_or(Lb::Ordered, Lb::Random),
                    ChannelStrategy::Failover => Lb::Ordered,
                };
                Tier { channels: members, backends, lb }
            })
            .collect();
        Balancer { tiers, channels }
    }

    /// The next (channel, key) to try, or `None` when every candidate was tried.
    pub fn next(&self, config: &Config, sel: &Selection<'_>, health: &Targets, now: Instant) -> Option<Pick> {
        let serves = |c: usize| config.channels.get(c).is_some_and(|ch| ch.serves(sel.model));
        let untried = |p: Pick| !sel.tried.contains(&p);
        let key_ok = |p: Pick, ready: bool| {
            ready && untried(p) && health.key_available(&config.channels[p.channel].key_ref(p.key), now)
        };
        let channel_ok = |c: usize| serves(c) && health.channel_available(&config.channels[c].name, now);

        if let Some(p) = sel.affinity {
            if channel_ok(p.channel) && key_ok(p, self.key_ready(p)) {
                return Some(p);
            }
        }
        if let Some(last) = sel.last {
            if channel_ok(last.channel) {
                if let Some(p) = self.pick_key(config, last.channel, &key_ok, health, now) {
                    return Some(p);
                }
            }
        }
        for tier in &self.tiers {
            // Checking for a usable key must not advance the key balancer's rotation.
            let usable = |c: usize| {
                channel_ok(c)
                    && (0..config.channels[c].keys.len()).any(|k| {
                        let p = Pick { channel: c, key: k };
                        key_ok(p, self.key_ready(p))
                    })
            };
            // Most models are served by one channel of a tier: nothing to balance then.
            let mut serving = tier.channels.iter().copied().filter(|&c| serves(c));
            let Some(first) = serving.next() else { continue };
            let lone = serving.next().is_none();
            let chosen = match &tier.lb {
                _ if lone => Some(first).filter(|&c| usable(c)),
                Lb::Ordered => tier.channels.iter().copied().find(|&c| usable(c)),
                lb => lb
                    .select(|b, _| target_of(b).is_some_and(|t| usable(t.channel)), tier.backends.len())
                    .and_then(|b| target_of(&b))
                    .map(|t| t.channel)
                    .or_else(|| tier.channels.iter().copied().find(|&c| usable(c))),
            };
            if let Some(c) = chosen {
                return self.pick_key(config, c, &key_ok, health, now);
            }
        }
        // Nothing healthy is left: rather than refuse, try the untried candidate that
        // failed least recently (a lone channel and key is never taken out of service).
        self.least_recently_failed(config, sel, health)
    }

    fn key_ready(&self, p: Pick) -> bool {
        let Some(ch) = self.channels.get(p.channel) else { return false };
        if !ch.probed {
            return p.key < ch.backends.len();
        }
        match (ch.lb.backends(), ch.backends.get(p.key)) {
            (Some(backends), Some(b)) => backends.ready(b),
            (None, Some(_)) => true,
            _ => false,
        }
    }

    fn pick_key(
        &self,
        config: &Config,
        c: usize,
        key_ok: &dyn Fn(Pick, bool) -> bool,
        health: &Targets,
        now: Instant,
    ) -> Option<Pick> {
        let ch = self.channels.get(c)?;
        let n = ch.backends.len();
        let ordered = || {
            // Config order with retired keys moved to the back.
            let channel = &config.channels[c];
            let retired = |k: usize| health.key(&channel.key_ref(k)).is_some_and(|h| h.is_retired(now));
            (0..n)
                .filter(|&k| !retired(k))
                .chain((0..n).filter(|&k| retired(k)))
                .map(|k| Pick { channel: c, key: k })
                .find(|&p| key_ok(p, self.key_ready(p)))
        };
        if n == 1 || config.channels[c].key_strategy == KeyStrategy::Failover {
            return ordered();
        }
        ch.lb
            .select(
                |b, ready| target_of(b).and_then(|t| t.key).is_some_and(|k| key_ok(Pick { channel: c, key: k }, ready)),
                n,
            )
            .and_then(|b| target_of(&b))
            .and_then(|t| t.key.map(|k| Pick { channel: c, key: k }))
            .or_else(ordered)
    }

    fn least_recently_failed(&self, config: &Config, sel: &Selection<'_>, health: &Targets) -> Option<Pick> {
        let mut best: Option<(Option<Instant>, Pick)> = None;
        for (c, ch) in config.channels.iter().enumerate() {
            if !ch.serves(sel.model) {
                continue;
            }
            for k in 0..ch.keys.len() {
                let p = Pick { channel: c, key: k };
                if sel.tried.contains(&p) {
                    continue;
                }
                let key_ref: KeyRef = ch.key_ref(k);
                let failed = health.key(&key_ref).and_then(|h| h.last_failure());
                if best.as_ref().is_none_or(|(f, _)| failed < *f) {
                    best = Some((failed, p));
                }
            }
        }
        best.map(|(_, p)| p)
    }

    /// Runs one active health-check pass for channel `c` (a no-op without checks).
    /// What the active health check of channel `c` last said of key `k`: `None` when
    /// the channel has none.
    pub fn probe_says_up(&self, c: usize, k: usize) -> Option<bool> {
        let ch = self.channels.get(c)?;
        ch.probed.then(|| self.key_ready(Pick { channel: c, key: k }))
    }

    pub async fn run_health_check(&self, c: usize) {
        if let Some(backends) = self.channels.get(c).and_then(|ch| ch.lb.backends()) {
            backends.run_health_check(false).await;
        }
    }
}

#[cfg(test)]
mod tests;
