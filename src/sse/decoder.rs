//! Incremental SSE decoding per the WHATWG event-stream grammar: lines end in `\n`,
//! `\r\n` or `\r`; a blank line dispatches the frame; `:` starts a comment; multiple
//! `data:` lines join with `\n`. Input may be split at any byte, including inside a
//! `\r\n` pair or a UTF-8 sequence.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseFrame {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
}

/// Upper bound on one buffered line or frame. Thinking signatures make single lines of
/// 100+ KiB; anything past this is treated as a broken stream.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    #[error("an SSE frame exceeded {MAX_FRAME_BYTES} bytes")]
    FrameTooLarge,
}

#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the current, incomplete line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` that starts the next chunk belongs to it.
    pending_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; complete frames are appended to `out`.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<SseFrame>) -> Result<(), SseError> {
        if self.pending_cr {
            self.pending_cr = false;
            if let Some(rest) = input.strip_prefix(b"\n") {
                input = rest;
            }
        }
        while !input.is_empty() {
            match memchr::memchr2(b'\n', b'\r', input) {
                Some(pos) => {
                    let terminator = input[pos];
                    if self.line.is_empty() {
                        self.process_line_slice(&input[..pos], out);
                    } else {
                        self.line.extend_from_slice(&input[..pos]);
                        let line = std::mem::take(&mut self.line);
                        self.process_line_slice(&line, out);
                        self.line = line;
                        self.line.clear();
                    }
                    input = &input[pos + 1..];
                    if terminator == b'\r' {
                        match input.first() {
                            Some(b'\n') => input = &input[1..],
                            Some(_) => {}
                            None => self.pending_cr = true,
                        }
                    }
                }
                None => {
                    if self.line.len() + input.len() > MAX_FRAME_BYTES {
                        return Err(SseError::FrameTooLarge);
                    }
                    self.line.extend_from_slice(input);
                    input = &[];
                }
            }
        }
        if self.data.len() > MAX_FRAME_BYTES {
            return Err(SseError::FrameTooLarge);
        }
        Ok(())
    }

    /// End of input. As the event-stream spec says, a frame the stream did not finish
    /// with its blank line is discarded: it may be cut in the middle.
    pub fn finish(&mut self, _out: &mut Vec<SseFrame>) {
        self.line.clear();
        self.event = None;
        self.data.clear();
        self.has_data = false;
        self.pending_cr = false;
    }

    fn process_line_slice(&mut self, line: &[u8], out: &mut Vec<SseFrame>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        // Gemini writes an error into its event stream as a line of bare JSON: read as
        // the data of a frame of its own (no field name begins with `{`).
        if line[0] == b'{' {
            self.dispatch(out);
            push_lossy(&mut self.data, line);
            self.has_data = true;
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                push_lossy(&mut self.data, value);
                self.has_data = true;
            }
            b"event" => {
                let mut name = String::with_capacity(value.len());
                push_lossy(&mut name, value);
                self.event = Some(name);
            }
            _ => {} // id, retry and unknown fields carry nothing the relay uses
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseFrame>) {
        if self.has_data {
            out.push(SseFrame { event: self.event.take(), data: std::mem::take(&mut self.data) });
        }
        self.event = None;
        self.data.clear();
        self.has_data = false;
    }
}

/// Appends `bytes` as text, invalid UTF-8 replaced by U+FFFD. Valid input (nearly all
/// of it) takes `from_utf8`'s word-at-a-time check instead of the lossy decoder's
/// byte-at-a-time one.
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_split_everywhere(input: &[u8]) -> Vec<SseFrame> {
        let mut whole = Vec::new();
        let mut d = SseDecoder::new();
        d.push(input, &mut whole).unwrap();
        d.finish(&mut whole);
        for cut in 0..=input.len() {
            let mut got = Vec::new();
            let mut d = SseDecoder::new();
            d.push(&input[..cut], &mut got).unwrap();
            d.push(&input[cut..], &mut got).unwrap();
            d.finish(&mut got);
            assert_eq!(got, whole, "split at {cut}");
        }
        let mut got = Vec::new();
        let mut d = SseDecoder::new();
        for b in input {
            d.push(std::slice::from_ref(b), &mut got).unwrap();
        }
        d.finish(&mut got);
        assert_eq!(got, whole, "byte by byte");
        whole
    }

    fn frame(event: Option<&str>, data: &str) -> SseFrame {
        SseFrame { event: event.map(str::to_string), data: data.to_string() }
    }

    #[test]
    fn text_is_utf8_and_invalid_bytes_become_replacement_characters() {
        let got = decode_split_everywhere("event: caf\u{e9}\ndata: \u{1f600} \u{e9}\n\n".as_bytes());
        assert_eq!(got, vec![frame(Some("caf\u{e9}"), "\u{1f600} \u{e9}")]);
        let got = decode_split_everywhere(b"event: e\xff\ndata: caf\xc3\xa9 \xc3\ndata: \xf0\x9f\n\n");
        assert_eq!(got, vec![frame(Some("e\u{fffd}"), "caf\u{e9} \u{fffd}\n\u{fffd}")]);
    }

    #[test]
    fn a_line_of_bare_json_is_a_frame_of_its_own() {
        let got = decode_split_everywhere(b"data: {\"a\":1}\n\n{\"error\":{\"code\":503}}\n\n");
        assert_eq!(got, vec![frame(None, "{\"a\":1}"), frame(None, "{\"error\":{\"code\":503}}")]);
    }

    #[test]
    fn events_with_names_and_data() {
        let got = decode_split_everywhere(b"event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\n");
        assert_eq!(got, vec![frame(Some("message_start"), "{\"a\":1}"), frame(Some("ping"), "{}")]);
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let got = decode_split_everywhere(b"data: one\r\n\r\ndata: two\r\rdata: three\n\n");
        assert_eq!(got, vec![frame(None, "one"), frame(None, "two"), frame(None, "three")]);
    }

    #[test]
    fn comments_multiline_data_and_no_space() {
        let got = decode_split_everywhere(b": keepalive\n\ndata:a\ndata: b\nid: 7\nretry: 10\n\n");
        assert_eq!(got, vec![frame(None, "a\nb")]);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let got = decode_split_everywhere("data: héllo ✓\n\n".as_bytes());
        assert_eq!(got, vec![frame(None, "héllo ✓")]);
    }

    #[test]
    fn unfinished_trailing_frame_is_discarded() {
        let got = decode_split_everywhere(b"data: one\n\ndata: [DONE]\n");
        assert_eq!(got, vec![frame(None, "one")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        let got = decode_split_everywhere(b"event: ping\n\ndata: x\n\n");
        assert_eq!(got, vec![frame(None, "x")]);
    }

    #[test]
    fn oversized_line_is_an_error() {
        let mut d = SseDecoder::new();
        let big = vec![b'a'; MAX_FRAME_BYTES + 1];
        assert_eq!(d.push(&big, &mut Vec::new()), Err(SseError::FrameTooLarge));
    }
}
