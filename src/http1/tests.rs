use super::*;

/// Feeds `wire` in the given pieces, as reads would deliver them: the head, then body
/// pieces, until the body is done. Returns the head, the body pieces handed out, and
/// what was left after the body.
fn feed(pieces: &[&[u8]], eof: bool) -> Result<(Head, Vec<Bytes>, BytesMut), H1Error> {
    let mut buf = BytesMut::new();
    let mut head = None;
    let mut dec = None;
    let mut out = Vec::new();
    for p in pieces {
        buf.extend_from_slice(p);
        if head.is_none() {
            if let Some(h) = parse_head(&mut buf)? {
                dec = Some(BodyDecoder::new(h.framing));
                head = Some(h);
            }
        }
        if let Some(d) = &mut dec {
            if let Some(b) = d.decode(&mut buf)? {
                assert!(!b.is_empty(), "an empty piece was handed out");
                out.push(b);
            }
        }
    }
    let (Some(head), Some(mut dec)) = (head, dec) else { return Err(H1Error::Truncated) };
    if eof {
        dec.eof()?;
    } else if !dec.is_done() {
        return Err(H1Error::Truncated);
    }
    Ok((head, out, buf))
}

fn joined(pieces: &[Bytes]) -> Vec<u8> {
    pieces.iter().flat_map(|b| b.iter().copied()).collect()
}

/// Every way of cutting `wire` in two gives the same head, body and leftover as
/// reading it whole.
fn every_split(wire: &[u8], eof: bool) -> (Head, Vec<u8>, Vec<u8>) {
    let (head, body, rest) = feed(&[wire], eof).unwrap();
    let body = joined(&body);
    for cut in 0..=wire.len() {
        let (h, b, r) = feed(&[&wire[..cut], &wire[cut..]], eof).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert_eq!((h.status, h.framing, h.keep_alive), (head.status, head.framing, head.keep_alive), "cut {cut}");
        assert_eq!(joined(&b), body, "cut {cut}");
        assert_eq!(r, rest, "cut {cut}");
    }
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    let (_, b, r) = feed(&bytes, eof).unwrap();
    assert_eq!((joined(&b), &r[..]), (body.clone(), &rest[..]), "byte by byte");
    (head, body, rest.to_vec())
}

#[test]
fn content_length_body_at_every_split() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}";
    let (head, body, rest) = every_split(wire, false);
    assert_eq!(head.status, 200);
    assert_eq!(head.framing, Framing::Length(11));
    assert!(head.keep_alive);
    assert_eq!(head.headers.get_str("content-type"), Some("application/json"));
    assert_eq!(body, b"{\"a\":\"b c\"}");
    assert!(rest.is_empty());
}

#[test]
fn chunked_body_with_extensions_and_trailers_at_every_split() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        6\r\nevent:\r\n\
        a;name=value\r\n data: {}\n\r\n\
        1\r\n\n\r\n\
        0\r\nx-trailer: 1\r\nx-other: 2\r\n\r\n";
    let (head, body, rest) = every_split(wire, false);
    assert_eq!(head.framing, Framing::Chunked);
    assert!(head.keep_alive);
    assert_eq!(body, b"event: data: {}\n\n");
    assert!(rest.is_empty());
}

#[test]
fn chunk_size_lines_with_bare_line_feeds_and_whitespace_at_every_split() {
    let wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\nhello\n3 ;a=b\r\nabc\r\n0\n\n";
    let (_, body, rest) = every_split(wire, false);
    assert_eq!((&body[..], &rest[..]), (&b"helloabc"[..], &b""[..]));
}

#[test]
fn errors_are_found_whatever_the_split() {
    let mut trailers = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n".to_vec();
    trailers.extend(std::iter::repeat_n(b'x', MAX_TRAILERS + 1));
    let mut long_line = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;".to_vec();
    long_line.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE));
    for (wire, want) in [
        (&b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n\r\n"[..], "invalid chunk size"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nokX", "chunk not followed by a line break"),
        (&trailers, "trailers too large"),
        (&long_line, "chunk-size line too long"),
    ] {
        for cut in 0..=wire.len() {
            let got = feed(&[&wire[..cut], &wire[cut..]], false).err();
            assert_eq!(got, Some(H1Error::Chunked(want)), "cut {cut}");
        }
    }
}

