//! llm-relay-bench: the benchmark behind `make bench` (README "Performance").
//!
//! Starts the bundled mock upstream, the gateway (release build) and, when installed,
//! nginx as a reference pass-through proxy, all on loopback, and measures in one run,
//! interleaved (every round visits every target; figures are medians over rounds):
//! non-streaming throughput and latency, streaming time to first byte/token and
//! per-event cost, a thousand concurrent streams, memory and CPU of the gateway,
//! failover, and allocations per request in the translation core (in-process).
//! Writes `latest.md` (also printed) and `latest.json` to `--out`.

mod alloc;
mod bodies;
mod client;
mod procs;
mod report;
mod stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use http::Method;
use serde::Serialize;

use bodies::{Ask, Size};
use client::{LoadResult, StreamOut, Target};
use llm_relay::protocol::Dialect;
use procs::{Cpu, CpuDelta, Proc, RssSampler};

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const ACCESS_KEY: &str = "bench-access-key";
const A: Dialect = Dialect::Anthropic;
const O: Dialect = Dialect::OpenAiChat;
/// A stream that receives nothing for this long counts as stalled.
const STALL: Duration = Duration::from_secs(10);

#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "llm-relay-bench", about = "Benchmark of llm-relay against the bundled mock and nginx (make bench)")]
pub struct Cli {
    /// Directory with the release binaries (llm-relay, llm-relay-mock).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where latest.md and latest.json are written.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Rounds: each visits every target once; figures are medians over rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds per visit of the concurrency-32 runs.
    #[arg(long, default_value_t = 1.5)]
    visit_secs: f64,
    /// Seconds per visit of the sequential (concurrency 1) latency runs.
    #[arg(long, default_value_t = 0.8)]
    seq_visit_secs: f64,
    /// Seconds per visit of the sequential short-stream runs (long streams: 2/3 of it).
    #[arg(long, default_value_t = 2.0)]
    stream_visit_secs: f64,
    /// Connections of the throughput runs.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Mock pacing of the sequential stream runs (ms between text deltas).
    #[arg(long, default_value_t = 5)]
    token_delay_ms: u64,
    /// Text deltas of the short streams (first byte / first token).
    #[arg(long, default_value_t = 3)]
    short_tokens: u32,
    /// Text deltas of the long streams (per-event cost, token gaps).
    #[arg(long, default_value_t = 100)]
    long_tokens: u32,
    /// Streams held at once in the many-streams test.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Text deltas per stream in the many-streams test.
    #[arg(long, default_value_t = 100)]
    stream_tokens: u32,
    /// Mock pacing of the many-streams test (ms).
    #[arg(long, default_value_t = 20)]
    many_delay_ms: u64,
    /// The many-streams requests are released evenly over this time (ms). The mock's
    /// listen backlog is 128: a thousand upstream connects at the same instant overflow it,
    /// and the SYN retransmits that follow add a second to some streams.
    #[arg(long, default_value_t = 500)]
    many_ramp_ms: u64,
    /// Gateway worker threads (and nginx worker processes).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Sequential requests of the default-health failover run.
    #[arg(long, default_value_t = 200)]
    failover_requests: u64,
    /// Skip nginx even if installed.
    #[arg(long)]
    no_nginx: bool,
    /// A short trial: 1 round, short visits, 200 streams.
    #[arg(long)]
    quick: bool,
    /// Keep the temp dir (configs, logs) for inspection.
    #[arg(long)]
    keep_tmp: bool,
    /// Run only these phases (comma-separated): alloc, calibration, nonstream, sequential,
    /// streams, many, failover. Default: all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

impl Cli {
    fn wants(&self, phase: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == phase)
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if cli.quick {
        cli.rounds = 1;
        cli.visit_secs = cli.visit_secs.min(0.5);
        cli.seq_visit_secs = cli.seq_visit_secs.min(0.3);
        cli.stream_visit_secs = cli.stream_visit_secs.min(0.6);
        cli.streams = cli.streams.min(200);
        cli.failover_requests = cli.failover_requests.min(50);
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("llm-relay-bench: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llm-relay-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn progress(msg: &str) {
    let t = START.get().map_or(0.0, |s| s.elapsed().as_secs_f64());
    eprintln!("[{t:>6.1}s] {msg}");
}

/// The temp dir of configs and logs, removed at the end unless `--keep-tmp`.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("temp dir kept: {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

struct Nginx {
    _proc: Proc,
    addr: SocketAddr,
    pids: Vec<u32>,
    version: String,
}

/// Everything running during the bench. Fields drop in order: gateway, nginx, mocks,
/// then the temp dir.
struct Env {
    gw: Proc,
    gw_addr: SocketAddr,
    sampler: RssSampler,
    nginx: Option<Nginx>,
    mock: Proc,
    mock_addr: SocketAddr,
    _slow: Proc,
    tmp: TempDir,
    cli: Cli,
}

// ---------------------------------------------------------------------------------
// Targets

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Direct,
    Nginx,
    Relay,
}

/// What a target is: who answers, which dialect the client speaks, which the upstream.
#[derive(Debug, Clone, Copy)]
struct Spec {
    kind: Kind,
    client: Dialect,
    upstream: Dialect,
}

impl Spec {
    const fn direct(d: Dialect) -> Spec {
        Spec { kind: Kind::Direct, client: d, upstream: d }
    }
    const fn nginx(d: Dialect) -> Spec {
        Spec { kind: Kind::Nginx, client: d, upstream: d }
    }
    const fn relay(client: Dialect, upstream: Dialect) -> Spec {
        Spec { kind: Kind::Relay, client, upstream }
    }

