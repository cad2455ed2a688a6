//! Streaming responses: hold the first upstream frames until the stream has proved
//! itself (an error as its first event can still fail over invisibly), then commit the
//! header and write every translated frame as soon as it is complete.

use super::timer::timeout;
use super::{conn, Attempt, AttemptFailure, Call, Outcome, Relay};
use crate::metrics::GaugeGuard;
use crate::protocol::anthropic::MessagesResponse;
use crate::proxy::local::defer_next_flush;
use crate::translate::request::PreparedRequest;
use crate::translate::stream::{StreamTranslator, Termination};
use crate::translate::{ApiError, ErrorKind};
use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue};
use pingora_proxy::Session;
use std::time::{Duration, Instant};

/// How long a Chat stream whose finish reason came is waited on for its usage chunk or
/// `[DONE]` (OpenAI sends both at once) before it is ended without them.
const END_GRACE: Duration = Duration::from_secs(3);

/// How long the rest of an upstream body is read for once the client's answer is
/// whole (real upstreams end theirs at once).
const AFTER_END: Duration = Duration::from_secs(1);

impl Relay {
    pub(super) async fn pump_stream(
        &self,
        session: &mut Session,
        mut call: Call,
        a: &Attempt<'_>,
        req: &mut PreparedRequest,
        outcome: &mut Outcome,
    ) -> Result<Option<MessagesResponse>, AttemptFailure> {
        let (channel, response_id, started) = (a.channel, a.response_id, a.started);
        let idle = channel.timeouts.idle;
        let store = matches!(req.responses_info(), Ok(Some(info)) if info.store);
        let mut opts = req.stream_options(response_id);
        // A Chat upstream's calls must not take an id the conversation used already.
        let used = req.used_tool_ids(channel.protocol);
        opts.used_tool_ids = (!used.is_empty()).then(|| used.into());
        let mut tr = if req.forces_translation() {
            StreamTranslator::new_translating(channel.protocol, req.client, opts)
        } else {
            StreamTranslator::new(channel.protocol, req.client, opts)
        };
        let key = &channel.keys[a.key_index];
        tr = tr.upstream_model(a.upstream_model).masking(key.secret.expose(), &key.id);
        if channel.protocol == crate::protocol::Dialect::Anthropic {
            tr = tr.signed_by(&channel.family);
        }
        if store {
            tr = tr.accumulate();
        }
        let retry = |class, kind: ErrorKind, what: String| AttemptFailure::retry(class, ApiError::new(kind, what));

        // Before the commit nothing has reached the client: failures are retryable.
        let mut pending = BytesMut::new();
        let mut upstream_done = false;
        while !tr.stats().past_start && tr.stats().termination.is_none() {
            let read = timeout(idle, call.up.read_body());
            match super::client::unless_client_left(session, started + super::client::WATCH_CLIENT_AFTER, read).await? {
                Err(_) => return Err(retry("timeout", ErrorKind::Timeout, format!("stream idle for {idle:?}"))),
                Ok(Err(e)) => {
                    return Err(retry(
                        "connect_error",
                        ErrorKind::Api,
                        format!("stream failed: {}", conn::describe(&e)),
                    ))
                }
                Ok(Ok(None)) => {
                    pending.extend_from_slice(&tr.finish());
                    upstream_done = true;
                }
                Ok(Ok(Some(chunk))) => pending.extend_from_slice(&tr.push(&chunk)),
            }
        }
        if let Some(err) = tr.stats().failed_before_content() {
            let usage = tr.stats().usage;
            let wasted = (usage != Default::default()).then_some(usage);
            return Err(AttemptFailure::in_band(err.clone(), wasted));
        }

        let _active = GaugeGuard::new(&self.metrics.active_streams);
        if tr.stats().first_token_seen {
            outcome.first_token = Some(started.elapsed());
        }
        let written = self.commit(session, &call, req.gemini_json_array, pending.freeze(), started, outcome).await;
        if let Err(e) = written {
            outcome.error = Some(super::write_failure(&e).into());
            return Ok(None);
        }

        let mut clean_end = upstream_done;
        let mut left_open = false;
        while !upstream_done {
            // The client's answer is written whole: the rest of the upstream's body (a
            // `[DONE]`, the end of its chunks) is read so the connection can be kept, but
            // an upstream that keeps it open without ending is not waited on.
            let written = tr.is_closed();
            let end_only = tr.awaits_end_only();
            let limit = if written {
                idle.min(AFTER_END)
            } else if end_only {
                idle.min(END_GRACE)
            } else {
                idle
            };
            let out = match timeout(limit, call.up.read_body()).await {
                // The answer is whole: it ends without the usage (the connection, not
                // ended, is not kept).
                Err(_) if written || end_only => {
                    left_open = true;
                    tr.finish()
                }
                Err(_) => tr.abort(ApiError::new(ErrorKind::Timeout, format!("upstream stream idle for {idle:?}"))),
                Ok(Err(e)) => tr.abort(ApiError::new(
                    ErrorKind::Api,
                    format!("upstream connection failed mid-stream: {}", conn::describe(&e)),
                )),
                Ok(Ok(Some(chunk))) => tr.push(&chunk),
                Ok(Ok(None)) => {
                    clean_end = true;
                    tr.finish()
                }
            };
            // Stop at the upstream's end, or when the stream ended in an error.
            upstream_done = clean_end || left_open || matches!(tr.stats().termination, Some(Termination::Error(_)));
            if outcome.first_token.is_none() && tr.stats().first_token_seen {
                outcome.first_token = Some(started.elapsed());
            }
            if !out.is_empty() {
                outcome.bytes_out += out.len();
                if upstream_done || call.up.body_done() {
                    // The end of the body follows at once.
                    defer_next_flush(session);
                }
                if let Err(e) = session.write_response_body(Some(out), false).await {
                    outcome.error = Some(super::write_failure(&e).into());
                    return Ok(None);
                }
            }
        }
        if clean_end {
            self.release(call.up, call.pool_key);
        }
        let ended = super::respond::end_body(session, None).await;

        outcome.usage = Some(tr.stats().usage);
        match (&tr.stats().termination, ended) {
            (_, Err(e)) => outcome.error = Some(super::write_failure(&e).into()),
            (Some(Termination::Error(e)), _) => outcome.error = Some(e.kind.anthropic_type().to_string()),
            _ => outcome.error = None,
        }
        let complete = matches!(tr.stats().termination, Some(Termination::Complete));
        Ok(if complete { tr.message() } else { None })
    }

    async fn commit(
        &self,
        session: &mut Session,
        call: &Call,
        json_array: bool,
        first: Bytes,
        started: Instant,
        outcome: &mut Outcome,
    ) -> pingora::Result<()> {
        // Gemini clients without `alt=sse` read one JSON array.
        let content_type =
            if json_array { "application/json; charset=utf-8" } else { "text/event-stream; charset=utf-8" };
        // Case-insensitive names only (see `respond`): this head lives as long as the stream.
        // Static values: none of them is copied.
        let resp = super::respond::head(
            session,
            call.up.status,
            [
                (CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
                (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
            ],
        )?;
        // The head leaves with the first events (and, when they are all there is, with
        // the end of the body).
        if !first.is_empty() {
            defer_next_flush(session);
        }
        session.write_response_header(resp, false).await?;
        outcome.status = call.up.status;
        outcome.first_byte = Some(started.elapsed());
        if !first.is_empty() {
            outcome.bytes_out += first.len();
            if call.up.body_done() {
                defer_next_flush(session);
            }
            session.write_response_body(Some(first), false).await?;
        }
        Ok(())
    }
}
