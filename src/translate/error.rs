//! The gateway's error model and its rendering in each client dialect: one place maps
//! a condition to a status and an error type (protocols.md §4.2).

use super::account_ids;
use crate::protocol::{anthropic, openai_chat, Dialect};
use serde::Serialize;

/// What went wrong, independent of dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Billing,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
    Overloaded,
    Timeout,
}

impl ErrorKind {
    /// The Anthropic `error.type` string.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Billing => "billing_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Api => "api_error",
            ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout_error",
        }
    }

    /// The OpenAI `error.type` string.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::RequestTooLarge => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Billing => "insufficient_quota",
            ErrorKind::Permission => "permission_error",
            ErrorKind::RateLimit => "rate_limit_exceeded",
            ErrorKind::Api | ErrorKind::Overloaded | ErrorKind::Timeout => "server_error",
        }
    }

    /// HTTP status for an Anthropic client.
    pub fn anthropic_status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Billing => 402,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimit => 429,
            ErrorKind::Api => 500,
            ErrorKind::Overloaded => 529,
            ErrorKind::Timeout => 504,
        }
    }

    /// HTTP status for an OpenAI client: no 529 there, overload is 503; out of credit is
    /// a 429 (`insufficient_quota`).
    pub fn openai_status(self) -> u16 {
        match self {
            ErrorKind::Overloaded => 503,
            ErrorKind::Billing => 429,
            ErrorKind::RequestTooLarge => 413,
            other => other.anthropic_status(),
        }
    }

    /// HTTP status and gRPC status name for a Gemini client.
    pub fn gemini_status(self) -> (u16, &'static str) {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::RequestTooLarge => (400, "INVALID_ARGUMENT"),
            ErrorKind::Authentication => (401, "UNAUTHENTICATED"),
            ErrorKind::Permission => (403, "PERMISSION_DENIED"),
            // Gemini's own spent quota is a 429 RESOURCE_EXHAUSTED.
            ErrorKind::Billing => (429, "RESOURCE_EXHAUSTED"),
            ErrorKind::NotFound => (404, "NOT_FOUND"),
            ErrorKind::RateLimit => (429, "RESOURCE_EXHAUSTED"),
            ErrorKind::Api => (500, "INTERNAL"),
            ErrorKind::Overloaded => (503, "UNAVAILABLE"),
            ErrorKind::Timeout => (504, "DEADLINE_EXCEEDED"),
        }
    }

    pub fn from_gemini_status(s: &str) -> Option<Self> {
        Some(match s {
            "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => ErrorKind::InvalidRequest,
            "UNAUTHENTICATED" => ErrorKind::Authentication,
            "PERMISSION_DENIED" => ErrorKind::Permission,
            "NOT_FOUND" => ErrorKind::NotFound,
            "RESOURCE_EXHAUSTED" => ErrorKind::RateLimit,
            "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => ErrorKind::Api,
            "UNAVAILABLE" => ErrorKind::Overloaded,
            "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
            _ => return None,
        })
    }

    /// The kind an OpenAI error stands for (Chat and Responses share them): a specific
    /// `code` or `type` first (a 429 `insufficient_quota` is out of credit, a 400
    /// `context_length_exceeded` a bad request), then the HTTP status when there is one,
    /// then the generic types, which say little (a 404 `model_not_found` is of type
    /// `invalid_request_error`, a 503 overload of type `server_error`).
    pub fn from_openai(code: Option<&str>, kind: Option<&str>, status: Option<u16>) -> Self {
        const GENERIC: [&str; 3] = ["invalid_request_error", "server_error", "api_error"];
        let specific = |s: &str| Self::known_openai_code(s).filter(|_| !GENERIC.contains(&s));
        code.and_then(specific)
            .or_else(|| kind.and_then(specific))
            .or_else(|| status.map(Self::from_status))
            .or_else(|| code.and_then(Self::known_openai_code))
            .or_else(|| kind.and_then(Self::known_openai_code))
            .unwrap_or(ErrorKind::Api)
    }

    /// The kind an OpenAI error `code` or `type` stands for, when it is one known here.
    fn known_openai_code(code: &str) -> Option<Self> {
        Some(match code {
            "rate_limit_exceeded" | "rate_limit_error" | "requests" | "tokens" => ErrorKind::RateLimit,
            "insufficient_quota" => ErrorKind::Billing,
            "invalid_api_key" | "authentication_error" => ErrorKind::Authentication,
            // Moonshot's `invalid_authentication_error`, and kin: before `invalid_…`.
            c if c.contains("authentication") => ErrorKind::Authentication,
            "permission_error" => ErrorKind::Permission,
            "server_overloaded" | "overloaded" | "overloaded_error" => ErrorKind::Overloaded,
            "server_error" | "api_error" => ErrorKind::Api,
            c if c.starts_with("invalid_") || c.starts_with("image_") || c == "context_length_exceeded" => {
                ErrorKind::InvalidRequest
            }
            _ => return None,
        })
    }

    pub fn from_anthropic_type(t: &str) -> Option<Self> {
        Some(match t {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "authentication_error" => ErrorKind::Authentication,
            "billing_error" => ErrorKind::Billing,
            "permission_error" => ErrorKind::Permission,
            "not_found_error" => ErrorKind::NotFound,
            "request_too_large" => ErrorKind::RequestTooLarge,
            "rate_limit_error" => ErrorKind::RateLimit,
            "api_error" => ErrorKind::Api,
            "overloaded_error" => ErrorKind::Overloaded,
            "timeout_error" => ErrorKind::Timeout,
            _ => return None,
        })
    }

    /// The kind an upstream HTTP status stands for, whatever its dialect.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => ErrorKind::Authentication,
            402 => ErrorKind::Billing,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimit,
            503 | 529 => ErrorKind::Overloaded,
            s if s >= 500 => ErrorKind::Api,
            _ => ErrorKind::InvalidRequest,
        }
    }
}

