//! `server.client_timeout_secs`: how long the gateway waits on a client, over HTTP/1.1
//! and HTTP/2 (each such test runs the gateway with a 1 s limit), and an HTTP/2 client
//! that leaves before its answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(1);

fn channel(url: &str) -> String {
    format!(
        "  - {{name: a, protocol: anthropic, base_url: \"{url}\", keys: [\"sk-a-0000\"], models: [\"claude-*\"]}}\n"
    )
}

fn ask(text: &str, stream: bool) -> String {
    json!({"model": "claude-x", "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]})
        .to_string()
}

/// The body of the 408 a client gets when its request body stalls.
const STALLED_BODY: &str = r#"{"type":"error","error":{"type":"timeout_error","message":"the request body stalled: nothing of it came for 1 s"}}"#;

/// A loopback connection to `port` whose receive buffer is as small as the kernel allows,
/// so that a client that stops reading stalls the gateway's writes after a few KiB.
fn small_window_connection(port: u16) -> TcpStream {
    // SAFETY: plain socket calls on a descriptor this function owns until it is handed
    // to the `TcpStream`.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        assert_eq!(
            libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, (&size as *const libc::c_int).cast(), len),
            0
        );
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be() },
            sin_zero: [0; 8],
        };
        let addr_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::connect(fd, (&addr as *const libc::sockaddr_in).cast(), addr_len), 0);
        TcpStream::from_raw_fd(fd)
    }
}

