//! A hosted web search in the Responses stream: Anthropic's `server_tool_use` named
//! `web_search` opens a `web_search_call` item (`output_item.added`,
//! `web_search_call.in_progress`, `.searching`), its `web_search_tool_result` finishes it
//! (`.completed` unless it failed, `output_item.done`). See `responses::web_search`.

use super::{write, Block, ResponsesEncoder, Slot};
use crate::protocol::openai_responses::{Item, ItemProgress, ResponsesStreamEvent as Ev};
use crate::translate::responses::{item_id, web_search};
use bytes::BytesMut;
use serde_json::Value;

impl ResponsesEncoder {
    /// The search's call, block `index` with id `tool_use_id`: its item opens.
    pub(super) fn search_start(&mut self, index: usize, tool_use_id: &str, input: &Value, out: &mut BytesMut) {
        self.close_message(out);
        let at = self.items.len();
        let id = item_id("ws", &self.response_id, at);
        let json = crate::translate::initial_arguments(input);
        self.items.push(Slot::Search { id: id.clone(), tool_use_id: tool_use_id.to_string(), json, results: None });
        self.blocks.push((index, Block::Search(at)));
        let item = Item::WebSearchCall { id: Some(id.clone()), status: Some("in_progress".into()), action: None };
        let seq = self.next_seq();
        write(out, &Ev::OutputItemAdded { sequence_number: seq, output_index: at, item });
        let progress = self.progress(at, &id);
        write(out, &Ev::WebSearchCallInProgress(progress));
        let progress = self.progress(at, &id);
        write(out, &Ev::WebSearchCallSearching(progress));
    }

    /// The results of the search called `tool_use_id`: its item is finished.
    pub(super) fn search_results(&mut self, tool_use_id: &str, content: &Value, out: &mut BytesMut) {
        let searched = |s: &Slot| matches!(s, Slot::Search { tool_use_id: t, .. } if t == tool_use_id);
        let Some(at) = self.items.iter().position(searched) else { return };
        if let Some(Slot::Search { results, .. }) = self.items.get_mut(at) {
            *results = Some(content.clone());
        }
        self.close_item(at, "completed", out);
    }

    /// The finished item of search `id` at output `at`, whose input streamed as `json`;
    /// `results` never came when the answer stopped first.
    pub(super) fn search_done(
        &mut self,
        at: usize,
        id: String,
        json: &str,
        results: Option<Value>,
        out: &mut BytesMut,
    ) -> Item {
        let input = crate::translate::tool_input(json);
        let results = results.unwrap_or_else(web_search::unfinished);
        let item = web_search::call_item(id.clone(), &input, Some(&results), self.info.web_search_sources);
        // A search that failed is done without having completed.
        if results.is_array() {
            let progress = self.progress(at, &id);
            write(out, &Ev::WebSearchCallCompleted(progress));
        }
        item
    }

    /// The next progress event's fields for item `id` at output `at`.
    fn progress(&mut self, at: usize, id: &str) -> ItemProgress {
        ItemProgress { sequence_number: self.next_seq(), output_index: at, item_id: id.to_string() }
    }
}
