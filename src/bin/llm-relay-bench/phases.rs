//! The measured phases: throughput and latency visits, streams, the many-streams test,
//! failover and calibration.

use crate::*;

pub(crate) async fn load_visit(env: &Env, row: &NsRow, round: usize, dur: Duration) -> Visit {
    let (Some(spec), Some(target)) = (row.spec, row.target.as_ref()) else { return Visit::default() };
    let pids = env.server_pids(spec);
    let sampler = env.sampler(spec);
    // Connections (and their TLS handshakes) are opened before the CPU is read.
    let open = client::Open::connect(target, row.conns).await;
    let (s0, m0, l0) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
    sampler.reset();
    let res = open.run(dur, None).await;
    let (s1, m1, l1) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()), Cpu::of(std::process::id()));
    visit_of(round, &res, s0.secs_until(&s1), m0.secs_until(&m1), l0.secs_until(&l1), sampler.peak_kib())
}

pub(crate) fn visit_of(
    round: usize,
    res: &LoadResult,
    server: CpuDelta,
    mock: CpuDelta,
    lg: CpuDelta,
    rss: u64,
) -> Visit {
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
pub(crate) fn order(n: usize, round: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    }
}

pub(crate) fn nonstream_specs(env: &Env) -> Vec<Spec> {
    let mut v = vec![Spec::direct(A), Spec::direct(O)];
    if env.nginx.is_some() {
        v.extend([Spec::nginx(A), Spec::nginx(O)]);
    }
    v.extend([Spec::relay(A, A), Spec::relay(O, O), Spec::relay(A, O), Spec::relay(O, A)]);
    v
}

/// The HTTPS runs: nginx and the gateway serving HTTPS, both in front of the plain mock,
/// to HTTP/1.1 clients and then to HTTP/2 clients (Codex and the Go SDKs ask for it).
/// An Anthropic client only (Claude Code's dialect), passed through and translated: the
/// TLS layer's cost does not depend on the dialect, and each route adds about 12 s.
pub(crate) fn tls_specs(env: &Env) -> Vec<Spec> {
    if env.tls.is_none() {
        return Vec::new();
    }
    let mut v = Vec::new();
    let nginx = env.nginx.as_ref().filter(|n| n.tls_addr.is_some());
    if nginx.is_some() {
        v.push(Spec::nginx(A).https());
    }
    v.extend([Spec::relay(A, A).https(), Spec::relay(A, O).https()]);
    if nginx.is_some_and(|n| n.http2) {
        v.push(Spec::nginx(A).http2());
    }
    v.extend([Spec::relay(A, A).http2(), Spec::relay(A, O).http2()]);
    v
}

pub(crate) async fn run_nonstream(
    env: &Env,
    specs: &[Spec],
    conns: usize,
    dur: Duration,
    warm: bool,
    label: &str,
) -> Vec<NsRow> {
    let mut rows = Vec::new();
    for size in [Size::Small, Size::Large] {
        for &spec in specs {
            if let Some(t) = env.target(spec, size, Ask::Json) {
                rows.push(NsRow::new(spec, size, conns, t));
            }
        }
    }
    run_rows(env, rows, conns, dur, warm, label).await
}

/// The targets of the handshake runs: HTTP/1.1, and the routes that pass through (a
/// handshake costs the same whatever the dialects).
pub(crate) fn handshake_specs(env: &Env) -> Vec<Spec> {
    tls_specs(env).into_iter().filter(|spec| !spec.http2 && spec.upstream == spec.client).collect()
}

/// The HTTPS runs over HTTP/1.1 once more, sequentially and with the small body, each
/// request on a new connection: what a TLS handshake (and a TCP connection) costs a
/// client that does not keep its connections. `full`: the client keeps no session, as a
/// script calling curl once per request; otherwise it resumes a session the server gave
/// it, as an SDK that opens a new connection does.
pub(crate) async fn run_handshakes(env: &Env, dur: Duration, full: bool) -> Vec<NsRow> {
    let Some(tls) = &env.tls else { return Vec::new() };
    let rows = handshake_specs(env)
        .into_iter()
        .filter_map(|spec| {
            let mut target = env.target(spec, Size::Small, Ask::Json)?.fresh();
            if full {
                target.tls = Some(tls.connector_full.clone());
            }
            Some(NsRow::new(spec, Size::Small, 1, target))
        })
        .collect();
    let label = if full { "HTTPS, full handshakes" } else { "HTTPS, resumed handshakes" };
    run_rows(env, rows, 1, dur, false, label).await
}

