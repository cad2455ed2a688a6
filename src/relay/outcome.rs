//! What became of one request and of each of its attempts, for logs and metrics.

use crate::protocol::anthropic::Usage;
use std::time::Duration;

/// What happened to one request, for logs and metrics.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub status: u16,
    pub attempts: u32,
    pub channel: Option<String>,
    pub key_id: Option<String>,
    pub upstream_model: Option<String>,
    pub usage: Option<Usage>,
    /// Error class when the request did not succeed cleanly.
    pub error: Option<String>,
    pub first_byte: Option<Duration>,
    pub first_token: Option<Duration>,
    pub bytes_out: usize,
    /// Every attempt, in order.
    pub attempts_log: Vec<AttemptRecord>,
}

/// One upstream attempt, for metrics.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub channel: String,
    /// ok, retryable_status, connect_error, timeout, in_band_error, key_refused, client_error.
    pub outcome: &'static str,
    /// Usage the upstream reported for an answer the client never saw.
    pub wasted: Option<Usage>,
}

/// The access log's word for a failed write to the client: `client_timeout` when it
/// took nothing for `server.client_timeout_secs`, else `client_closed`.
pub(crate) fn write_failure(e: &pingora::Error) -> &'static str {
    if e.etype == pingora::ErrorType::WriteTimedout {
        CLIENT_TIMEOUT
    } else {
        CLIENT_CLOSED
    }
}

const CLIENT_TIMEOUT: &str = "client_timeout";
pub(super) const CLIENT_CLOSED: &str = "client_closed";
/// The status logged for a client that left before any answer (nginx's convention).
pub(super) const CLIENT_CLOSED_STATUS: u16 = 499;

impl Outcome {
    /// The error to end the request with when the client stopped taking the answer:
    /// the connection then closes as it is, without the end of a chunked body after
    /// a write that may have stopped half-way.
    pub fn client_gone(&self) -> Option<pingora::ErrorType> {
        match self.error.as_deref() {
            Some(CLIENT_TIMEOUT) => Some(pingora::ErrorType::WriteTimedout),
            Some(CLIENT_CLOSED) => Some(pingora::ErrorType::WriteError),
            _ => None,
        }
    }
}