    fn name(&self) -> String {
        match self.kind {
            Kind::Direct => format!("direct {}", self.client.as_str()),
            Kind::Nginx => format!("nginx {}", self.client.as_str()),
            Kind::Relay => format!("relay {}→{}", self.client.as_str(), self.upstream.as_str()),
        }
    }

    fn kind_str(&self) -> &'static str {
        match self.kind {
            Kind::Direct => "direct",
            Kind::Nginx => "nginx",
            Kind::Relay => "relay",
        }
    }

    /// The model the client asks for; it picks the gateway channel.
    fn model(&self) -> &'static str {
        let translating = self.kind == Kind::Relay && self.client != self.upstream;
        match (translating, self.client == A) {
            (true, true) => "tr-claude-sonnet-4-5",
            (true, false) => "tr-gpt-4o",
            (false, true) => "claude-sonnet-4-5",
            (false, false) => "gpt-4o",
        }
    }
}

fn terminator(client: Dialect) -> &'static [u8] {
    if client == A {
        b"event: message_stop"
    } else {
        b"data: [DONE]"
    }
}

fn auth(client: Dialect, key: &str) -> (&'static str, String) {
    if client == A {
        ("x-api-key", key.to_string())
    } else {
        ("authorization", format!("Bearer {key}"))
    }
}

fn path(client: Dialect) -> &'static str {
    if client == A {
        "/v1/messages"
    } else {
        "/v1/chat/completions"
    }
}

fn upstream_key(d: Dialect) -> &'static str {
    if d == A {
        "bench-key-anthropic"
    } else {
        "bench-key-openai"
    }
}

impl Env {
    fn addr(&self, kind: Kind) -> Option<SocketAddr> {
        match kind {
            Kind::Direct => Some(self.mock_addr),
            Kind::Nginx => self.nginx.as_ref().map(|n| n.addr),
            Kind::Relay => Some(self.gw_addr),
        }
    }

    fn target(&self, spec: Spec, size: Size, ask: Ask) -> Option<Target> {
        let addr = self.addr(spec.kind)?;
        let key = if spec.kind == Kind::Relay { ACCESS_KEY } else { upstream_key(spec.client) };
        let session = format!("{}-{}", spec.name(), size.as_str());
        let body = bodies::request(spec.client, spec.model(), size, ask, &session);
        Some(Target::new(addr, path(spec.client), auth(spec.client, key), body))
    }

    /// The processes whose CPU is the cost of the hop under test.
    fn server_pids(&self, kind: Kind) -> Vec<u32> {
        match kind {
            Kind::Direct => Vec::new(),
            Kind::Nginx => self.nginx.as_ref().map(|n| n.pids.clone()).unwrap_or_default(),
            Kind::Relay => vec![self.gw.pid()],
        }
    }
}

// ---------------------------------------------------------------------------------
// Setup

fn gateway_yaml(port: u16, tmp: &Path, name: &str, threads: usize, extra: &str, channels: &[String]) -> String {
    let d = tmp.display();
    let mut y = format!(
        "server:\n  listen: [\"127.0.0.1:{port}\"]\n  threads: {threads}\n  grace_period_secs: 1\n  \
         upgrade_sock: \"{d}/{name}.upgrade.sock\"\n  pid_file: \"{d}/{name}.pid\"\n\
         access_keys:\n  - {{name: bench, key: \"{ACCESS_KEY}\"}}\n{extra}channels:\n"
    );
    for c in channels {
        y.push_str(c);
    }
    y
}

fn channel(name: &str, protocol: &str, base: SocketAddr, key: &str, pattern: &str, map_to: Option<&str>) -> String {
    let map = map_to.map(|m| format!(", model_map: {{\"{pattern}\": \"{m}\"}}")).unwrap_or_default();
    format!(
        "  - {{name: {name}, protocol: {protocol}, base_url: \"http://{base}\", keys: [\"{key}\"], \
         models: [\"{pattern}\"]{map}}}\n"
    )
}

fn with_priority(ch: String, priority: u32) -> String {
    ch.replacen("}\n", &format!(", priority: {priority}}}\n"), 1)
}

fn main_channels(mock: SocketAddr, slow: SocketAddr) -> Vec<String> {
    let (ka, ko) = (upstream_key(A), upstream_key(O));
    vec![
        channel("anth", "anthropic", mock, ka, "claude-*", None),
        channel("oai", "openai", mock, ko, "gpt-*", None),
        channel("claude-on-openai", "openai", mock, ko, "tr-claude-*", Some("gpt-4o")),
        channel("gpt-on-anthropic", "anthropic", mock, ka, "tr-gpt-*", Some("claude-sonnet-4-5")),
        // The many-streams test, on the mock paced at --many-delay-ms.
        channel("anth-slow", "anthropic", slow, ka, "slow-claude-*", Some("claude-sonnet-4-5")),
        channel("claude-on-openai-slow", "openai", slow, ko, "slow-tr-claude-*", Some("gpt-4o")),
    ]
}