/// Visits `rows` in interleaved rounds (after a short warm-up when `warm`).
async fn run_rows(env: &Env, mut rows: Vec<NsRow>, conns: usize, dur: Duration, warm: bool, label: &str) -> Vec<NsRow> {
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

pub(crate) fn stream_specs() -> Vec<Spec> {
    vec![Spec::direct(A), Spec::direct(O), Spec::relay(A, A), Spec::relay(O, O), Spec::relay(A, O), Spec::relay(O, A)]
}

pub(crate) async fn stream_visit(
    env: &Env,
    spec: Spec,
    t: &Target,
    round: usize,
    dur: Duration,
    tokens: u32,
) -> StreamVisit {
    let pids = env.server_pids(spec);
    let (c0, m0) = (Cpu::of_all(&pids), Cpu::of(env.mock.pid()));
    let sampler = env.sampler(spec);
    sampler.reset();
    let deadline = Instant::now() + dur;
    let mut outs: Vec<StreamOut> = Vec::new();
    let mut sender = None;
    while Instant::now() < deadline {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match t.connect().await {
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
        gw_peak_rss_kib: sampler.peak_kib(),
        first_error: outs.iter().find_map(|o| o.error.clone()),
    }
}

pub(crate) async fn run_streams(env: &Env, tokens: u32, dur: Duration, label: &str) -> Vec<StreamRow> {
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
            if let Ok(mut s) = t.connect().await {
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

/// The hop the many-streams test goes through.
pub(crate) enum ManyHop {
    /// The gateway, to an upstream of this dialect.
    Relay(Dialect),
    /// The gateway serving HTTPS, passing through.
    RelayHttps,
    /// nginx with response buffering off: the cost of relaying an event as plain bytes.
    Nginx,
}

pub(crate) async fn run_many(env: &Env, hop: ManyHop, n: usize, tokens: u32) -> Option<ManyRow> {
    let slow_a = "slow-claude-sonnet-4-5";
    let (name, model, addr, key, pids, tls, sampler) = match hop {
        ManyHop::Relay(up) if up == A => {
            ("relay anthropic→anthropic", slow_a, env.gw_addr, ACCESS_KEY, vec![env.gw.pid()], None, Some(&env.sampler))
        }
        ManyHop::Relay(_) => {
            let model = "slow-tr-claude-sonnet-4-5";
            ("relay anthropic→openai", model, env.gw_addr, ACCESS_KEY, vec![env.gw.pid()], None, Some(&env.sampler))
        }
        ManyHop::RelayHttps => {
            let t = env.tls.as_ref()?;
            let (pids, tls) = (vec![t.gw.pid()], Some(t.connector.clone()));
            ("relay anthropic→anthropic, https", slow_a, t.gw_addr, ACCESS_KEY, pids, tls, Some(&t.sampler))
        }
        ManyHop::Nginx => {
            let nginx = env.nginx.as_ref()?;
            ("nginx anthropic", "claude-sonnet-4-5", nginx.stream_addr, upstream_key(A), nginx.pids.clone(), None, None)
        }
    };
    let body = bodies::request(A, model, Size::Small, Ask::Stream(tokens), "many");
    let t = Arc::new(Target::new(addr, tls, path(A), auth(A, key), body));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let active = Arc::new(client::Active::default());
    let attempted = Arc::new(AtomicUsize::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    // The gateway's RSS before the connections open: the peak less this is what the
    // connections and their streams hold.
    let rss_before = match (sampler, pids.first()) {
        (Some(_), Some(&pid)) => procs::rss_kib(pid).0,
        _ => 0,
    };
    let mut handles = Vec::with_capacity(n);
    let ramp = Duration::from_millis(env.cli.many_ramp_ms);
    for i in 0..n {
        let (t, mut rx, active) = (t.clone(), rx.clone(), active.clone());
        let delay = ramp.mul_f64(i as f64 / n.max(1) as f64);
        let (attempted, connected) = (attempted.clone(), connected.clone());
        handles.push(tokio::spawn(async move {
            let conn = t.connect().await;
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
    if let Some(sampler) = sampler {
        sampler.reset();
    }
    let c0 = Cpu::of_all(&pids);
    let m0 = Cpu::of(env.slow.pid());
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
    let gw_cpu = c0.secs_until(&Cpu::of_all(&pids));
    let mock_cpu = m0.secs_until(&Cpu::of(env.slow.pid()));
    let completed = outs.iter().filter(|o| o.complete(tokens)).count();
    let stalled = outs.iter().filter(|o| o.stalled).count();
    let events: u64 = outs.iter().map(|o| o.frames).sum();
    let mut ttft: Vec<u64> = outs.iter().filter_map(|o| o.ttft_ns).collect();
    ttft.sort_unstable();
    let mut total: Vec<u64> = outs.iter().filter(|o| o.complete(tokens)).map(|o| o.total_ns).collect();
    total.sort_unstable();
    Some(ManyRow {
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
        gw_peak_rss_kib: sampler.map_or(0, RssSampler::peak_kib),
        gw_rss_before_kib: rss_before,
        gw_cpu,
        events,
        cpu_us_per_event: per(gw_cpu.best(), events),
        mock_cpu_us_per_event: per(mock_cpu.best(), events),
        first_error: outs.iter().find_map(|o| o.error.clone()),
    })
}

pub(crate) fn count_for(stats: &serde_json::Value, key: &str) -> u64 {
    stats.get("by_key").and_then(|m| m.get(key)).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

pub(crate) async fn run_failover(env: &Env) -> Result<Failover, BenchError> {
    let cli = &env.cli;
    let mut f = Failover::default();
    let body = |model: &str| bodies::request(A, model, Size::Small, Ask::Json, "failover");
    // 1. Every request fails over: the primary key always answers 529 and never goes down.
    let port = procs::free_port()?;
    let extra = "health:\n  error_threshold: 1000000\n  breaker_window: 0\n";
    let yaml =
        gateway_yaml(port, &env.tmp.path, "gw-failover", cli.threads, ("", extra), &failover_channels(env.mock_addr));
    let gw = start_gateway(cli, &env.tmp.path, "gw-failover", &yaml, port, None).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let fo = Arc::new(Target::new(addr, None, path(A), auth(A, ACCESS_KEY), body("fo-claude-sonnet-4-5")));
    let hl = Arc::new(Target::new(addr, None, path(A), auth(A, ACCESS_KEY), body("hl-claude-sonnet-4-5")));
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
    client::simple(env.mock_addr, None, Method::POST, "/_mock/reset").await?;
    let port = procs::free_port()?;
    let yaml =
        gateway_yaml(port, &env.tmp.path, "gw-default", cli.threads, ("", ""), &failover_channels(env.mock_addr));
    let gw = start_gateway(cli, &env.tmp.path, "gw-default", &yaml, port, None).await?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let fo = Arc::new(Target::new(addr, None, path(A), auth(A, ACCESS_KEY), body("fo-claude-sonnet-4-5")));
    let r = client::closed_loop(&fo, 1, Duration::from_secs(60), Some(cli.failover_requests)).await;
    let (_, stats) = client::simple(env.mock_addr, None, Method::GET, "/_mock/stats").await?;
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

pub(crate) async fn run_calibration(env: &Env) -> Vec<CalRow> {
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
        if size == Size::Small && wrk_installed() {
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
/// Whether `wrk` runs here: the calibration cross-checks the load generator with it.
pub(crate) fn wrk_installed() -> bool {
    command_output("wrk", &["-v"]).is_some()
}

pub(crate) fn wrk(threads: usize, conns: usize, secs: f64, lua: &Path, addr: SocketAddr) -> Option<f64> {
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

pub(crate) async fn capture_inputs(env: &Env) -> Result<alloc::Inputs, BenchError> {
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
    let responses = [Size::Small, Size::Large]
        .map(|size| bodies::request(Dialect::OpenAiResponses, "gpt-5", size, Ask::Json, "bench"));
    Ok(alloc::Inputs {
        small: two(small)?,
        large: two(large)?,
        response: two(response)?,
        stream: two(stream)?,
        responses,
    })
}
