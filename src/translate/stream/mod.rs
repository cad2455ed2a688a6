//! Stream translation: upstream SSE bytes in (split anywhere), client SSE bytes out.
//!
//! Each upstream dialect has a decoder that turns SSE frames into canonical (Anthropic)
//! stream events; each client dialect has an encoder that writes canonical events as its
//! own frames. Same-dialect streams are decoded only to observe them (usage, terminal
//! state) and leave frame for frame as they came.

mod accumulate;
mod anthropic;
mod blocks;
mod chat_decode;
mod chat_encode;

use crate::protocol::anthropic::{StreamEvent, Usage};
use crate::protocol::Dialect;
use crate::sse::{SseDecoder, SseFrame};
use bytes::{Bytes, BytesMut};

use super::ApiError;
pub use accumulate::Accumulator;
pub(crate) use blocks::{BlockKind, Blocks};
pub use chat_decode::ChatDecoder;
pub use chat_encode::ChatEncoder;

/// The two events that end a canonical message: its stop reason and final usage.
pub(crate) fn message_end(stop_reason: &str, usage: &crate::protocol::anthropic::Usage) -> [StreamEvent; 2] {
    [
        StreamEvent::MessageDelta {
            delta: crate::protocol::anthropic::MessageDeltaBody {
                stop_reason: Some(stop_reason.to_string()),
                stop_sequence: None,
            },
            usage: usage.into(),
        },
        StreamEvent::MessageStop,
    ]
}

/// How a stream ended, as far as the translator has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// The upstream sent its terminator (`message_stop`, `[DONE]`).
    Complete,
    /// An in-band error, or the stream broke off; the client got an error event.
    Error(ApiError),
}

/// What the relay needs to know about a stream while and after pumping it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Canonical usage: input excludes cache reads and writes.
    pub usage: Usage,
    /// Events decoded so far.
    pub events: u64,
    /// A content event (text, tool, thinking) has been seen: tokens are flowing.
    pub first_token_seen: bool,
    /// An event other than `message_start` or `ping` has been seen; before that an
    /// in-band error can still be retried invisibly.
    pub past_start: bool,
    pub termination: Option<Termination>,
}

impl StreamStats {
    fn observe(&mut self, ev: &StreamEvent) {
        self.events += 1;
        match ev {
            StreamEvent::MessageStart { message } => {
                self.usage.input_tokens = message.usage.input_tokens;
                self.usage.output_tokens = message.usage.output_tokens;
                self.usage.cache_read_input_tokens = message.usage.cache_read_input_tokens;
                self.usage.cache_creation_input_tokens = message.usage.cache_creation_input_tokens;
            }
            StreamEvent::Ping | StreamEvent::Other => {}
            StreamEvent::ContentBlockStart { .. } | StreamEvent::ContentBlockDelta { .. } => {
                self.first_token_seen = true;
                self.past_start = true;
            }
            StreamEvent::MessageDelta { usage, .. } => {
                self.past_start = true;
                self.usage.apply_delta(usage);
            }
            StreamEvent::ContentBlockStop { .. } => self.past_start = true,
            StreamEvent::MessageStop => {
                self.past_start = true;
                self.termination.get_or_insert(Termination::Complete);
            }
            StreamEvent::Error { error } => {
                let kind = super::ErrorKind::from_anthropic_type(&error.kind).unwrap_or(super::ErrorKind::Api);
                let err = ApiError { code: error.code.clone(), ..ApiError::new(kind, error.message.clone()) };
                self.termination.get_or_insert(Termination::Error(err));
            }
        }
    }

    /// The stream's first real event was an error: nothing useful was produced and
    /// another channel may be tried if the client has not seen a byte.
    pub fn failed_before_content(&self) -> Option<&ApiError> {
        match &self.termination {
            Some(Termination::Error(e)) if !self.past_start => Some(e),
            _ => None,
        }
    }
}

enum Decoder {
    Anthropic(anthropic::AnthropicDecoder),
    Chat(ChatDecoder),
    Responses(crate::translate::responses::ResponsesDecoder),
    Gemini(crate::translate::gemini::GeminiDecoder),
}

