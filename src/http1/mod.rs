//! HTTP/1.1 responses from upstreams, without I/O. The status line and headers are
//! parsed by `httparse`; the body framing (content-length, chunked, or until the
//! connection closes) is decoded here from a buffer the caller fills however it reads.
//!
//! The decoder hands out every body byte that is complete in the buffer at once: when a
//! read brought several chunks of a stream, they leave as one piece, and one downstream
//! write follows. A single piece (a content-length body, or one chunk) is split off the
//! buffer without a copy. Nothing here awaits, so a read can be cancelled between calls
//! without losing state, and every state is tested with its input split at every byte.

use bytes::{Buf, Bytes, BytesMut};

/// The longest response head accepted (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header lines in one response head.
const MAX_HEADERS: usize = 128;
/// The longest chunk-size line (the size and any extensions).
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// The most trailer bytes after the last chunk (they are read and dropped).
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum H1Error {
    #[error("malformed response head: {0}")]
    Head(httparse::Error),
    #[error("response head larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("unexpected status 101 (no upgrade was asked for)")]
    Upgrade,
    #[error("invalid content-length")]
    ContentLength,
    #[error("malformed chunked body: {0}")]
    Chunked(&'static str),
    #[error("connection closed before the body ended")]
    Truncated,
}

/// How the body of a response ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Until the upstream closes the connection.
    UntilClose,
}

/// The header lines of a response head, kept in the bytes that carried them. A name is
/// looked up by comparing it with each line, ignoring case: a head has a few lines and
/// the gateway reads a few names, so this beats building a map, which copied every
/// value and every uncommon name.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    raw: Bytes,
    /// Per line, the name's and the value's byte ranges in `raw`.
    lines: Vec<(Span, Span)>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The range of `part` in `whole`; `part` must lie inside it.
    fn of(whole: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        // A head is at most MAX_HEAD bytes.
        Span { start: start as u32, end: (start + part.len()) as u32 }
    }
}

impl Headers {
    fn bytes(&self, s: Span) -> &[u8] {
        self.raw.get(s.start as usize..s.end as usize).unwrap_or_default()
    }

    /// Every value of `name` (any case), in the order received.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl DoubleEndedIterator<Item = &'a [u8]> + use<'a, 'n> {
        self.lines
            .iter()
            .filter(move |(n, _)| self.bytes(*n).eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| self.bytes(*v))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_all(name).next()
    }

    /// The first value of `name`, when it is visible ASCII (and tabs and spaces).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .filter(|v| v.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)))
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Headers,
    pub framing: Framing,
    /// Whether the connection may carry another request once this body is read.
    pub keep_alive: bool,
}

/// Takes one final response head off the front of `buf`, skipping informational (1xx)
/// heads before it. `Ok(None)`: the head is not complete yet; read more and call again.
pub fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, H1Error> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut slots);
        let used = match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(H1Error::HeadTooLarge),
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(H1Error::HeadTooLarge),
            Err(e) => return Err(H1Error::Head(e)),
        };
        let status = resp.code.unwrap_or(0);
        if status == 101 {
            return Err(H1Error::Upgrade);
        }
        if (100..200).contains(&status) {
            buf.advance(used);
            continue;
        }
        let http10 = resp.version == Some(0);
        // httparse has checked names (tokens) and values (no control bytes but tab).
        let lines = resp.headers.iter().map(|h| (Span::of(buf, h.name.as_bytes()), Span::of(buf, h.value))).collect();
        // A copy of the head, not a share of the read buffer: a held stream must not
        // keep the buffer its head arrived in.
        let headers = Headers { raw: Bytes::copy_from_slice(&buf[..used]), lines };
        buf.advance(used);
        let (framing, framing_keeps) = framing(status, &headers)?;
        let close = has_token(&headers, "connection", "close");
        let keep_alive = framing_keeps && !close && (!http10 || has_token(&headers, "connection", "keep-alive"));
        return Ok(Some(Head { status, headers, framing, keep_alive }));
    }
}

/// The body framing of a final response (RFC 9112 §6.3), and whether it leaves the
/// connection reusable.
fn framing(status: u16, headers: &Headers) -> Result<(Framing, bool), H1Error> {
    if status == 204 || status == 304 {
        return Ok((Framing::Empty, true));
    }
    if let Some(te) = headers.get_all("transfer-encoding").next_back() {
        let last = std::str::from_utf8(te).ok().and_then(|v| v.rsplit(',').next()).unwrap_or("");
        // A length next to a transfer coding is ignored, and the connection not reused.
        let reusable = !headers.contains("content-length");
        return Ok(if last.trim().eq_ignore_ascii_case("chunked") {
            (Framing::Chunked, reusable)
        } else {
            (Framing::UntilClose, false)
        });
    }
    let mut length = None;
    for v in headers.get_all("content-length") {
        for part in std::str::from_utf8(v).map_err(|_| H1Error::ContentLength)?.split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(H1Error::ContentLength);
            }
            let n: u64 = part.parse().map_err(|_| H1Error::ContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(H1Error::ContentLength);
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => (Framing::Length(n), true),
        None => (Framing::UntilClose, false),
    })
}

fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    headers
        .get_all(name)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Length(u64),
    UntilClose,
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk, with this many bytes left.
    ChunkData(u64),
    /// Expecting the line break that ends a chunk.
    ChunkEnd,
    /// After the last chunk: trailer lines up to an empty line; bytes seen so far.
    Trailers(usize),
    Done,
}

