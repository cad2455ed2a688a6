//! A downstream module that gives every request an id: the client's `x-request-id`
//! when it is a sane token, otherwise a fresh one. The id is written back into the
//! request (for the access log) and onto every response, including Pingora's own
//! error responses.

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use pingora::modules::http::{HttpModule, HttpModuleBuilder, Module};
use pingora::Result;
use pingora_http::{RequestHeader, ResponseHeader};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub struct RequestIdBuilder {
    /// Random per process, so ids from different instances do not collide.
    instance: u32,
    counter: AtomicU64,
}

impl RequestIdBuilder {
    pub fn new() -> Self {
        RequestIdBuilder { instance: fastrand::u32(..), counter: AtomicU64::new(0) }
    }
}

impl Default for RequestIdBuilder {
    fn default() -> Self {
        Self::new()
    }
}

struct RequestId {
    /// One buffer, shared by the request and the response header.
    id: Option<HeaderValue>,
    instance: u32,
    seq: u64,
}

/// Ids from clients are passed on only when short and plain, so that no header
/// injection or log garbage rides along.
fn acceptable(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= 128 && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

#[async_trait]
impl HttpModule for RequestId {
    async fn request_header_filter(&mut self, req: &mut RequestHeader) -> Result<()> {
        let id = match req.headers.get(HEADER).filter(|v| acceptable(v.as_bytes())) {
            Some(v) => v.clone(),
            None => HeaderValue::from_maybe_shared(Bytes::from(format!("req_{:08x}{:010}", self.instance, self.seq)))
                .map_err(|e| pingora::Error::because(pingora::ErrorType::InternalError, "request id", e))?,
        };
        req.insert_header(HEADER, id.clone())?;
        self.id = Some(id);
        Ok(())
    }

    async fn response_header_filter(&mut self, resp: &mut ResponseHeader, _end_of_stream: bool) -> Result<()> {
        if let Some(id) = &self.id {
            resp.insert_header(HEADER, id.clone())?;
        }
        Ok(())
    }

    fn response_body_filter(&mut self, _body: &mut Option<Bytes>, _end_of_stream: bool) -> Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl HttpModuleBuilder for RequestIdBuilder {
    fn init(&self) -> Module {
        let seq = self.counter.fetch_add(1, Ordering::Relaxed);
        Box::new(RequestId { id: None, instance: self.instance, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn client_ids_must_be_plain() {
        assert!(acceptable(b"req_abc-123.x:y"));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"a b"));
        assert!(!acceptable(b"x\r\ny: z"));
        assert!(!acceptable(&[b'a'; 129]));
    }
}
