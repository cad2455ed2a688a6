//! llm-relay-bench: the benchmark behind `make bench` (README "Performance").
//!
//! Starts the bundled mock upstream, the gateway (release build), a second gateway
//! serving HTTPS and, when installed, nginx as a reference pass-through proxy, all on
//! loopback, and measures in one run, interleaved (every round visits every target;
//! figures are medians over rounds): non-streaming throughput and latency, streaming
//! time to first byte/token and per-event cost, a thousand concurrent streams, memory
//! and CPU of the gateway, failover, allocations per request in the translation core
//! (in-process), and, over HTTPS to the second gateway and to nginx, the non-streaming
//! runs again and the thousand streams.
//! Writes `latest.md` (also printed) and `latest.json` to `--out`.

mod alloc;
mod bodies;
mod budget;
mod checks;
mod client;
mod machine;
mod phases;
mod procs;
mod report;
mod rows;
mod setup;
mod stats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use http::Method;
use pingora_rustls::TlsConnector;
use serde::Serialize;

use bodies::{Ask, Size};
use client::{LoadResult, StreamOut, Target};
use llm_relay::protocol::Dialect;
use machine::*;
use phases::*;
use procs::{Cpu, CpuDelta, Proc, RssSampler};
use rows::*;
use setup::*;

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const ACCESS_KEY: &str = "bench-access-key";
const A: Dialect = Dialect::Anthropic;
const O: Dialect = Dialect::OpenAiChat;
/// A stream that receives nothing for this long counts as stalled.
const STALL: Duration = Duration::from_secs(10);
/// The HTTPS phases' visits, as a share of the plain phases' (`--visit-secs`,
/// `--seq-visit-secs`): they run six routes, HTTP/1.1 and HTTP/2, and shorter visits keep
/// `make bench` on a fresh 2-core machine under ten minutes.
const TLS_VISIT_SHARE: f64 = 0.5;

