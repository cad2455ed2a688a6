//! The config in force and what is derived from it.

use super::{Balancer, ChannelProbe};
use crate::config::Config;
use crate::protocol::Dialect;
use std::sync::Arc;

/// The config in force and what is derived from it, swapped together on reload.
pub struct Live {
    pub config: Config,
    pub balancer: Balancer,
    /// Model names that may appear as metric labels (configured exact names and
    /// mapping targets). Clients only look names up, never add any: a fast non-keyed
    /// hash.
    pub known_models: rustc_hash::FxHashSet<String>,
    /// Per channel (same order): the CA certificates its upstream must chain to.
    pub peer_ca: Vec<Option<Arc<pingora::protocols::tls::CaType>>>,
    /// The dialects some channel speaks (see [`Live::always_translates`]).
    spoken: Vec<Dialect>,
}

impl Live {
    /// The config with its balancers (and the health probes of channels that ask for them).
    pub fn new(config: Config) -> Live {
        let peer_ca: Vec<_> = config.channels.iter().map(|c| c.ca_certs.as_deref().map(crate::tls::peer_ca)).collect();
        let balancer = Balancer::new(&config, &|c| {
            let ch = config.channels.get(c)?.clone();
            let ca = peer_ca.get(c).cloned().flatten();
            ChannelProbe::new(ch, ca)
                .map(|p| Box::new(p) as Box<dyn pingora_load_balancing::health_check::HealthCheck + Send + Sync>)
        });
        let mut known_models = rustc_hash::FxHashSet::default();
        for ch in &config.channels {
            known_models.extend(ch.models.iter().filter(|p| p.is_exact()).map(|p| p.as_str().to_string()));
            for (from, to) in &ch.model_map {
                if from.is_exact() {
                    known_models.insert(from.as_str().to_string());
                }
                known_models.insert(to.clone());
            }
        }
        let mut spoken: Vec<Dialect> = Vec::new();
        for ch in &config.channels {
            if !spoken.contains(&ch.protocol) {
                spoken.push(ch.protocol);
            }
        }
        Live { config, balancer, known_models, peer_ca, spoken }
    }

    /// Whether a request in the `client` dialect with this body is translated whichever
    /// channel serves it: no channel speaks that dialect, or some channels serve its model
    /// and none of them does (the model as `leading_model` reads it from the start of the
    /// body, where Anthropic's and OpenAI's SDKs and Claude Code write it). Such a request
    /// is parsed once up front instead of peeked and then parsed (see
    /// `PreparedRequest::new_translated`).
    pub fn always_translates(&self, client: Dialect, body: &[u8]) -> bool {
        if !self.spoken.contains(&client) {
            return true;
        }
        crate::translate::passthrough::leading_model(body)
            .is_some_and(|model| crate::routing::always_translated(&self.config.channels, client, model))
    }
}
