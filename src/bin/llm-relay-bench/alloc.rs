//! Allocations per request in the pure translation core, measured in-process with a
//! counting global allocator. Only the thread that turned counting on is counted, so
//! nothing else in the bench (the load generator, the sampler) pollutes the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use llm_relay::protocol::Dialect;
use llm_relay::translate::request::{translate_response, ForeignThinking, PreparedRequest, ResponseContext};
use llm_relay::translate::stream::{ClientStreamOptions, StreamTranslator};
use llm_relay::translate::TargetOptions;

pub struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn count(bytes: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// atomics and the thread-local flag is a const-initialized `Cell` without destructor,
// so nothing here allocates or can fail.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            count(layout.size());
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            count(layout.size());
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            // A realloc is an allocation; its bytes are the growth.
            count(new_size.saturating_sub(layout.size()));
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes of running `f` once on this thread.
fn measure_once<R>(f: impl FnOnce() -> R) -> (u64, u64, R) {
    let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    let (a1, b1) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    (a1 - a0, b1 - b0, r)
}

#[derive(Debug, Clone, Serialize)]
pub struct AllocRow {
    /// `request`, `response` or `stream`.
    pub what: String,
    /// `small`, `80KiB`, `json`, `100 events`.
    pub input: String,
    /// `anthropic→anthropic` (pass-through) etc.: client dialect → upstream dialect.
    pub direction: String,
    pub input_bytes: usize,
    pub output_bytes: usize,
    pub allocs: f64,
    pub bytes: f64,
    /// Wall time of one operation (counting off), in microseconds.
    pub us: f64,
    /// Stream rows: per upstream event.
    pub events: u64,
}

/// The inputs the measurement needs, captured from the mock (responses, streams).
pub struct Inputs {
    pub small: [Bytes; 2],
    pub large: [Bytes; 2],
    /// Complete JSON responses, Anthropic then OpenAI.
    pub response: [Bytes; 2],
    /// Complete SSE streams of 100 text deltas, Anthropic then OpenAI (include_usage).
    pub stream: [Bytes; 2],
    /// Responses requests (small, 80 KiB), as Codex sends them.
    pub responses: [Bytes; 2],
}

/// Inputs are indexed Anthropic 0, OpenAI Chat 1 (the bench covers these two).
fn idx(d: Dialect) -> usize {
    usize::from(d != Dialect::Anthropic)
}

fn direction(client: Dialect, upstream: Dialect) -> String {
    format!("{}→{}", client.as_str(), upstream.as_str())
}

const DIRECTIONS: [(Dialect, Dialect); 4] = [
    (Dialect::Anthropic, Dialect::Anthropic),
    (Dialect::OpenAiChat, Dialect::OpenAiChat),
    (Dialect::Anthropic, Dialect::OpenAiChat),
    (Dialect::OpenAiChat, Dialect::Anthropic),
];

/// Runs `op` until `min_time` has passed (at least `min_iter` times) and returns the
/// mean wall time per call in microseconds.
fn time_op(mut op: impl FnMut() -> usize, min_iter: u32, min_time: Duration) -> f64 {
    let start = Instant::now();
    let mut n = 0u32;
    let mut sink = 0usize;
    while n < min_iter || start.elapsed() < min_time {
        sink = sink.wrapping_add(op());
        n += 1;
    }
    std::hint::black_box(sink);
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n.max(1))
}

/// Counts allocations over `reps` runs (after one warm-up) and returns the mean.
fn count_op(mut op: impl FnMut() -> usize, reps: u32) -> (f64, f64, usize) {
    let mut out = op();
    let (mut allocs, mut bytes) = (0, 0);
    for _ in 0..reps {
        let (a, b, n) = measure_once(&mut op);
        allocs += a;
        bytes += b;
        out = n;
    }
    (allocs as f64 / f64::from(reps), bytes as f64 / f64::from(reps), out)
}

/// Prepares a request as the gateway does on the bench's routes: an Anthropic, Chat or
/// Responses request for a model that only channels of another dialect serve is parsed
/// once up front.
fn prepare(client: Dialect, upstream: Dialect, body: &Bytes, target: &TargetOptions) -> usize {
    let prepared = if client != Dialect::Gemini && upstream != client {
        PreparedRequest::new_translated(client, body.clone())
    } else {
        PreparedRequest::new(client, body.clone())
    };
    match prepared {
        Ok(mut p) => p.body_for(upstream, target, ForeignThinking::None).map_or(0, |b| b.len()),
        Err(_) => 0,
    }
}

