//! `POST /v1/messages/count_tokens` and Gemini's `POST /v1beta/models/{model}:countTokens`.

use super::{respond_json, Attempt, Live, Outcome, Relay, ERROR_BODY_LIMIT};
use crate::protocol::Dialect;
use crate::translate::request::PreparedRequest;
use bytes::Bytes;
use pingora_proxy::Session;
use std::sync::Arc;
use std::time::Instant;

impl Relay {
    /// A token count (Anthropic's `count_tokens`, Gemini's `countTokens`): forwarded to
    /// the first channel of the client's dialect, in priority order, that serves the
    /// model and is up with a key that is up (the first one when none is); otherwise, or
    /// when that channel cannot count, a local estimate (see `tokens`) in the client's
    /// shape (`input_tokens`, `totalTokens`), marked as such in the
    /// `x-llm-relay-token-count` header.
    pub async fn count_tokens(
        &self,
        session: &mut Session,
        live: &Live,
        mut req: PreparedRequest,
    ) -> pingora::Result<Outcome> {
        let config = &live.config;
        let mut outcome = Outcome::default();
        let now = Instant::now();
        let client = req.client;
        let picked = if matches!(client, Dialect::Anthropic | Dialect::Gemini) {
            self.health.read(|t| crate::routing::first_up(&config.channels, req.model(), client, t, now))
        } else {
            None
        };
        if let Some((channel, key_index)) = picked {
            let model = channel.upstream_model(req.model()).to_string();
            let prefix = &channel.upstream.path_prefix;
            let (body, path) = if client == Dialect::Gemini {
                let body = match crate::translate::gemini::count_tokens_upstream_body(&req.body, &model) {
                    Ok(b) => Bytes::from(b),
                    Err(e) => return self.fail(session, client, e, &mut outcome).await.map(|()| outcome),
                };
                (body, format!("{prefix}/models/{model}:countTokens"))
            } else {
                (req.peek.with_model(&req.body, &model), format!("{prefix}/messages/count_tokens"))
            };
            outcome.attempts = 1;
            outcome.channel = Some(channel.name.clone());
            outcome.key_id = Some(channel.keys[key_index].id.clone());
            outcome.upstream_model = Some(model.clone());
            let index = config.channels.iter().position(|c| Arc::ptr_eq(c, channel));
            let attempt = Attempt {
                channel,
                ca: index.and_then(|i| live.peer_ca.get(i)).and_then(Option::as_ref),
                key_index,
                upstream_model: &model,
                response_id: None,
                started: Instant::now(),
                first_byte: channel.timeouts.first_byte,
                keepalive: None,
            };
            if let Ok(mut call) = self.call(&attempt, &req, body, session, &path).await {
                if let Ok(answer) = call.up.read_to_end(ERROR_BODY_LIMIT, channel.timeouts.idle).await {
                    self.release(call.up, call.pool_key);
                    outcome.status = 200;
                    outcome.bytes_out = answer.len();
                    respond_json(session, 200, answer, Vec::new()).await?;
                    return Ok(outcome);
                }
            }
            log::info!("channel {}: count_tokens failed upstream; answering with a local estimate", channel.name);
        }
        // An estimate asks less of a request than a translation: a Gemini client counts
        // turns that need not pair calls with responses (Gemini CLI counts a lone tool
        // result before sending it).
        let estimate = match req.canonical_request() {
            Ok(canonical) => crate::tokens::estimate(canonical),
            Err(e) => match (client, crate::tokens::estimate_json(&req.body)) {
                (Dialect::Gemini, Some(n)) if n > 0 => n,
                _ => return self.fail(session, client, e, &mut outcome).await.map(|()| outcome),
            },
        };
        let body = match client {
            Dialect::Gemini => serde_json::json!({ "totalTokens": estimate }),
            _ => serde_json::json!({ "input_tokens": estimate }),
        }
        .to_string();
        outcome.status = 200;
        outcome.bytes_out = body.len();
        respond_json(
            session,
            200,
            Bytes::from(body),
            vec![(
                http::HeaderName::from_static("x-llm-relay-token-count"),
                http::HeaderValue::from_static("estimate (o200k_base)"),
            )],
        )
        .await?;
        Ok(outcome)
    }
}
