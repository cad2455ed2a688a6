//! TLS and HTTP/2, black-box: certificates renewed on reload, sessions resumed from
//! tickets, HTTP/2 streams and their limits, and upstream certificates verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn self_signed(dir: &std::path::Path, name: &str) -> (String, String) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
        ])
        .arg(format!("/CN={name}"))
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert.display().to_string(), key.display().to_string())
}

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl").args(["-sS", "--max-time", "10"]).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn tls_serves_http2_and_picks_up_a_renewed_certificate_on_reload() {
    let mock = Mock::start();
    let dir = std::env::temp_dir().join(format!("llm-relay-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_a, key_a) = self_signed(&dir, "first");
    let (cert_b, key_b) = self_signed(&dir, "second");
    let live_cert = dir.join("live.crt").display().to_string();
    let live_key = dir.join("live.key").display().to_string();
    std::fs::copy(&cert_a, &live_cert).unwrap();
    std::fs::copy(&key_a, &live_key).unwrap();
    let channels = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", "");
    let tls = format!("  tls: {{cert: \"{live_cert}\", key: \"{live_key}\"}}");
    let gw = Gateway::launch(&channels, &tls, "", "https");
    let url = format!("https://localhost:{}", gw.port);
    let resolve = format!("localhost:{}:127.0.0.1", gw.port);

    let (ok, out) = curl(&["--cacert", &cert_a, "--resolve", &resolve, "--http2", "-i", &format!("{url}/health")]);
    assert!(ok, "{out}\n{}", gw.log());
    assert!(out.starts_with("HTTP/2 200"), "{out}");
    // Plain HTTP on the HTTPS port fails its handshake, is logged, and leaves the
    // listener serving.
    let (ok, out) = curl(&[&format!("http://127.0.0.1:{}/health", gw.port)]);
    assert!(!ok, "plain HTTP was answered on the HTTPS port: {out}");
    let (ok, out) = curl(&["--cacert", &cert_a, "--resolve", &resolve, "--http1.1", "-i", &format!("{url}/health")]);
    assert!(ok && out.starts_with("HTTP/1.1 200"), "{out}\n{}", gw.log());
    assert!(gw.log().contains("TLS handshake with 127.0.0.1:"), "{}", gw.log());
    let body = messages_json("claude-x", "hi", true);
    let (ok, out) = curl(&[
        "--cacert",
        &cert_a,
        "--resolve",
        &resolve,
        "--http1.1",
        "-H",
        &format!("x-api-key: {ACCESS_KEY}"),
        "-d",
        &body,
        &format!("{url}/v1/messages"),
    ]);
    assert!(ok && out.contains("event: message_stop"), "{out}");
    let (ok, out) = curl(&[
        "--cacert",
        &cert_a,
        "--resolve",
        &resolve,
        "--http2",
        "-i",
        "-H",
        &format!("x-api-key: {ACCESS_KEY}"),
        "-d",
        &body,
        &format!("{url}/v1/messages"),
    ]);
    assert!(ok && out.starts_with("HTTP/2 200") && out.contains("event: message_stop"), "HTTP/2 stream: {out}");

    // A request body of many TLS records, read without a buffer under rustls, and larger
    // than the HTTP/2 flow-control window the gateway grants (1 MiB), arrives whole over
    // both protocols.
    let text: String = (0..200_000).map(|i| format!("{i:06} ")).collect::<Vec<_>>().join("\n");
    let body_file = dir.join("large.json");
    std::fs::write(&body_file, messages_json("claude-x", &text, false)).unwrap();
    let body_arg = format!("@{}", body_file.display());
    for protocol in ["--http1.1", "--http2"] {
        let (ok, out) = curl(&[
            "--cacert",
            &cert_a,
            "--resolve",
            &resolve,
            protocol,
            "-i",
            "-H",
            &format!("x-api-key: {ACCESS_KEY}"),
            "--data-binary",
            &body_arg,
            &format!("{url}/v1/messages"),
        ]);
        // Over HTTP/1.1 curl asks for `100 Continue` first.
        let head = if protocol == "--http2" { "HTTP/2 200" } else { "HTTP/1.1 100" };
        assert!(ok && out.starts_with(head) && out.contains("\"type\":\"message\""), "{protocol}: {out}");
        let sent: serde_json::Value = serde_json::from_str(mock.last_request()["body"].as_str().unwrap()).unwrap();
        assert_eq!(sent["messages"][0]["content"].as_str(), Some(text.as_str()), "{protocol}");
    }

    // Renewal: new files, then a reload.
    std::fs::copy(&cert_b, &live_cert).unwrap();
    std::fs::copy(&key_b, &live_key).unwrap();
    assert!(Command::new("kill").args(["-HUP", &gw.pid().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (ok, _) = curl(&["--cacert", &cert_b, "--resolve", &resolve, &format!("{url}/health")]);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "new certificate not served:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ok, _) = curl(&["--cacert", &cert_a, "--resolve", &resolve, &format!("{url}/health")]);
    assert!(!ok, "the old certificate is no longer served");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client that completes TLS with ALPN h2 and then sends no HTTP/2 preface is closed
/// after 10 s rather than held.
/// One HTTPS request (`GET /health`, HTTP/1.1) on a new connection; whether the
/// handshake resumed a session `config` held.
fn health_over_tls(port: u16, config: &Arc<rustls::ClientConfig>) -> bool {
    use std::io::{Read, Write};
    let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    // The gateway closes without close_notify only on error; either way the answer came.
    let _ = tls.read_to_end(&mut answer);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// Sessions resume from tickets, not from a cache of the gateway's: a client resumes
/// after more clients than that cache holds (256 sessions, two per TLS 1.3 handshake)
/// have connected since.
#[test]
fn tls_sessions_resume_from_tickets_after_many_other_clients() {
    let mock = Mock::start();
    let dir = std::env::temp_dir().join(format!("llm-relay-tickets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = ca_and_leaf(&dir);
    let channels = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", "");
    let gw = Gateway::launch(&channels, &format!("  tls: {{cert: \"{cert}\", key: \"{key}\"}}"), "", "https");
    pingora_rustls::install_default_crypto_provider();
    let client = || {
        let mut roots = rustls::RootCertStore::empty();
        pingora_rustls::load_ca_file_into_store(&ca, &mut roots).unwrap();
        Arc::new(rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth())
    };
    let first = client();
    assert!(!health_over_tls(gw.port, &first), "a first connection has no session to resume");
    assert!(health_over_tls(gw.port, &first), "the session was not resumed");
    for _ in 0..160 {
        assert!(!health_over_tls(gw.port, &client()));
    }
    assert!(health_over_tls(gw.port, &first), "the session was forgotten after 160 other clients");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_http2_client_without_a_preface_is_closed_after_ten_seconds() {
    let dir = std::env::temp_dir().join(format!("llm-relay-h2-preface-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir, "preface");
    let channels = channel_entry("a", "anthropic", "http://127.0.0.1:9", "sk-a-0000", "[\"claude-*\"]", "");
    let gw = Gateway::launch(&channels, &format!("  tls: {{cert: \"{cert}\", key: \"{key}\"}}"), "", "https");
    let connect = format!("127.0.0.1:{}", gw.port);
    let started = Instant::now();
    // s_client sends nothing of its own (stdin stays open and empty) and leaves when the
    // server closes the connection.
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-alpn", "h2", "-connect", &connect])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = client.kill();
            panic!("still connected after 20 s:\n{}", gw.log());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let held = started.elapsed();
    assert!(held >= Duration::from_secs(9), "closed after {held:?} ({status}):\n{}", gw.log());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The gateway serves HTTP/2 streams itself (`proxy::local`): several requests on one
/// connection at once, errors in the client's dialect, and a SIGTERM that lets the open
/// streams finish.
#[test]
fn http2_streams_share_a_connection_get_errors_in_their_dialect_and_finish_at_shutdown() {
    let mock = Mock::start_with(&["--token-delay-ms", "50"]);
    let dir = std::env::temp_dir().join(format!("llm-relay-h2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir, "h2");
    let channels = channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", "");
    let server = format!("  grace_period_secs: 30\n  tls: {{cert: \"{cert}\", key: \"{key}\"}}");
    let gw = Gateway::launch(&channels, &server, "", "https");
    let resolve = format!("localhost:{}:127.0.0.1", gw.port);
    let url = format!("https://localhost:{}/v1/messages", gw.port);
    let tls = ["--cacert", cert.as_str(), "--resolve", resolve.as_str(), "--http2"];

    let (ok, out) = curl(&[&tls[..], &["-i", "-d", &messages_json("claude-x", "hi", false), url.as_str()]].concat());
    assert!(ok && out.starts_with("HTTP/2 401"), "{out}\n{}", gw.log());
    assert!(
        out.ends_with(
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid or missing API key"}}"#
        ),
        "{out}"
    );

    // Three streams of about a second each, multiplexed by curl on one connection; the
    // gateway is told to stop while they run.
    let outs: Vec<String> = (0..3).map(|i| dir.join(format!("stream{i}.txt")).display().to_string()).collect();
    let mut args: Vec<String> = tls.iter().map(ToString::to_string).collect();
    let body = messages_json("claude-x", "[[long:20]]", true);
    args.extend(["--parallel", "-w", "connects=%{num_connects} http=%{http_version}\\n", "-H"].map(String::from));
    args.extend([format!("x-api-key: {ACCESS_KEY}"), "-d".to_string(), body]);
    for out in &outs {
        args.extend(["-o".to_string(), out.clone(), url.clone()]);
    }
    let started = Instant::now();
    let streams = std::thread::spawn(move || curl(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    std::thread::sleep(Duration::from_millis(400));
    assert!(Command::new("kill").args(["-TERM", &gw.pid().to_string()]).status().unwrap().success());
    let (ok, written) = streams.join().unwrap();
    assert!(ok, "{written}\n{}", gw.log());
    // Each stream takes about a second: served one after another they would take three.
    assert!(started.elapsed() < Duration::from_millis(2800), "not served at once: {:?}", started.elapsed());
    // One line per transfer; curl's progress meter shares the output.
    let transfers: Vec<&str> = written.lines().filter_map(|l| l.strip_prefix("connects=")).collect();
    assert_eq!(transfers.len(), 3, "{written}");
    assert!(transfers.iter().all(|l| l.ends_with(" http=2")), "not HTTP/2: {written}");
    let opened: u32 = transfers.iter().map(|l| l.split(' ').next().unwrap().parse::<u32>().unwrap()).sum();
    assert_eq!(opened, 1, "the three streams did not share one connection: {written}");
    for out in &outs {
        let body = std::fs::read_to_string(out).unwrap();
        assert!(body.contains("w19"), "{body}");
        assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "cut short: {body}");
    }
    gw.wait_exit(Duration::from_secs(10));
    assert!(gw.log().contains("no request in flight, exiting"), "{}", gw.log());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn upstream_tls_is_verified_with_the_system_roots_a_ca_file_or_not_at_all() {
    let mock = Mock::start();
    let dir = std::env::temp_dir().join(format!("llm-relay-uptls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = ca_and_leaf(&dir);
    // The upstream: a gateway serving HTTPS in front of the mock.
    let tls = format!("  tls: {{cert: \"{cert}\", key: \"{key}\"}}");
    let upstream = Gateway::launch(
        &channel_entry("m", "anthropic", &mock.url, "sk-m-0000", "[\"claude-*\"]", ""),
        &tls,
        "",
        "https",
    );
    let base = format!("https://127.0.0.1:{}", upstream.port);
    let via = |extra: &str| channel_entry("up", "anthropic", &base, ACCESS_KEY, "[\"claude-*\"]", extra);

    let strict = Gateway::start(&via(""), "");
    let (status, body) = strict.anthropic(&messages_json("claude-x", "hi", false));
    // A self-signed upstream does not verify by default: the handshake fails.
    assert_eq!(
        (status, body.as_str()),
        (
            500,
            r#"{"type":"error","error":{"type":"api_error","message":"upstream connection failed: TLSHandshakeFailure"}}"#
        )
    );

    let with_ca = Gateway::start(&via(&format!(", ca_file: \"{ca}\"")), "");
    let (status, body) = with_ca.anthropic(&messages_json("claude-x", "hi", false));
    assert_eq!(status, 200, "{body}\n{}", with_ca.log());

    let insecure = Gateway::start(&via(", insecure_skip_verify: true"), "");
    let (status, _) = insecure.anthropic(&messages_json("claude-x", "hi", false));
    assert_eq!(status, 200);
    assert!(insecure.log().contains("insecure_skip_verify is on"), "{}", insecure.log());
    let _ = std::fs::remove_dir_all(&dir);
}