/// The access-log line of the request whose line contains `marker`, once written.
fn access_line(gw: &Gateway, marker: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = gw.log();
        if let Some(line) = log.lines().filter(|l| l.contains(" access] ")).find(|l| l.contains(marker)) {
            let json = &line[line.find('{').unwrap()..];
            return serde_json::from_str(json).unwrap();
        }
        assert!(Instant::now() < deadline, "no access line with {marker}:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (5 s at most) for the mock to see a stream dropped before its end: the gateway
/// let the upstream go.
fn wait_for_the_upstream_let_go(mock: &Mock) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while mock.streams_cut() == 0 {
        assert!(Instant::now() < deadline, "the upstream stream was kept after the client timeout");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn messages_head(length: usize) -> String {
    format!("POST /v1/messages HTTP/1.1\r\nhost: relay\r\nx-api-key: {ACCESS_KEY}\r\ncontent-length: {length}\r\n\r\n")
}

#[test]
fn http1_clients_that_stall_are_let_go_after_the_client_timeout() {
    let mock = Mock::start();
    let gw = Gateway::start(&channel(&mock.url), "  client_timeout_secs: 1");
    let connect = || {
        let conn = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        conn
    };

    // Idle between requests, or before the first: closed after the limit, not before.
    let mut conn = connect();
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\n\r\n").unwrap();
    let (status, head, _) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 200 ok");
    assert!(head.contains("connection: keep-alive\r\n"), "{head}");
    let answered = Instant::now();
    assert!(closed_within(&mut conn, 4 * LIMIT), "an idle kept-alive connection was kept");
    let held = answered.elapsed();
    assert!(held >= LIMIT - Duration::from_millis(100) && held < 3 * LIMIT, "closed after {held:?}");
    let mut silent = connect();
    let opened = Instant::now();
    assert!(closed_within(&mut silent, 4 * LIMIT), "a connection that sent nothing was kept");
    assert!(opened.elapsed() >= LIMIT - Duration::from_millis(100), "closed after {:?}", opened.elapsed());

    // A body that stops coming: 408 in the client's dialect, then the connection closes.
    let mut conn = connect();
    let started = Instant::now();
    conn.write_all(format!("{}{{\"model\":", messages_head(100)).as_bytes()).unwrap();
    let (status, head, body) = read_response(&mut conn);
    let waited = started.elapsed();
    assert_eq!((status.as_str(), body.as_str()), ("http/1.1 408 request timeout", STALLED_BODY));
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert!(waited >= LIMIT - Duration::from_millis(100) && waited < 3 * LIMIT, "answered after {waited:?}");
    assert!(closed_within(&mut conn, 2 * LIMIT));

    // A body that cannot be read is the client's error, in its dialect.
    let mut conn = connect();
    conn.write_all(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\nauthorization: Bearer {ACCESS_KEY}\r\n\
             transfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let (status, head, body) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 400 bad request");
    assert_eq!(
        body,
        r#"{"error":{"message":"the request body could not be read (InvalidChunk)","type":"invalid_request_error","param":null,"code":null}}"#
    );
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert!(closed_within(&mut conn, 2 * LIMIT));

    // A client that stops reading a stream: the write that waits for it fails after the
    // limit, the upstream is left (the mock sees its stream dropped before its end) and
    // the connection closes as it is, without the end of the chunked body.
    assert_eq!(mock.streams_cut(), 0);
    let mut conn = small_window_connection(gw.port);
    let request = ask("[[long:300000]]", true);
    conn.write_all(format!("{}{request}", messages_head(request.len())).as_bytes()).unwrap();
    let line = access_line(&gw, "\"error\":\"client_timeout\"");
    assert_eq!((line["status"].as_u64(), line["stream"].as_bool()), (Some(200), Some(true)), "{line}");
    let took = line["duration_ms"].as_f64().unwrap();
    assert!((900.0..4000.0).contains(&took), "the stalled stream ended after {took} ms");
    wait_for_the_upstream_let_go(&mock);
    let mut received = Vec::new();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    conn.read_to_end(&mut received).unwrap();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &text[..text.len().min(300)]);
    assert!(text.contains("event: content_block_delta"), "no events before the stall");
    assert!(!text.contains("message_stop") && !text.ends_with("0\r\n\r\n"), "the cut stream was ended as whole");
    assert!(!gw.log().contains("ERROR"), "{}", gw.log());
}

/// The gateway serving HTTPS (HTTP/2 offered) with `server_extra`, in front of the mock;
/// its certificates and the CA that signed them are removed with it.
struct HttpsGateway {
    gw: Gateway,
    ca: String,
    dir: std::path::PathBuf,
    mock: Mock,
}

impl HttpsGateway {
    fn start(name: &str, server_extra: &str) -> HttpsGateway {
        let mock = Mock::start();
        let dir = std::env::temp_dir().join(format!("llm-relay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = ca_and_leaf(&dir);
        let server = format!("{server_extra}  tls: {{cert: \"{cert}\", key: \"{key}\"}}");
        let gw = Gateway::launch(&channel(&mock.url), &server, "", "https");
        HttpsGateway { gw, ca, dir, mock }
    }
}

impl Drop for HttpsGateway {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A TLS connection to the gateway on `port` that asked for `h2` by ALPN and got it.
async fn tls_connect(port: u16, ca: &str) -> pingora_rustls::ClientTlsStream<tokio::net::TcpStream> {
    pingora_rustls::install_default_crypto_provider();
    let mut roots = pingora_rustls::RootCertStore::empty();
    pingora_rustls::load_ca_file_into_store(ca, &mut roots).unwrap();
    let mut config = pingora_rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = pingora_rustls::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let tls = pingora_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    tls
}

/// An HTTP/2 connection over TLS to the gateway; `window`: the stream window the client
/// grants (HTTP/2's default when `None`).
async fn h2_connect(
    port: u16,
    ca: &str,
    window: Option<u32>,
) -> (h2::client::SendRequest<Bytes>, tokio::task::JoinHandle<Result<(), h2::Error>>) {
    let tls = tls_connect(port, ca).await;
    let mut builder = h2::client::Builder::new();
    if let Some(window) = window {
        builder.initial_window_size(window);
    }
    let (send, conn) = builder.handshake(tls).await.unwrap();
    (send, tokio::spawn(conn))
}

fn h2_request(port: u16, method: &str, path: &str, length: Option<usize>) -> http::Request<()> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("https://127.0.0.1:{port}{path}"))
        .header("x-api-key", ACCESS_KEY);
    if let Some(length) = length {
        req = req.header("content-length", length);
    }
    req.body(()).unwrap()
}

async fn read_all(body: &mut h2::RecvStream) -> Result<Vec<u8>, h2::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[test]
fn http2_clients_that_stall_are_let_go_after_the_client_timeout() {
    let https = HttpsGateway::start("h2-limits", "  client_timeout_secs: 1\n");
    let (gw, ca, port) = (&https.gw, &https.ca, https.gw.port);
    runtime().block_on(async {
        // A connection whose last stream has ended is told GOAWAY and closed after the
        // limit.
        let (mut send, conn) = h2_connect(port, ca, None).await;
        let (resp, _) = send.send_request(h2_request(port, "GET", "/health", None), true).unwrap();
        let resp = resp.await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(read_all(&mut resp.into_body()).await.unwrap(), b"{\"status\":\"ok\"}");
        let answered = Instant::now();
        let closed = tokio::time::timeout(4 * LIMIT, conn).await.expect("an idle HTTP/2 connection was kept");
        assert!(matches!(closed, Ok(Ok(()))), "not closed by GOAWAY: {closed:?}");
        let held = answered.elapsed();
        assert!(held >= LIMIT - Duration::from_millis(100) && held < 3 * LIMIT, "closed after {held:?}");

        // A stream whose body stops coming gets 408 in its dialect.
        let (mut send, _conn) = h2_connect(port, ca, None).await;
        let (resp, mut body) = send.send_request(h2_request(port, "POST", "/v1/messages", Some(100)), false).unwrap();
        body.send_data(Bytes::from_static(b"{\"model\":"), false).unwrap();
        let started = Instant::now();
        let resp = tokio::time::timeout(4 * LIMIT, resp).await.expect("no answer to a stalled body").unwrap();
        let waited = started.elapsed();
        assert_eq!(resp.status(), 408);
        let answer = read_all(&mut resp.into_body()).await.unwrap();
        assert_eq!(String::from_utf8_lossy(&answer), STALLED_BODY);
        assert!(waited >= LIMIT - Duration::from_millis(100) && waited < 3 * LIMIT, "answered after {waited:?}");

        // A client that grants a stream no window gets the head of its answer, then the
        // stream fails after the limit and the gateway lets go of the upstream.
        let (mut send, _conn) = h2_connect(port, ca, Some(0)).await;
        let request = ask("[[long:300000]]", true);
        let (resp, mut body) =
            send.send_request(h2_request(port, "POST", "/v1/messages", Some(request.len())), false).unwrap();
        body.send_data(Bytes::from(request), true).unwrap();
        let resp = tokio::time::timeout(4 * LIMIT, resp).await.expect("no response head").unwrap();
        assert_eq!(resp.status(), 200);
        let mut stream = resp.into_body();
        let ended = tokio::time::timeout(4 * LIMIT, stream.data()).await.expect("the stalled stream was kept");
        assert!(matches!(ended, Some(Err(_)) | None), "data without a window: {ended:?}");
    });
    let line = access_line(gw, "\"error\":\"client_timeout\"");
    assert_eq!((line["status"].as_u64(), line["stream"].as_bool()), (Some(200), Some(true)), "{line}");
    let took = line["duration_ms"].as_f64().unwrap();
    assert!((900.0..4000.0).contains(&took), "the stalled stream ended after {took} ms");
    wait_for_the_upstream_let_go(&https.mock);
    assert!(!gw.log().contains("ERROR"), "{}", gw.log());
}

/// A stream refused before its body was read (here by its access key) is answered, and
/// the body the client sends after the answer is read rather than refused by a reset:
/// curl reports such a reset instead of the answer when it comes before its body is out.
#[test]
fn an_http2_client_refused_before_its_body_gets_the_answer_and_no_reset() {
    let https = HttpsGateway::start("h2-refused", "");
    let (ca, port) = (&https.ca, https.gw.port);
    runtime().block_on(async {
        let (mut send, _conn) = h2_connect(port, ca, None).await;
        let request = ask("hi", false);
        let mut head = h2_request(port, "POST", "/v1/messages", Some(request.len()));
        head.headers_mut().remove("x-api-key");
        let (resp, mut body) = send.send_request(head, false).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), resp).await.expect("no answer").unwrap();
        assert_eq!(resp.status(), 401);
        let answer = read_all(&mut resp.into_body()).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid or missing API key"}}"#
        );
        // The body, sent after the answer, is taken: no reset comes.
        body.send_data(Bytes::from(request), true).unwrap();
        let reset = std::future::poll_fn(|cx| body.poll_reset(cx));
        match tokio::time::timeout(Duration::from_millis(500), reset).await {
            Err(_) => {}
            Ok(reset) => panic!("the stream was reset: {reset:?}"),
        }
    });
}

/// An HTTP/2 client that resets its stream while the answer is awaited takes the
/// upstream request with it, as an HTTP/1 client closing its connection does; its other
/// streams go on.
#[test]
fn an_http2_client_that_resets_its_stream_before_the_answer_takes_the_upstream_request_with_it() {
    let https = HttpsGateway::start("h2-reset", "");
    let (gw, ca, port) = (&https.gw, &https.ca, https.gw.port);
    runtime().block_on(async {
        let (mut send, _conn) = h2_connect(port, ca, None).await;
        // The answer, or the stream's first content, takes 3 s; the client gives up after
        // 0.3 s.
        for stream in [false, true] {
            let request = ask("[[slow:3000]] hi", stream);
            let (resp, mut body) =
                send.send_request(h2_request(port, "POST", "/v1/messages", Some(request.len())), false).unwrap();
            body.send_data(Bytes::from(request), true).unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            body.send_reset(h2::Reason::CANCEL);
            drop(resp);
        }
        let request = ask("hi", false);
        let (resp, mut body) =
            send.send_request(h2_request(port, "POST", "/v1/messages", Some(request.len())), false).unwrap();
        body.send_data(Bytes::from(request), true).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(5), resp).await.expect("no answer").unwrap();
        assert_eq!(resp.status(), 200, "the connection's other streams go on");
    });
    for line in lines_with_error(gw, "client_closed", 2, Duration::from_secs(3)) {
        assert!(line["duration_ms"].as_f64().unwrap() < 1500.0, "{line}");
        assert_eq!(line["status"], 499, "{line}");
    }
}

