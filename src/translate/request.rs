//! One client request on its way upstream: parsed once into the canonical model, and
//! only when some attempt needs a translation; same-dialect attempts pass the body
//! through with `model` spliced (Gemini carries its model in the URL).

use super::anthropic_request::anthropic_body_held;
use super::chat_canonical::chat_to_canonical;
use super::chat_request::canonical_to_chat;
use super::error::to_json_sized;
use super::passthrough::RequestPeek;
use super::responses::ResponsesRequestInfo;
use super::stream::ClientStreamOptions;
use super::tool_names::ToolNames;
use super::{chat_response, gemini, responses, ApiError, ErrorKind, TargetOptions};
use crate::protocol::anthropic::{Content, ContentBlock, Message, MessagesRequest, MessagesResponse};
use crate::protocol::json_scan;
use crate::protocol::openai_chat::{ChatRequest, ChatResponse};
use crate::protocol::Dialect;
use bytes::Bytes;

/// What the client asked for that shapes the answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientOptions {
    /// Chat: `stream_options.include_usage`.
    pub include_usage: bool,
    /// Responses: the request fields the response echoes, `store`, `previous_response_id`.
    pub responses: Option<ResponsesRequestInfo>,
    /// Gemini: thinking reaches the client as thought parts (`includeThoughts`).
    pub gemini_thoughts: bool,
    /// Anthropic, Chat and Gemini clients: their tools renamed upstream
    /// (`tool_names::fit`; a Responses client's are in its `responses`).
    pub tool_names: Option<std::sync::Arc<ToolNames>>,
}

/// Thinking blocks of another provider in an Anthropic conversation: Anthropic refuses
/// their signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignThinking {
    /// None can be there: every channel is an Anthropic one.
    None,
    /// Some may be: a channel of another dialect may have answered the conversation
    /// (under this model or one the client used before). Blocks whose signature the
    /// gateway made (empty, `gemini:`) are removed.
    Possible,
    /// The conversation was held with another provider family (the session says so):
    /// every thinking block is removed.
    Held,
}

pub struct PreparedRequest {
    pub client: Dialect,
    pub body: Bytes,
    pub peek: RequestPeek,
    /// Boxed: a `PreparedRequest` lives in the request's future for as long as a stream
    /// is held, and the parsed form is most of its size.
    canonical: Option<Box<(MessagesRequest, ClientOptions)>>,
    /// A stored conversation this request continues (Responses `previous_response_id`);
    /// it forces the canonical path even towards a same-dialect upstream.
    history: Option<Vec<Message>>,
    /// Gemini clients that did not ask for `alt=sse` get one JSON array.
    pub gemini_json_array: bool,
}

impl PreparedRequest {
    /// Reads what routing needs; the full parse waits until a translation needs it.
    pub fn new(client: Dialect, body: Bytes) -> Result<Self, ApiError> {
        let peek = RequestPeek::parse(&body)?;
        Ok(PreparedRequest { client, body, peek, canonical: None, history: None, gemini_json_array: false })
    }

    /// An Anthropic, Chat Completions or Responses request that every attempt will
    /// translate (no channel serving it speaks the client's dialect): parsed once into the
    /// canonical form, which routing then reads, instead of a peek and a parse. A body the
    /// canonical parse refuses, or one the peek would refuse, takes the usual path, so
    /// errors come as they would otherwise (after routing, with the same messages).
    /// Gemini requests always take the usual path.
    pub fn new_translated(client: Dialect, body: Bytes) -> Result<Self, ApiError> {
        let parsed = match client {
            Dialect::Anthropic => parse::<MessagesRequest>(&body).ok().filter(|r| !r.model.is_empty()).map(|req| {
                let req = anthropic_canonical(req);
                let user_id = req.metadata.as_ref().and_then(|m| m.user_id.clone());
                let peek = RequestPeek::read(req.model.clone(), req.stream.unwrap_or(false), user_id);
                (peek, fitted(req, ClientOptions::default()))
            }),
            Dialect::OpenAiChat => parse::<ChatRequest>(&body).ok().filter(|r| !r.model.is_empty()).and_then(|chat| {
                // What `RequestPeek::parse` reads from a Chat body.
                let user_id = chat.metadata.as_ref().and_then(|m| m.user_id.clone());
                let peek = RequestPeek::read(chat.model.clone(), chat.stream.unwrap_or(false), user_id);
                Some((peek, chat_canonical(chat).ok()?))
            }),
            Dialect::OpenAiResponses => responses::request_to_canonical(&body)
                .ok()
                .filter(|(r, _)| !r.model.is_empty())
                .and_then(|(req, info)| {
                    let peek = RequestPeek::read(info.model.clone(), info.stream, responses_user_id(&info)?);
                    Some((peek, (req, ClientOptions { responses: Some(info), ..ClientOptions::default() })))
                }),
            Dialect::Gemini => None,
        };
        match parsed {
            Some((peek, canonical)) => Ok(PreparedRequest {
                client,
                body,
                peek,
                canonical: Some(Box::new(canonical)),
                history: None,
                gemini_json_array: false,
            }),
            None => Self::new(client, body),
        }
    }

