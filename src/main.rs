//! `llm-relay run --config FILE` serves; `llm-relay check --config FILE` validates.

use arc_swap::ArcSwap;
use clap::{Parser, Subcommand};
use llm_relay::config::{self, ConfigError};
use llm_relay::metrics::Metrics;
use llm_relay::metrics_service::MetricsApp;
use llm_relay::proxy::{Gateway, LocalConnections};
use llm_relay::relay::{ActiveHealthChecks, Live, Relay};
use llm_relay::reload::{FileWatchReload, Reloader, SighupReload};
use llm_relay::tls::CertResolver;
use pingora::connectors::ConnectorOptions;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, Server};
use pingora::services::background::background_service;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc: allocation-heavy JSON translation runs markedly faster than on glibc's
/// malloc, and freed memory goes back to the system after load peaks (see
/// [`Housekeeping`]). How it is called: [`llm_relay::allocator`].
#[global_allocator]
static GLOBAL: llm_relay::allocator::MiMalloc = llm_relay::allocator::MiMalloc;

/// What a gateway gone quiet after a load peak gives back.
///
/// - mimalloc returns freed pages to the system a second after they were freed, but
///   only when some thread next calls into it: an idle gateway kept its peak memory.
///   Once a second this service asks mimalloc to do the returns that are due. After the
///   `make bench` loads, the idle gateway held 79 MiB without it and 39 MiB with it.
///   (The worker threads' own caches are given back by the threads themselves when
///   they go quiet: the gateway's `proxy::idle`.)
/// - Idle upstream connections past the pool's timeout are closed every
///   [`SWEEP_SECS`] seconds: returns sweep them, but a gateway that returns none kept
///   a burst's worth of connections to each upstream open for as long as it stayed quiet.
struct Housekeeping {
    relay: Arc<Relay>,
}

/// How often [`Housekeeping`] closes expired idle upstream connections.
const SWEEP_SECS: u64 = 10;

#[async_trait::async_trait]
impl pingora::services::background::BackgroundService for Housekeeping {
    async fn start(&self, mut shutdown: pingora::server::ShutdownWatch) {
        for tick in 1u64.. {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
            if tick % SWEEP_SECS == 0 {
                let closed = self.relay.close_expired_idle();
                if closed > 0 {
                    log::debug!("closed {closed} upstream connections idle past the pool's timeout");
                }
            }
            // SAFETY: `mi_collect` takes no pointers and may be called from any thread;
            // without `force` it only performs purges that are already due.
            unsafe { libmimalloc_sys::mi_collect(false) };
        }
    }
}

/// Client connections read straight from the socket. Pingora's default is a 64 KiB read
/// buffer per connection, allocated zeroed: 64 MiB resident for 1,000 held streams, and
/// one more copy of every request body. In plain HTTP the HTTP/1 parser reads headers
/// into its own buffer and bodies into theirs, so the socket buffer saved no system
/// calls. Behind TLS, rustls reads the socket 4 KiB at a time without one, about eight
/// more reads for an 80 KiB request than through a 17 KiB buffer; measured over HTTPS,
/// the reads cost what the buffer's copy did (CPU per request and throughput the same
/// within noise), while 1,000 held streams took 62 MiB instead of 75–79.
const CLIENT_BUFFERS: L4BufferSettings = L4BufferSettings { read: Some(0), write: None };

/// `--version`: the crate version, or what `scripts/build-release.sh` says about the
/// build (the version and whether it was profile-guided).
const VERSION: &str = match option_env!("LLM_RELAY_BUILD") {
    Some(build) => build,
    None => env!("CARGO_PKG_VERSION"),
};

#[derive(Parser)]
#[command(
    name = "llm-relay",
    version = VERSION,
    about = "LLM API gateway: Anthropic and OpenAI clients and upstreams, translated in flight"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve in the foreground.
    Run {
        /// The YAML config file.
        #[arg(short, long)]
        config: PathBuf,
        /// Take over the listening sockets of a running instance (graceful upgrade).
        #[arg(short, long)]
        upgrade: bool,
    },
    /// Validate a config file; print every error with its YAML path.
    Check {
        #[arg(short, long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    // Pingora logs, at error level, every pooled upstream connection it could not take
    // back under load (it then opens a new one); that is not an error of the request.
    // Real connection failures are logged by the relay with their channel.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,pingora_core::connectors=off"))
        .init();
    // Access lines are written in batches (see `proxy::access_log`); the last batch is
    // written when the process exits, whichever code path calls `exit`.
    // SAFETY: registers a plain `extern "C" fn` without arguments, as `atexit` expects.
    unsafe { libc::atexit(flush_access_log) };
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config, upgrade } => run(&config, upgrade),
    }
}

