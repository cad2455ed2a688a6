//! Prometheus metrics: one `Metrics` struct, every collector registered once in its
//! own registry. Per-request metrics are recorded once, when the request is logged;
//! health gauges are computed when `/metrics` is scraped.

use crate::health::{HealthRegistry, State};
use crate::relay::{Live, Outcome};
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use rustc_hash::FxHashMap;
use std::cell::{OnceCell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Latency buckets (seconds) from sub-millisecond local answers to long agent turns.
const BUCKETS: [f64; 16] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

pub struct Metrics {
    /// Tells this instance's entries in [`SERIES`] from another's (tests make many).
    id: u64,
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

/// The per-request series of one label combination.
struct Series {
    requests: IntCounter,
    duration: Histogram,
    /// Made on first use, so that a combination that never had one exports none.
    first_token: OnceCell<Histogram>,
    /// input, output, cache_read, cache_write.
    tokens: OnceCell<[IntCounter; 4]>,
}

/// Past this many combinations a thread's cache starts again (only after many reloads
/// renamed channels or models; the label space itself is bounded by the config).
const SERIES_CACHE_LIMIT: usize = 4096;

thread_local! {
    /// Each worker thread's handles to the per-request series, by label combination
    /// (see [`Metrics::record`]). A label-vector lookup hashes its labels a byte at a
    /// time (FNV) under a read lock all threads share, and a request made seven of
    /// them; a hit here is one FxHash of the labels, with no lock and no atomic. The
    /// handles are never removed from their vectors, so a cached one stays exported.
    static SERIES: RefCell<SeriesCache> = RefCell::default();
}

#[derive(Default)]
struct SeriesCache {
    series: FxHashMap<Box<[u8]>, Series>,
    /// The key being looked up, in a buffer kept between requests.
    key: Vec<u8>,
}

/// The cache key: the instance, then each label with its length in front.
fn series_key(out: &mut Vec<u8>, id: u64, labels: [&str; 5]) {
    out.clear();
    out.extend_from_slice(&id.to_le_bytes());
    for l in labels {
        out.extend_from_slice(&(l.len() as u32).to_le_bytes());
        out.extend_from_slice(l.as_bytes());
    }
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
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
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
        let up_model_l = o.upstream_model.as_deref().map_or("none", |m| model_label(live, m));
        let record = |series: &Series| {
            series.requests.inc();
            series.duration.observe(elapsed);
            if let Some(t) = o.first_token {
                series
                    .first_token
                    .get_or_init(|| self.first_token.with_label_values(&[dialect, channel]))
                    .observe(t.as_secs_f64());
            }
            if let (Some(u), Some(_)) = (&o.usage, &o.upstream_model) {
                let tokens = series.tokens.get_or_init(|| {
                    ["input", "output", "cache_read", "cache_write"]
                        .map(|kind| self.tokens.with_label_values(&[channel, up_model_l, kind]))
                });
                let counts = [
                    u.input_tokens,
                    u.output_tokens,
                    u.cache_read_input_tokens.unwrap_or(0),
                    u.cache_creation_input_tokens.unwrap_or(0),
                ];
                for (counter, n) in tokens.iter().zip(counts) {
                    counter.inc_by(n);
                }
            }
        };
        SERIES.with_borrow_mut(|SeriesCache { series: cache, key }| {
            series_key(key, self.id, [dialect, model_l, channel, status_s, up_model_l]);
            if let Some(series) = cache.get(key.as_slice()) {
                return record(series);
            }
            let series = Series {
                requests: self.requests.with_label_values(&[dialect, model_l, channel, status_s]),
                duration: self.duration.with_label_values(&[dialect, channel]),
                first_token: OnceCell::new(),
                tokens: OnceCell::new(),
            };
            record(&series);
            if cache.len() >= SERIES_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key.as_slice().into(), series);
        });
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
            for (c, ch) in live.config.channels.iter().enumerate() {
                let up = t.channel(&ch.name).is_none_or(|h| matches!(h.state(now), State::Up | State::HalfOpen));
                self.channel_up.with_label_values(&[&ch.name]).set(i64::from(up));
                for (k, key) in ch.keys.iter().enumerate() {
                    // Up when neither passive health nor the channel's active check holds
                    // it out.
                    let up = t.key(&ch.key_ref(k)).is_none_or(|h| matches!(h.state(now), State::Up | State::HalfOpen))
                        && live.balancer.probe_says_up(c, k) != Some(false);
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

#[cfg(test)]
mod tests {
    use super::Metrics;
    use crate::health::HealthRegistry;
    use crate::protocol::anthropic::Usage;
    use crate::relay::{Live, Outcome};
    use std::time::Duration;

    fn live() -> Live {
        let yaml =
            "channels:\n  - {name: a, protocol: anthropic, base_url: 'http://a', keys: [k], models: ['claude-x']}\n";
        Live::new(crate::config::load_str(yaml, &|_| None).unwrap().config)
    }

    fn outcome(channel: &str, model: &str, usage: Option<Usage>, first_token: Option<Duration>) -> Outcome {
        Outcome {
            channel: Some(channel.into()),
            upstream_model: Some(model.into()),
            usage,
            first_token,
            ..Default::default()
        }
    }

    /// The exposition's lines for `metric`, without comments.
    fn lines(m: &Metrics, live: &Live, metric: &str) -> Vec<String> {
        let text = String::from_utf8(m.render(live, &HealthRegistry::default())).unwrap();
        text.lines().filter(|l| l.starts_with(metric)).map(str::to_string).collect()
    }

    #[test]
    fn each_label_combination_counts_apart_and_instances_do_not_share_series() {
        let live = live();
        let (m, other) = (Metrics::new().unwrap(), Metrics::new().unwrap());
        let usage = Usage { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: Some(2), ..Default::default() };
        let streamed = outcome("a", "claude-x", Some(usage), Some(Duration::from_millis(3)));
        m.record(&live, "anthropic", Some("claude-x"), 200, &streamed, 0.01);
        m.record(&live, "anthropic", Some("claude-x"), 200, &streamed, 0.01);
        // Same labels but no usage and no first token: counted, adding neither.
        m.record(&live, "anthropic", Some("claude-x"), 200, &outcome("a", "claude-x", None, None), 0.01);
        m.record(&live, "anthropic", Some("claude-x"), 529, &outcome("a", "claude-x", None, None), 0.01);
        // An unknown model is `other`; a client-chosen name never becomes a label.
        m.record(&live, "openai", Some("free-text"), 200, &outcome("a", "free-text", Some(usage), None), 0.01);
        other.record(&live, "anthropic", Some("claude-x"), 200, &streamed, 0.01);

        assert_eq!(
            lines(&m, &live, "llm_relay_requests_total"),
            [
                r#"llm_relay_requests_total{channel="a",client_dialect="anthropic",model="claude-x",status="200"} 3"#,
                r#"llm_relay_requests_total{channel="a",client_dialect="anthropic",model="claude-x",status="529"} 1"#,
                r#"llm_relay_requests_total{channel="a",client_dialect="openai",model="other",status="200"} 1"#,
            ]
        );
        assert_eq!(
            lines(&m, &live, "llm_relay_tokens_total"),
            [
                r#"llm_relay_tokens_total{channel="a",kind="cache_read",model="claude-x"} 4"#,
                r#"llm_relay_tokens_total{channel="a",kind="cache_read",model="other"} 2"#,
                r#"llm_relay_tokens_total{channel="a",kind="cache_write",model="claude-x"} 0"#,
                r#"llm_relay_tokens_total{channel="a",kind="cache_write",model="other"} 0"#,
                r#"llm_relay_tokens_total{channel="a",kind="input",model="claude-x"} 10"#,
                r#"llm_relay_tokens_total{channel="a",kind="input",model="other"} 5"#,
                r#"llm_relay_tokens_total{channel="a",kind="output",model="claude-x"} 14"#,
                r#"llm_relay_tokens_total{channel="a",kind="output",model="other"} 7"#,
            ]
        );
        // First-token series exist only where a first token was seen.
        assert_eq!(
            lines(&m, &live, "llm_relay_time_to_first_token_seconds_count"),
            [r#"llm_relay_time_to_first_token_seconds_count{channel="a",client_dialect="anthropic"} 2"#]
        );
        assert_eq!(
            lines(&m, &live, "llm_relay_request_duration_seconds_count"),
            [
                r#"llm_relay_request_duration_seconds_count{channel="a",client_dialect="anthropic"} 4"#,
                r#"llm_relay_request_duration_seconds_count{channel="a",client_dialect="openai"} 1"#,
            ]
        );
        assert_eq!(
            lines(&other, &live, "llm_relay_requests_total"),
            [r#"llm_relay_requests_total{channel="a",client_dialect="anthropic",model="claude-x",status="200"} 1"#]
        );
    }
}