    /// A Gemini request: the model and the stream switch come from the URL.
    pub fn new_gemini(body: Bytes, model: String, stream: bool, json_array: bool) -> Result<Self, ApiError> {
        if !is_json(&body) {
            return Err(ApiError::invalid("request body is not valid JSON"));
        }
        let peek = RequestPeek::given(model, stream);
        Ok(PreparedRequest {
            client: Dialect::Gemini,
            body,
            peek,
            canonical: None,
            history: None,
            gemini_json_array: json_array,
        })
    }

    pub fn model(&self) -> &str {
        &self.peek.model
    }

    pub fn stream(&self) -> bool {
        self.peek.stream
    }

    /// The Responses request's options (parses the body if it was not yet).
    pub fn responses_info(&mut self) -> Result<Option<&ResponsesRequestInfo>, ApiError> {
        if self.client != Dialect::OpenAiResponses {
            return Ok(None);
        }
        Ok(self.canonical()?.1.responses.as_ref())
    }

    /// The canonical form of the request (history included), parsed once.
    pub fn canonical_request(&mut self) -> Result<&MessagesRequest, ApiError> {
        Ok(&self.canonical()?.0)
    }

    /// The gateway rebuilt this request (a stored conversation was prepended), so even a
    /// same-dialect upstream gets a translated request and its answer is translated back.
    pub fn forces_translation(&self) -> bool {
        self.history.is_some()
    }

    /// Continues a stored conversation: `history` goes before this request's messages,
    /// and the system items it kept after this request's `instructions`.
    pub fn set_history(&mut self, history: Vec<Message>, system: Vec<ContentBlock>) -> Result<(), ApiError> {
        let instructions = self.has_instructions();
        self.canonical()?;
        if let Some((req, _)) = self.canonical.as_deref_mut() {
            let mut messages = history.clone();
            messages.append(&mut req.messages);
            req.messages = messages;
            if !system.is_empty() {
                let mut blocks = req.system.take().map(|s| s.blocks().into_owned()).unwrap_or_default();
                let at = usize::from(instructions && !blocks.is_empty());
                blocks.splice(at..at, system);
                req.system = Some(Content::Blocks(blocks));
            }
        }
        self.history = Some(history);
        Ok(())
    }

    /// Whether a Responses client gave `instructions` (the first system block then).
    pub fn has_instructions(&mut self) -> bool {
        matches!(self.responses_info(), Ok(Some(info)) if info.instructions.as_deref().is_some_and(|t| !t.is_empty()))
    }

