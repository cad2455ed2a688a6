//! Hot reload: SIGHUP, a change of the config file and `POST /admin/reload` all take
//! this one road: read, validate fully, build, swap atomically. A bad config is
//! rejected with its errors and the running one keeps serving; requests in flight
//! finish on the config they started with (they hold their own `Arc`). Health of the
//! channels and keys that survive is kept.

use crate::config::{self, Config, ServerSettings};
use crate::metrics::Metrics;
use crate::relay::{Live, Relay};
use crate::tls::CertResolver;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Reloader {
    path: PathBuf,
    live: Arc<ArcSwap<Live>>,
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    /// The TLS certificate in use, re-read on every reload.
    tls: Option<Arc<CertResolver>>,
    /// One reload at a time.
    running: Mutex<()>,
    /// A hash of the file's content as the last load read it: the file watcher reloads
    /// only content no load has read (a `systemctl reload` after saving is one reload).
    loaded: AtomicU64,
}

/// The result of one reload: warnings on success, every error on failure.
pub type ReloadResult = Result<Vec<String>, Vec<String>>;

impl Reloader {
    pub fn new(
        path: PathBuf,
        live: Arc<ArcSwap<Live>>,
        relay: Arc<Relay>,
        metrics: Arc<Metrics>,
        tls: Option<Arc<CertResolver>>,
    ) -> Self {
        let loaded = AtomicU64::new(content_hash(&path).unwrap_or(0));
        Reloader { path, live, relay, metrics, tls, running: Mutex::new(()), loaded }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Loads, validates and swaps in the config file; `cause` is for the log.
    pub fn reload(&self, cause: &str) -> ReloadResult {
        let _one = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hash) = content_hash(&self.path) {
            self.loaded.store(hash, Ordering::Relaxed);
        }
        let loaded =
            config::load_file(&self.path).and_then(|loaded| match lockout(&self.live.load().config, &loaded.config) {
                Some(e) => Err(vec![e]),
                None => Ok(loaded),
            });
        match loaded {
            Err(errors) => {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                for e in &errors {
                    log::error!("config reload ({cause}) rejected: {e}");
                }
                log::error!("config reload ({cause}) rejected; the running config stays in force");
                self.metrics.record_reload(false);
                Err(errors)
            }
            Ok(loaded) => {
                let mut warnings = loaded.warnings;
                let mut config = loaded.config;
                warnings.extend(restart_only_changes(&self.live.load().config, &config));
                keep_restart_only_settings(&self.live.load().config.server, &mut config.server);
                for w in &warnings {
                    log::warn!("config: {w}");
                }
                if let (Some(resolver), Some(files)) = (&self.tls, &config.server.tls) {
                    // Validation already loaded these files; a failure here is a race.
                    if let Err(e) = resolver.reload(files) {
                        warnings.push(format!("server.tls: keeping the previous certificate: {e}"));
                    }
                }
                self.relay.health.retain(|name, fingerprint| {
                    config.channels.iter().any(|c| {
                        c.name == name && fingerprint.is_none_or(|f| c.keys.iter().any(|k| k.fingerprint == f))
                    })
                });
                self.relay.set_affinity_limits(&config.routing);
                self.live.store(Arc::new(Live::new(config)));
                self.metrics.record_reload(true);
                log::info!("config reloaded ({cause}) from {}", self.path.display());
                Ok(warnings)
            }
        }
    }
}

/// A reload that would leave no access key or no channel where there were some: a half
/// written file, or keys in an environment variable the reload does not see. Every
/// request would be refused (the admin endpoints, which take admin keys, stay open); the
/// running config stays.
fn lockout(old: &Config, new: &Config) -> Option<config::ConfigError> {
    let (what, path) = if new.access_keys.is_empty() && !old.access_keys.is_empty() {
        ("no access key", "access_keys")
    } else if new.channels.is_empty() && !old.channels.is_empty() {
        ("no channel", "channels")
    } else {
        return None;
    };
    let message = format!("the new config has {what} where the running one has some; not applied");
    Some(config::ConfigError { path: path.to_string(), message })
}

/// Settings read once at start-up: a reload cannot apply them.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    let (a, b) = (&old.server, &new.server);
    let mut out = Vec::new();
    let mut check = |changed: bool, field: &str| {
        if changed {
            out.push(format!("server.{field}: the change takes effect after a restart or upgrade"));
        }
    };
    check(a.listen != b.listen, "listen");
    check(a.metrics_listen != b.metrics_listen, "metrics_listen");
    check(a.threads != b.threads, "threads");
    check(a.tls != b.tls, "tls");
    check(a.grace_period_secs != b.grace_period_secs, "grace_period_secs");
    check(a.client_timeout != b.client_timeout, "client_timeout_secs");
    check(a.upgrade_sock != b.upgrade_sock || a.pid_file != b.pid_file, "upgrade_sock/pid_file");
    out
}

