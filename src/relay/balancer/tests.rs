use super::*;
use crate::config::load_str;
use crate::health::{Failure, HealthRegistry};
use std::collections::HashMap;
use std::time::Duration;

fn config(yaml: &str) -> Config {
    load_str(yaml, &|_| None).unwrap().config
}

fn balancer(c: &Config) -> Balancer {
    Balancer::new(c, &|_| None)
}

fn sel<'a>(model: &'a str, tried: &'a [Pick]) -> Selection<'a> {
    Selection { model, tried, last: tried.last().copied(), affinity: None }
}

const RETRY: Failure = Failure::Retryable { retry_after: None };

fn pick_counts(c: &Config, b: &Balancer, h: &HealthRegistry, n: usize) -> HashMap<(String, usize), usize> {
    let now = Instant::now();
    let mut counts = HashMap::new();
    for _ in 0..n {
        let p = h.read(|t| b.next(c, &sel("m", &[]), t, now)).unwrap();
        *counts.entry((c.channels[p.channel].name.clone(), p.key)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn weighted_shares_hold_within_five_percent() {
    let c = config(
        "routing: {strategy: weighted}\nchannels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k], models: ['*'], weight: 1}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*'], weight: 3}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let counts = pick_counts(&c, &b, &h, 10_000);
    let a = counts[&("a".to_string(), 0)] as f64 / 10_000.0;
    assert!((a - 0.25).abs() < 0.05, "channel a got {a}");
}

#[test]
fn round_robin_spreads_over_channels_and_keys() {
    let c = config(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k1, k2], models: ['*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k1, k2], models: ['*']}\n",
    );
    let b = balancer(&c);
    let counts = pick_counts(&c, &b, &HealthRegistry::default(), 4000);
    assert_eq!(counts.len(), 4, "{counts:?}");
    for (k, v) in &counts {
        assert!((*v as f64 - 1000.0).abs() < 50.0, "{k:?}: {v}");
    }
}

#[test]
fn random_strategy_uses_every_channel() {
    let c = config(
        "routing: {strategy: random}\nchannels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k], models: ['*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*'], key_strategy: random}\n",
    );
    let b = balancer(&c);
    let counts = pick_counts(&c, &b, &HealthRegistry::default(), 2000);
    let a = counts[&("a".to_string(), 0)];
    assert!((800..1200).contains(&a), "{counts:?}");
}

#[test]
fn failover_takes_the_first_healthy_channel_in_config_order() {
    let c = config(
        "routing: {strategy: failover}\nchannels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k], models: ['*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*']}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    for _ in 0..10 {
        assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 0, key: 0 }));
    }
    h.on_failure(&c.channels[0].key_ref(0), now, &c.health, RETRY, true, "x");
    h.on_failure(&c.channels[0].key_ref(0), now, &c.health, RETRY, true, "x");
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 1, key: 0 }));
    // After the cooldown, a half-open trial goes back to the first channel.
    let later = now + c.health.cooldown;
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, later)), Some(Pick { channel: 0, key: 0 }));
}

#[test]
fn priority_tiers_then_next_key_then_next_channel() {
    let c = config(
        "channels:\n  - {name: low, protocol: openai, base_url: 'http://b', keys: [k], models: ['*'], priority: 2}\n  - {name: high, protocol: openai, base_url: 'http://a', keys: [k1, k2], models: ['claude-*'], priority: 1}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let first = h.read(|t| b.next(&c, &sel("claude-x", &[]), t, now)).unwrap();
    assert_eq!(first.channel, 1);
    let second = h.read(|t| b.next(&c, &sel("claude-x", &[first]), t, now)).unwrap();
    assert_eq!(second, Pick { channel: 1, key: 1 - first.key }, "the other key of the same channel");
    let third = h.read(|t| b.next(&c, &sel("claude-x", &[first, second]), t, now)).unwrap();
    assert_eq!(third, Pick { channel: 0, key: 0 });
    assert_eq!(h.read(|t| b.next(&c, &sel("claude-x", &[first, second, third]), t, now)), None);
    // A model only the low tier serves.
    assert_eq!(h.read(|t| b.next(&c, &sel("gpt", &[]), t, now)), Some(Pick { channel: 0, key: 0 }));
}

#[test]
fn a_lone_channel_and_key_is_never_out_of_service() {
    let c = config("channels:\n  - {name: only, protocol: openai, base_url: 'http://a', keys: [k], models: ['*']}\n");
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let k = c.channels[0].key_ref(0);
    for _ in 0..5 {
        h.on_failure(&k, now, &c.health, RETRY, true, "x");
    }
    h.on_failure(&k, now, &c.health, Failure::Retire, false, "quota");
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 0, key: 0 }));
}