    /// The body to send to an upstream of dialect `upstream`. `thinking`: what may be in
    /// an Anthropic conversation passed through that Anthropic would refuse
    /// (translations to other dialects drop thinking anyway).
    pub fn body_for(
        &mut self,
        upstream: Dialect,
        target: &TargetOptions,
        thinking: ForeignThinking,
    ) -> Result<Bytes, ApiError> {
        if upstream == self.client && self.history.is_none() {
            use super::passthrough::{
                has_foreign_signature, has_gateway_reasoning, mentions_thinking, without_gateway_reasoning,
                without_thinking, Strip,
            };
            match upstream {
                Dialect::Anthropic if thinking == ForeignThinking::Held && mentions_thinking(&self.body) => {
                    return without_thinking(&self.body, &target.model, Strip::All);
                }
                // One scan of the body, and only where another provider may have
                // answered.
                Dialect::Anthropic if thinking == ForeignThinking::Possible && has_foreign_signature(&self.body) => {
                    return without_thinking(&self.body, &target.model, Strip::Foreign);
                }
                // A conversation another provider answered (and the gateway translated).
                Dialect::OpenAiResponses if has_gateway_reasoning(&self.body) => {
                    return without_gateway_reasoning(&self.body, &target.model);
                }
                // The model is in the URL.
                Dialect::Gemini => return Ok(self.body.clone()),
                Dialect::Anthropic
                    if self.peek.model != target.model
                        && !super::anthropic_request::takes_adaptive_thinking(&target.model) =>
                {
                    let budgeted = super::passthrough::with_budgeted_thinking(&self.body, &self.peek, &target.model);
                    if let Some(body) = budgeted {
                        return Ok(body);
                    }
                    if self.peek.can_set_model() {
                        return Ok(self.peek.with_model(&self.body, &target.model));
                    }
                }
                _ if self.peek.can_set_model() => return Ok(self.peek.with_model(&self.body, &target.model)),
                // Read without a peek (see `new_translated`): rebuilt from the parse.
                _ => {}
            }
        }
        self.canonical()?;
        let Some((canonical, _)) = self.canonical.as_deref_mut() else {
            return Err(ApiError::new(ErrorKind::Api, "request was not parsed"));
        };
        // The translated body is about the size of the client's.
        let size_hint = self.body.len() + self.body.len() / 8 + 256;
        let bytes = match upstream {
            Dialect::Anthropic => anthropic_body_held(canonical, target, size_hint, thinking == ForeignThinking::Held),
            Dialect::OpenAiChat => {
                super::chat_request::refuse_unsendable_documents(canonical)?;
                to_json_sized(&canonical_to_chat(canonical, target), size_hint)
            }
            Dialect::OpenAiResponses => responses::canonical_to_request(canonical, target)?,
            Dialect::Gemini => gemini::canonical_to_request(canonical, target)?,
        };
        Ok(Bytes::from(bytes))
    }

    /// The tool ids of the calls in the request's history, for a translated answer from
    /// `upstream` when it is a Chat one (none otherwise, and none when the request was
    /// not parsed). A Chat upstream may give one again in its answer (a count, `call_0`,
    /// from some servers), which a client that keeps its history by id would take for a
    /// call it has seen.
    pub fn used_tool_ids(&self, upstream: Dialect) -> Vec<String> {
        let chat_translated = upstream == Dialect::OpenAiChat && self.client != upstream;
        let Some((req, _)) = self.canonical.as_deref().filter(|_| chat_translated) else { return Vec::new() };
        let blocks = req.messages.iter().flat_map(|m| match &m.content {
            Content::Blocks(b) => b.as_slice(),
            Content::Text(_) => &[],
        });
        blocks
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }

    /// The client's tools renamed upstream, if any (not a Responses client's).
    pub fn tool_names(&self) -> Option<&ToolNames> {
        self.canonical.as_deref().and_then(|(_, o)| o.tool_names.as_deref())
    }

    /// Whether a Gemini client asked for thought parts (`includeThoughts`).
    pub fn gemini_thoughts(&self) -> bool {
        self.canonical.as_deref().is_some_and(|(_, o)| o.gemini_thoughts)
    }

    /// Options the client asked for that shape a translated stream. `response_id`: the
    /// id a Responses client's answer gets.
    pub fn stream_options(&self, response_id: Option<&str>) -> ClientStreamOptions {
        let opts = self.canonical.as_deref().map(|(_, o)| o);
        ClientStreamOptions {
            include_usage: opts.is_some_and(|o| o.include_usage),
            gemini_json_array: self.gemini_json_array,
            gemini_thoughts: opts.is_some_and(|o| o.gemini_thoughts),
            tool_names: opts.and_then(|o| o.tool_names.clone()),
            used_tool_ids: None,
            responses: match (opts.and_then(|o| o.responses.clone()), response_id) {
                (Some(info), Some(id)) => Some((id.to_string(), info)),
                _ => None,
            },
        }
    }