#[derive(Parser, Debug, Clone, Serialize)]
#[command(
    name = "llm-relay-bench",
    about = "Benchmark of llm-relay against the bundled mock and nginx (make bench)",
    args_override_self = true
)]
pub struct Cli {
    /// Directory with the release binaries (llm-relay, llm-relay-mock).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where latest.md and latest.json are written.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Rounds: each visits every target once; figures are medians over rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per visit of the concurrency-32 runs.
    #[arg(long, default_value_t = 1.0)]
    visit_secs: f64,
    /// Seconds per visit of the sequential (concurrency 1) latency runs.
    #[arg(long, default_value_t = 0.5)]
    seq_visit_secs: f64,
    /// Seconds per visit of the sequential stream runs, short and long.
    #[arg(long, default_value_t = 1.0)]
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
    /// The script that writes the HTTPS runs' throwaway CA and loopback certificate into
    /// the directory it is given (needs openssl). Relative to the working directory:
    /// `make bench` runs from the repository's root.
    #[arg(long, default_value = "scripts/test-certs.sh")]
    test_certs: PathBuf,
    /// Skip the HTTPS runs.
    #[arg(long)]
    no_tls: bool,
    /// A short trial: 1 round, short visits, 200 streams.
    #[arg(long)]
    quick: bool,
    /// Keep the temp dir (configs, logs) for inspection.
    #[arg(long)]
    keep_tmp: bool,
    /// End the whole run within this many seconds (`make bench` passes what its build
    /// left of ten minutes): when the run planned at the set visit lengths is longer,
    /// every timed visit is shortened by one factor, to no less than 0.4 of its length.
    #[arg(long)]
    finish_within: Option<f64>,
    /// Run only these phases (comma-separated): alloc, calibration, nonstream, sequential,
    /// streams, many, failover, tls (the thousand streams over HTTPS need both many and
    /// tls). Default: all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write the non-streaming request bodies of the four gateway routes into this
    /// directory (`<client>-<upstream>-<size>.json`, as `scripts/instructions.sh` reads
    /// them) and exit.
    #[arg(long)]
    write_bodies: Option<PathBuf>,
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
    if let Some(dir) = &cli.write_bodies {
        // The four gateway routes, named and with the models the throughput runs use.
        let routes = [(A, A), (A, O), (O, O), (O, A)].map(|(c, u)| {
            let spec = Spec::relay(c, u);
            (c, u, spec.model(), spec.name())
        });
        return match bodies::write(dir, &routes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("llm-relay-bench: cannot write bodies into {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        };
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

// ---------------------------------------------------------------------------------
// Targets

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Direct,
    Nginx,
    Relay,
}

/// What a target is: who answers, which dialect the client speaks, which the upstream,
/// whether the client speaks HTTPS to it, and HTTP/2 over that.
#[derive(Debug, Clone, Copy)]
struct Spec {
    kind: Kind,
    client: Dialect,
    upstream: Dialect,
    tls: bool,
    http2: bool,
}

impl Spec {
    const fn direct(d: Dialect) -> Spec {
        Spec { kind: Kind::Direct, client: d, upstream: d, tls: false, http2: false }
    }
    const fn nginx(d: Dialect) -> Spec {
        Spec { kind: Kind::Nginx, client: d, upstream: d, tls: false, http2: false }
    }
    const fn relay(client: Dialect, upstream: Dialect) -> Spec {
        Spec { kind: Kind::Relay, client, upstream, tls: false, http2: false }
    }
    const fn https(self) -> Spec {
        Spec { tls: true, ..self }
    }
    const fn http2(self) -> Spec {
        Spec { tls: true, http2: true, ..self }
    }

    fn name(&self) -> String {
        let name = match self.kind {
            Kind::Direct => format!("direct {}", self.client.as_str()),
            Kind::Nginx => format!("nginx {}", self.client.as_str()),
            Kind::Relay => format!("relay {}→{}", self.client.as_str(), self.upstream.as_str()),
        };
        match (self.tls, self.http2) {
            (_, true) => name + ", https, http/2",
            (true, false) => name + ", https",
            (false, false) => name,
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
    fn addr(&self, spec: Spec) -> Option<SocketAddr> {
        match (spec.kind, spec.tls) {
            (Kind::Direct, false) => Some(self.mock_addr),
            (Kind::Nginx, false) => self.nginx.as_ref().map(|n| n.addr),
            (Kind::Relay, false) => Some(self.gw_addr),
            (Kind::Direct, true) => None,
            (Kind::Nginx, true) => self.nginx.as_ref().filter(|n| n.http2 || !spec.http2)?.tls_addr,
            (Kind::Relay, true) => self.tls.as_ref().map(|t| t.gw_addr),
        }
    }

    fn target(&self, spec: Spec, size: Size, ask: Ask) -> Option<Target> {
        let addr = self.addr(spec)?;
        let tls = if spec.tls { Some(self.tls.as_ref()?.connector.clone()) } else { None };
        let key = if spec.kind == Kind::Relay { ACCESS_KEY } else { upstream_key(spec.client) };
        let session = format!("{}-{}", spec.name(), size.as_str());
        let body = bodies::request(spec.client, spec.model(), size, ask, &session);
        let target = Target::new(addr, tls, path(spec.client), auth(spec.client, key), body);
        if spec.http2 {
            return match target.over_http2(self.tls.as_ref()?.connector_h2.clone()) {
                Ok(t) => Some(t),
                Err(e) => {
                    progress(&format!("{}: no HTTP/2 target ({e}); its rows are left out", spec.name()));
                    None
                }
            };
        }
        Some(target)
    }

    /// The processes whose CPU is the cost of the hop under test.
    fn server_pids(&self, spec: Spec) -> Vec<u32> {
        match (spec.kind, spec.tls) {
            (Kind::Direct, _) => Vec::new(),
            (Kind::Nginx, _) => self.nginx.as_ref().map(|n| n.pids.clone()).unwrap_or_default(),
            (Kind::Relay, false) => vec![self.gw.pid()],
            (Kind::Relay, true) => self.tls.as_ref().map(|t| vec![t.gw.pid()]).unwrap_or_default(),
        }
    }

    /// The memory sampler of the gateway `spec` goes through (the plain one otherwise).
    fn sampler(&self, spec: Spec) -> &RssSampler {
        match (&self.tls, spec.tls) {
            (Some(t), true) => &t.sampler,
            _ => &self.sampler,
        }
    }
}

fn progress_many(row: &ManyRow) {
    progress(&format!(
        "  completed {} / {}, stalled {}, failed {}, peak concurrent {}, {:.2} µs CPU per event",
        row.completed, row.streams, row.stalled, row.failed, row.peak_concurrent, row.cpu_us_per_event
    ));
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(s)
}

/// What the run holds on `env`, for its plan.
fn shape(cli: &Cli, env: &Env) -> budget::Shape {
    let https = cli.wants("tls") && env.tls.is_some();
    budget::Shape {
        nonstream_specs: nonstream_specs(env).len(),
        tls_specs: tls_specs(env).len(),
        handshake_specs: handshake_specs(env).len(),
        stream_specs: stream_specs().len(),
        wrk: wrk_installed(),
        many_runs: 2 + usize::from(https) + usize::from(env.nginx.is_some()),
    }
}

// ---------------------------------------------------------------------------------

async fn run(mut cli: Cli) -> Result<(), BenchError> {
    let _ = START.set(Instant::now());
    let started = Instant::now();
    let mut env = setup(&cli).await?;
    let shape = shape(&cli, &env);
    let set_up_secs = started.elapsed().as_secs_f64();
    let visit_scale = match cli.finish_within {
        Some(secs) => budget::scale_within(&cli, &shape, secs - set_up_secs),
        None => 1.0,
    };
    if visit_scale < 1.0 {
        cli.visit_secs *= visit_scale;
        cli.seq_visit_secs *= visit_scale;
        cli.stream_visit_secs *= visit_scale;
        env.cli = cli.clone();
        progress(&format!("visits shortened to {visit_scale:.2}× of their set length to end within the time given"));
    }
    // `cli` holds the lengths the visits will have.
    let planned_secs = set_up_secs + budget::planned_secs(&cli, &shape, 1.0);
    match cli.finish_within {
        Some(secs) if planned_secs > secs => progress(&format!(
            "planned: about {planned_secs:.0} s, over the {secs:.0} s given: visits are not shortened below {:.1}×",
            budget::MIN_SCALE
        )),
        _ => progress(&format!("planned: about {planned_secs:.0} s")),
    }
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
        let specs = nonstream_specs(&env);
        nonstream = run_nonstream(&env, &specs, cli.concurrency, visit, true, "non-streaming c=32").await;
    }
    if cli.wants("sequential") {
        progress("non-streaming, sequential");
        let seq = Duration::from_secs_f64(cli.seq_visit_secs);
        sequential = run_nonstream(&env, &nonstream_specs(&env), 1, seq, false, "sequential").await;
    }

    let (mut tls_nonstream, mut tls_sequential) = (Vec::new(), Vec::new());
    let (mut tls_full_handshakes, mut tls_resumed_handshakes) = (Vec::new(), Vec::new());
    let mut tls_resumed = [[0; 2]; 2];
    let specs = tls_specs(&env);
    if cli.wants("tls") && !specs.is_empty() {
        let visit = Duration::from_secs_f64(cli.visit_secs * TLS_VISIT_SHARE);
        progress(&format!("HTTPS, non-streaming, concurrency {}", cli.concurrency));
        tls_nonstream = run_nonstream(&env, &specs, cli.concurrency, visit, true, "HTTPS c=32").await;
        progress("HTTPS, non-streaming, sequential");
        let seq = Duration::from_secs_f64(cli.seq_visit_secs * TLS_VISIT_SHARE);
        tls_sequential = run_nonstream(&env, &specs, 1, seq, false, "HTTPS sequential").await;
        progress("HTTPS, sequential, a new connection per request");
        let before = client::tls_handshakes();
        tls_full_handshakes = run_handshakes(&env, seq, true).await;
        let between = client::tls_handshakes();
        tls_resumed_handshakes = run_handshakes(&env, seq, false).await;
        let after = client::tls_handshakes();
        tls_resumed = [(before, between), (between, after)].map(|(a, b)| [b.0 - a.0, b.1 - a.1]);
    }

    let (mut streams_short, mut streams_long) = (Vec::new(), Vec::new());
    if cli.wants("streams") {
        let sdur = Duration::from_secs_f64(cli.stream_visit_secs);
        progress(&format!("streams, sequential, [[long:{}]]", cli.short_tokens));
        streams_short = run_streams(&env, cli.short_tokens, sdur, "short streams").await;
        progress(&format!("streams, sequential, [[long:{}]]", cli.long_tokens));
        streams_long = run_streams(&env, cli.long_tokens, sdur, "long streams").await;
    }

    let mut many_streams = Vec::new();
    let many = if cli.wants("many") { vec![A, O] } else { Vec::new() };
    for up in many {
        progress(&format!("{} concurrent streams (anthropic→{})", cli.streams, up.as_str()));
        if let Some(row) = run_many(&env, ManyHop::Relay(up), cli.streams, cli.stream_tokens).await {
            progress_many(&row);
            many_streams.push(row);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut many_streams_https = None;
    if cli.wants("many") && cli.wants("tls") && env.tls.is_some() {
        progress(&format!("{} concurrent streams over HTTPS (anthropic→anthropic)", cli.streams));
        many_streams_https = run_many(&env, ManyHop::RelayHttps, cli.streams, cli.stream_tokens).await;
        if let Some(row) = &many_streams_https {
            progress_many(row);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut many_streams_nginx = None;
    if cli.wants("many") && env.nginx.is_some() {
        progress(&format!("{} concurrent streams through nginx (reference)", cli.streams));
        many_streams_nginx = run_many(&env, ManyHop::Nginx, cli.streams, cli.stream_tokens).await;
        if let Some(row) = &many_streams_nginx {
            progress_many(row);
        }
    }

    let mut failover = None;
    if cli.wants("failover") {
        progress("failover");
        match run_failover(&env).await {
            Ok(f) => failover = Some(f),
            Err(e) => progress(&format!("failover scenario failed: {e}")),
        }
    }

    // By then the worker threads have released their allocator caches (1-2 s after).
    tokio::time::sleep(Duration::from_secs(3)).await;
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
    // The HTTPS gateway's idle gaps are shorter (no direct rows between its visits): a
    // small-body visit right after 80 KiB ones can still hold what they left before the
    // idle collector ran. So one row per phase.
    for (label, rows) in
        [("gateway serving HTTPS, c=32", &tls_nonstream), ("gateway serving HTTPS, sequential", &tls_sequential)]
    {
        if let Some(p) = rows.iter().filter_map(|r| r.gw_peak_rss_kib).max() {
            memory.push(MemRow { phase: format!("{label}, both bodies, HTTP/1.1 and HTTP/2"), peak_kib: p });
        }
    }
    for (label, rows) in [("sequential streams, short", &streams_short), ("sequential streams, long", &streams_long)] {
        if let Some(p) =
            rows.iter().filter(|r| r.kind == "relay").flat_map(|r| &r.visits).map(|v| v.gw_peak_rss_kib).max()
        {
            memory.push(MemRow { phase: label.into(), peak_kib: p });
        }
    }
    for m in many_streams.iter().chain(&many_streams_https) {
        memory.push(MemRow { phase: format!("{} streams, {}", m.streams, m.name), peak_kib: m.gw_peak_rss_kib });
    }
    memory.push(MemRow { phase: "idle, 3 s after the bench".into(), peak_kib: idle_after_kib });

    let mut report = Report {
        machine: machine(&env),
        settings: cli.clone(),
        wall_secs: started.elapsed().as_secs_f64(),
        planned_secs,
        visit_scale,
        idle_rss_kib,
        idle_cpu_ms_per_s,
        calibration,
        nonstream,
        sequential,
        tls_nonstream,
        tls_sequential,
        tls_full_handshakes,
        tls_resumed_handshakes,
        tls_resumed,
        tls_skipped: env.tls_skipped.clone(),
        streams_short,
        streams_long,
        many_streams,
        many_streams_https,
        many_streams_nginx,
        failover,
        memory,
        allocations,
        checks: Vec::new(),
        notes: Vec::new(),
    };
    checks::finish(&mut report);
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
