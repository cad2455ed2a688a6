//! Prometheus metrics: one `Metrics` struct, every collector registered once in its
//! own registry. Per-request metrics are recorded once, when the request is logged;
//! health gauges are computed when `/metrics` is scraped.

use crate::health::{HealthRegistry, State};
use crate::protocol::anthropic::Usage;
use crate::relay::{Live, Outcome};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Latency buckets (seconds) from sub-millisecond local answers to long agent turns.
const BUCKETS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    first_token: HistogramVec,
    attempts: IntCounterVec,
    retries: IntCounter,
    failovers: IntCounter,
    tokens: IntCounterVec,
    wasted_tokens: IntCounterVec,
    channel_up: IntGaugeVec,
    key_up: IntGaugeVec,
    pub inflight: IntGauge,
    pub active_streams: IntGauge,
    reloads: IntCounterVec,
    last_reload_success: Gauge,
}

/// The label for a model: configured names as they are, anything else `other`, so a
/// client cannot grow the label space.
pub fn model_label<'a>(live: &Live, model: &'a str) -> &'a str {
    if live.known_models.contains(model) {
        model
    } else {
        "other"
    }
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let histogram = |name: &str, help: &str| -> Result<HistogramVec, prometheus::Error> {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
                &["client_dialect", "channel"],
            )?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let requests = counter_vec(
            "llm_relay_requests_total",
            "API requests answered, by client dialect, model, channel and status.",
            &["client_dialect", "model", "channel", "status"],
        )?;
        let duration =
            histogram("llm_relay_request_duration_seconds", "Time from request to the end of the response.")?;
        let first_token =
            histogram("llm_relay_time_to_first_token_seconds", "Time from request to the first content token sent.")?;
        let attempts = counter_vec(
            "llm_relay_upstream_attempts_total",
            "Upstream attempts by outcome: ok, retryable_status, connect_error, timeout, in_band_error, key_refused, client_error.",
            &["channel", "outcome"],
        )?;
        let retries = IntCounter::new("llm_relay_retries_total", "Attempts after a request's first.")?;
        registry.register(Box::new(retries.clone()))?;
        let failovers = IntCounter::new("llm_relay_failovers_total", "Retries that moved to another channel.")?;
        registry.register(Box::new(failovers.clone()))?;
        let tokens = counter_vec(
            "llm_relay_tokens_total",
            "Tokens reported by upstreams for answers clients received, by kind: input, output, cache_read, cache_write.",
            &["channel", "model", "kind"],
        )?;
        let wasted_tokens = counter_vec(
            "llm_relay_wasted_tokens_total",
            "Tokens upstreams reported for attempts whose answer the client never saw.",
            &["channel"],
        )?;
        let channel_up = gauge_vec("llm_relay_channel_up", "1 when the channel accepts traffic.", &["channel"])?;
        let key_up = gauge_vec(
            "llm_relay_key_up",
            "1 when the key accepts traffic (key_id is masked).",
            &["channel", "key_id"],
        )?;
        let inflight = IntGauge::new("llm_relay_inflight_requests", "API requests being served.")?;
        registry.register(Box::new(inflight.clone()))?;
        let active_streams = IntGauge::new("llm_relay_active_streams", "Streaming responses being sent.")?;
        registry.register(Box::new(active_streams.clone()))?;
        let reloads =
            counter_vec("llm_relay_config_reloads_total", "Config reloads by result: success, failure.", &["result"])?;
        let last_reload_success = Gauge::new(
            "llm_relay_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful config load.",
        )?;
        registry.register(Box::new(last_reload_success.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            duration,
            first_token,
            attempts,
            retries,
            failovers,
            tokens,
            wasted_tokens,
            channel_up,
            key_up,
            inflight,
            active_streams,
            reloads,
            last_reload_success,
        })
    }

    /// Records one finished API request.
    pub fn record(&self, live: &Live, dialect: &str, model: Option<&str>, status: u16, o: &Outcome, elapsed: f64) {
        let channel = o.channel.as_deref().unwrap_or("none");
        let model_l = model.map_or("none", |m| model_label(live, m));
        // Valid codes have a static name; anything else is formatted.
        let code = http::StatusCode::from_u16(status).ok();
        let formatted;
        let status_s = match &code {
            Some(c) => c.as_str(),
            None => {
                formatted = status.to_string();
                formatted.as_str()
            }
        };
        self.requests.with_label_values(&[dialect, model_l, channel, status_s]).inc();
        self.duration.with_label_values(&[dialect, channel]).observe(elapsed);
        if let Some(t) = o.first_token {
            self.first_token.with_label_values(&[dialect, channel]).observe(t.as_secs_f64());
        }
        let mut previous: Option<&str> = None;
        for (i, a) in o.attempts_log.iter().enumerate() {
            self.attempts.with_label_values(&[&a.channel, a.outcome]).inc();
            if i > 0 {
                self.retries.inc();
                if previous != Some(a.channel.as_str()) {
                    self.failovers.inc();
                }
            }
            if let Some(u) = &a.wasted {
                let n = u.input_tokens
                    + u.output_tokens
                    + u.cache_read_input_tokens.unwrap_or(0)
                    + u.cache_creation_input_tokens.unwrap_or(0);
                self.wasted_tokens.with_label_values(&[&a.channel]).inc_by(n);
            }
            previous = Some(a.channel.as_str());
        }
        if let (Some(u), Some(up_model)) = (&o.usage, o.upstream_model.as_deref()) {
            self.record_tokens(channel, model_label(live, up_model), u);
        }
    }

    fn record_tokens(&self, channel: &str, model: &str, u: &Usage) {
        for (kind, n) in [
            ("input", u.input_tokens),
            ("output", u.output_tokens),
            ("cache_read", u.cache_read_input_tokens.unwrap_or(0)),
            ("cache_write", u.cache_creation_input_tokens.unwrap_or(0)),
        ] {
            self.tokens.with_label_values(&[channel, model, kind]).inc_by(n);
        }
    }

    pub fn record_reload(&self, ok: bool) {
        self.reloads.with_label_values(&[if ok { "success" } else { "failure" }]).inc();
        if ok {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
            self.last_reload_success.set(now);
        }
    }

    /// The text exposition, with health gauges for the channels and keys of `live`.
    pub fn render(&self, live: &Live, health: &HealthRegistry) -> Vec<u8> {
        let now = Instant::now();
        self.channel_up.reset();
        self.key_up.reset();
        health.read(|t| {
            for ch in &live.config.channels {
                let up = t.channel(&ch.name).is_none_or(|h| matches!(h.state(now), State::Up | State::HalfOpen));
                self.channel_up.with_label_values(&[&ch.name]).set(i64::from(up));
                for (k, key) in ch.keys.iter().enumerate() {
                    let up = t.key(&ch.key_ref(k)).is_none_or(|h| matches!(h.state(now), State::Up | State::HalfOpen));
                    self.key_up.with_label_values(&[&ch.name, &key.id]).set(i64::from(up));
                }
            }
        });
        let mut out = Vec::with_capacity(16 * 1024);
        if TextEncoder::new().encode(&self.registry.gather(), &mut out).is_err() {
            out.clear();
        }
        out
    }
}

/// Keeps a gauge raised for as long as it lives.
pub struct GaugeGuard(IntGauge);

impl GaugeGuard {
    pub fn new(g: &IntGauge) -> Self {
        g.inc();
        GaugeGuard(g.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
