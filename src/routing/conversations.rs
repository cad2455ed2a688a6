//! Conversations the gateway answered for Responses clients, by response id, so that a
//! later request with `previous_response_id` continues them (pure, bounded).
//!
//! A conversation is kept as canonical messages (the request's, then the answer). The
//! store is bounded by count and by an estimate of its size in bytes; the oldest
//! entries go first.

use crate::protocol::anthropic::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub struct ConversationStore {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    entries: HashMap<String, (Arc<Vec<Message>>, usize)>,
    order: VecDeque<String>,
}

impl ConversationStore {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        ConversationStore { max_entries, max_bytes, bytes: 0, entries: HashMap::new(), order: VecDeque::new() }
    }

    pub fn get(&self, response_id: &str) -> Option<Arc<Vec<Message>>> {
        self.entries.get(response_id).map(|(m, _)| m.clone())
    }

    pub fn insert(&mut self, response_id: String, messages: Vec<Message>) {
        let size = serde_json::to_vec(&messages).map_or(0, |v| v.len());
        if size > self.max_bytes {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&response_id) {
            self.bytes -= old;
            self.order.retain(|id| id != &response_id);
        }
        self.bytes += size;
        self.entries.insert(response_id.clone(), (Arc::new(messages), size));
        self.order.push_back(response_id);
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some((_, s)) = self.entries.remove(&oldest) {
                self.bytes -= s;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::anthropic::{Content, Role};

    fn msg(text: &str) -> Message {
        Message { role: Role::User, content: Content::Text(text.into()) }
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        let mut s = ConversationStore::new(2, 1_000);
        s.insert("a".into(), vec![msg("1")]);
        s.insert("b".into(), vec![msg("2")]);
        s.insert("c".into(), vec![msg("3")]);
        assert!(s.get("a").is_none());
        assert_eq!(s.get("c").unwrap()[0], msg("3"));
        let big = "x".repeat(600);
        s.insert("d".into(), vec![msg(&big)]);
        s.insert("e".into(), vec![msg(&big)]);
        assert!(s.get("d").is_none(), "over the byte budget");
        assert!(s.get("e").is_some());
        s.insert("huge".into(), vec![msg(&"y".repeat(2_000))]);
        assert!(s.get("huge").is_none(), "larger than the whole budget: not kept");
        assert_eq!(s.len(), 1);
    }
}
