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