#[test]
fn chunks_in_one_buffer_leave_as_one_piece_and_a_single_chunk_without_a_copy() {
    let mut buf = BytesMut::from(&b"5\r\nhello\r\n6\r\n world\r\n3\r\n!!!"[..]);
    let mut dec = BodyDecoder::new(Framing::Chunked);
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap(), &b"hello world!!!"[..]);
    assert!(buf.is_empty());
    buf.extend_from_slice(b"\r\n4\r\nabcd\r\n");
    let start = buf.as_ptr();
    let piece = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(&piece[..], b"abcd");
    // The piece is the buffer's own memory, 5 bytes in ("\r\n4\r\n").
    assert_eq!(piece.as_ptr(), start.wrapping_add(5));
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(dec.decode(&mut buf).unwrap(), None);
    assert!(dec.is_done());
}

#[test]
fn bytes_after_the_body_are_left_in_the_buffer() {
    let (_, body, rest) = every_split(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1", false);
    assert_eq!((&body[..], &rest[..]), (&b"ok"[..], &b"HTTP/1.1"[..]));
    let (_, body, rest) =
        every_split(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nextra", false);
    assert_eq!((&body[..], &rest[..]), (&b"ok"[..], &b"extra"[..]));
}

#[test]
fn close_delimited_body_ends_at_end_of_file() {
    let (head, body, _) = every_split(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it", true);
    assert_eq!(head.framing, Framing::UntilClose);
    assert!(!head.keep_alive);
    assert_eq!(body, b"all of it");
}

#[test]
fn informational_heads_are_skipped() {
    let (head, body, _) =
        every_split(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nlink: x\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\n!", false);
    assert_eq!(head.status, 201);
    assert!(head.headers.get("link").is_none());
    assert_eq!(body, b"!");
}

#[test]
fn no_body_for_204_and_304_and_zero_length() {
    for wire in [
        &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    ] {
        let (head, body, _) = every_split(wire, false);
        assert!(head.keep_alive);
        assert!(body.is_empty());
    }
}

#[test]
fn keep_alive_follows_version_and_connection_header() {
    let ka = |wire: &[u8]| parse_head(&mut BytesMut::from(wire)).unwrap().unwrap().keep_alive;
    assert!(ka(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
    assert!(!ka(b"HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 0\r\n\r\n"));
    assert!(!ka(b"HTTP/1.1 200 OK\r\nconnection: foo, close\r\ncontent-length: 0\r\n\r\n"));
    assert!(!ka(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"));
    assert!(ka(b"HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"));
    // A transfer coding next to a length: the coding wins, the connection is not reused.
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n"[..]);
    let head = parse_head(&mut buf).unwrap().unwrap();
    assert_eq!((head.framing, head.keep_alive), (Framing::Chunked, false));
    // A transfer coding other than chunked last: read until close.
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n"[..]);
    let head = parse_head(&mut buf).unwrap().unwrap();
    assert_eq!((head.framing, head.keep_alive), (Framing::UntilClose, false));
}

#[test]
fn repeated_headers_are_all_kept() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 429 Too Many\r\nset-cookie: a\r\nset-cookie: b\r\nretry-after: 3\r\ncontent-length: 0\r\n\r\n"[..],
    );
    let head = parse_head(&mut buf).unwrap().unwrap();
    assert_eq!(head.status, 429);
    assert_eq!(head.headers.get_all("Set-Cookie").collect::<Vec<_>>(), [b"a", b"b"]);
    assert_eq!(head.headers.get_str("retry-after"), Some("3"));
    assert_eq!(head.headers.lines.len(), 4);
    assert!(head.headers.get("set").is_none() && !head.headers.contains("retry-after-ms"));
    // A value outside visible ASCII is kept as bytes, but not read as text.
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nx-note: caf\xc3\xa9\r\ncontent-length: 0\r\n\r\n"[..]);
    let head = parse_head(&mut buf).unwrap().unwrap();
    assert_eq!(head.headers.get("X-Note"), Some(&b"caf\xc3\xa9"[..]));
    assert_eq!(head.headers.get_str("x-note"), None);
}

#[test]
fn malformed_input_is_an_error() {
    let head = |wire: &[u8]| parse_head(&mut BytesMut::from(wire));
    assert!(matches!(head(b"HTTP/1.1 2x0 OK\r\n\r\n"), Err(H1Error::Head(_))));
    assert!(matches!(head(b"garbage\r\n\r\n"), Err(H1Error::Head(_))));
    assert_eq!(head(b"HTTP/1.1 101 Switching\r\n\r\n").unwrap_err(), H1Error::Upgrade);
    for cl in ["-1", "1x", "", "1, 2", "99999999999999999999999"] {
        let wire = format!("HTTP/1.1 200 OK\r\ncontent-length: {cl}\r\n\r\n");
        assert_eq!(head(wire.as_bytes()).unwrap_err(), H1Error::ContentLength, "{cl:?}");
    }
    // The same length twice (as a list or as two lines) is one length.
    let same = head(b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\ncontent-length: 2\r\n\r\n").unwrap().unwrap();
    assert_eq!(same.framing, Framing::Length(2));

    let body = |wire: &[u8]| BodyDecoder::new(Framing::Chunked).decode(&mut BytesMut::from(wire));
    assert_eq!(body(b"zz\r\n").unwrap_err(), H1Error::Chunked("invalid chunk size"));
    // An empty size line (a stray CRLF after a chunk) is not the last chunk.
    assert_eq!(body(b"5\r\nhello\r\n\r\n3\r\nabc\r\n").unwrap_err(), H1Error::Chunked("invalid chunk size"));
    assert_eq!(body(b"5x\r\n").unwrap_err(), H1Error::Chunked("invalid chunk size"));
    assert_eq!(body(b"5\r5\r\n").unwrap_err(), H1Error::Chunked("invalid chunk size"));
    assert_eq!(body(b"10000000000000000\r\n").unwrap_err(), H1Error::Chunked("invalid chunk size"));
    assert_eq!(body(b"2\r\nokX").unwrap_err(), H1Error::Chunked("chunk not followed by a line break"));
    let mut long_line = b"1;ext=".to_vec();
    long_line.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE));
    assert_eq!(body(&long_line).unwrap_err(), H1Error::Chunked("chunk-size line too long"));
    let mut trailers = b"0\r\n".to_vec();
    trailers.extend(std::iter::repeat_n(b'x', MAX_TRAILERS + 1));
    assert_eq!(body(&trailers).unwrap_err(), H1Error::Chunked("trailers too large"));
}

#[test]
fn a_head_that_never_ends_is_refused() {
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
    while buf.len() <= MAX_HEAD {
        assert!(parse_head(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"x-filler: ");
        buf.extend_from_slice(&[b'v'; 1000]);
        buf.extend_from_slice(b"\r\n");
    }
    assert_eq!(parse_head(&mut buf).unwrap_err(), H1Error::HeadTooLarge);
}

#[test]
fn end_of_file_inside_a_body_is_truncation() {
    for (framing, wire) in [
        (Framing::Length(5), &b"abc"[..]),
        (Framing::Chunked, b"5\r\nabc"),
        (Framing::Chunked, b"3\r\nabc\r\n"),
        (Framing::Chunked, b"0\r\n"),
    ] {
        let mut dec = BodyDecoder::new(framing);
        dec.decode(&mut BytesMut::from(wire)).unwrap();
        assert_eq!(dec.eof().unwrap_err(), H1Error::Truncated, "{wire:?}");
    }
    let mut dec = BodyDecoder::new(Framing::Length(3));
    assert_eq!(dec.remaining(), Some(3));
    dec.decode(&mut BytesMut::from(&b"abc"[..])).unwrap();
    assert_eq!(dec.remaining(), Some(0));
    assert!(dec.eof().is_ok());
}
