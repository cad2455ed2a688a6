//! Streaming responses: hold the first upstream frames until the stream has proved
//! itself (an error as its first event can still fail over invisibly), then commit the
//! header and write every translated frame as soon as it is complete.

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

        // Before the commit nothing has reached the client: failures are retryable. A
        // stream with no content yet (an upstream thinking silently) is held no longer
        // than the keepalive interval, so that a proxy in front of the gateway sees
        // bytes: its start goes then, or a keepalive when there is nothing to send yet (a
        // Gemini upstream sends nothing before its first content, and a Gemini client's
        // stream has no start), and an error after that reaches the client.
        let keepalive = a.keepalive;
        let held_since = Instant::now();
        let watch_from = started + super::client::WATCH_CLIENT_AFTER;
        let mut pending = BytesMut::new();
        let mut upstream_done = false;
        let mut last_read = held_since;
        while !tr.stats().past_start && tr.stats().termination.is_none() {
            let idle_end = last_read + idle;
            let commit_at = keepalive.map(|k| held_since + k).filter(|c| *c < idle_end);
            let deadline = commit_at.unwrap_or(idle_end);
            match super::client::read_until(session, &mut call.up, Instant::now(), deadline, watch_from).await? {
                None if commit_at.is_some() => {
                    if pending.is_empty() {
                        pending.extend_from_slice(tr.keepalive());
                    }
                    break;
                }
                None => return Err(retry("timeout", ErrorKind::Timeout, format!("stream idle for {idle:?}"))),
                Some(Err(e)) => {
                    return Err(retry(
                        "connect_error",
                        ErrorKind::Api,
                        format!("stream failed: {}", conn::describe(&e)),
                    ))
                }
                Some(Ok(None)) => {
                    pending.extend_from_slice(&tr.finish());
                    upstream_done = true;
                }
                Some(Ok(Some(chunk))) => {
                    last_read = Instant::now();
                    pending.extend_from_slice(&tr.push(&chunk));
                }
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
            outcome.usage = Some(tr.stats().usage);
            outcome.error = Some(super::write_failure(&e).into());
            return Ok(None);
        }

        let mut clean_end = upstream_done;
        let mut left_open = false;
        let mut last_read = Instant::now();
        let mut last_write = last_read;
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
            let idle_end = last_read + limit;
            // While the answer is under way, a silent upstream is covered by keepalives.
            let tick = keepalive
                .filter(|_| !written && !end_only && !tr.keepalive().is_empty())
                .map(|k| last_write + k)
                .filter(|t| *t < idle_end);
            let now = Instant::now();
            let watch_from = now + super::client::WATCH_CLIENT_AFTER;
            let read =
                super::client::read_until(session, &mut call.up, now, tick.unwrap_or(idle_end), watch_from).await;
            let now = Instant::now();
            let out = match read {
                // The client left while the upstream was silent: the upstream request
                // goes with it (its connection is closed, not kept).
                Err(_) => {
                    outcome.usage = Some(tr.stats().usage);
                    outcome.error = Some(super::CLIENT_CLOSED.into());
                    return Ok(None);
                }
                Ok(None) if tick.is_some() => Bytes::from_static(tr.keepalive()),
                // The answer is whole: it ends without the usage (the connection, not
                // ended, is not kept).
                Ok(None) if written || end_only => {
                    left_open = true;
                    tr.finish()
                }
                Ok(None) => tr.abort(ApiError::new(ErrorKind::Timeout, format!("upstream stream idle for {idle:?}"))),
                Ok(Some(Err(e))) => tr.abort(ApiError::new(
                    ErrorKind::Api,
                    format!("upstream connection failed mid-stream: {}", conn::describe(&e)),
                )),
                Ok(Some(Ok(Some(chunk)))) => {
                    last_read = now;
                    tr.push(&chunk)
                }
                Ok(Some(Ok(None))) => {
                    clean_end = true;
                    tr.finish()
                }
            };
            // Stop at the upstream's end, or when the stream ended in an error.
            upstream_done = clean_end || left_open || matches!(tr.stats().termination, Some(Termination::Error(_)));
            if outcome.first_token.is_none() && tr.stats().first_token_seen {
                outcome.first_token = Some(started.elapsed());
            }
            // Kept as it goes: a stream cut off at shutdown is logged with it (`proxy::cut`).
            outcome.usage = Some(tr.stats().usage);
            if !out.is_empty() {
                outcome.bytes_out += out.len();
                last_write = now;
                if upstream_done || call.up.body_done() {
                    // The end of the body follows at once.
                    defer_next_flush(session);
                }
                if let Err(e) = session.write_response_body(Some(out), false).await {
                    outcome.usage = Some(tr.stats().usage);
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
