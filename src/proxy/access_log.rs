//! One structured JSON line per request (log target `access`). Names, masked key ids
//! and error classes only: no key, token or body ever appears here.
//!
//! A line reads as the gateway's other log lines do (`[time INFO  access] {json}`) and
//! is on when `RUST_LOG` enables target `access` at info, but it does not go through
//! the logger. Written one by one, lines cost a `write` to stderr each and the threads
//! contend for stderr's lock: a quarter of the throughput on small requests. Lines are
//! appended to one buffer instead, and a writer thread puts the buffer on stderr 10 ms
//! after its first line, so a loaded gateway writes a batch per 10 ms and an idle one
//! nothing. A buffer that reaches 256 KiB is written at once by the thread that filled
//! it. [`flush`] runs at process exit; a killed process loses at most the last 10 ms.

use crate::protocol::Dialect;
use crate::relay::Outcome;
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, SystemTime};

pub struct Line<'a> {
    pub request_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub access_key: Option<&'a str>,
    pub dialect: Dialect,
    pub model: Option<&'a str>,
    pub stream: bool,
    pub status: u16,
    pub outcome: &'a Outcome,
    pub elapsed: Duration,
    pub bytes_in: usize,
    pub pingora_error: Option<&'a str>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Serializes as RFC 3339 UTC with milliseconds.
struct Millis(SystemTime);

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(self.0))
    }
}

#[derive(Serialize)]
struct Tokens {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
}

/// The JSON object of a line, members in the order they are written.
#[derive(Serialize)]
struct Json<'a> {
    time: Millis,
    request_id: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    access_key: Option<&'a str>,
    client_dialect: &'a str,
    model: Option<&'a str>,
    upstream_model: Option<&'a str>,
    channel: Option<&'a str>,
    key_id: Option<&'a str>,
    attempts: u32,
    status: u16,
    stream: bool,
    bytes_in: usize,
    bytes_out: usize,
    tokens: Option<Tokens>,
    duration_ms: f64,
    first_byte_ms: Option<f64>,
    first_token_ms: Option<f64>,
    error: Option<&'a str>,
}

impl Line<'_> {
    fn json(&self, now: SystemTime) -> Json<'_> {
        let o = self.outcome;
        Json {
            time: Millis(now),
            request_id: self.request_id,
            method: self.method,
            path: self.path,
            access_key: self.access_key,
            client_dialect: self.dialect.as_str(),
            model: self.model,
            upstream_model: o.upstream_model.as_deref(),
            channel: o.channel.as_deref(),
            key_id: o.key_id.as_deref(),
            attempts: o.attempts,
            status: self.status,
            stream: self.stream,
            bytes_in: self.bytes_in,
            bytes_out: o.bytes_out,
            tokens: o.usage.map(|u| Tokens {
                input: u.input_tokens,
                output: u.output_tokens,
                cache_read: u.cache_read_input_tokens.unwrap_or(0),
                cache_write: u.cache_creation_input_tokens.unwrap_or(0),
            }),
            duration_ms: ms(self.elapsed),
            first_byte_ms: o.first_byte.map(ms),
            first_token_ms: o.first_token.map(ms),
            error: o.error.as_deref().or(self.pingora_error),
        }
    }

    /// The whole line, newline included, as of `now`.
    pub fn write_to(&self, out: &mut Vec<u8>, now: SystemTime) {
        let _ = write!(out, "[{} INFO  access] ", humantime::format_rfc3339_seconds(now));
        // Writing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &self.json(now));
        out.push(b'\n');
    }
}

/// Whether `RUST_LOG` asks for access lines.
fn enabled() -> bool {
    log::log_enabled!(target: "access", log::Level::Info)
}

/// Queues `line` for stderr (see the module docs); nothing when access lines are off.
pub fn emit(line: &Line<'_>) {
    if !enabled() {
        return;
    }
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let write = |text: &mut Vec<u8>| {
        text.clear();
        line.write_to(text, SystemTime::now());
        push(text);
    };
    // A line written while the thread's locals are torn down (a request's context dropped
    // as its runtime shuts down: `proxy::cut`) gets a buffer of its own.
    if SCRATCH.try_with(|scratch| scratch.try_borrow_mut().map(|mut text| write(&mut text)).is_ok()) != Ok(true) {
        write(&mut Vec::new());
    }
}

