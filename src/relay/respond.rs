//! Local responses written straight to the client.
//!
//! Response heads are built without Pingora's second, case-preserving header map: the
//! gateway writes its own header names, so the map would only double the head's
//! memory, and a stream's head is kept for as long as the stream lasts. Well-known
//! names go out in their usual capitalisation (`Content-Type`), others as written.

use crate::protocol::Dialect;
use crate::proxy::request_id;
use crate::translate::ApiError;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, StatusCode};
use pingora::{Error, ErrorType};
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

/// A response head with `headers` and the request's id (see [`request_id`]).
///
/// The names are constants written into the head's map as they are: Pingora's
/// `insert_header` would parse each one from its bytes again.
pub(crate) fn head(
    session: &mut Session,
    status: u16,
    headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
) -> pingora::Result<Box<ResponseHeader>> {
    let mut parts = http::Response::new(()).into_parts().0;
    parts.status = StatusCode::from_u16(status)
        .map_err(|_| Error::explain(ErrorType::InvalidHTTPHeader, format!("invalid response status {status}")))?;
    let headers = headers.into_iter();
    // Room for the request id, and for the `Date` and `Connection` Pingora adds.
    parts.headers.reserve(headers.size_hint().0 + 3);
    for (name, value) in headers {
        parts.headers.insert(name, value);
    }
    if let Some(id) = request_id::value(&session.downstream_modules_ctx) {
        parts.headers.insert(request_id::HEADER, id.clone());
    }
    // Pingora writes `Connection` from the keep-alive setting.
    if crate::proxy::local::draining() {
        session.set_keepalive(None);
    }
    Ok(Box::new(ResponseHeader::from(parts)))
}

pub async fn json(
    session: &mut Session,
    status: u16,
    body: Bytes,
    extra: Vec<(HeaderName, HeaderValue)>,
) -> pingora::Result<()> {
    let fixed =
        [(CONTENT_TYPE, HeaderValue::from_static("application/json")), (CONTENT_LENGTH, HeaderValue::from(body.len()))];
    let resp = head(session, status, fixed.into_iter().chain(extra))?;
    session.write_response_header(resp, false).await?;
    end_body(session, Some(body)).await
}

/// Writes the last of a response body, if any, and ends the body, within the client's
/// write limit (`server.client_timeout_secs`, the session's write timeout). Pingora
/// limits each write of a body but not the flush that ends one, and that flush is where
/// the end of a stream, or a whole small answer, gathered in the connection's write
/// buffer, leaves: a client that stopped reading would hold it for good. The timer is
/// made only if the write has to wait, and the write is pinned where it is: the timeout
/// holds a pointer to it rather than a copy (the copy was 1 k instructions a request).
pub async fn end_body(session: &mut Session, last: Option<Bytes>) -> pingora::Result<()> {
    let limit = session.downstream_session.get_write_timeout();
    let write = session.write_response_body(last, true);
    tokio::pin!(write);
    let Some(limit) = limit else { return write.await };
    match pingora_timeout::timeout(limit, write).await {
        Ok(written) => written,
        Err(_) => {
            Error::e_explain(ErrorType::WriteTimedout, format!("the client took no more of the answer in {limit:?}"))
        }
    }
}

/// Writes `err` in the client's dialect; returns the status and the body's length.
/// `retry_after`: the upstream's hint, passed on so that the client's own retry waits as
/// long.
pub async fn error(
    session: &mut Session,
    dialect: Dialect,
    err: &ApiError,
    retry_after: Option<std::time::Duration>,
) -> pingora::Result<(u16, usize)> {
    let status = err.status_for(dialect);
    let mut extra = Vec::new();
    if let Some(d) = retry_after {
        extra.push((RETRY_AFTER, HeaderValue::from(d.as_secs_f64().ceil().max(1.0) as u64)));
    }
    let should_retry = HeaderName::from_static("x-should-retry");
    if dialect == Dialect::Anthropic && status == 529 {
        // The Anthropic SDKs retry on this, as the real API tells them to.
        extra.push((should_retry, HeaderValue::from_static("true")));
    } else if dialect != Dialect::Gemini && err.not_worth_retrying() && matches!(status, 408 | 409 | 429 | 500..) {
        // The Anthropic and OpenAI SDKs would retry this status; the header overrides
        // them for an error that retrying cannot mend (a 429 `insufficient_quota`).
        extra.push((should_retry, HeaderValue::from_static("false")));
    }
    let body = err.body_for(dialect);
    let length = body.len();
    json(session, status, Bytes::from(body), extra).await?;
    Ok((status, length))
}

pub async fn text(session: &mut Session, status: u16, body: &'static str) -> pingora::Result<()> {
    let fixed =
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain")), (CONTENT_LENGTH, HeaderValue::from(body.len()))];
    let resp = head(session, status, fixed)?;
    session.write_response_header(resp, false).await?;
    end_body(session, Some(Bytes::from_static(body.as_bytes()))).await
}
