//! `llm-relay run --config FILE` serves; `llm-relay check --config FILE` validates.

use arc_swap::ArcSwap;
use clap::{Parser, Subcommand};
use llm_relay::config::{self, ConfigError};
use llm_relay::proxy::Gateway;
use llm_relay::relay::{ActiveHealthChecks, Live, Relay};
use pingora::connectors::ConnectorOptions;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "llm-relay",
    version,
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
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config, upgrade } => run(&config, upgrade),
    }
}

fn print_errors(path: &Path, errors: &[ConfigError]) {
    eprintln!("{}: {} error(s)", path.display(), errors.len());
    for e in errors {
        eprintln!("  {e}");
    }
}

fn check(path: &Path) -> ExitCode {
    match config::load_file(path) {
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

fn run(path: &Path, upgrade: bool) -> ExitCode {
    let loaded = match config::load_file(path) {
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
            ch.endpoint_path()
        );
    }

    let opt = Opt { upgrade, ..Default::default() };
    let conf = ServerConf {
        threads: settings.threads,
        grace_period_seconds: Some(settings.grace_period_secs),
        graceful_shutdown_timeout_seconds: Some(5),
        upgrade_sock: settings.upgrade_sock.clone(),
        pid_file: settings.pid_file.clone(),
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let connector =
        pingora::connectors::http::Connector::new(Some(ConnectorOptions::from_server_conf(&server.configuration)));
    let relay = Arc::new(Relay::new(connector, &loaded.config.routing));
    let live = Arc::new(ArcSwap::from_pointee(Live::new(loaded.config)));
    server.add_service(pingora::services::background::background_service(
        "active health checks",
        ActiveHealthChecks { live: live.clone() },
    ));
    let gateway = Gateway { live, relay };
    let mut service = pingora::proxy::http_proxy_service_with_name(&server.configuration, gateway, "llm-relay");
    for addr in &settings.listen {
        service.add_tcp(&addr.to_string());
        log::info!("listening on http://{addr}");
    }
    server.add_service(service);
    server.run_forever()
}
