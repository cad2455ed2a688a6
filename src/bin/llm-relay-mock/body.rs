//! Response bodies: a one-shot full body, and the SSE stream state machine that
//! produces frames lazily, one body chunk per frame, sleeping `--token-delay-ms`
//! between content deltas.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{sleep_until, Instant, Sleep};

use crate::script::{Block, Fail, Plan};
use crate::wire::{self, Ctx, Ev};

pub enum MockBody {
    Full(Option<Bytes>),
    Sse(Box<SseBody>),
}

impl MockBody {
    pub fn full(b: impl Into<Bytes>) -> Self {
        MockBody::Full(Some(b.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            MockBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Sse(s) => s.poll_step(cx).map(|step| match step {
                Step::Data(b) => Some(Ok(Frame::data(b))),
                Step::Abort => Some(Err(io::Error::other("mock disconnect"))),
                Step::End => None,
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Sse(_) => SizeHint::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    Ping,
    BlockStart,
    Parts,
    Signature,
    BlockStop,
    Finish,
    Usage,
    Done,
    Error,
    Abort,
    End,
}

enum Next {
    Ev(Ev),
    Abort,
    End,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Data(Bytes),
    Abort,
    End,
}

pub struct SseBody {
    ctx: Ctx,
    plan: Plan,
    stage: Stage,
    block: usize,
    part: usize,
    deltas: usize,
    delay: Duration,
    /// The pause before the first block (`[[quiet:MS]]`).
    quiet: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    sleeping: bool,
    slept: bool,
}

/// Streams dropped before their end: their client (the gateway) went away, or stopped
/// reading and then went away. `GET /_mock/stats` reports it as `streams_cut`.
pub static STREAMS_CUT: AtomicU64 = AtomicU64::new(0);

impl Drop for SseBody {
    fn drop(&mut self) {
        if self.stage != Stage::End {
            STREAMS_CUT.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl SseBody {
    pub fn new(ctx: Ctx, plan: Plan, delay: Duration) -> Self {
        let stage = if plan.fail == Fail::First { Stage::Error } else { Stage::Start };
        let quiet = Duration::ZERO;
        SseBody {
            ctx,
            plan,
            stage,
            block: 0,
            part: 0,
            deltas: 0,
            delay,
            quiet,
            sleep: None,
            sleeping: false,
            slept: false,
        }
    }

    /// Pauses `quiet` after the stream's start (and Anthropic's `ping`), before its first block.
    pub fn quiet(mut self, quiet: Duration) -> Self {
        self.quiet = quiet;
        self
    }

    fn block_parts(&self) -> usize {
        self.plan.blocks.get(self.block).map_or(0, |b| wire::stream_parts(self.ctx.dialect, b))
    }

    /// True when the next event is a content delta.
    fn delta_next(&self) -> bool {
        self.stage == Stage::Parts && self.part < self.block_parts()
    }

    /// How long to wait before the next event, if at all: the token delay before
    /// every content delta but the first, and a short pause before an abort so the
    /// frames already produced reach the client first.
    fn pause(&self) -> Option<Duration> {
        if self.stage == Stage::Abort {
            return Some(self.delay.max(Duration::from_millis(10)));
        }
        if self.stage == Stage::BlockStart && self.block == 0 && !self.quiet.is_zero() {
            return Some(self.quiet);
        }
        (self.deltas > 0 && !self.delay.is_zero() && self.delta_next()).then_some(self.delay)
    }

    fn advance(&mut self) -> Next {
        loop {
            match self.stage {
                Stage::Start => {
                    self.stage = Stage::Ping;
                    return Next::Ev(Ev::Start);
                }
                Stage::Ping => {
                    self.stage = Stage::BlockStart;
                    return Next::Ev(Ev::Ping);
                }
                Stage::BlockStart => {
                    if self.block >= self.plan.blocks.len() {
                        self.stage = Stage::Finish;
                        continue;
                    }
                    self.part = 0;
                    self.stage = Stage::Parts;
                    return Next::Ev(Ev::BlockStart(self.block));
                }
                Stage::Parts => {
                    if self.part < self.block_parts() {
                        let ev = Ev::Delta(self.block, self.part);
                        self.part += 1;
                        self.deltas += 1;
                        if self.deltas == 1 {
                            match self.plan.fail {
                                Fail::Mid => self.stage = Stage::Error,
                                Fail::Disconnect => self.stage = Stage::Abort,
                                Fail::None | Fail::First => {}
                            }
                        }
                        return Next::Ev(ev);
                    }
                    let thinking = matches!(self.plan.blocks.get(self.block), Some(Block::Thinking));
                    self.stage = if thinking { Stage::Signature } else { Stage::BlockStop };
                }
                Stage::Signature => {
                    self.stage = Stage::BlockStop;
                    return Next::Ev(Ev::Signature(self.block));
                }
                Stage::BlockStop => {
                    let b = self.block;
                    self.block += 1;
                    self.stage = Stage::BlockStart;
                    return Next::Ev(Ev::BlockStop(b));
                }
                Stage::Finish => {
                    self.stage = Stage::Usage;
                    return Next::Ev(Ev::Finish);
                }
                Stage::Usage => {
                    self.stage = Stage::Done;
                    return Next::Ev(Ev::Usage);
                }
                Stage::Done => {
                    self.stage = Stage::End;
                    return Next::Ev(Ev::Done);
                }
                Stage::Error => {
                    self.stage = Stage::End;
                    return Next::Ev(Ev::Error);
                }
                Stage::Abort => {
                    self.stage = Stage::End;
                    return Next::Abort;
                }
                Stage::End => return Next::End,
            }
        }
    }

    /// Next frame ignoring the token delay (tests).
    #[cfg(test)]
    pub fn step_now(&mut self) -> Step {
        loop {
            match self.advance() {
                Next::Ev(ev) => {
                    if let Some(f) = wire::frame(&mut self.ctx, &self.plan, ev) {
                        return Step::Data(Bytes::from(f));
                    }
                }
                Next::Abort => return Step::Abort,
                Next::End => return Step::End,
            }
        }
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Step> {
        loop {
            if self.sleeping {
                if let Some(s) = self.sleep.as_mut() {
                    if s.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                self.sleeping = false;
                self.slept = true;
            } else if let Some(pause) = self.pause().filter(|_| !self.slept) {
                let deadline = Instant::now() + pause;
                match self.sleep.as_mut() {
                    Some(s) => s.as_mut().reset(deadline),
                    None => self.sleep = Some(Box::pin(sleep_until(deadline))),
                }
                self.sleeping = true;
                continue;
            }
            self.slept = false;
            match self.advance() {
                Next::Ev(ev) => {
                    if let Some(f) = wire::frame(&mut self.ctx, &self.plan, ev) {
                        return Poll::Ready(Step::Data(Bytes::from(f)));
                    }
                }
                Next::Abort => return Poll::Ready(Step::Abort),
                Next::End => return Poll::Ready(Step::End),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{split_words, Text};
    use crate::wire::{q, Dialect};

    fn ctx(dialect: Dialect, include_usage: bool) -> Ctx {
        Ctx { include_usage, ..Ctx::new(dialect, "id1".into(), 1, q("m"), 1, 5) }
    }

    fn plan(fail: Fail, think: bool) -> Plan {
        let mut blocks = Vec::new();
        if think {
            blocks.push(Block::Thinking);
        }
        blocks.push(Block::Text(Text::Words(split_words("Hello from mock."))));
        Plan { blocks, tool_use: false, fail }
    }

    /// Event names (Anthropic) or first 40 chars (OpenAI) of each frame, then the end.
    fn run(mut s: SseBody) -> (Vec<String>, Step) {
        let mut out = Vec::new();
        loop {
            match s.step_now() {
                Step::Data(b) => {
                    let t = String::from_utf8_lossy(&b).to_string();
                    assert!(t.ends_with("\n\n"));
                    out.push(match t.strip_prefix("event: ") {
                        Some(rest) => rest.lines().next().unwrap_or("").to_string(),
                        None => t,
                    });
                }
                end => return (out, end),
            }
        }
    }

    #[test]
    fn anthropic_sequence() {
        let (names, end) = run(SseBody::new(ctx(Dialect::Anthropic, false), plan(Fail::None, true), Duration::ZERO));
        assert_eq!(end, Step::End);
        assert_eq!(
            names,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
    }

    #[test]
    fn anthropic_failures() {
        let c = ctx(Dialect::Anthropic, false);
        let (names, end) = run(SseBody::new(c.clone(), plan(Fail::Mid, false), Duration::ZERO));
        assert_eq!(end, Step::End);
        assert_eq!(names, ["message_start", "ping", "content_block_start", "content_block_delta", "error"]);
        let (names, end) = run(SseBody::new(c.clone(), plan(Fail::First, false), Duration::ZERO));
        assert_eq!((names, end), (vec!["error".to_string()], Step::End));
        let (names, end) = run(SseBody::new(c, plan(Fail::Disconnect, false), Duration::ZERO));
        assert_eq!(end, Step::Abort);
        assert_eq!(names.len(), 4);
    }

    #[test]
    fn openai_sequence() {
        let (frames, end) = run(SseBody::new(ctx(Dialect::OpenAi, true), plan(Fail::None, true), Duration::ZERO));
        assert_eq!(end, Step::End);
        // role, 2 reasoning, 3 content, finish, usage, [DONE]
        assert_eq!(frames.len(), 9);
        assert!(frames.iter().all(|f| f.starts_with("data: ")));
        assert!(frames[1].contains(r#""reasoning_content":"Let me""#));
        assert!(frames[3].contains(r#""content":"Hello""#));
        assert!(frames[6].contains(r#""finish_reason":"stop""#));
        assert!(frames[7].contains(r#""choices":[],"usage":{"prompt_tokens":8"#));
        assert_eq!(frames[8], "data: [DONE]\n\n");
        let (frames, _) = run(SseBody::new(ctx(Dialect::OpenAi, false), plan(Fail::Mid, false), Duration::ZERO));
        assert_eq!(frames.len(), 3);
        assert!(frames[2].starts_with(r#"data: {"error":"#));
    }

    #[tokio::test]
    async fn delay_spaces_deltas() {
        use http_body_util::BodyExt;
        let body = MockBody::Sse(Box::new(SseBody::new(
            ctx(Dialect::OpenAi, false),
            plan(Fail::None, false),
            Duration::from_millis(30),
        )));
        let start = std::time::Instant::now();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        // 3 deltas: 2 sleeps between them.
        assert!(start.elapsed() >= Duration::from_millis(60));
        assert!(bytes.ends_with(b"data: [DONE]\n\n"));
    }

    #[tokio::test]
    async fn quiet_pauses_after_the_start_before_the_first_block() {
        let mut body = SseBody::new(ctx(Dialect::Anthropic, false), plan(Fail::None, false), Duration::ZERO)
            .quiet(Duration::from_millis(80));
        let start = std::time::Instant::now();
        let mut frames = Vec::new();
        while let Step::Data(b) = std::future::poll_fn(|cx| body.poll_step(cx)).await {
            frames.push((start.elapsed(), String::from_utf8_lossy(&b).to_string()));
        }
        assert!(frames[0].1.starts_with("event: message_start"), "{:?}", frames[0]);
        assert!(frames[1].1.starts_with("event: ping"), "{:?}", frames[1]);
        assert!(frames[1].0 < Duration::from_millis(40), "{frames:?}");
        assert!(frames[2].1.starts_with("event: content_block_start"), "{:?}", frames[2]);
        assert!(frames[2].0 >= Duration::from_millis(80), "{frames:?}");
    }

    /// Raw frames of a stream, then how it ended.
    fn raw(mut s: SseBody) -> (Vec<String>, Step) {
        let mut out = Vec::new();
        loop {
            match s.step_now() {
                Step::Data(b) => out.push(String::from_utf8_lossy(&b).to_string()),
                end => return (out, end),
            }
        }
    }

    #[test]
    fn responses_failures() {
        let c = ctx(Dialect::Responses, false);
        let (frames, end) = raw(SseBody::new(c.clone(), plan(Fail::Mid, false), Duration::ZERO));
        assert_eq!(end, Step::End);
        // [created + in_progress], [item + part added], [one delta], [the error].
        assert_eq!(frames.len(), 4);
        assert!(frames[2].starts_with("event: response.output_text.delta\n"));
        assert_eq!(
            frames[3],
            "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"mock overloaded\",\"param\":null,\"sequence_number\":5}\n\n"
        );
        let (frames, end) = raw(SseBody::new(c.clone(), plan(Fail::First, false), Duration::ZERO));
        assert_eq!(end, Step::End);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].starts_with("event: error\ndata: {\"type\":\"error\"") && frames[0].contains(":0}"));
        let (frames, end) = raw(SseBody::new(c, plan(Fail::Disconnect, false), Duration::ZERO));
        assert_eq!(end, Step::Abort);
        assert_eq!(frames.len(), 3);
    }

    #[test]
    fn gemini_streams() {
        let (frames, end) = raw(SseBody::new(ctx(Dialect::Gemini, false), plan(Fail::None, true), Duration::ZERO));
        assert_eq!(end, Step::End);
        // The thought in one chunk, then one chunk per word.
        assert_eq!(frames.len(), 4);
        assert!(frames.iter().all(|f| f.starts_with("data: {\"candidates\"") && f.ends_with("}\r\n\r\n")));
        assert!(frames[0].contains(r#""thought":true"#));
        assert!(frames[3].contains(r#""finishReason":"STOP""#));
        let array = Ctx { array: true, ..ctx(Dialect::Gemini, false) };
        let (frames, _) = raw(SseBody::new(array.clone(), plan(Fail::Mid, false), Duration::ZERO));
        let v: serde_json::Value = serde_json::from_str(&frames.concat()).unwrap_or_default();
        assert_eq!(v[1]["error"]["code"], 503);
        let mut body = SseBody::new(array, plan(Fail::Disconnect, false), Duration::ZERO);
        assert!(matches!(body.step_now(), Step::Data(b) if b.starts_with(b"[{")));
        assert_eq!(body.step_now(), Step::Abort);
    }
}
