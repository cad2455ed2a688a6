//! One structured JSON line per request (log target `access`). Names, masked key ids
//! and error classes only: no key, token or body ever appears here.

use crate::protocol::Dialect;
use crate::relay::Outcome;
use serde_json::json;
use std::time::{Duration, SystemTime};

pub struct Line<'a> {
    pub request_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub access_key: Option<&'a str>,
    pub dialect: Dialect,
    pub model: Option<&'a str>,
    pub stream: bool,
    pub status: u16,
    pub outcome: &'a Outcome,
    pub elapsed: Duration,
    pub bytes_in: usize,
    pub pingora_error: Option<&'a str>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

impl Line<'_> {
    pub fn to_json(&self) -> String {
        let o = self.outcome;
        let usage = o.usage.map(|u| {
            json!({
                "input": u.input_tokens,
                "output": u.output_tokens,
                "cache_read": u.cache_read_input_tokens.unwrap_or(0),
                "cache_write": u.cache_creation_input_tokens.unwrap_or(0),
            })
        });
        json!({
            "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "access_key": self.access_key,
            "client_dialect": self.dialect.as_str(),
            "model": self.model,
            "upstream_model": o.upstream_model,
            "channel": o.channel,
            "key_id": o.key_id,
            "attempts": o.attempts,
            "status": self.status,
            "stream": self.stream,
            "bytes_in": self.bytes_in,
            "bytes_out": o.bytes_out,
            "tokens": usage,
            "duration_ms": ms(self.elapsed),
            "first_byte_ms": o.first_byte.map(ms),
            "first_token_ms": o.first_token.map(ms),
            "error": o.error.as_deref().or(self.pingora_error),
        })
        .to_string()
    }
}