/// An error to send to a client: kind plus a message safe to show (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Exact status to use instead of the kind's default (an upstream status passed on).
    pub status: Option<u16>,
    /// The upstream's OpenAI error `code` (`context_length_exceeded`, `insufficient_quota`
    /// …), kept for OpenAI clients, which act on it.
    pub code: Option<String>,
    /// The upstream's error body and its dialect, when it was a well-formed error of
    /// that dialect: a client whose dialect shapes errors alike gets it as it came
    /// (every field, Gemini's `details` among them).
    pub upstream_body: Option<(Dialect, bytes::Bytes)>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), status: None, code: None, upstream_body: None }
    }

    /// Whether a client should not try the same request again: the account is out of
    /// credit, or the request itself is at fault, whatever the status said.
    pub fn not_worth_retrying(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Billing | ErrorKind::InvalidRequest | ErrorKind::Authentication | ErrorKind::Permission
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// An error an OpenAI-shaped upstream reported inside a stream or a failed
    /// response, with its `code` and `type`: they give the kind (`ErrorKind::from_openai`)
    /// and the code is kept.
    pub fn from_openai_error(code: Option<String>, kind: Option<&str>, message: impl Into<String>) -> Self {
        let kind = ErrorKind::from_openai(code.as_deref(), kind, None);
        let message = message.into();
        ApiError { code, ..Self::new(kind, account_ids::mask_str(&message)) }
    }

    /// The HTTP status for a client of `dialect`.
    pub fn status_for(&self, dialect: Dialect) -> u16 {
        match (dialect.error_shape(), self.status) {
            // A Gemini upstream's own error goes to a Gemini client whole, status and all.
            (Dialect::Gemini, Some(s)) if self.passes_body_to(dialect) => s,
            // Otherwise Gemini has its own status set; the kind decides.
            (Dialect::Gemini, _) => self.gemini_status().0,
            // OpenAI clients know no 529, and take an upstream's body too large as a bad
            // request.
            (Dialect::OpenAiChat, Some(529)) => 503,
            (Dialect::OpenAiChat, Some(413)) => 400,
            // Out of credit is OpenAI's 429 `insufficient_quota`, whatever the upstream's
            // status (Anthropic's 400 or 402, OpenRouter's 402): OpenAI clients stop on it.
            (Dialect::OpenAiChat, Some(_)) if self.kind == ErrorKind::Billing => 429,
            // An OpenAI-style 503 overload is Anthropic's retryable 529.
            (Dialect::Anthropic, Some(503)) if self.kind == ErrorKind::Overloaded => 529,
            (_, Some(s)) => s,
            (Dialect::Anthropic, None) => self.kind.anthropic_status(),
            (_, None) => self.kind.openai_status(),
        }
    }

    /// Whether a client of `dialect` gets the upstream's own error body. Out of credit
    /// reaches OpenAI clients as OpenAI says it (429 `insufficient_quota`), whatever the
    /// upstream's body said.
    fn passes_body_to(&self, dialect: Dialect) -> bool {
        let rewritten = self.kind == ErrorKind::Billing
            && dialect.error_shape() == Dialect::OpenAiChat
            && self.code.as_deref() != Some("insufficient_quota");
        !rewritten
            && self.upstream_body.as_ref().is_some_and(|(upstream, _)| upstream.error_shape() == dialect.error_shape())
    }

    /// The JSON error body in `dialect`.
    pub fn body_for(&self, dialect: Dialect) -> Vec<u8> {
        if let Some((_, body)) = self.upstream_body.as_ref().filter(|_| self.passes_body_to(dialect)) {
            return body.to_vec();
        }
        match dialect.error_shape() {
            Dialect::Gemini => {
                let (code, status) = self.gemini_status();
                to_json(&serde_json::json!({"error": {"code": code, "message": self.message, "status": status}}))
            }
            Dialect::Anthropic => to_json(&anthropic::ErrorResponse {
                kind: "error".to_string(),
                error: anthropic::ErrorBody {
                    kind: self.kind.anthropic_type().to_string(),
                    message: self.anthropic_message().into_owned(),
                    code: None,
                },
            }),
            _ => to_json(&openai_chat::ErrorResponse {
                error: openai_chat::ErrorObject {
                    message: self.message.clone(),
                    kind: Some(self.kind.openai_type().to_string()),
                    param: None,
                    code: self
                        .code
                        .as_deref()
                        .or_else(|| self.openai_code())
                        .map(|c| serde_json::Value::String(c.to_string())),
                },
            }),
        }
    }

    /// The HTTP status and status name for a Gemini client. The gateway's own credentials
    /// refused upstream (a 502, see `relay::failure::refused_for_client`) are Gemini's
    /// final `PERMISSION_DENIED`: an `UNAUTHENTICATED` would tell the client its own key
    /// is wrong.
    fn gemini_status(&self) -> (u16, &'static str) {
        match (self.kind, self.status) {
            (ErrorKind::Authentication | ErrorKind::Permission, Some(502)) => ErrorKind::Permission.gemini_status(),
            (kind, _) => kind.gemini_status(),
        }
    }

    fn openai_code(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::RateLimit => Some("rate_limit_exceeded"),
            ErrorKind::Authentication => Some("invalid_api_key"),
            ErrorKind::Billing => Some("insufficient_quota"),
            ErrorKind::NotFound => Some("not_found"),
            ErrorKind::RequestTooLarge => Some("request_too_large"),
            _ => None,
        }
    }

    /// Interprets an upstream error response (status and body in `upstream` dialect).
    /// Keeps the upstream status so that, e.g., 429 stays 429 and 529 stays 529.
    pub fn from_upstream(status: u16, body: &bytes::Bytes, upstream: Dialect) -> Self {
        let mut code = None;
        let parsed = match upstream {
            Dialect::Anthropic => serde_json::from_slice::<anthropic::ErrorResponse>(body).ok().map(|e| {
                // A spend limit reached is a 429 `rate_limit_error` whose
                // `error.details.error_code` says so, and a spent balance a 400
                // `invalid_request_error` that says so in words: no retry mends either.
                let spent = memchr::memmem::find(body, b"enforced_spend_limit_reached").is_some()
                    || e.error.message.contains("credit balance is too low");
                let kind = if spent { Some(ErrorKind::Billing) } else { ErrorKind::from_anthropic_type(&e.error.kind) };
                (kind, e.error.message)
            }),
            Dialect::OpenAiChat | Dialect::OpenAiResponses => {
                serde_json::from_slice::<openai_chat::ErrorResponse>(body).ok().map(|e| {
                    code = e.error.code.as_ref().and_then(|c| c.as_str()).map(str::to_string);
                    let kind = ErrorKind::from_openai(code.as_deref(), e.error.kind.as_deref(), Some(status));
                    (Some(kind), e.error.message)
                })
            }
            Dialect::Gemini => serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| {
                let e = v.get("error")?;
                // Gemini refuses a key with a 400 INVALID_ARGUMENT whose details give the
                // reason `API_KEY_INVALID`: the key's fault, not the request's.
                let key_refused = memchr::memmem::find(body, b"\"API_KEY_INVALID\"").is_some();
                let kind = if key_refused {
                    Some(ErrorKind::Authentication)
                } else {
                    e.get("status").and_then(|s| s.as_str()).and_then(ErrorKind::from_gemini_status)
                };
                Some((kind, e.get("message")?.as_str()?.to_string()))
            }),
        };
        // The account behind the key is named nowhere a client looks (`account_ids`).
        let upstream_body = parsed.as_ref().and_then(|_| match account_ids::mask(body) {
            std::borrow::Cow::Borrowed(_) => Some((upstream, body.clone())),
            std::borrow::Cow::Owned(masked) => serde_json::from_slice::<serde::de::IgnoredAny>(&masked)
                .is_ok()
                .then(|| (upstream, bytes::Bytes::from(masked))),
        });
        let (kind, message) = match parsed {
            Some((kind, message)) => (kind.unwrap_or(ErrorKind::from_status(status)), message),
            None => {
                let snippet = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
                let message = if snippet.trim().is_empty() {
                    format!("upstream returned HTTP {status}")
                } else {
                    format!("upstream returned HTTP {status}: {}", snippet.trim())
                };
                (ErrorKind::from_status(status), message)
            }
        };
        let message = account_ids::mask_str(&message).into_owned();
        // OpenAI clients act on `context_length_exceeded` (Codex compacts its history);
        // Anthropic and Gemini say it in words only.
        let mut upstream_body = upstream_body;
        if code.is_none() && kind == ErrorKind::InvalidRequest && context_overflow(&message) {
            code = Some(CONTEXT_LENGTH_EXCEEDED.to_string());
            // An OpenAI-shaped body without the code is written anew, with it.
            if upstream.error_shape() == Dialect::OpenAiChat {
                upstream_body = None;
            }
        }
        let status = if (400..=599).contains(&status) { Some(status) } else { None };
        ApiError { kind, message, status, code, upstream_body }
    }

    /// The message for an Anthropic client: a context overflow another provider reported
    /// says so as Anthropic does (`prompt is too long: …`), which Claude Code acts on.
    /// When the counts can be read (OpenAI's and Gemini's wording), they come in
    /// Anthropic's form, `N tokens > M maximum`, which Claude Code reads to know how much
    /// to compact.
    fn anthropic_message(&self) -> std::borrow::Cow<'_, str> {
        let overflow = self.code.as_deref() == Some(CONTEXT_LENGTH_EXCEEDED);
        if !overflow || self.message.starts_with(PROMPT_TOO_LONG) {
            return std::borrow::Cow::Borrowed(&self.message);
        }
        let m = &self.message;
        let counts = number_after(m, "resulted in ")
            .zip(number_after(m, "context length is "))
            .or_else(|| number_after(m, "input token count (").zip(number_after(m, "tokens allowed (")));
        std::borrow::Cow::Owned(match counts {
            Some((used, max)) => format!("{PROMPT_TOO_LONG}: {used} tokens > {max} maximum ({m})"),
            None => format!("{PROMPT_TOO_LONG}: {m}"),
        })
    }

    /// An error that arrives inside a stream, in the canonical (Anthropic) event shape.
    pub fn to_stream_event(&self) -> anthropic::StreamEvent {
        anthropic::StreamEvent::Error {
            error: anthropic::ErrorBody {
                kind: self.kind.anthropic_type().to_string(),
                message: self.message.clone(),
                code: self.code.clone(),
            },
        }
    }
}