/// Puts back the running values of the settings a reload cannot apply, so that the live
/// config (and `GET /admin/config`) says what is in force. New certificate files under
/// `tls` are taken (the resolver re-reads them); turning TLS on or off waits too.
fn keep_restart_only_settings(running: &ServerSettings, new: &mut ServerSettings) {
    new.listen.clone_from(&running.listen);
    new.metrics_listen = running.metrics_listen;
    new.threads = running.threads;
    if running.tls.is_none() || new.tls.is_none() {
        new.tls.clone_from(&running.tls);
    }
    new.grace_period_secs = running.grace_period_secs;
    new.client_timeout = running.client_timeout;
    new.upgrade_sock.clone_from(&running.upgrade_sock);
    new.pid_file.clone_from(&running.pid_file);
}

/// Reloads on SIGHUP.
pub struct SighupReload(pub Arc<Reloader>);

#[async_trait]
impl BackgroundService for SighupReload {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot listen for SIGHUP: {e}; reload with POST /admin/reload");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    let _ = self.0.reload("SIGHUP");
                }
            }
        }
    }
}

/// Reloads when the config file's content changes to something no load has read yet,
/// once it has been the same for two polls, so an editor's partial write is not picked
/// up. Content, not modification time and size: a file copied over with its times kept
/// counts.
pub struct FileWatchReload(pub Arc<Reloader>);

const POLL: Duration = Duration::from_millis(500);

fn content_hash(path: &std::path::Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

#[async_trait]
impl BackgroundService for FileWatchReload {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let path = self.0.path().to_path_buf();
        let mut pending: Option<u64> = None;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            let now = content_hash(&path);
            if now.is_none() || now == Some(self.0.loaded.load(Ordering::Relaxed)) {
                pending = None;
                continue;
            }
            // Debounce: reload when two polls in a row see the same new content.
            if pending == now {
                pending = None;
                let _ = self.0.reload("file change");
            } else {
                pending = now;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(server: &str) -> Config {
        let yaml = format!("server: {{{server}}}\naccess_keys: [{{name: a, key: k-0123456789}}]\nchannels: []\n");
        match crate::config::load_str(&yaml, &|_| None) {
            Ok(loaded) => loaded.config,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_reload_names_the_settings_that_wait_for_a_restart() {
        let old = config("listen: ['127.0.0.1:8080'], max_body_bytes: 1000");
        let new = config("listen: ['127.0.0.1:8081'], max_body_bytes: 2000, client_timeout_secs: 5");
        assert_eq!(
            restart_only_changes(&old, &new),
            vec![
                "server.listen: the change takes effect after a restart or upgrade",
                "server.client_timeout_secs: the change takes effect after a restart or upgrade",
            ]
        );
        assert!(restart_only_changes(&old, &old).is_empty());
        // What is in force stays in the live config; the rest of the new one applies.
        let mut applied = new.server.clone();
        keep_restart_only_settings(&old.server, &mut applied);
        assert_eq!(applied.listen, old.server.listen);
        assert_eq!(applied.client_timeout, old.server.client_timeout);
        assert_eq!(applied.max_body_bytes, 2000);
    }

    #[test]
    fn a_reload_that_drops_every_access_key_or_channel_is_refused() {
        let keys = "access_keys: [{name: a, key: k-0123456789}]\n";
        let channel = "channels: [{name: c, protocol: anthropic, base_url: 'http://127.0.0.1:9', keys: [k-abc], models: ['*']}]\n";
        let load = |yaml: String| match crate::config::load_str(&yaml, &|_| None) {
            Ok(loaded) => loaded.config,
            Err(e) => panic!("{e:?}"),
        };
        let both = load(format!("{keys}{channel}"));
        let no_keys = load(channel.to_string());
        let no_channels = load(keys.to_string());
        let refused = |old: &Config, new: &Config| lockout(old, new).map(|e| e.to_string());
        assert_eq!(
            refused(&both, &no_keys).as_deref(),
            Some("access_keys: the new config has no access key where the running one has some; not applied")
        );
        assert_eq!(
            refused(&both, &no_channels).as_deref(),
            Some("channels: the new config has no channel where the running one has some; not applied")
        );
        assert_eq!(refused(&both, &both), None);
        assert_eq!(refused(&no_keys, &no_keys), None, "nothing to lose");
    }
}