#[test]
fn all_down_falls_back_to_the_least_recently_failed() {
    let c = config(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k], models: ['*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*']}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_secs(1);
    for _ in 0..2 {
        h.on_failure(&c.channels[1].key_ref(0), t0, &c.health, RETRY, true, "x");
        h.on_failure(&c.channels[0].key_ref(0), t1, &c.health, RETRY, true, "x");
    }
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, t1)), Some(Pick { channel: 1, key: 0 }));
}

#[test]
fn retired_keys_move_to_the_back_and_retry_after_is_honoured() {
    let c = config(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k1, k2, k3], models: ['*'], key_strategy: failover}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let ch = &c.channels[0];
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 0, key: 0 }));
    h.on_failure(&ch.key_ref(0), now, &c.health, Failure::Retire, false, "quota");
    h.on_failure(
        &ch.key_ref(1),
        now,
        &c.health,
        Failure::Retryable { retry_after: Some(Duration::from_secs(2)) },
        false,
        "429",
    );
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 0, key: 2 }));
    let later = now + Duration::from_secs(2);
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, later)), Some(Pick { channel: 0, key: 1 }));
}

#[test]
fn affinity_wins_while_healthy() {
    let c = config(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k1, k2], models: ['*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*']}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let sticky = Pick { channel: 0, key: 1 };
    let s = Selection { model: "m", tried: &[], last: None, affinity: Some(sticky) };
    for _ in 0..20 {
        assert_eq!(h.read(|t| b.next(&c, &s, t, now)), Some(sticky));
    }
    h.on_failure(&c.channels[0].key_ref(1), now, &c.health, RETRY, false, "x");
    h.on_failure(&c.channels[0].key_ref(1), now, &c.health, RETRY, false, "x");
    // Its key down, the binding gives way to another pick (not to none).
    let p = h.read(|t| b.next(&c, &s, t, now));
    assert!(p.is_some_and(|p| p != sticky), "{p:?}");
}

#[test]
fn breaker_takes_a_channel_out_when_its_keys_rotate_failures() {
    let c = config(
        "health: {breaker_window: 4, breaker_failure_rate: 0.5, error_threshold: 100}\nchannels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k1, k2], models: ['*'], priority: 1}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['*'], priority: 2}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let (k1, k2) = (c.channels[0].key_ref(0), c.channels[0].key_ref(1));
    h.on_success(&k1, &c.health);
    h.on_failure(&k1, now, &c.health, RETRY, true, "x");
    h.on_success(&k2, &c.health);
    h.on_failure(&k2, now, &c.health, RETRY, true, "x");
    assert_eq!(h.read(|t| b.next(&c, &sel("m", &[]), t, now)), Some(Pick { channel: 1, key: 0 }));
}

#[test]
fn a_tier_balances_only_the_channels_that_serve_the_model() {
    let c = config(
        "channels:\n  - {name: a, protocol: openai, base_url: 'http://a', keys: [k], models: ['gpt-*']}\n  - {name: b, protocol: openai, base_url: 'http://b', keys: [k], models: ['claude-*']}\n  - {name: c, protocol: openai, base_url: 'http://c', keys: [k], models: ['claude-*']}\n  - {name: d, protocol: openai, base_url: 'http://d', keys: [k1, k2], models: ['o3']}\n  - {name: e, protocol: openai, base_url: 'http://e', keys: [k], models: ['gpt-*'], priority: 2}\n",
    );
    let b = balancer(&c);
    let h = HealthRegistry::default();
    let now = Instant::now();
    let mut seen = HashMap::new();
    for _ in 0..100 {
        // One serving channel in its tier: always that one.
        assert_eq!(h.read(|t| b.next(&c, &sel("gpt-4o", &[]), t, now)), Some(Pick { channel: 0, key: 0 }));
        // Two: both, in turn; and a lone channel's keys still rotate.
        let p = h.read(|t| b.next(&c, &sel("claude-x", &[]), t, now)).unwrap();
        *seen.entry(p.channel).or_insert(0) += 1;
        let k = h.read(|t| b.next(&c, &sel("o3", &[]), t, now)).unwrap();
        *seen.entry(10 + k.key).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.values().all(|&n| n >= 30), "{seen:?}");
    // The lone serving channel tried: the next tier's.
    let tried = [Pick { channel: 0, key: 0 }];
    assert_eq!(h.read(|t| b.next(&c, &sel("gpt-4o", &tried), t, now)), Some(Pick { channel: 4, key: 0 }));
}
