//! Conversations the gateway answered for Responses clients, by response id, so that a
//! later request with `previous_response_id` continues them (pure, bounded).
//!
//! A conversation is kept as canonical messages (the request's, then the answer), with
//! the system items its requests gave. The store is bounded by count and by an estimate
//! of its size in bytes; the oldest entries go first.

use crate::protocol::anthropic::{ContentBlock, Message};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// One kept conversation.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Conversation {
    /// What the requests' system and developer items said (a Responses client's
    /// `instructions` are not kept: OpenAI does not carry them over either).
    pub system: Vec<ContentBlock>,
    pub messages: Vec<Message>,
}

impl Conversation {
    /// Its size as the store counts it: the length of its JSON, counted as it is
    /// written, without a buffer. Computed before the store is locked.
    pub fn size(&self) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0 += bytes.len();
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        // One that cannot be written is not kept (larger than any budget).
        serde_json::to_writer(&mut count, self).map_or(usize::MAX, |()| count.0)
    }
}

pub struct ConversationStore {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    entries: HashMap<String, (Arc<Conversation>, usize)>,
    order: VecDeque<String>,
}

impl ConversationStore {
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        ConversationStore { max_entries, max_bytes, bytes: 0, entries: HashMap::new(), order: VecDeque::new() }
    }

    pub fn get(&self, response_id: &str) -> Option<Arc<Conversation>> {
        self.entries.get(response_id).map(|(m, _)| m.clone())
    }

    /// Keeps `conversation`, whose [`Conversation::size`] is `size`, under `response_id`.
    pub fn insert(&mut self, response_id: String, conversation: Conversation, size: usize) {
        if size > self.max_bytes {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&response_id) {
            self.bytes -= old;
            self.order.retain(|id| id != &response_id);
        }
        self.bytes += size;
        self.entries.insert(response_id.clone(), (Arc::new(conversation), size));
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

    fn msg(text: &str) -> Conversation {
        Conversation {
            system: Vec::new(),
            messages: vec![Message { role: Role::User, content: Content::Text(text.into()) }],
        }
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        let mut s = ConversationStore::new(2, 1_000);
        let put = |s: &mut ConversationStore, id: &str, c: Conversation| {
            let size = c.size();
            assert_eq!(size, serde_json::to_vec(&c).unwrap().len());
            s.insert(id.into(), c, size);
        };
        put(&mut s, "a", msg("1"));
        put(&mut s, "b", msg("2"));
        put(&mut s, "c", msg("3"));
        assert!(s.get("a").is_none());
        assert_eq!(*s.get("c").unwrap(), msg("3"));
        let big = "x".repeat(600);
        put(&mut s, "d", msg(&big));
        put(&mut s, "e", msg(&big));
        assert!(s.get("d").is_none(), "over the byte budget");
        assert!(s.get("e").is_some());
        put(&mut s, "huge", msg(&"y".repeat(2_000)));
        assert!(s.get("huge").is_none(), "larger than the whole budget: not kept");
        assert_eq!(s.len(), 1);
    }
}