/// An HPACK block of literal header fields, none indexed (RFC 7541 §6.2.2); every name
/// and value shorter than 127 bytes.
fn hpack_literals(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0x00);
        block.push(name.len() as u8);
        block.extend_from_slice(name);
        block.push(value.len() as u8);
        block.extend_from_slice(value);
    }
    block
}

/// An HTTP/2 frame: its 9-byte header, then `payload`.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Malformed requests (a control byte in `:path`, written frame by frame: HTTP/2
/// libraries refuse to send one) are reset one by one, the connection serving its other
/// streams, for 1,024 of them: the next one closes the connection, GOAWAY
/// `ENHANCE_YOUR_CALM` from the HTTP/2 library. The gateway's own limit of 32 counts the
/// requests Pingora refuses besides, which the library lets through.
#[test]
fn an_http2_client_is_disconnected_after_1024_malformed_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let https = HttpsGateway::start("h2-malformed", "");
    let (ca, port) = (&https.ca, https.gw.port);
    runtime().block_on(async {
        let mut tls = tls_connect(port, ca).await;
        tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
        tls.write_all(&h2_frame(0x4, 0, 0, &[])).await.unwrap();
        let request = |path: &[u8], stream: u32| {
            let block = hpack_literals(&[
                (b":method", b"GET"),
                (b":scheme", b"https"),
                (b":authority", b"127.0.0.1"),
                (b":path", path),
            ]);
            // HEADERS with END_STREAM and END_HEADERS.
            h2_frame(0x1, 0x5, stream, &block)
        };
        // Reads frames until `done`, given each frame's type and stream, says so, or a
        // GOAWAY comes: then its error code.
        async fn read_until(
            tls: &mut (impl tokio::io::AsyncRead + Unpin),
            mut done: impl FnMut(u8, u32) -> bool,
        ) -> Option<u32> {
            let mut header = [0u8; 9];
            let read = async {
                loop {
                    tls.read_exact(&mut header).await.expect("the connection closed");
                    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                    let stream = u32::from_be_bytes(header[5..9].try_into().unwrap()) & 0x7fff_ffff;
                    let mut payload = vec![0u8; len];
                    tls.read_exact(&mut payload).await.unwrap();
                    if header[3] == 0x7 {
                        return Some(u32::from_be_bytes(payload[4..8].try_into().unwrap()));
                    }
                    if done(header[3], stream) {
                        return None;
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(10), read).await.expect("no frame")
        }
        let mut stream = 1;
        let mut malformed = Vec::new();
        for _ in 0..1024 {
            malformed.extend_from_slice(&request(b"/health\x01", stream));
            stream += 2;
        }
        tls.write_all(&malformed).await.unwrap();
        let mut resets = 0;
        let goaway = read_until(&mut tls, |kind, _| {
            resets += usize::from(kind == 0x3);
            resets == 1024
        })
        .await;
        assert_eq!(goaway, None, "closed within 1,024 malformed requests");
        // Still serving.
        tls.write_all(&request(b"/health", stream)).await.unwrap();
        let answered = stream;
        assert_eq!(read_until(&mut tls, |kind, id| kind == 0x1 && id == answered).await, None);
        stream += 2;
        tls.write_all(&request(b"/health\x01", stream)).await.unwrap();
        let goaway = read_until(&mut tls, |_, _| false).await;
        assert_eq!(goaway, Some(u32::from(h2::Reason::ENHANCE_YOUR_CALM)));
    });
}

/// A client refused while it is still sending its body (here by its access key, over
/// HTTP/1.1 with `connection: close`) reads the answer and then the end of the
/// connection, and may go on sending: the gateway reads and discards the rest instead
/// of closing a socket with bytes unread, which the kernel turns into a reset.
#[test]
fn a_client_refused_while_sending_its_body_reads_the_answer_then_the_end() {
    let mock = Mock::start();
    let gw = Gateway::start(&channel(&mock.url), "");
    let mut conn = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = "POST /v1/messages HTTP/1.1\r\nhost: relay\r\nx-api-key: wrong\r\nconnection: close\r\n\
                content-length: 4000000\r\n\r\n";
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&[b' '; 256 * 1024]).unwrap();
    let (status, head, body) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 401 unauthorized");
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert_eq!(
        body,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid or missing API key"}}"#
    );
    // The gateway has closed its side by now; what it has not read yet, and what comes
    // after, is taken.
    std::thread::sleep(Duration::from_millis(200));
    conn.write_all(&[b' '; 64 * 1024]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    match conn.read(&mut [0u8; 64]) {
        Ok(0) => {}
        other => panic!("not the end of the connection after the answer: {other:?}"),
    }
}

/// An HTTP/2 connection the gateway ends (here idle past the limit) is told GOAWAY and
/// then ends, even while its client is writing (here as fast as the gateway reads): the
/// frames that cross the close are read, not answered by a reset. A client's window
/// updates for the last data of a stream cross the close the same way, and a reset made
/// curl lose the end of that stream.
#[test]
fn an_http2_client_writing_as_the_gateway_closes_gets_the_end_not_a_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let https = HttpsGateway::start("h2-linger", "  client_timeout_secs: 1\n");
    let (ca, port) = (&https.ca, https.gw.port);
    runtime().block_on(async {
        let tls = tls_connect(port, ca).await;
        let (mut rx, mut tx) = tokio::io::split(tls);
        tx.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
        tx.write_all(&h2_frame(0x4, 0, 0, &[])).await.unwrap();
        // PRIORITY frames, which the gateway reads and ignores, as fast as it takes them,
        // so that some are always waiting to be read; stopped at the GOAWAY.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writing = Arc::clone(&stop);
        let frames: Vec<u8> = (0..4096).flat_map(|_| h2_frame(0x2, 0, 1, &[0, 0, 0, 0, 16])).collect();
        let writer = tokio::spawn(async move {
            while !writing.load(std::sync::atomic::Ordering::Relaxed) {
                tx.write_all(&frames).await?;
                tokio::task::yield_now().await;
            }
            Ok::<_, std::io::Error>((tx, frames))
        });
        let read = async {
            let mut header = [0u8; 9];
            loop {
                rx.read_exact(&mut header).await.expect("closed before a GOAWAY");
                let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                let mut payload = vec![0u8; len];
                rx.read_exact(&mut payload).await.unwrap();
                if header[3] == 0x7 {
                    return u32::from_be_bytes(payload[4..8].try_into().unwrap());
                }
            }
        };
        let goaway = tokio::time::timeout(4 * LIMIT, read).await.expect("no GOAWAY for an idle connection");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(goaway, u32::from(h2::Reason::NO_ERROR));
        let (mut tx, frames) = writer.await.unwrap().expect("a write failed before the GOAWAY was read");
        // The client may still write once the gateway has closed its side.
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.write_all(&frames).await.expect("a write after the GOAWAY failed");
        tx.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.write_all(&frames).await.expect("a write after the GOAWAY failed");
        let end = async {
            let mut buf = [0u8; 4096];
            loop {
                match rx.read(&mut buf).await {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        };
        let ended = tokio::time::timeout(Duration::from_secs(5), end).await.expect("no end after the GOAWAY");
        assert!(ended.is_ok(), "not the end of the connection after the GOAWAY: {ended:?}");
    });
}
