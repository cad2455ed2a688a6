//! Requests cut off before Pingora's logging phase: a request's task is dropped when the
//! grace period of a shutdown ends (or an upgrade's old process leaves) with its stream
//! still running. Such a request is logged when its context drops, from what the
//! context kept: the access line has `error` `shutdown` (or `cancelled`, for a task
//! dropped otherwise), the status sent (444, nginx's "closed without a response", when
//! nothing was), and the channel, attempts, bytes and usage as far as they went. Its
//! metrics are not counted: the process is leaving, and its counters with it.

use super::{access_log, RequestCtx};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a graceful shutdown has begun.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// Notes that the grace period of a shutdown has begun: requests cut off from now on
/// were cut by it.
pub fn note_shutdown() {
    SHUTTING_DOWN.store(true, Ordering::Relaxed);
}

/// The status logged for a request cut before any answer was sent.
const NO_RESPONSE: u16 = 444;

/// What the access line of a request needs from its session, kept in its context once
/// the request is known to be an API call (the session is gone when the context drops).
pub(super) struct RequestFacts {
    pub request_id: Option<String>,
    pub method: http::Method,
    pub path: String,
    pub bytes_in: usize,
}

impl Drop for RequestCtx {
    fn drop(&mut self) {
        if self.logged {
            return;
        }
        let (Some(dialect), Some(facts)) = (self.dialect, self.facts.take()) else { return };
        let mut o = self.outcome.take().unwrap_or_default();
        let why = if SHUTTING_DOWN.load(Ordering::Relaxed) { "shutdown" } else { "cancelled" };
        o.error = Some(why.to_string());
        let status = if o.status == 0 { NO_RESPONSE } else { o.status };
        access_log::emit(&access_log::Line {
            request_id: facts.request_id.as_deref(),
            method: facts.method.as_str(),
            path: &facts.path,
            access_key: self.access_key.as_deref(),
            dialect,
            model: self.model.as_deref(),
            stream: self.stream,
            status,
            outcome: &o,
            elapsed: self.started.elapsed(),
            bytes_in: facts.bytes_in,
            pingora_error: None,
        });
    }
}
