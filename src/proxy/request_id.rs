//! A downstream module that gives every request an id: the client's `x-request-id`
//! when it is a sane token, otherwise a fresh one. The id is kept in the module (the
//! access log reads it there, see [`of`]) and written onto every response, including
//! Pingora's own error responses.

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use pingora::modules::http::{HttpModule, HttpModuleBuilder, HttpModuleCtx, Module};
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

pub struct RequestId {
    /// The id, read by the access log and written onto the response (one shared buffer).
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
            None => fresh(self.instance, self.seq),
        };
        self.id = Some(id);
        Ok(())
    }

    async fn response_header_filter(&mut self, resp: &mut ResponseHeader, _end_of_stream: bool) -> Result<()> {
        // Heads the gateway builds carry the id already (`relay::respond::head`);
        // Pingora's own error responses get it here.
        if let Some(id) = &self.id {
            if !resp.headers.contains_key(HEADER) {
                resp.insert_header(HEADER, id.clone())?;
            }
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

/// The id of the request `modules` belong to, once its header was read.
pub fn of(modules: &HttpModuleCtx) -> Option<&str> {
    value(modules)?.to_str().ok()
}

/// [`of`], as the header value written onto responses.
pub fn value(modules: &HttpModuleCtx) -> Option<&HeaderValue> {
    modules.get::<RequestId>()?.id.as_ref()
}

/// `req_`, the instance in 8 hex digits, then the sequence number in at least 10
/// decimal ones.
fn fresh(instance: u32, seq: u64) -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [b'0'; 20];
    let (mut n, mut at) = (seq, digits.len());
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let tail = &digits[at.min(digits.len() - 10)..];
    // Exactly its length: a full Vec becomes `Bytes` without a second allocation.
    let mut id = Vec::with_capacity(12 + tail.len());
    id.extend_from_slice(b"req_");
    id.extend((0..8).rev().map(|i| HEX[(instance >> (i * 4)) as usize & 0xf]));
    id.extend_from_slice(tail);
    // Only ASCII letters and digits were written.
    HeaderValue::from_maybe_shared(Bytes::from(id)).unwrap_or(HeaderValue::from_static("req_unknown"))
}

#[cfg(test)]
mod tests {
    use super::{acceptable, fresh};

    #[test]
    fn fresh_ids_are_the_instance_in_hex_and_a_padded_sequence() {
        assert_eq!(fresh(0xdead_beef, 42).to_str().unwrap(), "req_deadbeef0000000042");
        assert_eq!(fresh(7, 0).to_str().unwrap(), "req_000000070000000000");
        for (instance, seq) in [(0, 9_999_999_999), (u32::MAX, 10_000_000_000), (0x0102_0304, u64::MAX), (1, 123)] {
            assert_eq!(fresh(instance, seq).to_str().unwrap(), format!("req_{instance:08x}{seq:010}"));
        }
    }

    #[test]
    fn client_ids_must_be_plain() {
        assert!(acceptable(b"req_abc-123.x:y"));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"a b"));
        assert!(!acceptable(b"x\r\ny: z"));
        assert!(!acceptable(&[b'a'; 129]));
    }
}
