//! Configuration in two stages: `raw` (serde, unknown fields rejected) is validated
//! into `runtime` (immutable, no serde). Loading never panics; every error names its
//! YAML path.

mod expand;
mod raw;
pub mod runtime;
pub mod secret;
mod validate;

pub use runtime::{
    AccessKey, Channel, ChannelKey, ChannelStrategy, Config, HealthCheck, KeyStrategy, RoutingSettings, ServerSettings,
    Timeouts, TlsFiles, Upstream,
};
pub use secret::Secret;
pub use validate::{parse_base_url, ConfigError};

use std::path::Path;

/// A loaded configuration and the warnings to log about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Reads, expands `${VAR}` from the process environment, and validates a config file.
pub fn load_file(path: &Path) -> Result<Loaded, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError { path: String::new(), message: format!("cannot read {}: {e}", path.display()) }]
    })?;
    load_str(&text, &|name| std::env::var(name).ok())
}

/// `load_file` for a gateway to start on (`run`, `check`): a config that would refuse
/// every request, with no access key usable, is refused. (A reload keeps the running
/// config in that case: `reload::lockout`.)
pub fn load_file_to_serve(path: &Path) -> Result<Loaded, Vec<ConfigError>> {
    let loaded = load_file(path)?;
    if !loaded.config.access_keys.is_empty() {
        return Ok(loaded);
    }
    let skipped: Vec<&str> =
        loaded.warnings.iter().filter(|w| w.starts_with("access_keys[")).map(String::as_str).collect();
    let why = if skipped.is_empty() { "none is listed".to_string() } else { skipped.join("; ") };
    let message = format!("no access key is usable ({why}): every request would be refused");
    Err(vec![ConfigError { path: "access_keys".to_string(), message }])
}

/// Parses and validates config text, looking variables up with `env`.
pub fn load_str(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, Vec<ConfigError>> {
    let yaml_error = |e: serde_yaml::Error| {
        let at = e.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
        vec![ConfigError { path: String::new(), message: format!("{e}{at}") }]
    };
    let mut tree: serde_yaml::Value = serde_yaml::from_str(text).map_err(yaml_error)?;
    if tree.is_null() {
        tree = serde_yaml::Value::Mapping(Default::default());
    }
    let mut missing = Vec::new();
    expand::expand_tree(&mut tree, env, &mut missing);
    let raw: raw::RawConfig = serde_path_to_error::deserialize(tree).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![ConfigError { path, message: e.into_inner().to_string() }]
    })?;
    let (config, warnings) = validate::validate(raw, &missing)?;
    Ok(Loaded { config, warnings })
}

#[cfg(test)]
mod tests;
