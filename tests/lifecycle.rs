//! The process, black-box: a start refused on a port in use, shutdown on SIGTERM with
//! streams let finish, graceful upgrade, and client connections across shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

/// A second instance on the same address exits at once, saying why, rather than run on
/// listening nowhere; the first one's pid file names the first one.
#[test]
fn an_address_already_in_use_stops_the_start_and_the_pid_file_names_the_running_gateway() {
    let mock = Mock::start();
    let gw = Gateway::start(&channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""), "");
    assert_eq!(std::fs::read_to_string(gw.dir().join("pid")).unwrap(), format!("{}\n", gw.pid()));
    let started = Instant::now();
    let out =
        Command::new(env!("CARGO_BIN_EXE_llm-relay")).args(["run", "--config"]).arg(gw.config_path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("server.listen: cannot listen on 127.0.0.1:{}: ", gw.port)), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(std::fs::read_to_string(gw.dir().join("pid")).unwrap(), format!("{}\n", gw.pid()));
    assert_eq!(gw.anthropic(&messages_json("claude-x", "hi", false)).0, 200, "the first one serves on");
}

#[test]
fn sigterm_lets_a_running_stream_finish_then_exits() {
    let mock = Mock::start_with(&["--token-delay-ms", "50"]);
    let gw = Gateway::start(
        &channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""),
        "  grace_period_secs: 30",
    );
    let url = format!("{}/v1/messages", gw.url);
    let streamer = {
        let url = url.clone();
        std::thread::spawn(move || {
            post(&url, &[("x-api-key", ACCESS_KEY)], &messages_json("claude-x", "[[long:20]]", true))
        })
    };
    let answer = std::thread::spawn(move || {
        post(&url, &[("x-api-key", ACCESS_KEY)], &messages_json("claude-x", "[[slow:800]] hi", false))
    });
    std::thread::sleep(Duration::from_millis(300));
    let _sent = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &gw.pid().to_string()]).status().unwrap().success());
    // An answer finished during the drain says the connection closes after it.
    let (status, headers, _) = answer.join().unwrap();
    assert_eq!((status, header(&headers, "connection")), (200, Some("close")));
    let (status, _, body) = streamer.join().unwrap();
    assert_eq!(status, 200);
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "cut short: {body}");
    assert!(body.contains("w19"));
    // Drained: the process leaves long before the 30 s grace period.
    gw.wait_exit(Duration::from_secs(10));
    let log = gw.log();
    assert!(log.contains("no request in flight, exiting"), "{log}");
    // The stream's access line was written before the process left.
    let line = log.lines().find(|l| l.contains(" INFO  access] ") && l.contains("\"stream\":true"));
    assert!(line.is_some_and(|l| l.contains("\"status\":200")), "{log}");
}

#[test]
fn graceful_upgrade_hands_over_the_socket_without_dropping_a_stream() {
    let mock = Mock::start_with(&["--token-delay-ms", "50"]);
    let gw = Gateway::start(
        &channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""),
        "  grace_period_secs: 30",
    );
    let url = format!("{}/v1/messages", gw.url);
    let stream_url = url.clone();
    let streamer = std::thread::spawn(move || {
        post(&stream_url, &[("x-api-key", ACCESS_KEY)], &messages_json("claude-x", "[[long:20]]", true))
    });
    std::thread::sleep(Duration::from_millis(200));
    // The new process waits for the old one's sockets on the upgrade socket.
    let log = std::fs::File::create(gw.dir().join("new.log")).unwrap();
    let mut new = Command::new(env!("CARGO_BIN_EXE_llm-relay"))
        .args(["run", "--upgrade", "--config"])
        .arg(gw.config_path())
        .stderr(log)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-QUIT", &gw.pid().to_string()]).status().unwrap().success());
    let (status, _, body) = streamer.join().unwrap();
    assert_eq!(status, 200);
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "stream cut: {body}");
    // New connections are served by the new process.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // A connection the old process accepted just as it stopped reading requests is
        // closed unanswered (Pingora drops connections still waiting for their first
        // request at shutdown): the client sees a connection error (0 here) and retries.
        let s = agent()
            .post(&url)
            .header("x-api-key", ACCESS_KEY)
            .send(&messages_json("claude-x", "hi", false))
            .map_or(0, |r| r.status().as_u16());
        if s == 200 && gw.exited() {
            break;
        }
        assert!(Instant::now() < deadline, "old process still serving:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let new_log = std::fs::read_to_string(gw.dir().join("new.log")).unwrap();
    assert!(new_log.contains("Bootstrap done") || new_log.contains("Server starting"), "{new_log}");
    let _ = new.kill();
    let _ = new.wait();
}

