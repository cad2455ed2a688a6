//! Routing decisions (pure): which channels serve a model, in which order, and which
//! key of each is tried.

mod affinity;
mod conversations;
mod pattern;

pub use affinity::{AffinityMap, Binding};
pub use conversations::ConversationStore;
pub use pattern::ModelPattern;

use crate::config::Channel;
use crate::protocol::Dialect;
use std::sync::Arc;

/// Attempts per request when the config does not say otherwise.
pub const DEFAULT_MAX_ATTEMPTS: usize = 4;

/// Channels that serve `model`, lowest priority value first, config order within a
/// priority.
pub fn candidates<'a>(channels: &'a [Arc<Channel>], model: &str) -> Vec<&'a Arc<Channel>> {
    let mut found: Vec<&Arc<Channel>> = channels.iter().filter(|c| c.serves(model)).collect();
    found.sort_by_key(|c| c.priority);
    found
}

/// Whether a request in the `client` dialect for `model` is translated on whichever
/// channel serves it: some channels serve the model and none of them speaks `client`.
pub fn always_translated(channels: &[Arc<Channel>], client: Dialect, model: &str) -> bool {
    let mut serving = channels.iter().filter(|c| c.serves(model)).peekable();
    serving.peek().is_some() && serving.all(|c| c.protocol != client)
}

/// The (channel, key index) pairs to try, in order: every key of the first channel,
/// starting at a rotating offset so load spreads over keys, then the next channel.
pub fn attempt_order<'a>(
    candidates: &[&'a Arc<Channel>],
    rotation: usize,
    max_attempts: usize,
) -> Vec<(&'a Arc<Channel>, usize)> {
    let mut plan = Vec::with_capacity(max_attempts);
    for channel in candidates {
        let n = channel.keys.len();
        for k in 0..n {
            if plan.len() == max_attempts {
                return plan;
            }
            plan.push((*channel, (rotation + k) % n));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn config() -> crate::config::Config {
        let yaml = r#"
channels:
  - {name: backup, protocol: openai, base_url: 'http://b', keys: [k1], models: ['*'], priority: 2}
  - {name: main, protocol: anthropic, base_url: 'http://a', keys: [k1, k2, k3], models: ['claude-*'], priority: 1}
  - {name: other, protocol: openai, base_url: 'http://c', keys: [k1], models: ['gpt-*'], priority: 1}
"#;
        load_str(yaml, &|_| None).unwrap().config
    }

    #[test]
    fn a_model_no_channel_of_the_clients_dialect_serves_is_always_translated() {
        let c = config();
        // Served by `other` and `backup`, both OpenAI.
        assert!(always_translated(&c.channels, Dialect::Anthropic, "gpt-4o"));
        // `main` (Anthropic) serves it beside `backup`: it may pass through.
        assert!(!always_translated(&c.channels, Dialect::Anthropic, "claude-opus"));
        // `backup` speaks the client's dialect.
        assert!(!always_translated(&c.channels, Dialect::OpenAiChat, "claude-opus"));
        assert!(always_translated(&c.channels, Dialect::Anthropic, "llama"));
        // Nothing serves it: nothing to translate.
        assert!(!always_translated(&[], Dialect::Anthropic, "gpt-4o"));
    }

    #[test]
    fn candidates_by_model_then_priority() {
        let c = config();
        let names = |m: &str| candidates(&c.channels, m).iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names("claude-opus"), vec!["main", "backup"]);
        assert_eq!(names("gpt-4o"), vec!["other", "backup"]);
        assert_eq!(names("llama"), vec!["backup"]);
    }

    #[test]
    fn keys_rotate_then_channels_follow() {
        let c = config();
        let cands = candidates(&c.channels, "claude-opus");
        let plan: Vec<(String, usize)> =
            attempt_order(&cands, 4, 10).into_iter().map(|(c, k)| (c.name.clone(), k)).collect();
        assert_eq!(plan, vec![("main".into(), 1), ("main".into(), 2), ("main".into(), 0), ("backup".into(), 0)]);
        assert_eq!(attempt_order(&cands, 0, 2).len(), 2);
    }
}
