//! Why an attempt failed, and what the client is told of it.

use crate::health::{classify, ErrorClass};
use crate::protocol::anthropic::Usage;
use crate::translate::{ApiError, ErrorKind};
use std::time::Duration;

/// Why an attempt did not produce the client's answer.
pub(super) enum AttemptFailure {
    /// Worth another key or channel: connect errors, timeouts, 408/429/5xx/529, an
    /// error as the first stream event. `channel_too`: it counts against the channel;
    /// `class`: the attempt outcome label; `wasted`: usage of an answer not delivered.
    Retryable {
        err: ApiError,
        channel_too: bool,
        retry_after: Option<Duration>,
        class: &'static str,
        wasted: Option<Usage>,
    },
    /// The key is refused (auth, billing, quota): retire it, try the next one.
    Retire(ApiError),
    /// The upstream's answer stands (a bad request): pass it on.
    Final(ApiError),
    /// The client closed its connection while the upstream's answer was awaited: the
    /// upstream request was dropped, and nobody is left to answer.
    ClientGone,
}

impl AttemptFailure {
    pub(super) fn retry(class: &'static str, err: ApiError) -> Self {
        AttemptFailure::Retryable { err, channel_too: true, retry_after: None, class, wasted: None }
    }

    /// An upstream error with `status` (its HTTP status, or what its kind stands for),
    /// weighed by `classify`: retried elsewhere (`class` names the attempt's outcome),
    /// the key retired, or the client's answer. `resets`: the error says when to try
    /// again.
    pub(super) fn classified(
        err: ApiError,
        status: u16,
        resets: bool,
        retry_after: Option<Duration>,
        class: &'static str,
        wasted: Option<Usage>,
    ) -> Self {
        // An error whose kind says the key was refused retires it, whatever its status
        // (Gemini refuses a key with a 400).
        let refused = err.kind == ErrorKind::Authentication;
        let weighed = if refused {
            ErrorClass::Retire
        } else {
            classify(status, &err.message, err.kind == ErrorKind::Billing, resets)
        };
        match weighed {
            ErrorClass::Retryable { channel_too } => {
                AttemptFailure::Retryable { err, channel_too, retry_after, class, wasted }
            }
            ErrorClass::Retire => AttemptFailure::Retire(err),
            ErrorClass::Final => AttemptFailure::Final(err),
        }
    }

    /// An error the upstream reported inside a 200 answer (a stream's first event, a
    /// failed Responses answer), weighed as the same error as an HTTP status would be:
    /// an overload is retried elsewhere, a refused key retired, and a bad request (a
    /// prompt too long, or flagged) is the client's answer, which neither costs another
    /// upstream call nor counts against the channel.
    pub(super) fn in_band(err: ApiError, wasted: Option<Usage>) -> Self {
        let status = err.status.unwrap_or(err.kind.anthropic_status());
        Self::classified(err, status, false, None, "in_band_error", wasted)
    }
}

/// A key the upstream refused, told to the client: the gateway's credentials failed, not
/// the client's, so not a 401 or 403 (Claude Code would ask its user to log in again)
/// but a 502 that says so, and that a client is told not to retry (the kind stays).
/// Billing errors keep their own status.
pub(super) fn refused_for_client(err: ApiError) -> ApiError {
    match err.kind {
        ErrorKind::Authentication | ErrorKind::Permission => ApiError {
            // Claude Code takes any error that names `x-api-key` for its own key refused.
            message: format!(
                "the upstream refused this gateway's credentials: {}",
                err.message.replace("x-api-key", "API key")
            ),
            status: Some(502),
            code: None,
            upstream_body: None,
            ..err
        },
        _ => err,
    }
}