const CONTEXT_LENGTH_EXCEEDED: &str = "context_length_exceeded";
/// How Anthropic begins the message of a request over the model's context window.
const PROMPT_TOO_LONG: &str = "prompt is too long";

/// The number right after `prefix` in `message`.
fn number_after(message: &str, prefix: &str) -> Option<u64> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Whether an upstream's message says the request is over the model's context window:
/// Anthropic's `prompt is too long: 250000 tokens > 200000 maximum` and `input length
/// and `max_tokens` exceed context limit`, Gemini's `The input token count (…) exceeds
/// the maximum number of tokens allowed (…)`, and OpenAI's wording (`This model's
/// maximum context length is …`) from servers that give no code.
fn context_overflow(message: &str) -> bool {
    message.starts_with(PROMPT_TOO_LONG)
        || message.contains("maximum context length")
        || message.contains("exceed context limit")
        || message.contains("exceeds the maximum number of tokens")
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.anthropic_type(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// Serializes a wire type. Our wire types hold only strings, numbers and JSON values,
/// which always serialize; the fallback keeps this total without a panic path.
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// `to_json` into a buffer of `capacity` bytes first: a request body of about the size
/// of the one it was translated from is written without growing (and copying) its
/// buffer a dozen times.
pub fn to_json_sized<T: Serialize>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out,
        Err(_) => b"{}".to_vec(),
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
