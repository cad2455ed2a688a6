//! Starting what the bench measures: the mocks, the gateways (plain and HTTPS), nginx,
//! and the temp dir of their configs and logs.

use crate::*;

/// The temp dir of configs and logs, removed at the end unless `--keep-tmp`.
pub(crate) struct TempDir {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
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

pub(crate) struct Nginx {
    pub(crate) _proc: Proc,
    pub(crate) addr: SocketAddr,
    /// In front of the paced mock, response buffering off.
    pub(crate) stream_addr: SocketAddr,
    /// HTTPS in front of the mock, when the certificates were made.
    pub(crate) tls_addr: Option<SocketAddr>,
    /// Whether that server also speaks HTTP/2 (nginx built with http_v2_module).
    pub(crate) http2: bool,
    pub(crate) pids: Vec<u32>,
    pub(crate) version: String,
}

/// The HTTPS runs: a second gateway serving HTTPS (same channels, plain HTTP to the
/// mock), and the client side's trust in the throwaway CA.
pub(crate) struct Tls {
    pub(crate) gw: Proc,
    pub(crate) gw_addr: SocketAddr,
    pub(crate) sampler: RssSampler,
    /// Offers HTTP/1.1 only, by not offering anything by ALPN.
    pub(crate) connector: TlsConnector,
    /// Offers `h2` only.
    pub(crate) connector_h2: TlsConnector,
    /// Offers HTTP/1.1 and keeps no session: every handshake is a full one. The other
    /// two keep the sessions servers offer (rustls's default), and resume them.
    pub(crate) connector_full: TlsConnector,
}

/// Everything running during the bench. Fields drop in order: gateways, nginx, mocks,
/// then the temp dir.
pub(crate) struct Env {
    pub(crate) gw: Proc,
    pub(crate) gw_addr: SocketAddr,
    pub(crate) sampler: RssSampler,
    pub(crate) tls: Option<Tls>,
    /// Why the HTTPS runs are skipped, when they are.
    pub(crate) tls_skipped: Option<String>,
    pub(crate) nginx: Option<Nginx>,
    pub(crate) mock: Proc,
    pub(crate) mock_addr: SocketAddr,
    pub(crate) slow: Proc,
    pub(crate) tmp: TempDir,
    pub(crate) cli: Cli,
}

/// A gateway's config: `extra` goes at the top level, `server_extra` under `server`.
pub(crate) fn gateway_yaml(
    port: u16,
    tmp: &Path,
    name: &str,
    threads: usize,
    (server_extra, extra): (&str, &str),
    channels: &[String],
) -> String {
    let d = tmp.display();
    let mut y = format!(
        "server:\n  listen: [\"127.0.0.1:{port}\"]\n  threads: {threads}\n  grace_period_secs: 1\n  \
         upgrade_sock: \"{d}/{name}.upgrade.sock\"\n  pid_file: \"{d}/{name}.pid\"\n{server_extra}\
         access_keys:\n  - {{name: bench, key: \"{ACCESS_KEY}\"}}\n{extra}channels:\n"
    );
    for c in channels {
        y.push_str(c);
    }
    y
}

pub(crate) fn channel(
    name: &str,
    protocol: &str,
    base: SocketAddr,
    key: &str,
    pattern: &str,
    map_to: Option<&str>,
) -> String {
    let map = map_to.map(|m| format!(", model_map: {{\"{pattern}\": \"{m}\"}}")).unwrap_or_default();
    format!(
        "  - {{name: {name}, protocol: {protocol}, base_url: \"http://{base}\", keys: [\"{key}\"], \
         models: [\"{pattern}\"]{map}}}\n"
    )
}

pub(crate) fn with_priority(ch: String, priority: u32) -> String {
    ch.replacen("}\n", &format!(", priority: {priority}}}\n"), 1)
}

pub(crate) fn main_channels(mock: SocketAddr, slow: SocketAddr) -> Vec<String> {
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

pub(crate) fn failover_channels(mock: SocketAddr) -> Vec<String> {
    vec![
        with_priority(channel("fo-primary", "anthropic", mock, "p1-[[error:529]]", "fo-*", None), 1),
        with_priority(channel("fo-secondary", "anthropic", mock, "p2-ok", "fo-*", None), 2),
        with_priority(channel("healthy", "anthropic", mock, "p2-ok", "hl-*", None), 1),
    ]
}

/// Waits until `GET /health` answers 200, or the process exits, or 20 s pass; the
/// error names the last failure of the check (a refused connection, a TLS error).
pub(crate) async fn wait_ready(
    addr: SocketAddr,
    tls: Option<&TlsConnector>,
    p: &mut Proc,
    log: Option<&Path>,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::from("no check ran");
    while Instant::now() < deadline {
        if let Some(st) = p.exited() {
            let tail = log.map(log_tail).unwrap_or_default();
            return Err(format!("{} exited ({st}) before it was ready\n{tail}", p.name).into());
        }
        match client::simple(addr, tls, Method::GET, "/health").await {
            Ok((200, _)) => return Ok(()),
            Ok((status, _)) => last = format!("GET /health answered {status}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tail = log.map(log_tail).unwrap_or_default();
    Err(format!("{} not ready on {addr} after 20 s (last check: {last})\n{tail}", p.name).into())
}

pub(crate) fn log_tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

pub(crate) async fn start_gateway(
    cli: &Cli,
    tmp: &Path,
    name: &str,
    yaml: &str,
    port: u16,
    tls: Option<&TlsConnector>,
) -> Result<Proc, BenchError> {
    let conf = tmp.join(format!("{name}.yaml"));
    std::fs::write(&conf, yaml)?;
    let log = tmp.join(format!("{name}.log"));
    let mut p = procs::start_gateway(&cli.bin_dir, name, &conf, &log)?;
    wait_ready(SocketAddr::from(([127, 0, 0, 1], port)), tls, &mut p, Some(&log)).await?;
    Ok(p)
}

/// Makes the certificates and three clients that trust them, for HTTP/1.1, for HTTP/2,
/// and for HTTP/1.1 without resuming sessions: `Err` says why HTTPS is skipped.
pub(crate) fn tls_client(cli: &Cli, dir: &Path) -> Result<(TlsConnector, TlsConnector, TlsConnector), String> {
    let out = Command::new(&cli.test_certs)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cli.test_certs.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} failed: {}", cli.test_certs.display(), err.trim()));
    }
    pingora_rustls::install_default_crypto_provider();
    let mut roots = pingora_rustls::RootCertStore::empty();
    pingora_rustls::load_ca_file_into_store(dir.join("ca.crt"), &mut roots)
        .map_err(|e| format!("cannot load the test CA: {e}"))?;
    let config = pingora_rustls::ClientConfig::builder_with_protocol_versions(&[&pingora_rustls::version::TLS13])
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut h2 = config.clone();
    h2.alpn_protocols = vec![b"h2".to_vec()];
    let mut full = config.clone();
    full.resumption = rustls::client::Resumption::disabled();
    Ok((TlsConnector::from(Arc::new(config)), TlsConnector::from(Arc::new(h2)), TlsConnector::from(Arc::new(full))))
}

/// The gateway serving HTTPS on the plain gateway's channels.
pub(crate) async fn start_tls_gateway(
    cli: &Cli,
    tmp: &Path,
    certs: &Path,
    (connector, connector_h2, connector_full): (TlsConnector, TlsConnector, TlsConnector),
    channels: &[String],
) -> Result<Tls, BenchError> {
    let port = procs::free_port()?;
    let (crt, key) = (certs.join("leaf.crt"), certs.join("leaf.key"));
    let server = format!("  tls: {{cert: \"{}\", key: \"{}\"}}\n", crt.display(), key.display());
    let yaml = gateway_yaml(port, tmp, "gateway-tls", cli.threads, (&server, ""), channels);
    let gw = start_gateway(cli, tmp, "gateway-tls", &yaml, port, Some(&connector)).await?;
    let gw_addr = SocketAddr::from(([127, 0, 0, 1], port));
    progress(&format!("gateway serving HTTPS on {gw_addr} (pid {})", gw.pid()));
    let sampler = RssSampler::start(gw.pid());
    Ok(Tls { gw, gw_addr, sampler, connector, connector_h2, connector_full })
}

pub(crate) async fn setup(cli: &Cli) -> Result<Env, BenchError> {
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
    let channels = main_channels(mock_addr, slow_addr);
    let yaml = gateway_yaml(port, &tmp.path, "gateway", cli.threads, ("", ""), &channels);
    let gw = start_gateway(cli, &tmp.path, "gateway", &yaml, port, None).await?;
    let gw_addr = SocketAddr::from(([127, 0, 0, 1], port));
    progress(&format!("gateway on {gw_addr} (pid {}, {} threads)", gw.pid(), cli.threads));
    let sampler = RssSampler::start(gw.pid());
    let certs = tmp.path.join("certs");
    let (mut tls, mut tls_skipped) = (None, None);
    if cli.no_tls {
        tls_skipped = Some("--no-tls".to_string());
    } else if cli.wants("tls") {
        let started = match tls_client(cli, &certs) {
            Ok(c) => start_tls_gateway(cli, &tmp.path, &certs, c, &channels).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match started {
            Ok(t) => tls = Some(t),
            Err(e) => {
                progress(&format!("the HTTPS runs are skipped: {e}"));
                tls_skipped = Some(e);
            }
        }
    }
    let nginx_certs = tls.as_ref().map(|_| certs.as_path());
    let nginx = match (cli.no_nginx, procs::find_nginx()) {
        (false, Some(bin)) => Some(start_nginx(cli, &bin, &tmp.path, mock_addr, slow_addr, nginx_certs).await?),
        (false, None) => {
            progress("nginx not installed: the nginx comparison is skipped (apt-get install nginx)");
            None
        }
        (true, _) => None,
    };
    Ok(Env { gw, gw_addr, sampler, tls, tls_skipped, nginx, mock, mock_addr, slow, tmp, cli: cli.clone() })
}

pub(crate) async fn start_nginx(
    cli: &Cli,
    bin: &Path,
    tmp: &Path,
    mock: SocketAddr,
    slow: SocketAddr,
    certs: Option<&Path>,
) -> Result<Nginx, BenchError> {
    let dir = tmp.join("nginx");
    std::fs::create_dir_all(&dir)?;
    let port = procs::free_port()?;
    let stream_port = procs::free_port()?;
    let bin_name = bin.to_str().unwrap_or("nginx");
    // `nginx -V` lists the configure flags; without these modules an `ssl` listener, and
    // `http2` on it, are refused.
    let flags = command_output(bin_name, &["-V"]).unwrap_or_default();
    let (has_ssl, http2) = (flags.contains("http_ssl_module"), flags.contains("http_v2_module"));
    if certs.is_some() && has_ssl && !http2 {
        progress("nginx was built without http_v2_module: the HTTP/2 runs go without nginx");
    }
    let tls_port = match certs {
        Some(c) if has_ssl => Some((procs::free_port()?, c, http2)),
        Some(_) => {
            progress("nginx was built without http_ssl_module: the HTTPS runs go without nginx");
            None
        }
        None => None,
    };
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, procs::nginx_conf(&dir, port, mock, stream_port, slow, tls_port, cli.threads))?;
    let mut p = procs::start_nginx(bin, &dir, &conf)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(addr, None, &mut p, Some(&dir.join("nginx-error.log"))).await?;
    let pids = procs::with_children(p.pid());
    let version = command_output(bin_name, &["-v"])
        .map(|v| v.trim().trim_start_matches("nginx version: ").to_string())
        .unwrap_or_default();
    progress(&format!("nginx {version} on {addr} ({} processes)", pids.len()));
    let stream_addr = SocketAddr::from(([127, 0, 0, 1], stream_port));
    let tls_addr = tls_port.map(|(port, _, _)| SocketAddr::from(([127, 0, 0, 1], port)));
    let http2 = tls_addr.is_some() && http2;
    Ok(Nginx { _proc: p, addr, stream_addr, tls_addr, http2, pids, version })
}