impl Decoder {
    fn decode(&mut self, frame: &SseFrame, out: &mut Vec<StreamEvent>) {
        match self {
            Decoder::Anthropic(d) => d.decode(frame, out),
            Decoder::Chat(d) => d.decode(frame, out),
            Decoder::Responses(d) => d.decode(frame, out),
            Decoder::Gemini(d) => d.decode(frame, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        match self {
            Decoder::Anthropic(d) => d.finish(out),
            Decoder::Chat(d) => d.finish(out),
            Decoder::Responses(d) => d.finish(out),
            Decoder::Gemini(d) => d.finish(out),
        }
    }
}

enum Encoder {
    /// Same dialect: frames leave as they came; only synthesized events are encoded.
    Raw(Dialect),
    /// Gemini to a Gemini client reading one JSON array (no `alt=sse`): each upstream
    /// frame's data, as it came, is an element of the array.
    GeminiArray(crate::translate::gemini::JsonArray),
    Anthropic,
    Chat(ChatEncoder),
    Responses(Box<crate::translate::responses::ResponsesEncoder>),
    Gemini(crate::translate::gemini::GeminiEncoder),
}

/// Client-side options for the translated stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientStreamOptions {
    /// Chat clients: emit the trailing usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// Gemini clients without `alt=sse`: one JSON array instead of SSE.
    pub gemini_json_array: bool,
    /// Gemini clients: thinking as thought parts (`includeThoughts`).
    pub gemini_thoughts: bool,
    /// Responses clients: the response id and the request's echoed options.
    pub responses: Option<(String, crate::translate::responses::ResponsesRequestInfo)>,
    /// The request's tools renamed upstream (`tool_names`), for other clients than
    /// Responses ones (whose options hold theirs): the calls get the client's names back.
    pub tool_names: Option<std::sync::Arc<crate::translate::tool_names::ToolNames>>,
    /// Tool ids the request's history holds (a Chat upstream may give one again).
    pub used_tool_ids: Option<std::sync::Arc<[String]>>,
}

/// One stream's translator: `push` upstream bytes, get client bytes; `finish` at the
/// end of the upstream body.
pub struct StreamTranslator {
    sse: SseDecoder,
    frames: Vec<SseFrame>,
    events: Vec<StreamEvent>,
    decoder: Decoder,
    encoder: Encoder,
    stats: StreamStats,
    /// After a terminal event nothing more is written.
    closed: bool,
    /// Rebuilds the whole message when the answer must be remembered.
    accumulator: Option<Accumulator>,
    /// Same-dialect Responses streams: the upstream's response id, model and last
    /// `sequence_number`, so events the gateway adds continue its stream.
    raw_responses: Option<(String, String, Option<u64>)>,
    /// The upstream key and the id that stands for it (`masking`).
    secret: Option<(String, String)>,
    /// Tools renamed upstream, named back in the client's events.
    tool_names: Option<std::sync::Arc<crate::translate::tool_names::ToolNames>>,
    /// The provider family of the Anthropic channel answering a client of another
    /// dialect: its signatures are marked with it (`sealed::tag`).
    family: Option<String>,
}

impl StreamTranslator {
    pub fn new(upstream: Dialect, client: Dialect, opts: ClientStreamOptions) -> Self {
        Self::build(upstream, client, opts, true)
    }

    /// A translator that re-encodes even a same-dialect stream (the request was
    /// rebuilt by the gateway, so the answer must be too).
    pub fn new_translating(upstream: Dialect, client: Dialect, opts: ClientStreamOptions) -> Self {
        Self::build(upstream, client, opts, false)
    }