    fn canonical(&mut self) -> Result<&(MessagesRequest, ClientOptions), ApiError> {
        if self.canonical.is_none() {
            let parsed = match self.client {
                Dialect::Anthropic => fitted(anthropic_canonical(parse(&self.body)?), ClientOptions::default()),
                Dialect::OpenAiChat => chat_canonical(parse::<ChatRequest>(&self.body)?)?,
                Dialect::OpenAiResponses => {
                    let (req, info) = responses::request_to_canonical(&self.body)?;
                    (req, ClientOptions { responses: Some(info), ..ClientOptions::default() })
                }
                Dialect::Gemini => {
                    let (req, thoughts) = gemini::request_to_canonical(&self.body, &self.peek.model, self.peek.stream)?;
                    fitted(req, ClientOptions { gemini_thoughts: thoughts, ..ClientOptions::default() })
                }
            };
            self.canonical = Some(Box::new(parsed));
        }
        match self.canonical.as_deref() {
            Some(c) => Ok(c),
            None => Err(ApiError::new(ErrorKind::Api, "request was not parsed")),
        }
    }
}

/// Whether `body` is one JSON value: checked by the scanner (`json_scan`), and by serde_json for
/// what the scanner leaves to it.
fn is_json(body: &[u8]) -> bool {
    json_scan::one_value(body) || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// What `RequestPeek::parse` reads as the session key of a Responses body: `metadata`'s
/// `user_id`. `None` (outer) where the peek would refuse the body: `metadata` that is
/// not an object, or a `user_id` that is not a string.
fn responses_user_id(info: &ResponsesRequestInfo) -> Option<Option<String>> {
    use serde_json::Value;
    match &info.metadata {
        None | Some(Value::Null) => Some(None),
        Some(Value::Object(m)) => match m.get("user_id") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(id)) => Some(Some(id.clone())),
            Some(_) => None,
        },
        Some(_) => None,
    }
}

/// A Chat request in canonical form, with the options its translated answer needs.
fn chat_canonical(chat: ChatRequest) -> Result<(MessagesRequest, ClientOptions), ApiError> {
    let (req, opts) = chat_to_canonical(chat)?;
    Ok(fitted(req, ClientOptions { include_usage: opts.include_usage, ..ClientOptions::default() }))
}

/// An Anthropic client's request as other providers get it: without the system block in
/// which Claude Code tells Anthropic its version and entry point
/// (`x-anthropic-billing-header: cc_version=…`). Elsewhere it is prompt text, which
/// differs from session to session at the very start of the prompt, where it defeats
/// the provider's prefix caching.
fn anthropic_canonical(mut req: MessagesRequest) -> MessagesRequest {
    if let Some(Content::Blocks(blocks)) = &mut req.system {
        blocks.retain(|b| !matches!(b, ContentBlock::Text { text, .. } if text.starts_with(BILLING_HEADER)));
        if blocks.is_empty() {
            req.system = None;
        }
    }
    req
}

const BILLING_HEADER: &str = "x-anthropic-billing-header:";

/// A canonical request whose tool names every provider takes (`tool_names::fit`), with
/// the renames among its options.
fn fitted(mut req: MessagesRequest, opts: ClientOptions) -> (MessagesRequest, ClientOptions) {
    let tool_names = super::tool_names::fit(&mut req);
    (req, ClientOptions { tool_names, ..opts })
}

/// A request body in typed form; its text values share the body's buffer (see
/// `protocol::from_json_shared`).
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    crate::protocol::from_json_shared(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))
}

