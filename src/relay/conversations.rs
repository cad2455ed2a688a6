//! Responses clients: response ids, and the conversations kept for
//! `previous_response_id`.

use super::Relay;
use crate::protocol::anthropic::{Content, Message, MessagesResponse, Role};
use crate::routing::{Conversation, ConversationStore};
use crate::translate::request::PreparedRequest;
use crate::translate::ApiError;

impl Relay {
    pub(super) fn conversations(&self) -> std::sync::MutexGuard<'_, ConversationStore> {
        self.conversations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Responses clients: picks the response id, and resumes the stored conversation
    /// of `previous_response_id`, if `caller` (the access key's name) stored it: another
    /// caller's is unknown to this one. Returns the id and whether a named previous
    /// response is unknown here (then only a Responses upstream can resolve it).
    pub(super) fn prepare_responses(
        &self,
        req: &mut PreparedRequest,
        caller: &str,
    ) -> Result<(Option<String>, bool), ApiError> {
        let previous = match req.responses_info()? {
            None => return Ok((None, false)),
            Some(info) => info.previous_response_id.clone(),
        };
        let id = format!("resp_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let Some(previous) = previous else { return Ok((Some(id), false)) };
        let stored = self.conversations().get(&owned(caller, &previous));
        match stored {
            Some(kept) => {
                req.set_history(kept.messages.clone(), kept.system.clone())?;
                Ok((Some(id), false))
            }
            None => Ok((Some(id), true)),
        }
    }

    /// Remembers a Responses conversation under `response_id`, the id the client got,
    /// for `caller` only: the request's messages and the answer.
    pub(super) fn remember(
        &self,
        req: &mut PreparedRequest,
        caller: &str,
        response_id: &str,
        answer: MessagesResponse,
    ) {
        let store = matches!(req.responses_info(), Ok(Some(info)) if info.store);
        if !store {
            return;
        }
        let instructions = req.has_instructions();
        let Ok(request) = req.canonical_request() else { return };
        let mut messages = request.messages.clone();
        messages.push(Message { role: Role::Assistant, content: Content::Blocks(answer.content) });
        // The system items, without this request's `instructions` (the first block).
        let mut system = request.system.as_ref().map(|s| s.blocks().into_owned()).unwrap_or_default();
        if instructions && !system.is_empty() {
            system.remove(0);
        }
        let conversation = Conversation { system, messages };
        // Sized before the store is locked: a long conversation takes a while to count.
        let size = conversation.size();
        self.conversations().insert(owned(caller, response_id), conversation, size);
    }
}

/// The store's key for `response_id` kept for `caller`: a conversation is read back only
/// with the access key that made it, as OpenAI keeps a stored response to its project.
fn owned(caller: &str, response_id: &str) -> String {
    format!("{caller}\n{response_id}")
}