fn split_frames(stream: &[u8]) -> Vec<Bytes> {
    let mut frames = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < stream.len() {
        if stream[i] == b'\n' && stream[i + 1] == b'\n' {
            frames.push(Bytes::copy_from_slice(&stream[start..i + 2]));
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    if start < stream.len() {
        frames.push(Bytes::copy_from_slice(&stream[start..]));
    }
    frames
}

fn run_stream(upstream: Dialect, client: Dialect, frames: &[Bytes]) -> usize {
    let opts = ClientStreamOptions { include_usage: client == Dialect::OpenAiChat, ..Default::default() };
    let mut t = StreamTranslator::new(upstream, client, opts);
    let mut n = 0;
    for f in frames {
        n += t.push(f).len();
    }
    n + t.finish().len()
}

/// How each operation is measured: allocations over `reps` runs, time over `min_time`.
struct Measure {
    reps: u32,
    min_time: Duration,
}

impl Measure {
    /// One row for `op`, whose result is the output's size in bytes.
    fn row(
        &self,
        what: &str,
        input: String,
        direction: String,
        input_bytes: usize,
        events: u64,
        mut op: impl FnMut() -> usize,
    ) -> AllocRow {
        let (allocs, bytes, output_bytes) = count_op(&mut op, self.reps);
        let us = time_op(&mut op, 20, self.min_time);
        AllocRow { what: what.into(), input, direction, input_bytes, output_bytes, allocs, bytes, us, events }
    }
}

/// Every row: requests (small, 80 KiB), a JSON response and a 100-event stream, for
/// pass-through in both dialects and both translation directions; then Responses
/// requests towards Anthropic and Chat upstreams.
pub fn measure(inputs: &Inputs, quick: bool) -> Vec<AllocRow> {
    let m = Measure { reps: if quick { 3 } else { 20 }, min_time: Duration::from_millis(if quick { 50 } else { 200 }) };
    let model = |upstream: Dialect| if upstream == Dialect::Anthropic { "claude-sonnet-4-5" } else { "gpt-4o" };
    let mut rows = Vec::new();
    for (client, upstream) in DIRECTIONS {
        let target = TargetOptions::new(model(upstream));
        for (label, body) in [("small", &inputs.small[idx(client)]), ("80KiB", &inputs.large[idx(client)])] {
            let op = || prepare(client, upstream, body, &target);
            rows.push(m.row("request", label.into(), direction(client, upstream), body.len(), 0, op));
        }
        let response = &inputs.response[idx(upstream)];
        let cx = ResponseContext::new(model(upstream));
        let op = || translate_response(upstream, client, response, &cx).map_or(0, |r| r.body.len());
        rows.push(m.row("response", "json".into(), direction(client, upstream), response.len(), 0, op));
        let stream = &inputs.stream[idx(upstream)];
        let frames = split_frames(stream);
        let op = || run_stream(upstream, client, &frames);
        let input = format!("{} frames", frames.len());
        rows.push(m.row("stream", input, direction(client, upstream), stream.len(), frames.len() as u64, op));
    }
    for upstream in [Dialect::Anthropic, Dialect::OpenAiChat] {
        let target = TargetOptions::new(model(upstream));
        for (label, body) in [("small", &inputs.responses[0]), ("80KiB", &inputs.responses[1])] {
            let op = || prepare(Dialect::OpenAiResponses, upstream, body, &target);
            let direction = direction(Dialect::OpenAiResponses, upstream);
            rows.push(m.row("request", label.into(), direction, body.len(), 0, op));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split() {
        let f = split_frames(b"event: a\ndata: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
        assert_eq!(f.len(), 3);
        assert_eq!(&f[1][..], b"data: 2\n\n");
        assert_eq!(split_frames(b"data: 1\n\ndata: 2").len(), 2);
    }

    #[test]
    fn counts_only_when_on() {
        let (a, b, v) = measure_once(|| vec![0u8; 100]);
        assert_eq!((a, b), (1, 100));
        drop(v);
        // Off: an allocation outside `measure_once` leaves the counters as they were.
        let before = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
        let outside = std::hint::black_box(vec![0u8; 1000]);
        assert_eq!((ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed)), before);
        drop(outside);
    }
}
