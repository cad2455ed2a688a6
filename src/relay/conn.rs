//! One HTTP/1.1 exchange on an upstream connection: write the request, read the response
//! head, then the body, through the decoder in `crate::http1`.
//!
//! The response head is read into 4 KiB. A body of unknown length (chunked, as streams
//! are) then gets a buffer of its own that starts at 1 KiB and grows only while reads fill
//! it, up to 64 KiB; a body of known length is read in reads of up to 64 KiB, or straight
//! to its end when it is wanted whole. A held stream therefore keeps 1 KiB between events,
//! where Pingora's HTTP/1 client reserved 64 KiB per response body. Every body byte a read
//! brought is handed on at once, so upstream events that arrived together leave in one
//! downstream write.

use super::timer::timeout;
use crate::http1::{parse_head, BodyDecoder, Framing, H1Error, Headers};
use bytes::{Buf, Bytes, BytesMut};
use pingora::protocols::Stream;
use pingora::ErrorType::{ConnectionClosed, H1Error as H1ErrorType, InvalidHTTPHeader, ReadError, WriteError};
use pingora::{Error, OrErr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIN_READ: usize = 4 * 1024;
/// The smallest read of a body of unknown length: upstream events are a few hundred bytes.
const MIN_BODY_READ: usize = 1024;
const MAX_READ: usize = 64 * 1024;
/// The most a whole-body read reserves ahead of the bytes that arrived.
const RESERVE_STEP: usize = 1024 * 1024;

pub(super) struct Response {
    stream: Stream,
    buf: BytesMut,
    read_size: usize,
    body: BodyDecoder,
    keep_alive: bool,
    pub status: u16,
    pub headers: Headers,
}

/// Writes the request head and body in one vectored write, then reads the response head.
pub(super) async fn send(mut stream: Stream, head: &[u8], body: &Bytes) -> pingora::Result<Response> {
    let mut wire = Buf::chain(head, &body[..]);
    stream.write_all_buf(&mut wire).await.or_err(WriteError, "while writing the request")?;
    stream.flush().await.or_err(WriteError, "while flushing the request")?;
    let mut buf = BytesMut::with_capacity(MIN_READ);
    // Once the upstream has begun to answer, it has the request: a failure from then on
    // must not look like a pooled connection that was already closed (which is resent).
    let mut answering = false;
    loop {
        if let Some(head) = parse_head(&mut buf).map_err(|e| invalid(InvalidHTTPHeader, e))? {
            if matches!(head.framing, Framing::Chunked | Framing::UntilClose) && buf.len() <= MIN_BODY_READ {
                // A stream is held for as long as it lasts: it keeps a small buffer, not
                // the one the head was read into.
                let mut small = BytesMut::with_capacity(MIN_BODY_READ);
                small.extend_from_slice(&buf);
                buf = small;
            }
            return Ok(Response {
                stream,
                buf,
                read_size: MIN_BODY_READ,
                body: BodyDecoder::new(head.framing),
                keep_alive: head.keep_alive,
                status: head.status,
                headers: head.headers,
            });
        }
        // `parse_head` refuses a head longer than `http1::MAX_HEAD`, which bounds this loop.
        buf.reserve(MIN_READ);
        let n = match stream.read_buf(&mut buf).await {
            Ok(n) => n,
            Err(e) if answering => return Error::e_because(H1ErrorType, "inside the response head", e),
            Err(e) => return Error::e_because(ReadError, "while reading the response head", e),
        };
        match (n, answering) {
            (0, false) => {
                return Error::e_explain(ConnectionClosed, "upstream closed the connection before a response")
            }
            (0, true) => {
                return Error::e_explain(H1ErrorType, "upstream closed the connection inside the response head")
            }
            _ => answering = true,
        }
    }
}

impl Response {
    /// The next body bytes (everything complete so far), or `None` at the end of the body.
    /// Cancel-safe: nothing is lost when the future is dropped while waiting.
    pub async fn read_body(&mut self) -> pingora::Result<Option<Bytes>> {
        loop {
            if let Some(piece) = self.body.decode(&mut self.buf).map_err(|e| invalid(H1ErrorType, e))? {
                return Ok(Some(piece));
            }
            if self.body.is_done() {
                return Ok(None);
            }
            let want = match self.body.remaining() {
                Some(left) => usize::try_from(left).unwrap_or(usize::MAX).clamp(1, MAX_READ),
                None => self.read_size,
            };
            self.buf.reserve(want);
            let n = self.stream.read_buf(&mut self.buf).await.or_err(ReadError, "while reading the body")?;
            if n == 0 {
                self.body.eof().map_err(|e| invalid(ConnectionClosed, e))?;
            } else if n >= self.read_size {
                self.read_size = (self.read_size * 2).min(MAX_READ);
            } else if n < self.read_size / 4 {
                self.read_size = (self.read_size / 2).max(MIN_BODY_READ);
            }
        }
    }

    /// Whether the body was read to its end: the next `read_body` gives `None` at once.
    pub fn body_done(&self) -> bool {
        self.body.is_done()
    }

    /// The whole body, up to `limit` bytes, waiting at most `idle` for each read. A body
    /// of known length is read into one buffer and handed on without a copy.
    pub async fn read_to_end(&mut self, limit: usize, idle: Duration) -> Result<Bytes, String> {
        // `left` counts the bytes not yet decoded, those already in the buffer included.
        if let Some(left) = self.body.remaining() {
            if left > limit as u64 {
                return Err(format!("body larger than {limit} bytes"));
            }
            // At most `limit`, a usize.
            let left = left as usize;
            while self.buf.len() < left {
                // Reserved a step at a time: a declared length alone does not pin memory.
                self.buf.reserve((left - self.buf.len()).min(RESERVE_STEP));
                match timeout(idle, self.stream.read_buf(&mut self.buf)).await {
                    Err(_) => return Err("timed out".into()),
                    Ok(Ok(0)) => return Err(H1Error::Truncated.to_string()),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(format!("read failed: {e}")),
                }
            }
        }
        let mut out = BytesMut::new();
        loop {
            match timeout(idle, self.read_body()).await {
                Err(_) => return Err("timed out".into()),
                Ok(Err(e)) => return Err(describe(&e)),
                Ok(Ok(None)) => return Ok(out.freeze()),
                Ok(Ok(Some(piece))) => {
                    if out.len() + piece.len() > limit {
                        return Err(format!("body larger than {limit} bytes"));
                    }
                    if out.is_empty() && self.body.is_done() {
                        return Ok(piece);
                    }
                    out.extend_from_slice(&piece);
                }
            }
        }
    }

    /// The connection, when it can carry another request: the body was read to its end,
    /// nothing followed it, and neither side asked to close.
    pub fn into_reusable(self) -> Option<Stream> {
        (self.keep_alive && self.body.is_done() && self.buf.is_empty()).then_some(self.stream)
    }
}

/// An error's own words, without Pingora's type prefix.
pub(super) fn describe(e: &Error) -> String {
    match &e.context {
        Some(context) => context.as_str().to_string(),
        None => e.etype().as_str().to_string(),
    }
}

fn invalid(kind: pingora::ErrorType, e: H1Error) -> Box<Error> {
    Error::explain(kind, e.to_string())
}