extern "C" fn flush_access_log() {
    llm_relay::proxy::access_log::flush();
}

fn print_errors(path: &Path, errors: &[ConfigError]) {
    eprintln!("{}: {} error(s)", path.display(), errors.len());
    for e in errors {
        eprintln!("  {e}");
    }
}

fn check(path: &Path) -> ExitCode {
    match config::load_file_to_serve(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("warning: {w}");
            }
            let c = &loaded.config;
            println!(
                "{}: ok ({} channel(s), {} access key(s), {} admin key(s))",
                path.display(),
                c.channels.len(),
                c.access_keys.len(),
                c.admin_keys.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            print_errors(path, &errors);
            ExitCode::FAILURE
        }
    }
}

/// How long a gateway with no request in flight waits, during a graceful shutdown, for
/// its client connections to close.
const CONNECTIONS_CLOSE_SECS: u64 = 5;

/// Pingora's graceful shutdown (SIGTERM, or the old process of an upgrade) waits the
/// whole grace period. A gateway with no request in flight has nothing to wait for:
/// this exits as soon as the last stream has finished and the client connections have
/// closed, or once nothing has been in flight for [`CONNECTIONS_CLOSE_SECS`] (counted
/// from the first check, every 100 ms, that finds nothing in flight). Exiting closes every
/// socket at once, and one with the client's bytes unread is reset: the end of an
/// answer still on its way out would be lost (see `proxy::local::closing`).
fn exit_when_drained(mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>, metrics: Arc<Metrics>) {
    std::thread::spawn(move || {
        loop {
            match phases.blocking_recv() {
                Ok(ExecutionPhase::ShutdownGracePeriod) => {
                    llm_relay::proxy::note_shutdown();
                    break;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
        let mut drained = None;
        loop {
            if metrics.inflight.get() > 0 {
                drained = None;
            } else {
                let since = *drained.get_or_insert_with(std::time::Instant::now);
                let open = llm_relay::proxy::open_client_connections();
                if open == 0 || since.elapsed() >= std::time::Duration::from_secs(CONNECTIONS_CLOSE_SECS) {
                    if open > 0 {
                        log::info!("graceful shutdown: {open} client connection(s) still open after {CONNECTIONS_CLOSE_SECS} s");
                    }
                    log::info!("graceful shutdown: no request in flight, exiting");
                    std::process::exit(0);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
}

/// Whether a listener could be bound at `addr` now; it is let go at once. The standard
/// library binds with `SO_REUSEADDR` on Unix, as Pingora does, so connections of the
/// last run still in TIME_WAIT do not refuse a restart.
fn can_listen(addr: std::net::SocketAddr) -> std::io::Result<()> {
    std::net::TcpListener::bind(addr).map(drop)
}

fn run(path: &Path, upgrade: bool) -> ExitCode {
    let loaded = match config::load_file_to_serve(path) {
        Ok(l) => l,
        Err(errors) => {
            print_errors(path, &errors);
            return ExitCode::FAILURE;
        }
    };
    for w in &loaded.warnings {
        log::warn!("config: {w}");
    }
    let settings = loaded.config.server.clone();
    for ch in &loaded.config.channels {
        log::info!(
            "channel {} ({}, {} key(s)) → {}://{}{}",
            ch.name,
            ch.protocol.as_str(),
            ch.keys.len(),
            if ch.upstream.tls { "https" } else { "http" },
            ch.upstream.authority,
            ch.endpoint_path("{model}", false)
        );
    }

    // Pingora binds the listeners in their service threads, where a failure ends only
    // that thread: the process would run on, listening nowhere. They are tried here
    // first. An upgrade takes over sockets the running instance holds.
    if !upgrade {
        let metrics = settings.metrics_listen.iter().map(|a| (a, "server.metrics_listen"));
        for (addr, what) in settings.listen.iter().map(|a| (a, "server.listen")).chain(metrics) {
            if let Err(e) = can_listen(*addr) {
                eprintln!("{what}: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    let opt = Opt { upgrade, ..Default::default() };
    let conf = ServerConf {
        threads: settings.threads,
        // One runtime per thread: no task moves between threads, so no thread wakes
        // another for it (the upstream pool is per thread to match).
        work_stealing: false,
        grace_period_seconds: Some(settings.grace_period_secs),
        graceful_shutdown_timeout_seconds: Some(5),
        upgrade_sock: settings.upgrade_sock.clone(),
        pid_file: settings.pid_file.clone(),
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let metrics = match Metrics::new() {
        Ok(m) => Arc::new(m),
        Err(e) => {
            eprintln!("cannot set up metrics: {e}");
            return ExitCode::FAILURE;
        }
    };
    metrics.record_reload(true);
    let tls = match &settings.tls {
        None => None,
        Some(files) => match CertResolver::new(files) {
            Ok(r) => Some(Arc::new(r)),
            Err(e) => {
                eprintln!("server.tls: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let transport =
        pingora::connectors::TransportConnector::new(Some(ConnectorOptions::from_server_conf(&server.configuration)));
    let relay = Arc::new(Relay::new(transport, &loaded.config.routing, metrics.clone()));
    let live = Arc::new(ArcSwap::from_pointee(Live::new(loaded.config)));
    let reloader =
        Arc::new(Reloader::new(path.to_path_buf(), live.clone(), relay.clone(), metrics.clone(), tls.clone()));

    // SIGHUP's default action ends the process: take it over before any listener
    // accepts traffic; the reload service then receives it.
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
        rt.block_on(async {
            let _ = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
        });
    }
    server.add_service(background_service("active health checks", ActiveHealthChecks { live: live.clone() }));
    server.add_service(background_service("housekeeping", Housekeeping { relay: relay.clone() }));
    server.add_service(background_service("reload on SIGHUP", SighupReload(reloader.clone())));
    server.add_service(background_service("reload on config change", FileWatchReload(reloader.clone())));

    if let Some(addr) = settings.metrics_listen {
        let app = MetricsApp { metrics: metrics.clone(), live: live.clone(), relay: relay.clone() };
        let mut metrics_service = pingora::services::listening::Service::new("metrics".to_string(), app);
        metrics_service.add_tcp(&addr.to_string());
        log::info!("metrics on http://{addr}/metrics");
        server.add_service(metrics_service);
    }

    let gateway = Gateway { live, relay, metrics: metrics.clone(), reloader };
    let proxy = Arc::new(pingora::proxy::http_proxy(&server.configuration, gateway.clone()));
    // TLS is taken on by the gateway's own server app, after it has moved the connection
    // to the thread that serves it (see `proxy::local`): the listeners are plain TCP.
    let acceptor = match tls.as_ref().map(|resolver| llm_relay::tls::acceptor(resolver.clone())).transpose() {
        Ok(acceptor) => acceptor,
        Err(e) => {
            eprintln!("server.tls: {e}");
            return ExitCode::FAILURE;
        }
    };
    let https = acceptor.is_some();
    let app = LocalConnections::new(proxy, gateway, acceptor, settings.client_timeout);
    server.add_service(background_service("client idle clock", app.client_clock()));
    let mut service = pingora::services::listening::Service::new("llm-relay".to_string(), app);
    for addr in &settings.listen {
        service.add_listener(ListenerConfig::tcp(addr.to_string()).l4_buffer(CLIENT_BUFFERS));
        if https {
            log::info!("listening on https://{addr} (HTTP/2 and HTTP/1.1)");
        } else {
            log::info!("listening on http://{addr}");
        }
    }
    server.add_service(service);
    // Pingora writes it only when it daemonizes; under systemd or a shell it runs in the
    // foreground. An upgrade's new process writes its own.
    if let Err(e) = std::fs::write(&settings.pid_file, format!("{}\n", std::process::id())) {
        log::warn!("server.pid_file: cannot write {}: {e}", settings.pid_file);
    }
    exit_when_drained(server.watch_execution_phase(), metrics);
    server.run_forever()
}
