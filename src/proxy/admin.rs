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

/// `GET /admin/channels`: every channel and key (masked) with its health.
pub fn channels(live: &Live, health: &HealthRegistry) -> Value {
    let now = Instant::now();
    let channels: Vec<Value> = live
        .config
        .channels
        .iter()
        .map(|ch| {
            let keys: Vec<Value> = (0..ch.keys.len())
                .map(|k| {
                    let mut v = state_json(&health.report_key(&ch.key_ref(k), now), now);
                    v["key_id"] = json!(ch.keys[k].id);
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