/// Decodes one response body from the front of a buffer.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder { state }
    }

    /// The body has ended; what is left in the buffer belongs to no response.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes not yet decoded (those waiting in the buffer included), when the
    /// length is known.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Takes every body byte complete in `buf` off its front, with the framing around
    /// it. `Ok(None)`: nothing yet (read more), or the body has ended (`is_done`).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, H1Error> {
        let mut out = Gather::default();
        loop {
            match self.state {
                State::Done => break,
                State::UntilClose => {
                    if !buf.is_empty() {
                        out.push(buf.split().freeze());
                    }
                    break;
                }
                State::Length(left) => {
                    let take = left.min(buf.len() as u64) as usize;
                    if take > 0 {
                        out.push(buf.split_to(take).freeze());
                    }
                    let left = left - take as u64;
                    self.state = if left == 0 { State::Done } else { State::Length(left) };
                    break;
                }
                State::ChunkSize => match chunk_size(buf)? {
                    Some((used, size)) => {
                        let _ = buf.split_to(used);
                        self.state = if size == 0 { State::Trailers(0) } else { State::ChunkData(size) };
                    }
                    None => break,
                },
                State::ChunkData(left) => {
                    let take = left.min(buf.len() as u64) as usize;
                    if take == 0 {
                        break;
                    }
                    out.push(buf.split_to(take).freeze());
                    let left = left - take as u64;
                    self.state = if left == 0 { State::ChunkEnd } else { State::ChunkData(left) };
                }
                State::ChunkEnd => match line_break(buf) {
                    Some(0) => break,
                    Some(n) => {
                        let _ = buf.split_to(n);
                        self.state = State::ChunkSize;
                    }
                    None => return Err(H1Error::Chunked("chunk not followed by a line break")),
                },
                State::Trailers(seen) => match line_break(buf) {
                    Some(0) => break,
                    Some(n) => {
                        let _ = buf.split_to(n);
                        self.state = State::Done;
                    }
                    // A trailer line: dropped, up to its line break.
                    None => match memchr::memchr(b'\n', buf) {
                        Some(end) if seen + end < MAX_TRAILERS => {
                            let _ = buf.split_to(end + 1);
                            self.state = State::Trailers(seen + end + 1);
                        }
                        None if seen + buf.len() < MAX_TRAILERS => break,
                        _ => return Err(H1Error::Chunked("trailers too large")),
                    },
                },
            }
        }
        Ok(out.finish())
    }

    /// The connection reached end of file: the end of a close-delimited body, and an
    /// error for any other body not yet complete.
    pub fn eof(&mut self) -> Result<(), H1Error> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(H1Error::Truncated),
        }
    }
}

/// A chunk-size line at the front of `buf` (RFC 9112 §7.1): hex digits, then optional
/// whitespace and extensions (ignored), then CRLF or a bare LF. Returns the line's length
/// and the size, or `None` while the line is incomplete.
fn chunk_size(buf: &[u8]) -> Result<Option<(usize, u64)>, H1Error> {
    let window = &buf[..buf.len().min(MAX_CHUNK_LINE)];
    let digits = window.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == window.len() && digits < 16 && buf.len() <= MAX_CHUNK_LINE {
        return Ok(None);
    }
    // 16 hex digits fill a u64; a size line that long is no real chunk.
    if digits == 0 || digits > 15 {
        return Err(H1Error::Chunked("invalid chunk size"));
    }
    let Some(end) = memchr::memchr(b'\n', window) else {
        return if buf.len() > MAX_CHUNK_LINE { Err(H1Error::Chunked("chunk-size line too long")) } else { Ok(None) };
    };
    let line = &window[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line[digits..].iter().find(|b| !matches!(b, b' ' | b'\t')) {
        None | Some(b';') => {}
        Some(_) => return Err(H1Error::Chunked("invalid chunk size")),
    }
    if line.contains(&b'\r') {
        return Err(H1Error::Chunked("invalid chunk size"));
    }
    let hex = std::str::from_utf8(&line[..digits]).map_err(|_| H1Error::Chunked("invalid chunk size"))?;
    let size = u64::from_str_radix(hex, 16).map_err(|_| H1Error::Chunked("invalid chunk size"))?;
    Ok(Some((end + 1, size)))
}

/// The length of a line break at the front of `buf`: `Some(2)` for CRLF, `Some(1)` for a
/// bare LF, `Some(0)` when the buffer is empty or holds only CR so far, `None` when
/// something else comes first (after the last chunk: a trailer line).
fn line_break(buf: &[u8]) -> Option<usize> {
    match buf {
        [] | [b'\r'] => Some(0),
        [b'\r', b'\n', ..] => Some(2),
        [b'\n', ..] => Some(1),
        _ => None,
    }
}

/// Body pieces taken from one buffer: one piece leaves as it is, several are joined.
#[derive(Default)]
struct Gather {
    first: Option<Bytes>,
    joined: Option<BytesMut>,
}

impl Gather {
    fn push(&mut self, piece: Bytes) {
        if let Some(j) = &mut self.joined {
            j.extend_from_slice(&piece);
        } else if let Some(first) = self.first.take() {
            let mut j = BytesMut::with_capacity(first.len() + piece.len() + 64);
            j.extend_from_slice(&first);
            j.extend_from_slice(&piece);
            self.joined = Some(j);
        } else {
            self.first = Some(piece);
        }
    }

    fn finish(self) -> Option<Bytes> {
        match self.joined {
            Some(j) => Some(j.freeze()),
            None => self.first,
        }
    }
}

#[cfg(test)]
mod tests;
