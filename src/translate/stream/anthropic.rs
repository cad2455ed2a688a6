//! Anthropic stream events: decoding upstream frames and encoding canonical events.
//! The canonical events are Anthropic's, so both directions are thin.

use crate::protocol::anthropic::StreamEvent;
use crate::sse::{write_event, SseFrame};
use crate::translate::error::to_json;
use crate::translate::{ApiError, ErrorKind};
use bytes::BytesMut;

#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    done: bool,
}

impl AnthropicDecoder {
    pub fn decode(&mut self, frame: &SseFrame, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        match serde_json::from_str::<StreamEvent>(&frame.data) {
            // Unknown event types are ignored, as the API documents.
            Ok(StreamEvent::Other) => {}
            Ok(ev) => {
                if matches!(ev, StreamEvent::MessageStop | StreamEvent::Error { .. }) {
                    self.done = true;
                }
                out.push(ev);
            }
            Err(e) => {
                self.done = true;
                out.push(
                    ApiError::new(ErrorKind::Api, format!("upstream sent a malformed event: {e}")).to_stream_event(),
                );
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.done {
            self.done = true;
            out.push(ApiError::new(ErrorKind::Api, "upstream stream ended before message_stop").to_stream_event());
        }
    }
}

/// Writes one canonical event as an Anthropic SSE frame.
pub fn encode(ev: &StreamEvent, out: &mut BytesMut) {
    if matches!(ev, StreamEvent::Other) {
        return;
    }
    write_event(out, ev.name(), &to_json(ev));
}