    fn build(upstream: Dialect, client: Dialect, opts: ClientStreamOptions, raw_allowed: bool) -> Self {
        let decoder = match upstream {
            Dialect::Anthropic => Decoder::Anthropic(anthropic::AnthropicDecoder::default()),
            Dialect::OpenAiChat => Decoder::Chat(ChatDecoder::with_used_ids(opts.used_tool_ids.clone())),
            Dialect::OpenAiResponses => Decoder::Responses(Default::default()),
            Dialect::Gemini => Decoder::Gemini(Default::default()),
        };
        let encoder = if upstream == client && raw_allowed {
            if client == Dialect::Gemini && opts.gemini_json_array {
                Encoder::GeminiArray(Default::default())
            } else {
                Encoder::Raw(client)
            }
        } else {
            match client {
                Dialect::Anthropic => Encoder::Anthropic,
                Dialect::OpenAiChat => Encoder::Chat(ChatEncoder::new(opts.include_usage)),
                Dialect::OpenAiResponses => {
                    let (id, info) = opts.responses.clone().unwrap_or_default();
                    Encoder::Responses(Box::new(crate::translate::responses::ResponsesEncoder::new(id, info)))
                }
                Dialect::Gemini => Encoder::Gemini(crate::translate::gemini::GeminiEncoder::new(
                    opts.gemini_json_array,
                    opts.gemini_thoughts,
                )),
            }
        };
        StreamTranslator {
            sse: SseDecoder::new(),
            frames: Vec::new(),
            events: Vec::new(),
            decoder,
            encoder,
            stats: StreamStats::default(),
            closed: false,
            accumulator: None,
            raw_responses: None,
            secret: None,
            tool_names: opts.tool_names,
            family: None,
        }
    }

    /// An in-band error that quotes the upstream key `secret` (`invalid x-api-key sk-…`)
    /// names it by `id` instead, for the client (a same-dialect stream's frame is
    /// rewritten) and for the log.
    pub fn masking(mut self, secret: &str, id: &str) -> Self {
        if !secret.is_empty() {
            self.secret = Some((secret.to_string(), id.to_string()));
        }
        self
    }

    /// The model the upstream was asked for: a Gemini stream that names none (no
    /// `modelVersion`) is said to come from it, as a Gemini answer is.
    pub fn upstream_model(mut self, model: &str) -> Self {
        if let Decoder::Gemini(d) = &mut self.decoder {
            d.model = model.to_string();
        }
        self
    }

    /// Marks the thinking signatures of the answer as `family`'s: an Anthropic channel's,
    /// translated for a client of another dialect, which may send them back elsewhere.
    pub fn signed_by(mut self, family: &str) -> Self {
        if !matches!(self.encoder, Encoder::Raw(_) | Encoder::GeminiArray(_)) {
            self.family = Some(family.to_string());
        }
        self
    }

    /// Keep the whole canonical message as it streams (see `message`).
    pub fn accumulate(mut self) -> Self {
        self.accumulator = Some(Accumulator::default());
        self
    }

    /// The complete canonical message, when accumulating and the stream produced one.
    pub fn message(&mut self) -> Option<crate::protocol::anthropic::MessagesResponse> {
        self.accumulator.as_mut().and_then(Accumulator::finish)
    }

    /// The answer is over (a Chat finish reason came) and only its usage or `[DONE]`
    /// may still come: an upstream that sends neither, and keeps its connection open,
    /// is not waited for as long as a stream in progress.
    pub fn awaits_end_only(&self) -> bool {
        let held = match &self.decoder {
            Decoder::Chat(d) => d.holds_finish(),
            Decoder::Gemini(d) => d.holds_finish(),
            Decoder::Anthropic(_) | Decoder::Responses(_) => false,
        };
        held && !self.closed
    }

    /// What keeps the client's stream alive while the upstream is silent, in its
    /// dialect: `ping` for Anthropic clients (as Anthropic sends; the SDKs skip it
    /// wherever it comes), an SSE comment for OpenAI ones, an empty chunk for Gemini ones
    /// (`gemini::SSE_KEEPALIVE`). Nothing once the answer has ended (a same-dialect
    /// stream stays open after its terminator, for what follows it). Frames are written
    /// whole, so this always falls between two of them.
    pub fn keepalive(&self) -> &'static [u8] {
        if self.closed || self.stats.termination.is_some() {
            return b"";
        }
        match &self.encoder {
            Encoder::Raw(Dialect::Anthropic) | Encoder::Anthropic => b"event: ping\ndata: {\"type\":\"ping\"}\n\n",
            Encoder::Raw(Dialect::OpenAiChat | Dialect::OpenAiResponses) | Encoder::Chat(_) | Encoder::Responses(_) => {
                b": ping\n\n"
            }
            Encoder::Raw(Dialect::Gemini) => crate::translate::gemini::SSE_KEEPALIVE,
            Encoder::GeminiArray(_) => crate::translate::gemini::JsonArray::KEEPALIVE,
            Encoder::Gemini(enc) => enc.keepalive(),
        }
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The stream has ended: a terminal event was written or the stream was aborted.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Feeds upstream bytes; returns the client bytes of every frame they completed.
    pub fn push(&mut self, input: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        if self.closed {
            return out.freeze();
        }
        if let Err(e) = self.sse.push(input, &mut self.frames) {
            self.frames.clear();
            self.fail(ApiError::new(super::ErrorKind::Api, format!("upstream stream is broken: {e}")), &mut out);
            return out.freeze();
        }
        self.drain_frames(&mut out);
        out.freeze()
    }