/// What a response translation needs to know besides the body.
#[derive(Debug, Clone, Copy)]
pub struct ResponseContext<'a> {
    /// The model the upstream was asked for (Gemini responses may not name it).
    pub upstream_model: &'a str,
    /// Responses clients: the id their response gets, and their request's options.
    pub responses: Option<(&'a str, &'a ResponsesRequestInfo)>,
    /// Translate even when the dialects match (the gateway rebuilt the request).
    pub force: bool,
    /// Gemini clients: thinking as thought parts (`includeThoughts`).
    pub gemini_thoughts: bool,
    /// Tools renamed upstream (not a Responses client's): calls are named back.
    pub tool_names: Option<&'a ToolNames>,
    /// Tool ids the request's history holds, which a Chat upstream's calls must not take.
    pub used_tool_ids: &'a [String],
    /// The family of the Anthropic channel that answered: its signatures are marked with
    /// it for a client of another dialect (`sealed::tag`).
    pub family: Option<&'a str>,
}

impl<'a> ResponseContext<'a> {
    /// The context of an answer from `upstream_model` with nothing else to honour: no
    /// Responses options, renames, history or family.
    pub fn new(upstream_model: &'a str) -> Self {
        ResponseContext {
            upstream_model,
            responses: None,
            force: false,
            gemini_thoughts: false,
            tool_names: None,
            used_tool_ids: &[],
            family: None,
        }
    }
}

/// A translated (non-streaming) answer.
#[derive(Debug)]
pub struct TranslatedResponse {
    /// The body in the client's dialect: the upstream's own bytes, shared, when they
    /// pass through.
    pub body: Bytes,
    /// The usage the translated body reports; `None` when the body was passed through
    /// untouched (see [`response_usage`]).
    pub usage: Option<crate::protocol::anthropic::Usage>,
    /// The canonical message, where it is kept (Responses conversations).
    pub canonical: Option<MessagesResponse>,
}

/// Translates a complete (non-streaming) success body from `upstream` to `client`.
pub fn translate_response(
    upstream: Dialect,
    client: Dialect,
    body: &Bytes,
    cx: &ResponseContext<'_>,
) -> Result<TranslatedResponse, ApiError> {
    if upstream == client && !cx.force {
        return Ok(TranslatedResponse { body: body.clone(), usage: None, canonical: None });
    }
    let bad =
        |e: serde_json::Error| ApiError::new(ErrorKind::Api, format!("upstream returned an invalid response: {e}"));
    let canonical = match upstream {
        Dialect::Anthropic => crate::protocol::from_json_shared::<MessagesResponse>(body).map_err(bad)?,
        Dialect::OpenAiChat => chat_response::chat_to_canonical_answer(
            crate::protocol::from_json_shared::<ChatResponse>(body).map_err(bad)?,
            cx.used_tool_ids,
        )?,
        Dialect::OpenAiResponses => responses::response_to_canonical(body)?,
        Dialect::Gemini => gemini::response_to_canonical(body, cx.upstream_model)?,
    };
    let mut canonical = canonical;
    if let (Some(family), Dialect::Anthropic) = (cx.family, upstream) {
        super::sealed::tag_blocks(&mut canonical.content, family);
    }
    if let (Some(names), false) = (cx.tool_names, client == Dialect::OpenAiResponses) {
        super::tool_names::name_back(&mut canonical.content, names);
    }
    // Accounting reads the usage from the parse already made, not from a second one.
    let usage = Some(canonical.usage);
    // The answer is about as long as the one it is translated from: written into a
    // buffer that size, it does not grow (and get copied) on the way.
    let size_hint = body.len() + body.len() / 4 + 64;
    let (body, canonical) = match client {
        Dialect::Anthropic => (to_json_sized(&canonical, size_hint), None),
        Dialect::OpenAiChat => (to_json_sized(&chat_response::canonical_to_chat_response(canonical), size_hint), None),
        Dialect::OpenAiResponses => {
            let default_info = ResponsesRequestInfo::default();
            let (id, info) = cx.responses.unwrap_or(("resp_unknown", &default_info));
            (responses::canonical_to_response(&canonical, id, info), Some(canonical))
        }
        Dialect::Gemini => (gemini::canonical_to_response(&canonical, cx.gemini_thoughts), None),
    };
    Ok(TranslatedResponse { body: Bytes::from(body), usage, canonical })
}