#[test]
fn client_connections_are_reused_refused_when_malformed_and_closed_at_shutdown() {
    use std::io::Write;
    let mock = Mock::start_with(&["--token-delay-ms", "50"]);
    let gw = Gateway::start(
        &channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""),
        "  grace_period_secs: 30",
    );
    let connect = || {
        let conn = std::net::TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        conn
    };
    let health = b"GET /health HTTP/1.1\r\nhost: relay\r\n\r\n";

    // Requests follow one another on one connection, an answered error included.
    let mut conn = connect();
    for _ in 0..3 {
        conn.write_all(health).unwrap();
        let (status, head, body) = read_response(&mut conn);
        assert_eq!((status.as_str(), body.as_str()), ("http/1.1 200 ok", "{\"status\":\"ok\"}"));
        assert!(head.contains("connection: keep-alive\r\n"), "{head}");
    }
    // An answered error after the body was read keeps the connection.
    let messages = |model: &str, key: &str| {
        let body = messages_json(model, "hi", false);
        format!("POST /v1/messages HTTP/1.1\r\nhost: relay\r\n{key}content-length: {}\r\n\r\n{body}", body.len())
    };
    let with_key = format!("x-api-key: {ACCESS_KEY}\r\n");
    conn.write_all(messages("unserved-x", &with_key).as_bytes()).unwrap();
    let (status, head, body) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 404 not found");
    assert!(head.contains("connection: keep-alive\r\n"), "{head}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["type"], "not_found_error");
    conn.write_all(messages("claude-x", &with_key).as_bytes()).unwrap();
    let (status, _, body) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 200 ok", "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["type"], "message");
    // Refused before its body was read: answered, then closed.
    conn.write_all(messages("claude-x", "").as_bytes()).unwrap();
    let (status, head, _) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 401 unauthorized");
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert!(closed_within(&mut conn, Duration::from_secs(5)));

    // `Connection: close` is honoured.
    let mut conn = connect();
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: relay\r\nconnection: close\r\n\r\n").unwrap();
    let (status, head, _) = read_response(&mut conn);
    assert_eq!(status, "http/1.1 200 ok");
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert!(closed_within(&mut conn, Duration::from_secs(5)));

    // A malformed head gets 400 and CONNECT 405, each closing the connection.
    for (request, want) in [
        (&b"NOT HTTP AT ALL\r\n\r\n"[..], "http/1.1 400 bad request"),
        (b"CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n", "http/1.1 405 method not allowed"),
    ] {
        let mut conn = connect();
        conn.write_all(request).unwrap();
        assert_eq!(read_response(&mut conn).0, want);
        assert!(closed_within(&mut conn, Duration::from_secs(5)), "{want}: left open");
    }

    // At shutdown, a connection waiting for its next request is closed at once, while
    // a stream in flight keeps the process running.
    let mut idle = connect();
    idle.write_all(health).unwrap();
    assert_eq!(read_response(&mut idle).0, "http/1.1 200 ok");
    let url = format!("{}/v1/messages", gw.url);
    let streamer = std::thread::spawn(move || {
        post(&url, &[("x-api-key", ACCESS_KEY)], &messages_json("claude-x", "[[long:60]]", true))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-TERM", &gw.pid().to_string()]).status().unwrap().success());
    assert!(closed_within(&mut idle, Duration::from_secs(2)), "idle connection kept open:\n{}", gw.log());
    assert!(!streamer.is_finished(), "the stream ended before the idle connection was closed");
    let (status, _, body) = streamer.join().unwrap();
    assert_eq!(status, 200);
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "cut short: {body}");
}

/// A stream still running when the grace period ends is cut, and still logged: its
/// access line says so (`error: shutdown`), with the channel it was on.
#[test]
fn a_stream_cut_at_the_end_of_the_grace_period_is_logged() {
    let mock = Mock::start_with(&["--token-delay-ms", "50"]);
    let gw = Gateway::start(
        &channel_entry("a", "anthropic", &mock.url, "sk-a-0000", "[\"claude-*\"]", ""),
        "  grace_period_secs: 1",
    );
    let port = gw.port;
    let streamer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let body = messages_json("claude-x", "[[long:400]]", true);
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST /v1/messages HTTP/1.1\r\nhost: relay\r\nx-api-key: {ACCESS_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(format!("{head}{body}").as_bytes()).unwrap();
        let mut answer = Vec::new();
        // The gateway closes the connection when it exits: the answer ends there.
        let _ = conn.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill").args(["-TERM", &gw.pid().to_string()]).status().unwrap().success());
    let answer = streamer.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("content_block_delta") && !answer.contains("message_stop"), "not cut: {answer}");
    gw.wait_exit(Duration::from_secs(15));
    let log = gw.log();
    let line = log.lines().find(|l| l.contains(" INFO  access] ") && l.contains("\"stream\":true"));
    let line: Value = serde_json::from_str(
        &line.unwrap_or_else(|| panic!("no access line: {log}"))[line.map_or(0, |l| l.find('{').unwrap())..],
    )
    .unwrap();
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["error"], "shutdown", "{line}");
    assert_eq!((&line["channel"], &line["upstream_model"]), (&json!("a"), &json!("claude-x")), "{line}");
    assert!(line["request_id"].as_str().is_some_and(|id| id.starts_with("req_")), "{line}");
    assert_eq!(line["tokens"]["input"], 26, "the usage so far: {line}");
    assert_eq!(line["path"], "/v1/messages", "{line}");
    assert!(line["bytes_out"].as_u64().unwrap() > 0, "{line}");
}