    /// End of the upstream body: flushes a final unterminated frame and, when the
    /// upstream never sent its terminator, an error event in the client's dialect.
    pub fn finish(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if self.closed {
            return out.freeze();
        }
        self.sse.finish(&mut self.frames);
        self.drain_frames(&mut out);
        if !self.closed {
            self.decoder.finish(&mut self.events);
            self.emit_events(None, &mut out);
        }
        if let Encoder::GeminiArray(array) = &mut self.encoder {
            array.close(&mut out);
        }
        self.closed = true;
        out.freeze()
    }

    /// Ends the stream with `err` (e.g. the upstream connection failed mid-body).
    pub fn abort(&mut self, err: ApiError) -> Bytes {
        let mut out = BytesMut::new();
        if !self.closed {
            self.fail(err, &mut out);
        }
        out.freeze()
    }

    fn fail(&mut self, err: ApiError, out: &mut BytesMut) {
        self.events.push(err.to_stream_event());
        self.emit_events(None, out);
        self.closed = true;
    }

    fn drain_frames(&mut self, out: &mut BytesMut) {
        let mut frames = std::mem::take(&mut self.frames);
        for frame in frames.drain(..) {
            if self.closed {
                break;
            }
            self.decoder.decode(&frame, &mut self.events);
            self.emit_events(Some(&frame), out);
        }
        self.frames = frames;
    }

