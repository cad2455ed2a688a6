//! The bench's result rows: raw visits and the per-target figures derived from them.

use crate::bodies::Size;
use crate::client::Target;
use crate::procs::CpuDelta;
use crate::stats;
use crate::{alloc, Cli, Kind, Spec};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Visit {
    pub round: usize,
    pub ok: u64,
    pub errors: u64,
    pub secs: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU of the hop under test (gateway, or all nginx processes).
    pub server_cpu: CpuDelta,
    pub mock_cpu: CpuDelta,
    pub loadgen_cpu: CpuDelta,
    pub gw_peak_rss_kib: u64,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NsRow {
    pub name: String,
    pub kind: &'static str,
    pub client: &'static str,
    pub upstream: &'static str,
    /// HTTPS between the client and the hop.
    pub tls: bool,
    /// HTTP/2 over that.
    pub http2: bool,
    pub size: &'static str,
    pub body_bytes: usize,
    pub conns: usize,
    /// Medians over rounds.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ok: u64,
    pub errors: u64,
    /// CPU of the hop per request (all rounds), microseconds.
    pub server_cpu_us_per_req: Option<f64>,
    pub mock_cpu_us_per_req: f64,
    pub loadgen_cpu_us_per_req: f64,
    /// Largest share of one core the load generator used in a visit.
    pub loadgen_busy: f64,
    /// Largest share of one core the mock used in a visit.
    pub mock_busy: f64,
    pub gw_peak_rss_kib: Option<u64>,
    pub first_error: Option<String>,
    pub visits: Vec<Visit>,
    #[serde(skip)]
    pub(crate) spec: Option<Spec>,
    #[serde(skip)]
    pub(crate) target: Option<Arc<Target>>,
}

pub(crate) fn per(total_s: f64, n: u64) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        total_s * 1e6 / n as f64
    }
}

impl NsRow {
    pub(crate) fn new(spec: Spec, size: Size, conns: usize, target: Target) -> NsRow {
        NsRow {
            name: spec.name(),
            kind: spec.kind_str(),
            client: spec.client.as_str(),
            upstream: spec.upstream.as_str(),
            tls: spec.tls,
            http2: spec.http2,
            size: size.as_str(),
            body_bytes: target.body.len(),
            conns,
            rps: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            ok: 0,
            errors: 0,
            server_cpu_us_per_req: None,
            mock_cpu_us_per_req: 0.0,
            loadgen_cpu_us_per_req: 0.0,
            loadgen_busy: 0.0,
            mock_busy: 0.0,
            gw_peak_rss_kib: None,
            first_error: None,
            visits: Vec::new(),
            spec: Some(spec),
            target: Some(Arc::new(target)),
        }
    }

