//! Black-box harness: the real `llm-relay` binary on a free loopback port, in front of
//! the bundled mock upstream. Processes are killed when the handles drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "test-access-key-0123456789";
/// A second caller's key, in every test config.
pub const OTHER_ACCESS_KEY: &str = "other-access-key-9876543210";
pub const ADMIN_KEY: &str = "test-admin-key-9876543210";
pub const ANTHROPIC_UPSTREAM_KEY: &str = "sk-ant-upstream-key-AAAA";
pub const OPENAI_UPSTREAM_KEY: &str = "sk-oai-upstream-key-BBBB";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One entry of a config's `channels:` list, on one line; `extra` adds keys (", key: value").
pub fn channel_entry(name: &str, protocol: &str, url: &str, key: &str, models: &str, extra: &str) -> String {
    format!(
        "  - {{name: {name}, protocol: {protocol}, base_url: \"{url}\", keys: [\"{key}\"], models: {models}{extra}}}\n"
    )
}

/// An Anthropic Messages request of one user turn.
pub fn messages_json(model: &str, text: &str, stream: bool) -> String {
    serde_json::json!({"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]})
        .to_string()
}

pub struct Mock {
    child: Child,
    pub url: String,
}

impl Mock {
    pub fn start() -> Mock {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Mock {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llm-relay-mock"))
            .args(["--listen", "127.0.0.1:0", "--threads", "1"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("mock said {line:?}")).to_string();
        Mock { child, url: format!("http://{addr}") }
    }

    /// Requests the mock received, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let (status, _, body) = get(&format!("{}/_mock/requests", self.url), &[]);
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    pub fn last_request(&self) -> serde_json::Value {
        self.requests().pop().expect("the mock received no request")
    }

    /// Requests received per upstream key.
    pub fn by_key(&self) -> std::collections::HashMap<String, u64> {
        let (_, _, body) = get(&format!("{}/_mock/stats", self.url), &[]);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["by_key"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
    }

    /// `GET /v1/models` requests answered since the last reset (`models_listed`).
    pub fn models_listed(&self) -> u64 {
        let (_, _, body) = get(&format!("{}/_mock/stats", self.url), &[]);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["models_listed"].as_u64().unwrap()
    }

    /// Streams the mock began and dropped before their end (`streams_cut`).
    pub fn streams_cut(&self) -> u64 {
        let (_, _, body) = get(&format!("{}/_mock/stats", self.url), &[]);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["streams_cut"].as_u64().unwrap()
    }

    pub fn reset(&self) {
        post(&format!("{}/_mock/reset", self.url), &[], "");
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Gateway {
    child: Child,
    pub url: String,
    dir: PathBuf,
    pub port: u16,
}

impl Gateway {
    /// Starts the gateway with `channels` (a YAML list body, indented by two spaces)
    /// and `server_extra` lines merged into `server:`.
    pub fn start(channels: &str, server_extra: &str) -> Gateway {
        Self::start_full(channels, server_extra, "")
    }

    /// As `start`, with `top_extra` YAML appended at the top level (routing, health, …).
    pub fn start_full(channels: &str, server_extra: &str, top_extra: &str) -> Gateway {
        Self::launch(channels, server_extra, top_extra, "http")
    }

    /// Starts the gateway; `scheme` is `https` when `server_extra` configures TLS.
    pub fn launch(channels: &str, server_extra: &str, top_extra: &str, scheme: &str) -> Gateway {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("llm-relay-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let path = dir.join("llm-relay.yaml");
        let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
        let gw_dir = dir.clone();
        let write = |channels: &str, server_extra: &str, top_extra: &str| {
            let config = format!(
                "server:\n  listen: [\"127.0.0.1:{port}\"]\n  threads: 1\n  upgrade_sock: {up}\n  pid_file: {pid}\n{server_extra}\naccess_keys:\n  - {{name: tester, key: \"{ACCESS_KEY}\"}}\n  - {{name: other, key: \"{OTHER_ACCESS_KEY}\"}}\nadmin_keys: [\"{ADMIN_KEY}\"]\n{top_extra}\nchannels:\n{channels}\n",
                up = gw_dir.join("upgrade.sock").display(),
                pid = gw_dir.join("pid").display(),
            );
            std::fs::write(&path, config).unwrap();
        };
        write(channels, server_extra, top_extra);
        let child = Command::new(env!("CARGO_BIN_EXE_llm-relay"))
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let gw = Gateway { child, url: format!("{scheme}://127.0.0.1:{port}"), dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                if scheme != "http" {
                    return gw;
                }
                if let Ok(resp) = agent().get(&format!("{}/health", gw.url)).call() {
                    if resp.status() == 200 {
                        return gw;
                    }
                }
            }
            assert!(Instant::now() < deadline, "gateway did not start:\n{}", gw.log());
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("llm-relay.yaml")
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (it is gone, or a zombie not yet reaped).
    pub fn exited(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).map_or(true, |s| s.contains(") Z"))
    }

    /// Waits for the process to exit, for at most `within`.
    pub fn wait_exit(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.exited() {
            assert!(Instant::now() < deadline, "still running after {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Rewrites the config file with the same server settings.
    pub fn rewrite_config(&self, channels: &str, server_extra: &str, top_extra: &str) {
        let config = format!(
            "server:\n  listen: [\"127.0.0.1:{port}\"]\n  threads: 1\n  upgrade_sock: {up}\n  pid_file: {pid}\n{server_extra}\naccess_keys:\n  - {{name: tester, key: \"{ACCESS_KEY}\"}}\n  - {{name: other, key: \"{OTHER_ACCESS_KEY}\"}}\nadmin_keys: [\"{ADMIN_KEY}\"]\n{top_extra}\nchannels:\n{channels}\n",
            port = self.port,
            up = self.dir.join("upgrade.sock").display(),
            pid = self.dir.join("pid").display(),
        );
        // Write then rename, as editors and config managers do.
        let tmp = self.dir.join("llm-relay.yaml.tmp");
        std::fs::write(&tmp, config).unwrap();
        std::fs::rename(&tmp, self.config_path()).unwrap();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }

    /// A line of the gateway process's `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Vec<(String, String)>, String) {
        post(&format!("{}{path}", self.url), headers, body)
    }

    /// Posts with the test access key as `x-api-key` (Anthropic) or Bearer (OpenAI).
    pub fn anthropic(&self, body: &str) -> (u16, String) {
        let (s, _, b) =
            self.post("/v1/messages", &[("x-api-key", ACCESS_KEY), ("anthropic-version", "2023-06-01")], body);
        (s, b)
    }

    pub fn openai(&self, body: &str) -> (u16, String) {
        let auth = format!("Bearer {ACCESS_KEY}");
        let (s, _, b) = self.post("/v1/chat/completions", &[("authorization", &auth)], body);
        (s, b)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Four routes over one mock: pass-through and translated, for each of the Anthropic and
/// Chat dialects (`claude-*`, `gpt-*` passed through; `tr-claude-*` to Chat as `gpt-4o`,
/// `tr-gpt-*` to Anthropic as `claude-sonnet-4-5`).
pub fn four_routes(mock: &Mock) -> String {
    let u = &mock.url;
    format!(
        "  - {{name: anthropic-up, protocol: anthropic, base_url: \"{u}\", keys: [\"{ANTHROPIC_UPSTREAM_KEY}\"], models: [\"claude-*\"]}}\n\
         \x20 - {{name: openai-up, protocol: openai, base_url: \"{u}\", keys: [\"{OPENAI_UPSTREAM_KEY}\"], models: [\"gpt-*\"]}}\n\
         \x20 - {{name: claude-on-openai, protocol: openai, base_url: \"{u}\", keys: [\"{OPENAI_UPSTREAM_KEY}\"], models: [\"tr-claude-*\"], model_map: {{\"tr-claude-*\": \"gpt-4o\"}}}}\n\
         \x20 - {{name: gpt-on-anthropic, protocol: anthropic, base_url: \"{u}\", keys: [\"{ANTHROPIC_UPSTREAM_KEY}\"], models: [\"tr-gpt-*\"], model_map: {{\"tr-gpt-*\": \"claude-sonnet-4-5\"}}}}\n"
    )
}

/// The mock, and a gateway on [`four_routes`] over it taking bodies up to 3 MiB.
pub fn four_routes_gateway() -> (Mock, Gateway) {
    let mock = Mock::start();
    let gw = Gateway::start(&four_routes(&mock), "  max_body_bytes: 3145728");
    (mock, gw)
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

pub fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Vec<(String, String)>, String) {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send(body).unwrap();
    finish(resp)
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    finish(req.call().unwrap())
}

fn finish(resp: http::Response<ureq::Body>) -> (u16, Vec<(String, String)>, String) {
    let status = resp.status().as_u16();
    let headers =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let mut body = String::new();
    // A body cut before its end (a chunked stream without its last chunk, a short
    // content-length body) is an error here, not a clean end.
    if let Err(e) = resp.into_body().into_reader().read_to_string(&mut body) {
        panic!("the response body was cut after {} bytes: {e}\n{body}", body.len());
    }
    (status, headers, body)
}

/// Reads a streamed response, recording when each piece arrived.
pub fn post_timed(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Vec<(Duration, String)>) {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let start = Instant::now();
    let resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    let mut reader = resp.into_body().into_reader();
    let mut pieces = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => pieces.push((start.elapsed(), String::from_utf8_lossy(&buf[..n]).into_owned())),
            Err(e) => panic!("the response body was cut after {} pieces: {e}", pieces.len()),
        }
    }
    (status, pieces)
}

/// The `data:` payloads of an SSE body, in order (comments and event lines skipped).
pub fn sse_data(body: &str) -> Vec<String> {
    body.lines().filter_map(|l| l.strip_prefix("data: ")).map(str::to_string).collect()
}

/// The text of Gemini answer chunks, joined (thought parts included).
pub fn gemini_text(chunks: &[serde_json::Value]) -> String {
    chunks
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect()
}

/// The `event:` names of an SSE body, in order.
pub fn sse_events(body: &str) -> Vec<String> {
    body.lines().filter_map(|l| l.strip_prefix("event: ")).map(str::to_string).collect()
}

/// The access-log lines of requests that ended with `error`, once `n` of them are
/// written (within `within`).
pub fn lines_with_error(gw: &Gateway, error: &str, n: usize, within: Duration) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + within;
    loop {
        let lines: Vec<serde_json::Value> = gw
            .log()
            .lines()
            .filter_map(|l| l.split_once(" access] ").and_then(|(_, json)| serde_json::from_str(json).ok()))
            .filter(|v: &serde_json::Value| v["error"] == error)
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(Instant::now() < deadline, "fewer than {n} access lines with {error}:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A CA and a leaf certificate it signed for 127.0.0.1 (webpki refuses a CA
/// certificate used as a server's own). Returns (ca cert, leaf cert, leaf key).
pub fn ca_and_leaf(dir: &std::path::Path) -> (String, String, String) {
    let p = |n: &str| dir.join(n).display().to_string();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    let (ca_key, ca_crt) = (p("ca.key"), p("ca.crt"));
    ca.extend(["-days", "2", "-subj", "/CN=llm-relay test CA", "-keyout", &ca_key, "-out", &ca_crt]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    let (leaf_key, leaf_csr, leaf_crt, ext) = (p("leaf.key"), p("leaf.csr"), p("leaf.crt"), p("leaf.ext"));
    csr.extend(["-subj", "/CN=127.0.0.1", "-keyout", &leaf_key, "-out", &leaf_csr]);
    run(&csr);
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &leaf_csr,
        "-CA",
        &ca_crt,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &ext,
        "-out",
        &leaf_crt,
    ]);
    (ca_crt, leaf_crt, leaf_key)
}

/// Reads one HTTP/1.1 request (head and `content-length` body) off a raw connection;
/// false when the client closed first.
pub fn read_request(conn: &mut std::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match std::io::Read::read(conn, &mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    std::io::Read::read_exact(conn, &mut body).is_ok()
}

/// One HTTP/1 response read off `conn`: the status line, the head in lower case, and
/// the body (by `content-length`).
pub fn read_response(conn: &mut std::net::TcpStream) -> (String, String, String) {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        assert_eq!(
            conn.read(&mut byte).unwrap(),
            1,
            "connection closed in a head: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap().to_ascii_lowercase();
    let status = head.lines().next().unwrap().to_string();
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length: ")).map_or(0, |n| n.trim().parse::<usize>().unwrap());
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

/// Whether the gateway closed `conn` (it reads end of file) within `wait`.
pub fn closed_within(conn: &mut std::net::TcpStream, wait: Duration) -> bool {
    use std::io::Read;
    conn.set_read_timeout(Some(wait)).unwrap();
    matches!(conn.read(&mut [0u8; 64]), Ok(0))
}

/// A one-request upstream that answers with the start of a chunked event stream, `body`
/// (its chunks), then keeps the connection open, silent, until the gateway lets go (or
/// 20 s). Returns its URL, and how long it was held once `body` was sent.
pub fn upstream_left_open(body: String) -> (String, std::thread::JoinHandle<Duration>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let _ = conn.read(&mut buf).unwrap();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        conn.write_all(format!("{head}{body}").as_bytes()).unwrap();
        let sent = Instant::now();
        conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
        sent.elapsed()
    });
    (url, upstream)
}