    /// Observes and encodes the pending events. `frame` is the upstream frame they came
    /// from, which a same-dialect stream writes as is.
    fn emit_events(&mut self, frame: Option<&SseFrame>, out: &mut BytesMut) {
        // Errors are rare: only a frame that gave one is looked at for the key.
        let mut masked = None;
        if let Some((secret, id)) = &self.secret {
            for ev in &mut self.events {
                if let StreamEvent::Error { error } = ev {
                    if error.message.contains(secret.as_str()) {
                        error.message = error.message.replace(secret.as_str(), id);
                    }
                    if let Some(f) = frame.filter(|f| f.data.contains(secret.as_str())) {
                        masked = Some(SseFrame { event: f.event.clone(), data: f.data.replace(secret.as_str(), id) });
                    }
                }
            }
        }
        // A JSON array takes the frame only when it is a chunk: one the decoder rejected is
        // told as the error its decoding gave instead.
        let mut element_written = false;
        let rejected = matches!(&self.decoder, Decoder::Gemini(d) if d.rejected());
        if let (Encoder::GeminiArray(array), Some(f)) = (&mut self.encoder, masked.as_ref().or(frame)) {
            if !f.data.trim().is_empty() && !rejected {
                array.element(f.data.as_bytes(), out);
                element_written = true;
            }
        }
        if let (Encoder::Raw(dialect), Some(f)) = (&self.encoder, masked.as_ref().or(frame)) {
            write_raw_frame(f, out);
            if *dialect == Dialect::OpenAiResponses {
                let seq = sequence_number(&f.data);
                let state = self.raw_responses.get_or_insert_with(|| (String::new(), String::new(), None));
                if seq.is_some() {
                    state.2 = seq;
                }
            }
        }
        for mut ev in self.events.drain(..) {
            if self.closed {
                break;
            }
            self.stats.observe(&ev);
            if let Some(family) = &self.family {
                match &mut ev {
                    StreamEvent::ContentBlockStart { content_block, .. } => {
                        crate::translate::sealed::tag_blocks(std::slice::from_mut(content_block), family)
                    }
                    StreamEvent::ContentBlockDelta {
                        delta: crate::protocol::anthropic::BlockDelta::SignatureDelta { signature },
                        ..
                    } => crate::translate::sealed::tag(signature, family),
                    _ => {}
                }
            }
            if let (Some(state), StreamEvent::MessageStart { message }) = (self.raw_responses.as_mut(), &ev) {
                state.0.clone_from(&message.id);
                state.1.clone_from(&message.model);
            }
            if let Some(acc) = self.accumulator.as_mut() {
                acc.push(&ev);
            }
            if let (Some(names), StreamEvent::ContentBlockStart { content_block, .. }) = (&self.tool_names, &mut ev) {
                crate::translate::tool_names::name_back(std::slice::from_mut(content_block), names);
            }
            let terminal = matches!(ev, StreamEvent::MessageStop | StreamEvent::Error { .. });
            match &mut self.encoder {
                // A same-dialect stream only needs the errors the gateway adds itself.
                Encoder::Raw(dialect) => {
                    if frame.is_none() && matches!(ev, StreamEvent::Error { .. }) {
                        encode_synthesized(*dialect, self.raw_responses.as_ref(), &ev, out);
                    }
                }
                Encoder::GeminiArray(array) => {
                    if let (false, StreamEvent::Error { error }) = (element_written, &ev) {
                        array.element(&crate::translate::gemini::error_chunk(error), out);
                    }
                }
                Encoder::Anthropic => anthropic::encode(&ev, out),
                Encoder::Chat(enc) => enc.encode(&ev, out),
                Encoder::Responses(enc) => enc.encode(&ev, out),
                Encoder::Gemini(enc) => enc.encode(&ev, out),
            }
            // A same-dialect stream forwards whatever follows the terminator too (the
            // `[DONE]` after a Chat usage chunk); only errors end it.
            let raw = matches!(self.encoder, Encoder::Raw(_) | Encoder::GeminiArray(_));
            if terminal && !(raw && matches!(ev, StreamEvent::MessageStop)) {
                self.closed = true;
                // The encoder closes its framing (a JSON array's `]`).
                match &mut self.encoder {
                    Encoder::Responses(enc) => enc.finish(out),
                    Encoder::Gemini(enc) => enc.finish(out),
                    Encoder::GeminiArray(array) => array.close(out),
                    Encoder::Raw(_) | Encoder::Anthropic | Encoder::Chat(_) => {}
                }
            }
        }
        self.events.clear();
    }
}

/// The `sequence_number` of a Responses event, read without a full parse.
fn sequence_number(data: &str) -> Option<u64> {
    let at = data.find("\"sequence_number\":")? + "\"sequence_number\":".len();
    let digits: String = data[at..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn write_raw_frame(frame: &SseFrame, out: &mut BytesMut) {
    match &frame.event {
        Some(name) => crate::sse::write_event(out, name, frame.data.as_bytes()),
        None => crate::sse::write_data(out, frame.data.as_bytes()),
    }
}

/// Events a same-dialect stream did not get from upstream (errors the gateway adds).
fn encode_synthesized(
    dialect: Dialect,
    responses: Option<&(String, String, Option<u64>)>,
    ev: &StreamEvent,
    out: &mut BytesMut,
) {
    match dialect {
        Dialect::Anthropic => anthropic::encode(ev, out),
        Dialect::OpenAiChat => ChatEncoder::new(false).encode(ev, out),
        Dialect::OpenAiResponses => {
            let (id, model, seq) = responses.cloned().unwrap_or_default();
            let next = seq.map_or(0, |s| s + 1);
            crate::translate::responses::ResponsesEncoder::resume(id, model, next).encode(ev, out)
        }
        Dialect::Gemini => crate::translate::gemini::GeminiEncoder::new(false, true).encode(ev, out),
    }
}

#[cfg(test)]
mod chat_call_tests;
#[cfg(test)]
mod tests;
