//! Local responses written straight to the client.
//!
//! Response heads are built without Pingora's second, case-preserving header map: the
//! gateway writes its own header names, so the map would only double the head's
//! memory, and a stream's head is kept for as long as the stream lasts. Well-known
//! names go out in their usual capitalisation (`Content-Type`), others as written.

use crate::protocol::Dialect;
use crate::translate::ApiError;
use bytes::Bytes;
use http::HeaderValue;
use pingora_http::ResponseHeader;
use pingora_proxy::Session;

pub async fn json(
    session: &mut Session,
    status: u16,
    body: Bytes,
    extra: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build_no_case(status, Some(4 + extra.len()))?;
    resp.insert_header("content-type", HeaderValue::from_static("application/json"))?;
    resp.insert_header("content-length", body.len().to_string())?;
    for (k, v) in extra {
        resp.insert_header(*k, v.as_str())?;
    }
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(body), true).await
}

/// Writes `err` in the client's dialect. `retry_after`: the upstream's hint, passed on
/// so that the client's own retry waits as long.
pub async fn error(
    session: &mut Session,
    dialect: Dialect,
    err: &ApiError,
    retry_after: Option<std::time::Duration>,
) -> pingora::Result<u16> {
    let status = err.status_for(dialect);
    let mut extra = Vec::new();
    if let Some(d) = retry_after {
        extra.push(("retry-after", d.as_secs_f64().ceil().max(1.0).to_string()));
    }
    if dialect == Dialect::Anthropic && status == 529 {
        // The Anthropic SDKs retry on this, as the real API tells them to.
        extra.push(("x-should-retry", "true".to_string()));
    }
    json(session, status, Bytes::from(err.body_for(dialect)), &extra).await?;
    Ok(status)
}

pub async fn text(session: &mut Session, status: u16, body: &'static str) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build_no_case(status, Some(4))?;
    resp.insert_header("content-type", HeaderValue::from_static("text/plain"))?;
    resp.insert_header("content-length", body.len().to_string())?;
    session.write_response_header(Box::new(resp), false).await?;
    session.write_response_body(Some(Bytes::from_static(body.as_bytes())), true).await
}