/// Canonical usage of a complete success body in `upstream` dialect, for accounting.
pub fn response_usage(
    upstream: Dialect,
    body: &[u8],
    upstream_model: &str,
) -> Option<crate::protocol::anthropic::Usage> {
    match upstream {
        Dialect::Anthropic => top_level_usage::<crate::protocol::anthropic::Usage>(body),
        Dialect::OpenAiChat => top_level_usage::<crate::protocol::openai_chat::ChatUsage>(body)
            .map(|u| super::anthropic_usage_from_chat(&u)),
        Dialect::OpenAiResponses => responses::response_to_canonical(body).ok().map(|r| r.usage),
        Dialect::Gemini => gemini::response_to_canonical(body, upstream_model).ok().map(|r| r.usage),
    }
}

/// The top-level `usage` of an answer passed through, which is otherwise not parsed:
/// only its text is parsed when the scanner (`json_scan`) reads the answer to its end, the whole
/// answer by serde_json otherwise. `None` for an answer that is not an object with a
/// valid `usage`, either way.
fn top_level_usage<U: serde::de::DeserializeOwned>(body: &[u8]) -> Option<U> {
    #[derive(serde::Deserialize)]
    struct WithUsage<U> {
        usage: Option<U>,
    }
    match json_scan::top_level_member(body, b"usage") {
        Some(Some(usage)) => serde_json::from_slice::<Option<U>>(usage).ok()?,
        Some(None) => None,
        None => serde_json::from_slice::<WithUsage<U>>(body).ok()?.usage,
    }
}

#[cfg(test)]
mod tests {
    use super::PreparedRequest;

    /// A request lives in its future for as long as its stream is held (a thousand streams,
    /// a thousand of them): the parsed form stays behind a pointer.
    #[test]
    fn a_prepared_request_stays_small() {
        let size = std::mem::size_of::<PreparedRequest>();
        assert!(size <= 192, "PreparedRequest is {size} bytes");
    }

    #[test]
    fn gemini_bodies_are_checked_as_json_by_the_scanner_or_serde_json() {
        let deep = format!("{}1{}", "[".repeat(120), "]".repeat(120));
        for body in [r#"{"contents":[{"parts":[{"text":"hi \"x\"\n"}]}]}"#, "[]", " 1 ", &deep] {
            assert!(super::is_json(body.as_bytes()), "{body}");
        }
        for body in ["", "{", r#"{"contents":[}"#, "\"a\nb\"", "{} x", "nul"] {
            assert!(!super::is_json(body.as_bytes()), "{body:?}");
        }
        let refused =
            PreparedRequest::new_gemini(bytes::Bytes::from_static(b"{"), "gemini-2.5-pro".into(), false, false);
        assert_eq!(refused.err().map(|e| e.message), Some("request body is not valid JSON".to_string()));
    }

    #[test]
    fn usage_read_by_the_scanner_is_what_serde_json_reads_at_every_broken_byte() {
        use crate::protocol::anthropic::Usage;
        #[derive(serde::Deserialize)]
        struct WithUsage {
            usage: Option<Usage>,
        }
        let full = |body: &[u8]| serde_json::from_slice::<WithUsage>(body).ok().and_then(|w| w.usage);
        let answers = [
            r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"a \"quoted\" line\n"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3,"cache_read_input_tokens":4}}"#,
            r#"{ "usage" : null , "content" : [] }"#,
            r#"{"content":[],"usage":{"input_tokens":1,"output_tokens":2}}"#,
        ];
        let (mut scanned, mut total) = (0, 0);
        for answer in answers {
            assert_eq!(super::top_level_usage::<Usage>(answer.as_bytes()), full(answer.as_bytes()), "{answer}");
            for doc in crate::protocol::json_scan::mutations(answer.as_bytes()) {
                total += 1;
                if crate::protocol::json_scan::top_level_member(&doc, b"usage").is_some() {
                    scanned += 1;
                }
                assert_eq!(super::top_level_usage::<Usage>(&doc), full(&doc), "{}", String::from_utf8_lossy(&doc));
            }
        }
        assert!(scanned > 1000 && total - scanned > 1000, "{scanned} of {total}");
        let usage = super::top_level_usage::<Usage>(answers[0].as_bytes()).unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens), (12, 3, Some(4)));
        assert_eq!(crate::protocol::json_scan::top_level_member(br#"{"usage":1,"usage":2}"#, b"usage"), None);
    }
}
