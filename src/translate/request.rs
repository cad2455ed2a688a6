//! One client request on its way upstream: parsed once into the canonical model, and
//! only when some attempt needs a translation; same-dialect attempts splice `model`.

use super::chat_request::{canonical_for_anthropic, canonical_to_chat, chat_to_canonical, ChatClientOptions};
use super::error::to_json;
use super::passthrough::RequestPeek;
use super::stream::ClientStreamOptions;
use super::{chat_response, ApiError, ErrorKind, TargetOptions};
use crate::protocol::anthropic::{MessagesRequest, MessagesResponse};
use crate::protocol::openai_chat::{ChatRequest, ChatResponse};
use crate::protocol::Dialect;
use bytes::Bytes;

pub struct PreparedRequest {
    pub client: Dialect,
    pub body: Bytes,
    pub peek: RequestPeek,
    canonical: Option<(MessagesRequest, ChatClientOptions)>,
}

impl PreparedRequest {
    /// Reads what routing needs; the full parse waits until a translation needs it.
    pub fn new(client: Dialect, body: Bytes) -> Result<Self, ApiError> {
        let peek = RequestPeek::parse(&body)?;
        Ok(PreparedRequest { client, body, peek, canonical: None })
    }

    pub fn model(&self) -> &str {
        &self.peek.model
    }

    pub fn stream(&self) -> bool {
        self.peek.stream
    }

    /// The body to send to an upstream of dialect `upstream`. `strip_thinking`: the
    /// conversation's thinking blocks come from another provider family than this
    /// upstream's, so they are removed (translations to other dialects drop them anyway).
    pub fn body_for(
        &mut self,
        upstream: Dialect,
        target: &TargetOptions,
        strip_thinking: bool,
    ) -> Result<Bytes, ApiError> {
        if upstream == self.client {
            if strip_thinking && upstream == Dialect::Anthropic && super::passthrough::mentions_thinking(&self.body) {
                return super::passthrough::without_thinking(&self.body, &target.model);
            }
            return Ok(self.peek.with_model(&self.body, &target.model));
        }
        let (canonical, _) = self.canonical()?;
        let canonical = canonical.clone();
        let bytes = match upstream {
            Dialect::Anthropic => to_json(&canonical_for_anthropic(canonical, target)),
            Dialect::OpenAiChat => to_json(&canonical_to_chat(canonical, target)),
        };
        Ok(Bytes::from(bytes))
    }

    /// Options the client asked for that shape a translated stream.
    pub fn stream_options(&self) -> ClientStreamOptions {
        let include_usage = self.canonical.as_ref().is_some_and(|(_, o)| o.include_usage);
        ClientStreamOptions { include_usage }
    }

    fn canonical(&mut self) -> Result<&(MessagesRequest, ChatClientOptions), ApiError> {
        if self.canonical.is_none() {
            let parsed = match self.client {
                Dialect::Anthropic => {
                    let req: MessagesRequest = parse(&self.body)?;
                    (req, ChatClientOptions::default())
                }
                Dialect::OpenAiChat => {
                    let req: ChatRequest = parse(&self.body)?;
                    chat_to_canonical(req)?
                }
            };
            self.canonical = Some(parsed);
        }
        match &self.canonical {
            Some(c) => Ok(c),
            None => Err(ApiError::new(ErrorKind::Api, "request was not parsed")),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))
}

/// Translates a complete (non-streaming) success body from `upstream` to `client`.
pub fn translate_response(upstream: Dialect, client: Dialect, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let bad =
        |e: serde_json::Error| ApiError::new(ErrorKind::Api, format!("upstream returned an invalid response: {e}"));
    match (upstream, client) {
        (u, c) if u == c => Ok(body.to_vec()),
        (Dialect::Anthropic, Dialect::OpenAiChat) => {
            let resp: MessagesResponse = serde_json::from_slice(body).map_err(bad)?;
            Ok(to_json(&chat_response::canonical_to_chat_response(resp)))
        }
        (Dialect::OpenAiChat, Dialect::Anthropic) => {
            let resp: ChatResponse = serde_json::from_slice(body).map_err(bad)?;
            Ok(to_json(&chat_response::chat_to_canonical_response(resp)?))
        }
        _ => Err(ApiError::new(ErrorKind::Api, "unsupported translation")),
    }
}

/// Canonical usage of a complete success body in `upstream` dialect, for accounting.
pub fn response_usage(upstream: Dialect, body: &[u8]) -> Option<crate::protocol::anthropic::Usage> {
    #[derive(serde::Deserialize)]
    struct WithUsage<U> {
        usage: Option<U>,
    }
    match upstream {
        Dialect::Anthropic => serde_json::from_slice::<WithUsage<crate::protocol::anthropic::Usage>>(body).ok()?.usage,
        Dialect::OpenAiChat => serde_json::from_slice::<WithUsage<crate::protocol::openai_chat::ChatUsage>>(body)
            .ok()?
            .usage
            .map(|u| super::anthropic_usage_from_chat(&u)),
    }
}
