//! Server-sent events: an incremental decoder that accepts bytes split anywhere and
//! an encoder for the two frame shapes the dialects use.

mod decoder;

pub use decoder::{SseDecoder, SseFrame};

use bytes::{BufMut, BytesMut};

/// Appends `event: <name>\ndata: <data>\n\n` to `out`.
pub fn write_event(out: &mut BytesMut, event: &str, data: &[u8]) {
    out.reserve(event.len() + data.len() + 16);
    out.put_slice(b"event: ");
    out.put_slice(event.as_bytes());
    out.put_slice(b"\ndata: ");
    out.put_slice(data);
    out.put_slice(b"\n\n");
}

/// Appends `data: <data>\n\n` to `out`.
pub fn write_data(out: &mut BytesMut, data: &[u8]) {
    out.reserve(data.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(data);
    out.put_slice(b"\n\n");
}

/// Appends an SSE comment line (ignored by every client parser), used as a keepalive.
pub fn write_comment(out: &mut BytesMut, text: &str) {
    out.put_slice(b": ");
    out.put_slice(text.as_bytes());
    out.put_slice(b"\n\n");
}