fn failover_channels(mock: SocketAddr) -> Vec<String> {
    vec![
        with_priority(channel("fo-primary", "anthropic", mock, "p1-[[error:529]]", "fo-*", None), 1),
        with_priority(channel("fo-secondary", "anthropic", mock, "p2-ok", "fo-*", None), 2),
        with_priority(channel("healthy", "anthropic", mock, "p2-ok", "hl-*", None), 1),
    ]
}

/// Waits until `GET /health` answers 200, or the process exits, or 20 s pass.
async fn wait_ready(addr: SocketAddr, p: &mut Proc, log: Option<&Path>) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(st) = p.exited() {
            let tail = log.map(log_tail).unwrap_or_default();
            return Err(format!("{} exited ({st}) before it was ready\n{tail}", p.name).into());
        }
        if let Ok((200, _)) = client::simple(addr, Method::GET, "/health").await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tail = log.map(log_tail).unwrap_or_default();
    Err(format!("{} not ready on {addr} after 20 s\n{tail}", p.name).into())
}

fn log_tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

async fn start_gateway(cli: &Cli, tmp: &Path, name: &str, yaml: &str, port: u16) -> Result<Proc, BenchError> {
    let conf = tmp.join(format!("{name}.yaml"));
    std::fs::write(&conf, yaml)?;
    let log = tmp.join(format!("{name}.log"));
    let mut p = procs::start_gateway(&cli.bin_dir, name, &conf, &log)?;
    wait_ready(SocketAddr::from(([127, 0, 0, 1], port)), &mut p, Some(&log)).await?;
    Ok(p)
}

async fn setup(cli: &Cli) -> Result<Env, BenchError> {
    for b in ["llm-relay", "llm-relay-mock"] {
        if !cli.bin_dir.join(b).is_file() {
            return Err(format!(
                "{} not found: build with `cargo build --release --bins`",
                cli.bin_dir.join(b).display()
            )
            .into());
        }
    }
    let path = std::env::temp_dir().join(format!("llm-relay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&path)?;
    let tmp = TempDir { path, keep: cli.keep_tmp };
    let (mock, mock_addr) = procs::start_mock(&cli.bin_dir, cli.token_delay_ms, "mock")?;
    let (slow, slow_addr) = procs::start_mock(&cli.bin_dir, cli.many_delay_ms, "mock-slow")?;
    progress(&format!("mock on {mock_addr} (pacing {} ms), mock-slow on {slow_addr}", cli.token_delay_ms));
    let port = procs::free_port()?;
    let yaml = gateway_yaml(port, &tmp.path, "gateway", cli.threads, "", &main_channels(mock_addr, slow_addr));
    let gw = start_gateway(cli, &tmp.path, "gateway", &yaml, port).await?;
    let gw_addr = SocketAddr::from(([127, 0, 0, 1], port));
    progress(&format!("gateway on {gw_addr} (pid {}, {} threads)", gw.pid(), cli.threads));
    let sampler = RssSampler::start(gw.pid());
    let nginx = match (cli.no_nginx, procs::find_nginx()) {
        (false, Some(bin)) => Some(start_nginx(cli, &bin, &tmp.path, mock_addr).await?),
        (false, None) => {
            progress("nginx not installed: the nginx comparison is skipped (apt-get install nginx)");
            None
        }
        (true, _) => None,
    };
    Ok(Env { gw, gw_addr, sampler, nginx, mock, mock_addr, _slow: slow, tmp, cli: cli.clone() })
}

async fn start_nginx(cli: &Cli, bin: &Path, tmp: &Path, mock: SocketAddr) -> Result<Nginx, BenchError> {
    let dir = tmp.join("nginx");
    std::fs::create_dir_all(&dir)?;
    let port = procs::free_port()?;
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, procs::nginx_conf(&dir, port, mock, cli.threads))?;
    let mut p = procs::start_nginx(bin, &dir, &conf)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(addr, &mut p, Some(&dir.join("nginx-error.log"))).await?;
    let pids = procs::with_children(p.pid());
    let version = command_output(bin.to_str().unwrap_or("nginx"), &["-v"])
        .map(|v| v.trim().trim_start_matches("nginx version: ").to_string())
        .unwrap_or_default();
    progress(&format!("nginx {version} on {addr} ({} processes)", pids.len()));
    Ok(Nginx { _proc: p, addr, pids, version })
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(s)
}

// ---------------------------------------------------------------------------------
// Results

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
    spec: Option<Spec>,
    #[serde(skip)]
    target: Option<Arc<Target>>,
}

fn per(total_s: f64, n: u64) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        total_s * 1e6 / n as f64
    }
}