const BATCH_DELAY: Duration = Duration::from_millis(10);
const WRITE_AT: usize = 256 * 1024;

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held from taking a batch until it is written, so batches leave in the order they
/// were taken, and the flush at exit waits for a batch that is being written.
static WRITING: Mutex<()> = Mutex::new(());
static WRITER: OnceLock<Option<Thread>> = OnceLock::new();

fn lock<T>(m: &'static Mutex<T>) -> MutexGuard<'static, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn push(text: &[u8]) {
    let mut pending = lock(&PENDING);
    let was_empty = pending.is_empty();
    pending.extend_from_slice(text);
    let full = pending.len() >= WRITE_AT;
    drop(pending);
    if full {
        flush();
    } else if was_empty {
        match writer() {
            Some(t) => t.unpark(),
            // No writer thread could be started: write through.
            None => flush(),
        }
    }
}

/// The writer thread, started with the first line.
fn writer() -> Option<&'static Thread> {
    WRITER
        .get_or_init(|| {
            let spawned = std::thread::Builder::new().name("access-log".into()).spawn(|| loop {
                std::thread::park();
                std::thread::sleep(BATCH_DELAY);
                flush();
            });
            match spawned {
                Ok(handle) => Some(handle.thread().clone()),
                Err(e) => {
                    log::warn!("access log: no writer thread ({e}); lines are written one by one");
                    None
                }
            }
        })
        .as_ref()
}

/// Writes the queued lines now.
pub fn flush() {
    let _writing = lock(&WRITING);
    let out = std::mem::take(&mut *lock(&PENDING));
    if !out.is_empty() {
        write_stderr(&out);
    }
}

fn write_stderr(bytes: &[u8]) {
    // As the logger does, a failed write to stderr is dropped: there is nowhere to report it.
    let _ = std::io::stderr().lock().write_all(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::anthropic::Usage;

    #[test]
    fn a_line_has_the_logger_prefix_and_every_member_in_order() {
        let outcome = Outcome {
            status: 200,
            attempts: 2,
            channel: Some("anth".into()),
            key_id: Some("…abcd".into()),
            upstream_model: Some("claude-sonnet-4-5".into()),
            usage: Some(Usage {
                input_tokens: 20,
                output_tokens: 3,
                cache_creation_input_tokens: None,
                cache_read_input_tokens: Some(7),
                ..Default::default()
            }),
            error: None,
            first_byte: Some(Duration::from_micros(2054)),
            first_token: None,
            bytes_out: 287,
            attempts_log: Vec::new(),
        };
        let line = Line {
            request_id: Some("req_1"),
            method: "POST",
            path: "/v1/messages",
            access_key: Some("team"),
            dialect: Dialect::Anthropic,
            model: Some("claude-x"),
            stream: false,
            status: 200,
            outcome: &outcome,
            elapsed: Duration::from_nanos(2_108_600),
            bytes_in: 83,
            pingora_error: Some("ReadError"),
        };
        let mut out = Vec::new();
        line.write_to(&mut out, SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_000_123));
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "[2026-11-18T11:06:40Z INFO  access] {\"time\":\"2026-11-18T11:06:40.123Z\",\"request_id\":\"req_1\",\
             \"method\":\"POST\",\"path\":\"/v1/messages\",\"access_key\":\"team\",\"client_dialect\":\"anthropic\",\
             \"model\":\"claude-x\",\"upstream_model\":\"claude-sonnet-4-5\",\"channel\":\"anth\",\"key_id\":\"…abcd\",\
             \"attempts\":2,\"status\":200,\"stream\":false,\"bytes_in\":83,\"bytes_out\":287,\
             \"tokens\":{\"input\":20,\"output\":3,\"cache_read\":7,\"cache_write\":0},\"duration_ms\":2.109,\
             \"first_byte_ms\":2.054,\"first_token_ms\":null,\"error\":\"ReadError\"}\n"
        );
    }
}
