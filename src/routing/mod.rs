//! Routing decisions (pure): which channels serve a model, in which order, and which
//! key of each is tried.

mod affinity;
mod conversations;
mod pattern;

pub use affinity::{AffinityMap, Binding};
pub use conversations::{Conversation, ConversationStore};
pub use pattern::ModelPattern;

use crate::config::Channel;
use crate::health::Targets;
use crate::protocol::Dialect;
use std::sync::Arc;
use std::time::Instant;

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

/// Where a request only one dialect's upstream can answer goes (`count_tokens`: an
/// Anthropic one): among the channels speaking `protocol` that serve `model`, the first
/// in priority order that is up with a key that is up, and that key; when none is, the
/// first with its first key, as the relay tries a lone channel anyway.
pub fn first_up<'a>(
    channels: &'a [Arc<Channel>],
    model: &str,
    protocol: Dialect,
    health: &Targets,
    now: Instant,
) -> Option<(&'a Arc<Channel>, usize)> {
    let serving: Vec<_> = candidates(channels, model).into_iter().filter(|c| c.protocol == protocol).collect();
    let up = serving
        .iter()
        .filter(|c| health.channel_available(&c.name, now))
        .find_map(|&c| (0..c.keys.len()).find(|&k| health.key_available(&c.key_ref(k), now)).map(|k| (c, k)));
    up.or_else(|| serving.first().map(|&c| (c, 0)))
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
    fn first_up_skips_a_channel_or_key_that_is_down() {
        let yaml = "health: {error_threshold: 1}\nchannels:\n  - {name: a1, protocol: anthropic, base_url: 'http://a', keys: [k1, k2], models: ['*'], priority: 1}\n  - {name: o, protocol: openai, base_url: 'http://o', keys: [k], models: ['*'], priority: 1}\n  - {name: a2, protocol: anthropic, base_url: 'http://b', keys: [k], models: ['*'], priority: 2}\n";
        let c = load_str(yaml, &|_| None).unwrap().config;
        let h = crate::health::HealthRegistry::default();
        let now = Instant::now();
        let pick = |h: &crate::health::HealthRegistry| {
            h.read(|t| first_up(&c.channels, "claude-x", Dialect::Anthropic, t, now)).map(|(c, k)| (c.name.clone(), k))
        };
        let retry = crate::health::Failure::Retryable { retry_after: None };
        assert_eq!(pick(&h), Some(("a1".into(), 0)));
        h.on_failure(&c.channels[0].key_ref(0), now, &c.health, retry, false, "x");
        assert_eq!(pick(&h), Some(("a1".into(), 1)), "the next key of the same channel");
        h.on_failure(&c.channels[0].key_ref(1), now, &c.health, retry, true, "x");
        assert_eq!(pick(&h), Some(("a2".into(), 0)), "the next Anthropic channel, not the OpenAI one");
        h.on_failure(&c.channels[2].key_ref(0), now, &c.health, retry, true, "x");
        assert_eq!(pick(&h), Some(("a1".into(), 0)), "all down: the first, with its first key");
        assert_eq!(h.read(|t| first_up(&c.channels, "claude-x", Dialect::Gemini, t, now)).map(|p| p.1), None);
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