impl NsRow {
    fn new(spec: Spec, size: Size, conns: usize, target: Target) -> NsRow {
        NsRow {
            name: spec.name(),
            kind: spec.kind_str(),
            client: spec.client.as_str(),
            upstream: spec.upstream.as_str(),
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

    fn finish(&mut self) {
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
    spec: Option<Spec>,
    #[serde(skip)]
    target: Option<Arc<Target>>,
}

impl StreamRow {
    fn finish(&mut self) {
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
    pub gw_cpu: CpuDelta,
    pub events: u64,
    pub cpu_us_per_event: f64,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Cli,
    pub wall_secs: f64,
    pub idle_rss_kib: u64,
    /// Gateway CPU while idle, milliseconds per second.
    pub idle_cpu_ms_per_s: f64,
    pub calibration: Vec<CalRow>,
    pub nonstream: Vec<NsRow>,
    pub sequential: Vec<NsRow>,
    pub streams_short: Vec<StreamRow>,
    pub streams_long: Vec<StreamRow>,
    pub many_streams: Vec<ManyRow>,
    pub failover: Option<Failover>,
    pub memory: Vec<MemRow>,
    pub allocations: Vec<alloc::AllocRow>,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

// ---------------------------------------------------------------------------------
// Phases

async fn load_visit(env: &Env, row: &NsRow, round: usize, dur: Duration) -> Visit {
    let (Some(spec), Some(target)) = (row.spec, row.target.as_ref()) else { return Visit::default() };
    let pids = env.server_pids(spec.kind);
    let (s0, m0, l0) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
    env.sampler.reset();
    let res = client::closed_loop(target, row.conns, dur, None).await;
    let (s1, m1, l1) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
    visit_of(round, &res, s0.secs_until(&s1), m0.secs_until(&m1), l0.secs_until(&l1), env.sampler.peak_kib())
}

fn visit_of(round: usize, res: &LoadResult, server: CpuDelta, mock: CpuDelta, lg: CpuDelta, rss: u64) -> Visit {
    Visit {
        round,
        ok: res.ok,
        errors: res.errors,
        secs: res.elapsed.as_secs_f64(),
        rps: res.rps(),
        p50_ms: stats::pct_ms(&res.lat_ns, 50.0),
        p99_ms: stats::pct_ms(&res.lat_ns, 99.0),
        server_cpu: server,
        mock_cpu: mock,
        loadgen_cpu: lg,
        gw_peak_rss_kib: rss,
        first_error: res.first_error.clone(),
    }
}

/// Even rounds visit the targets forward, odd rounds backward, so that slow drift of
/// the machine weighs on every target alike.
fn order(n: usize, round: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    }
}

fn nonstream_specs(env: &Env) -> Vec<Spec> {
    let mut v = vec![Spec::direct(A), Spec::direct(O)];
    if env.nginx.is_some() {
        v.extend([Spec::nginx(A), Spec::nginx(O)]);
    }
    v.extend([Spec::relay(A, A), Spec::relay(O, O), Spec::relay(A, O), Spec::relay(O, A)]);
    v
}

async fn run_nonstream(env: &Env, conns: usize, dur: Duration, warm: bool, label: &str) -> Vec<NsRow> {
    let mut rows = Vec::new();
    for size in [Size::Small, Size::Large] {
        for spec in nonstream_specs(env) {
            if let Some(t) = env.target(spec, size, Ask::Json) {
                rows.push(NsRow::new(spec, size, conns, t));
            }
        }
    }
    if warm {
        for row in &rows {
            if let Some(t) = &row.target {
                let _ = client::closed_loop(t, conns, Duration::from_millis(300), None).await;
            }
        }
    }
    for round in 0..env.cli.rounds {
        for i in order(rows.len(), round) {
            let v = load_visit(env, &rows[i], round, dur).await;
            rows[i].visits.push(v);
        }
        progress(&format!("{label}: round {}/{} done", round + 1, env.cli.rounds));
    }
    for r in &mut rows {
        r.finish();
    }
    rows
}

fn stream_specs() -> Vec<Spec> {
    vec![Spec::direct(A), Spec::direct(O), Spec::relay(A, A), Spec::relay(O, O), Spec::relay(A, O), Spec::relay(O, A)]
}

async fn stream_visit(env: &Env, spec: Spec, t: &Target, round: usize, dur: Duration, tokens: u32) -> StreamVisit {
    let pids = env.server_pids(spec.kind);
    let (c0, m0) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()));
    env.sampler.reset();
    let deadline = Instant::now() + dur;
    let mut outs: Vec<StreamOut> = Vec::new();
    let mut sender = None;
    while Instant::now() < deadline {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match client::connect(t.addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    outs.push(StreamOut { error: Some(format!("connect: {e}")), ..StreamOut::default() });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let out = client::stream_one(s, t, terminator(spec.client), STALL, None).await;
        if out.error.is_some() || s.is_closed() {
            sender = None;
        }
        outs.push(out);
    }
    let (c1, m1) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()));
    let ok: Vec<&StreamOut> = outs.iter().filter(|o| o.complete(tokens)).collect();
    let sorted = |f: &dyn Fn(&StreamOut) -> Vec<u64>| {
        let mut v: Vec<u64> = ok.iter().flat_map(|o| f(o)).collect();
        v.sort_unstable();
        v
    };
    let ttfb = sorted(&|o| vec![o.ttfb_ns]);
    let ttft = sorted(&|o| o.ttft_ns.into_iter().collect());
    let gaps = sorted(&|o| o.gaps_ns.clone());
    StreamVisit {
        round,
        requests: outs.len() as u64,
        complete: ok.len() as u64,
        ttfb_p50_ms: stats::pct_ms(&ttfb, 50.0),
        ttfb_p99_ms: stats::pct_ms(&ttfb, 99.0),
        ttft_p50_ms: stats::pct_ms(&ttft, 50.0),
        ttft_p99_ms: stats::pct_ms(&ttft, 99.0),
        gap_p50_ms: stats::pct_ms(&gaps, 50.0),
        gap_p99_ms: stats::pct_ms(&gaps, 99.0),
        frames: outs.iter().map(|o| o.frames).sum(),
        gw_cpu: c0.secs_until(&c1),
        mock_cpu: m0.secs_until(&m1),
        gw_peak_rss_kib: env.sampler.peak_kib(),
        first_error: outs.iter().find_map(|o| o.error.clone()),
    }
}

async fn run_streams(env: &Env, tokens: u32, dur: Duration, label: &str) -> Vec<StreamRow> {
    let mut rows: Vec<StreamRow> = stream_specs()
        .into_iter()
        .filter_map(|spec| {
            let t = env.target(spec, Size::Small, Ask::Stream(tokens))?;
            Some(StreamRow {
                name: spec.name(),
                kind: spec.kind_str(),
                client: spec.client.as_str(),
                upstream: spec.upstream.as_str(),
                tokens,
                pacing_ms: env.cli.token_delay_ms,
                requests: 0,
                complete: 0,
                ttfb_p50_ms: 0.0,
                ttfb_p99_ms: 0.0,
                ttft_p50_ms: 0.0,
                ttft_p99_ms: 0.0,
                gap_p50_ms: 0.0,
                gap_p99_ms: 0.0,
                frames_per_req: 0.0,
                gw_cpu_us_per_req: None,
                mock_cpu_us_per_req: 0.0,
                first_error: None,
                visits: Vec::new(),
                spec: Some(spec),
                target: Some(Arc::new(t)),
            })
        })
        .collect();
    // Warm-up: one stream each.
    for row in &rows {
        if let (Some(spec), Some(t)) = (row.spec, &row.target) {
            if let Ok(mut s) = client::connect(t.addr).await {
                let _ = client::stream_one(&mut s, t, terminator(spec.client), STALL, None).await;
            }
        }
    }
    for round in 0..env.cli.rounds {
        for i in order(rows.len(), round) {
            let (Some(spec), Some(t)) = (rows[i].spec, rows[i].target.clone()) else { continue };
            let v = stream_visit(env, spec, &t, round, dur, tokens).await;
            rows[i].visits.push(v);
        }
        progress(&format!("{label}: round {}/{} done", round + 1, env.cli.rounds));
    }
    for r in &mut rows {
        r.finish();
    }
    rows
}

async fn run_many(env: &Env, client_upstream: Dialect, n: usize, tokens: u32) -> ManyRow {
    let (name, model) = if client_upstream == A {
        ("relay anthropic→anthropic", "slow-claude-sonnet-4-5")
    } else {
        ("relay anthropic→openai", "slow-tr-claude-sonnet-4-5")
    };
    let body = bodies::request(A, model, Size::Small, Ask::Stream(tokens), "many");
    let t = Arc::new(Target::new(env.gw_addr, path(A), auth(A, ACCESS_KEY), body));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let active = Arc::new(client::Active::default());
    let attempted = Arc::new(AtomicUsize::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(n);
    let ramp = Duration::from_millis(env.cli.many_ramp_ms);
    for i in 0..n {
        let (t, mut rx, active) = (t.clone(), rx.clone(), active.clone());
        let delay = ramp.mul_f64(i as f64 / n.max(1) as f64);
        let (attempted, connected) = (attempted.clone(), connected.clone());
        handles.push(tokio::spawn(async move {
            let conn = client::connect(t.addr).await;
            attempted.fetch_add(1, Ordering::Relaxed);
            let mut s = match conn {
                Ok(s) => s,
                Err(e) => return StreamOut { error: Some(format!("connect: {e}")), ..StreamOut::default() },
            };
            connected.fetch_add(1, Ordering::Relaxed);
            if rx.wait_for(|go| *go).await.is_err() {
                return StreamOut { error: Some("not started".into()), ..StreamOut::default() };
            }
            tokio::time::sleep(delay).await;
            client::stream_one(&mut s, &t, terminator(A), STALL, Some(&active)).await
        }));
    }
    let wait = Instant::now();
    while attempted.load(Ordering::Relaxed) < n && wait.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    env.sampler.reset();
    let c0 = Cpu::of(env.gw.pid());
    let t0 = Instant::now();
    let _ = tx.send(true);
    let mut outs = Vec::with_capacity(n);
    for h in handles {
        match h.await {
            Ok(o) => outs.push(o),
            Err(e) => outs.push(StreamOut { error: Some(format!("task: {e}")), ..StreamOut::default() }),
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let gw_cpu = c0.secs_until(&Cpu::of(env.gw.pid()));
    let completed = outs.iter().filter(|o| o.complete(tokens)).count();
    let stalled = outs.iter().filter(|o| o.stalled).count();
    let events: u64 = outs.iter().map(|o| o.frames).sum();
    let mut ttft: Vec<u64> = outs.iter().filter_map(|o| o.ttft_ns).collect();
    ttft.sort_unstable();
    let mut total: Vec<u64> = outs.iter().filter(|o| o.complete(tokens)).map(|o| o.total_ns).collect();
    total.sort_unstable();
    ManyRow {
        name: name.into(),
        streams: n,
        tokens,
        pacing_ms: env.cli.many_delay_ms,
        ramp_ms: env.cli.many_ramp_ms,
        connected: connected.load(Ordering::Relaxed),
        completed,
        failed: n - completed - stalled,
        stalled,
        peak_concurrent: active.peak(),
        secs,
        ttft_p50_ms: stats::pct_ms(&ttft, 50.0),
        ttft_p99_ms: stats::pct_ms(&ttft, 99.0),
        total_p50_ms: stats::pct_ms(&total, 50.0),
        total_p99_ms: stats::pct_ms(&total, 99.0),
        gw_peak_rss_kib: env.sampler.peak_kib(),
        gw_cpu,
        events,
        cpu_us_per_event: per(gw_cpu.best(), events),
        first_error: outs.iter().find_map(|o| o.error.clone()),
    }
}

fn count_for(stats: &serde_json::Value, key: &str) -> u64 {
    stats.get("by_key").and_then(|m| m.get(key)).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

async fn run_failover(env: &Env) -> Result<Failover, BenchError> {
    let cli = &env.cli;
    let mut f = Failover::default();
    let body = |model: &str| bodies::request(A, model, Size::Small, Ask::Json, "failover");
    // 1. Every request fails over: the primary key always answers 529 and never goes down.
    let port = procs::free_port()?;
    let extra = "health:\n  error_threshold: 1000000\n  breaker_window: 0\n";
    let yaml = gateway_yaml(port, &env.tmp.path, "gw-failover", cli.threads, extra, &failover_channels(env.mock_addr));
    let gw = start_gateway(cli, &env.tmp.path, "gw-failover", &yaml, port).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let fo = Arc::new(Target::new(addr, path(A), auth(A, ACCESS_KEY), body("fo-claude-sonnet-4-5")));
    let hl = Arc::new(Target::new(addr, path(A), auth(A, ACCESS_KEY), body("hl-claude-sonnet-4-5")));
    for t in [&fo, &hl] {
        let _ = client::closed_loop(t, 1, Duration::from_millis(200), None).await;
    }
    let dur = Duration::from_secs_f64(cli.seq_visit_secs);
    let (mut fo_v, mut hl_v) = (Vec::new(), Vec::new());
    for round in 0..cli.rounds {
        for i in order(2, round) {
            let (t, v) = if i == 0 { (&fo, &mut fo_v) } else { (&hl, &mut hl_v) };
            let r = client::closed_loop(t, 1, dur, None).await;
            v.push(visit_of(round, &r, CpuDelta::default(), CpuDelta::default(), CpuDelta::default(), 0));
        }
    }
    let med = |v: &[Visit], f: fn(&Visit) -> f64| stats::median(&v.iter().map(f).collect::<Vec<_>>());
    f.ok = fo_v.iter().map(|v| v.ok).sum();
    f.requests = f.ok + fo_v.iter().map(|v| v.errors).sum::<u64>();
    f.success_rate = f.ok as f64 / f.requests.max(1) as f64;
    f.p50_ms = med(&fo_v, |v| v.p50_ms);
    f.p99_ms = med(&fo_v, |v| v.p99_ms);
    f.healthy_ok = hl_v.iter().map(|v| v.ok).sum();
    f.healthy_requests = f.healthy_ok + hl_v.iter().map(|v| v.errors).sum::<u64>();
    f.healthy_p50_ms = med(&hl_v, |v| v.p50_ms);
    f.healthy_p99_ms = med(&hl_v, |v| v.p99_ms);
    f.first_error = fo_v.iter().chain(&hl_v).find_map(|v| v.first_error.clone());
    drop(gw);
    progress("failover (every request fails over) done");
    // 2. Default health settings: the failing channel goes down after a few failures.
    client::simple(env.mock_addr, Method::POST, "/_mock/reset").await?;
    let port = procs::free_port()?;
    let yaml = gateway_yaml(port, &env.tmp.path, "gw-default", cli.threads, "", &failover_channels(env.mock_addr));
    let gw = start_gateway(cli, &env.tmp.path, "gw-default", &yaml, port).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let fo = Arc::new(Target::new(addr, path(A), auth(A, ACCESS_KEY), body("fo-claude-sonnet-4-5")));
    let r = client::closed_loop(&fo, 1, Duration::from_secs(60), Some(cli.failover_requests)).await;
    let (_, stats) = client::simple(env.mock_addr, Method::GET, "/_mock/stats").await?;
    let stats: serde_json::Value = serde_json::from_slice(&stats)?;
    f.default_ok = r.ok;
    f.default_requests = r.ok + r.errors;
    f.default_success_rate = r.ok as f64 / f.default_requests.max(1) as f64;
    f.default_failing_hits = count_for(&stats, "p1-[[error:529]]");
    f.default_fallback_hits = count_for(&stats, "p2-ok");
    f.default_p50_ms = stats::pct_ms(&r.lat_ns, 50.0);
    f.default_p99_ms = stats::pct_ms(&r.lat_ns, 99.0);
    if f.first_error.is_none() {
        f.first_error = r.first_error;
    }
    drop(gw);
    progress("failover (default health) done");
    Ok(f)
}

async fn run_calibration(env: &Env) -> Vec<CalRow> {
    let cli = &env.cli;
    let mut rows = Vec::new();
    let dur = Duration::from_secs_f64(cli.visit_secs);
    for size in [Size::Small, Size::Large] {
        let Some(t) = env.target(Spec::direct(A), size, Ask::Json) else { continue };
        let t = Arc::new(t);
        let _ = client::closed_loop(&t, cli.concurrency, Duration::from_millis(300), None).await;
        let (m0, l0) = (Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
        let r = client::closed_loop(&t, cli.concurrency, dur, None).await;
        let (m1, l1) = (Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        rows.push(CalRow {
            client: "llm-relay-bench (1 thread)".into(),
            size: size.as_str(),
            conns: cli.concurrency,
            rps: r.rps(),
            p50_ms: stats::pct_ms(&r.lat_ns, 50.0),
            p99_ms: stats::pct_ms(&r.lat_ns, 99.0),
            client_busy: Some(l0.secs_until(&l1).best() / secs),
            mock_busy: m0.secs_until(&m1).best() / secs,
        });
        if size == Size::Small && command_output("wrk", &["-v"]).is_some() {
            let lua = env.tmp.path.join("post.lua");
            let body_file = env.tmp.path.join("body-small.json");
            let script = format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
                 wrk.headers[\"x-api-key\"] = \"bench-key-anthropic\"\n\
                 local f = io.open(\"{}\", \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\n",
                body_file.display()
            );
            if std::fs::write(&lua, script).is_err() || std::fs::write(&body_file, &t.body).is_err() {
                continue;
            }
            for threads in [1, 2] {
                let m0 = Cpu::of(env.mock.pid());
                let started = Instant::now();
                let Some(rps) = wrk(threads, cli.concurrency, cli.visit_secs, &lua, env.mock_addr) else { continue };
                let busy = m0.secs_until(&Cpu::of(env.mock.pid())).best() / started.elapsed().as_secs_f64();
                rows.push(CalRow {
                    client: format!("wrk -t{threads}"),
                    size: size.as_str(),
                    conns: cli.concurrency,
                    rps,
                    p50_ms: f64::NAN,
                    p99_ms: f64::NAN,
                    client_busy: None,
                    mock_busy: busy,
                });
            }
        }
    }
    rows
}

/// Runs wrk (blocking; nothing else runs meanwhile) and returns its Requests/sec.
fn wrk(threads: usize, conns: usize, secs: f64, lua: &Path, addr: SocketAddr) -> Option<f64> {
    let out = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{}s", secs.ceil().max(1.0)))
        .arg("-s")
        .arg(lua)
        .arg(format!("http://{addr}/v1/messages"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.trim().strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok())
}

async fn capture_inputs(env: &Env) -> Result<alloc::Inputs, BenchError> {
    let mut small = Vec::new();
    let mut large = Vec::new();
    let mut response = Vec::new();
    let mut stream = Vec::new();
    for d in [A, O] {
        let spec = Spec::direct(d);
        let t = env.target(spec, Size::Small, Ask::Json).ok_or("no direct target")?;
        small.push(t.body.clone());
        let (st, body) = client::fetch(&t).await?;
        if st != 200 {
            return Err(format!("mock answered {st} to a {} request", d.as_str()).into());
        }
        response.push(body);
        large.push(env.target(spec, Size::Large, Ask::Json).ok_or("no direct target")?.body);
        let t = env.target(spec, Size::Small, Ask::Stream(100)).ok_or("no direct target")?;
        let (st, body) = client::fetch(&t).await?;
        if st != 200 {
            return Err(format!("mock answered {st} to a {} stream", d.as_str()).into());
        }
        stream.push(body);
    }
    let two = |v: Vec<bytes::Bytes>| -> Result<[bytes::Bytes; 2], BenchError> {
        v.try_into().map_err(|_| BenchError::from("expected two inputs"))
    };
    Ok(alloc::Inputs { small: two(small)?, large: two(large)?, response: two(response)?, stream: two(stream)? })
}

// ---------------------------------------------------------------------------------
// Machine facts

fn machine(env: &Env) -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(' '))
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    let wrk = command_output("wrk", &["-v"]).and_then(|s| s.lines().next().map(|l| l.trim().to_string()));
    Machine {
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        kernel,
        date_utc: utc_now(),
        commit: if dirty { format!("{commit} (uncommitted changes)") } else { commit },
        nginx: env.nginx.as_ref().map(|n| n.version.clone()),
        wrk,
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` from the system clock (civil-from-days).
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}

// ---------------------------------------------------------------------------------

async fn run(cli: Cli) -> Result<(), BenchError> {
    let _ = START.set(Instant::now());
    let started = Instant::now();
    let env = setup(&cli).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kib = procs::rss_kib(env.gw.pid()).0;
    let (c0, t0) = (Cpu::of(env.gw.pid()), Instant::now());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_cpu_ms_per_s = c0.secs_until(&Cpu::of(env.gw.pid())).best() * 1e3 / t0.elapsed().as_secs_f64();
    progress(&format!("gateway idle: RSS {:.1} MiB, CPU {idle_cpu_ms_per_s:.2} ms/s", idle_rss_kib as f64 / 1024.0));

    let mut allocations = Vec::new();
    if cli.wants("alloc") {
        progress("allocations in the translation core (in-process)");
        let inputs = capture_inputs(&env).await?;
        allocations = alloc::measure(&inputs, cli.quick);
    }

    let mut calibration = Vec::new();
    if cli.wants("calibration") {
        progress("calibration: the mock alone");
        calibration = run_calibration(&env).await;
    }

    let (mut nonstream, mut sequential) = (Vec::new(), Vec::new());
    if cli.wants("nonstream") {
        let visit = Duration::from_secs_f64(cli.visit_secs);
        progress(&format!("non-streaming, concurrency {}", cli.concurrency));
        nonstream = run_nonstream(&env, cli.concurrency, visit, true, "non-streaming c=32").await;
    }
    if cli.wants("sequential") {
        progress("non-streaming, sequential");
        let seq = Duration::from_secs_f64(cli.seq_visit_secs);
        sequential = run_nonstream(&env, 1, seq, false, "sequential").await;
    }

    let (mut streams_short, mut streams_long) = (Vec::new(), Vec::new());
    if cli.wants("streams") {
        let sdur = Duration::from_secs_f64(cli.stream_visit_secs);
        progress(&format!("streams, sequential, [[long:{}]]", cli.short_tokens));
        streams_short = run_streams(&env, cli.short_tokens, sdur, "short streams").await;
        progress(&format!("streams, sequential, [[long:{}]]", cli.long_tokens));
        let long_dur = Duration::from_secs_f64((cli.stream_visit_secs * 2.0 / 3.0).max(0.1));
        streams_long = run_streams(&env, cli.long_tokens, long_dur, "long streams").await;
    }

    let mut many_streams = Vec::new();
    let many = if cli.wants("many") { vec![A, O] } else { Vec::new() };
    for up in many {
        progress(&format!("{} concurrent streams (anthropic→{})", cli.streams, up.as_str()));
        let row = run_many(&env, up, cli.streams, cli.stream_tokens).await;
        progress(&format!(
            "  completed {} / {}, stalled {}, failed {}, peak concurrent {}",
            row.completed, row.streams, row.stalled, row.failed, row.peak_concurrent
        ));
        many_streams.push(row);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let mut failover = None;
    if cli.wants("failover") {
        progress("failover");
        match run_failover(&env).await {
            Ok(f) => failover = Some(f),
            Err(e) => progress(&format!("failover scenario failed: {e}")),
        }
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_after_kib = procs::rss_kib(env.gw.pid()).0;

    let mut memory = vec![MemRow { phase: "idle, after start".into(), peak_kib: idle_rss_kib }];
    for (label, rows) in [("non-streaming c=32", &nonstream), ("sequential", &sequential)] {
        for size in [Size::Small, Size::Large] {
            let peak = rows.iter().filter(|r| r.size == size.as_str()).filter_map(|r| r.gw_peak_rss_kib).max();
            if let Some(p) = peak {
                memory.push(MemRow { phase: format!("{label}, {} body", size.as_str()), peak_kib: p });
            }
        }
    }
    for (label, rows) in [("sequential streams, short", &streams_short), ("sequential streams, long", &streams_long)] {
        if let Some(p) =
            rows.iter().filter(|r| r.kind == "relay").flat_map(|r| &r.visits).map(|v| v.gw_peak_rss_kib).max()
        {
            memory.push(MemRow { phase: label.into(), peak_kib: p });
        }
    }
    for m in &many_streams {
        memory.push(MemRow { phase: format!("{} streams, {}", m.streams, m.name), peak_kib: m.gw_peak_rss_kib });
    }
    memory.push(MemRow { phase: "idle, after the bench".into(), peak_kib: idle_after_kib });

    let mut report = Report {
        machine: machine(&env),
        settings: cli.clone(),
        wall_secs: started.elapsed().as_secs_f64(),
        idle_rss_kib,
        idle_cpu_ms_per_s,
        calibration,
        nonstream,
        sequential,
        streams_short,
        streams_long,
        many_streams,
        failover,
        memory,
        allocations,
        checks: Vec::new(),
        notes: Vec::new(),
    };
    report::finish(&mut report);
    let md = report::markdown(&report);
    println!("{md}");
    std::fs::create_dir_all(&cli.out)?;
    std::fs::write(cli.out.join("latest.md"), &md)?;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(cli.out.join("latest.json"), json + "\n")?;
    progress(&format!("wrote {} and latest.json", cli.out.join("latest.md").display()));
    drop(env);
    Ok(())
}
