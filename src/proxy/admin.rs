//! Admin endpoints (admin key required): the channel and key health view.

use crate::health::{HealthRegistry, State, TargetReport};
use crate::relay::Live;
use serde_json::{json, Value};
use std::time::{Instant, SystemTime};

fn when(until: Instant, now: Instant) -> String {
    let wall = SystemTime::now() + until.saturating_duration_since(now);
    humantime::format_rfc3339_seconds(wall).to_string()
}

fn state_json(r: &TargetReport, now: Instant) -> Value {
    let (state, until) = match r.state {
        State::Up => ("up", None),
        State::HalfOpen => ("half_open", None),
        State::Down { until } => ("down", Some(when(until, now))),
        State::Retired { until } => ("retired", Some(when(until, now))),
    };
    json!({
        "state": state,
        "until": until,
        "consecutive_failures": r.consecutive_failures,
        "recent_failure_rate": (r.failure_rate * 1000.0).round() / 1000.0,
        "requests": r.requests,
        "failures": r.failures,
        "last_error": r.last_error,
        "rate_limited_until": r.blocked_until.map(|b| when(b, now)),
    })
}

/// `GET /admin/config`: the running config; every secret masked.
pub fn config(live: &Live) -> Value {
    let c = &live.config;
    let s = &c.server;
    json!({
        "server": {
            "listen": s.listen.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "metrics_listen": s.metrics_listen.map(|a| a.to_string()),
            "max_body_bytes": s.max_body_bytes,
            "threads": s.threads,
            "grace_period_secs": s.grace_period_secs,
            "client_timeout_secs": s.client_timeout.as_secs(),
            "stream_keepalive_ms": s.stream_keepalive.map_or(0, |d| d.as_millis()),
            "tls": s.tls.as_ref().map(|t| json!({"cert": t.cert, "key": t.key})),
        },
        "access_keys": c.access_keys.iter().map(|k| json!({"name": k.name, "key": k.key.masked()})).collect::<Vec<_>>(),
        "admin_keys": c.admin_keys.iter().map(|k| k.masked()).collect::<Vec<_>>(),
        "routing": {
            "strategy": c.routing.strategy.as_str(),
            "max_attempts": c.routing.max_attempts,
            "retry_budget_ms": c.routing.retry_budget.as_millis() as u64,
            "affinity_ttl_secs": c.routing.affinity_ttl.as_secs(),
            "affinity_header": c.routing.affinity_headers.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
            "affinity_max_sessions": c.routing.affinity_max_sessions,
        },
        "health": {
            "error_threshold": c.health.error_threshold,
            "cooldown_secs": c.health.cooldown.as_secs(),
            "breaker_window": c.health.breaker_window,
            "breaker_failure_rate": c.health.breaker_failure_rate,
            "key_retire_secs": c.health.key_retire.as_secs(),
        },
        "channels": c.channels.iter().map(|ch| json!({
            "name": ch.name,
            "protocol": ch.protocol.as_str(),
            "base_url": format!("{}://{}{}", if ch.upstream.tls { "https" } else { "http" }, ch.upstream.authority, ch.upstream.path_prefix),
            "endpoint": ch.endpoint_path("{model}", false),
            "keys": ch.keys.iter().map(|k| k.id.clone()).collect::<Vec<_>>(),
            "models": ch.models.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "model_map": ch.model_map.iter().map(|(f, t)| json!([f.as_str(), t])).collect::<Vec<_>>(),
            "priority": ch.priority,
            "weight": ch.weight,
            "headers": ch.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "key_strategy": ch.key_strategy.as_str(),
            "family": ch.family,
            "default_max_tokens": ch.default_max_tokens,
            "max_tokens_cap": ch.max_tokens_cap,
            "reasoning": ch.reasoning,
            "health_check": ch.health_check.as_ref().map(|h| json!({"path": h.path, "interval_secs": h.interval.as_secs()})),
            "timeouts_ms": {
                "connect": ch.timeouts.connect.as_millis() as u64,
                "first_byte": ch.timeouts.first_byte.as_millis() as u64,
                "idle": ch.timeouts.idle.as_millis() as u64,
            },
        })).collect::<Vec<_>>(),
    })
}

/// `GET /admin/channels`: every channel and key (masked) with its health.
pub fn channels(live: &Live, health: &HealthRegistry) -> Value {
    let now = Instant::now();
    let channels: Vec<Value> = live
        .config
        .channels
        .iter()
        .enumerate()
        .map(|(c, ch)| {
            let keys: Vec<Value> = (0..ch.keys.len())
                .map(|k| {
                    let mut v = state_json(&health.report_key(&ch.key_ref(k), now), now);
                    v["key_id"] = json!(ch.keys[k].id);
                    // The channel's active health check, when it has one.
                    if let Some(up) = live.balancer.probe_says_up(c, k) {
                        v["probe"] = json!(if up { "up" } else { "down" });
                    }
                    v
                })
                .collect();
            let mut v = state_json(&health.report_channel(&ch.name, now), now);
            v["name"] = json!(ch.name);
            v["protocol"] = json!(ch.protocol.as_str());
            v["priority"] = json!(ch.priority);
            v["weight"] = json!(ch.weight);
            v["models"] = json!(ch.models.iter().map(|m| m.as_str()).collect::<Vec<_>>());
            v["keys"] = json!(keys);
            v
        })
        .collect();
    json!({ "channels": channels })
}