    pub(crate) fn finish(&mut self) {
        let v = &self.visits;
        self.rps = stats::median(&v.iter().map(|x| x.rps).collect::<Vec<_>>());
        self.p50_ms = stats::median(&v.iter().map(|x| x.p50_ms).collect::<Vec<_>>());
        self.p99_ms = stats::median(&v.iter().map(|x| x.p99_ms).collect::<Vec<_>>());
        self.ok = v.iter().map(|x| x.ok).sum();
        self.errors = v.iter().map(|x| x.errors).sum();
        let sum = |f: fn(&Visit) -> f64| v.iter().map(f).sum::<f64>();
        if self.spec.is_some_and(|s| s.kind != Kind::Direct) {
            self.server_cpu_us_per_req = Some(per(sum(|x| x.server_cpu.best()), self.ok));
        }
        self.mock_cpu_us_per_req = per(sum(|x| x.mock_cpu.best()), self.ok);
        self.loadgen_cpu_us_per_req = per(sum(|x| x.loadgen_cpu.best()), self.ok);
        let busy = |f: fn(&Visit) -> f64| v.iter().map(|x| f(x) / x.secs.max(1e-9)).fold(0.0, f64::max);
        self.loadgen_busy = busy(|x| x.loadgen_cpu.best());
        self.mock_busy = busy(|x| x.mock_cpu.best());
        if self.spec.is_some_and(|s| s.kind == Kind::Relay) {
            self.gw_peak_rss_kib = v.iter().map(|x| x.gw_peak_rss_kib).max();
        }
        self.first_error = v.iter().find_map(|x| x.first_error.clone());
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamVisit {
    pub round: usize,
    pub requests: u64,
    pub complete: u64,
    pub ttfb_p50_ms: f64,
    pub ttfb_p99_ms: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p99_ms: f64,
    pub gap_p50_ms: f64,
    pub gap_p99_ms: f64,
    pub frames: u64,
    pub gw_cpu: CpuDelta,
    pub mock_cpu: CpuDelta,
    pub gw_peak_rss_kib: u64,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamRow {
    pub name: String,
    pub kind: &'static str,
    pub client: &'static str,
    pub upstream: &'static str,
    pub tokens: u32,
    pub pacing_ms: u64,
    pub requests: u64,
    pub complete: u64,
    pub ttfb_p50_ms: f64,
    pub ttfb_p99_ms: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p99_ms: f64,
    pub gap_p50_ms: f64,
    pub gap_p99_ms: f64,
    pub frames_per_req: f64,
    pub gw_cpu_us_per_req: Option<f64>,
    pub mock_cpu_us_per_req: f64,
    pub first_error: Option<String>,
    pub visits: Vec<StreamVisit>,
    #[serde(skip)]
    pub(crate) spec: Option<Spec>,
    #[serde(skip)]
    pub(crate) target: Option<Arc<Target>>,
}

impl StreamRow {
    pub(crate) fn finish(&mut self) {
        let v = &self.visits;
        let med = |f: fn(&StreamVisit) -> f64| stats::median(&v.iter().map(f).collect::<Vec<_>>());
        self.ttfb_p50_ms = med(|x| x.ttfb_p50_ms);
        self.ttfb_p99_ms = med(|x| x.ttfb_p99_ms);
        self.ttft_p50_ms = med(|x| x.ttft_p50_ms);
        self.ttft_p99_ms = med(|x| x.ttft_p99_ms);
        self.gap_p50_ms = med(|x| x.gap_p50_ms);
        self.gap_p99_ms = med(|x| x.gap_p99_ms);
        self.requests = v.iter().map(|x| x.requests).sum();
        self.complete = v.iter().map(|x| x.complete).sum();
        let frames: u64 = v.iter().map(|x| x.frames).sum();
        self.frames_per_req = frames as f64 / self.requests.max(1) as f64;
        if self.spec.is_some_and(|s| s.kind == Kind::Relay) {
            self.gw_cpu_us_per_req = Some(per(v.iter().map(|x| x.gw_cpu.best()).sum(), self.requests));
        }
        self.mock_cpu_us_per_req = per(v.iter().map(|x| x.mock_cpu.best()).sum(), self.requests);
        self.first_error = v.iter().find_map(|x| x.first_error.clone());
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ManyRow {
    pub name: String,
    pub streams: usize,
    pub tokens: u32,
    pub pacing_ms: u64,
    /// Requests were released evenly over this time, after every connection was open.
    pub ramp_ms: u64,
    pub connected: usize,
    pub completed: usize,
    pub failed: usize,
    pub stalled: usize,
    pub peak_concurrent: usize,
    pub secs: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p99_ms: f64,
    pub total_p50_ms: f64,
    pub total_p99_ms: f64,
    pub gw_peak_rss_kib: u64,
    /// The gateway's RSS before the clients connected.
    pub gw_rss_before_kib: u64,
    pub gw_cpu: CpuDelta,
    pub events: u64,
    /// CPU of the hop (the gateway, or nginx's processes) per client event.
    pub cpu_us_per_event: f64,
    /// CPU of the paced mock per client event: what producing one event costs a
    /// minimal server on this machine.
    pub mock_cpu_us_per_event: f64,
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CalRow {
    pub client: String,
    pub size: &'static str,
    pub conns: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Share of one core used by the load generator (None for wrk).
    pub client_busy: Option<f64>,
    pub mock_busy: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Failover {
    pub requests: u64,
    pub ok: u64,
    pub success_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub healthy_requests: u64,
    pub healthy_ok: u64,
    pub healthy_p50_ms: f64,
    pub healthy_p99_ms: f64,
    pub first_error: Option<String>,
    /// The default-health variant.
    pub default_requests: u64,
    pub default_ok: u64,
    pub default_success_rate: f64,
    pub default_failing_hits: u64,
    pub default_fallback_hits: u64,
    pub default_p50_ms: f64,
    pub default_p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemRow {
    pub phase: String,
    pub peak_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub goal: String,
    pub measured: String,
    pub pass: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub date_utc: String,
    pub commit: String,
    pub nginx: Option<String>,
    pub wrk: Option<String>,
    /// The gateway binary's `--version` line.
    pub gateway: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Cli,
    pub wall_secs: f64,
    /// What the run was planned to take (`budget.rs`).
    pub planned_secs: f64,
    /// The share of their set length the visits were given (`--finish-within`); the
    /// settings above hold the lengths used.
    pub visit_scale: f64,
    pub idle_rss_kib: u64,
    /// Gateway CPU while idle, milliseconds per second.
    pub idle_cpu_ms_per_s: f64,
    pub calibration: Vec<CalRow>,
    pub nonstream: Vec<NsRow>,
    pub sequential: Vec<NsRow>,
    /// The non-streaming runs with HTTPS between client and hop (c=32, then sequential).
    pub tls_nonstream: Vec<NsRow>,
    pub tls_sequential: Vec<NsRow>,
    /// The sequential HTTPS runs over HTTP/1.1 again, small body, a new connection per
    /// request: each with a full TLS handshake, then each resuming a session.
    pub tls_full_handshakes: Vec<NsRow>,
    pub tls_resumed_handshakes: Vec<NsRow>,
    /// The client's TLS handshakes in those two runs: [made, resumed a session] each.
    pub tls_resumed: [[u64; 2]; 2],
    /// Why there are no HTTPS runs, when there are none.
    pub tls_skipped: Option<String>,
    pub streams_short: Vec<StreamRow>,
    pub streams_long: Vec<StreamRow>,
    pub many_streams: Vec<ManyRow>,
    /// The many-streams test through the gateway serving HTTPS (not one of the targets).
    pub many_streams_https: Option<ManyRow>,
    /// The many-streams test through nginx (buffering off), for reference.
    pub many_streams_nginx: Option<ManyRow>,
    pub failover: Option<Failover>,
    pub memory: Vec<MemRow>,
    pub allocations: Vec<alloc::AllocRow>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}
