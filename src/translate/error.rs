//! The gateway's error model and its rendering in each client dialect: one place maps
//! a condition to a status and an error type (protocols.md §4.2).

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

    /// HTTP status for an OpenAI client: no 529 there, overload is 503.
    pub fn openai_status(self) -> u16 {
        match self {
            ErrorKind::Overloaded => 503,
            ErrorKind::RequestTooLarge => 413,
            other => other.anthropic_status(),
        }
    }

    /// HTTP status and gRPC status name for a Gemini client.
    pub fn gemini_status(self) -> (u16, &'static str) {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::RequestTooLarge => (400, "INVALID_ARGUMENT"),
            ErrorKind::Authentication => (401, "UNAUTHENTICATED"),
            ErrorKind::Billing | ErrorKind::Permission => (403, "PERMISSION_DENIED"),
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

    /// The kind an OpenAI error `code` or `type` stands for (Chat and Responses share
    /// them); anything unknown is a server-side error.
    pub fn from_openai_code(code: &str) -> Self {
        match code {
            "rate_limit_exceeded" | "rate_limit_error" | "requests" | "tokens" => ErrorKind::RateLimit,
            "insufficient_quota" => ErrorKind::Billing,
            "invalid_api_key" | "authentication_error" => ErrorKind::Authentication,
            "permission_error" => ErrorKind::Permission,
            "server_overloaded" | "overloaded" | "overloaded_error" => ErrorKind::Overloaded,
            "server_error" | "api_error" => ErrorKind::Api,
            c if c.starts_with("invalid_") || c.starts_with("image_") || c == "context_length_exceeded" => {
                ErrorKind::InvalidRequest
            }
            _ => ErrorKind::Api,
        }
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
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), status: None }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// The HTTP status for a client of `dialect`.
    pub fn status_for(&self, dialect: Dialect) -> u16 {
        match (dialect.error_shape(), self.status) {
            // Gemini has its own status set; the kind decides.
            (Dialect::Gemini, _) => self.kind.gemini_status().0,
            // OpenAI clients know no 529.
            (Dialect::OpenAiChat, Some(529)) => 503,
            // An OpenAI-style 503 overload is Anthropic's retryable 529.
            (Dialect::Anthropic, Some(503)) if self.kind == ErrorKind::Overloaded => 529,
            (_, Some(s)) => s,
            (Dialect::Anthropic, None) => self.kind.anthropic_status(),
            (_, None) => self.kind.openai_status(),
        }
    }

    /// The JSON error body in `dialect`.
    pub fn body_for(&self, dialect: Dialect) -> Vec<u8> {
        match dialect.error_shape() {
            Dialect::Gemini => {
                let (code, status) = self.kind.gemini_status();
                to_json(&serde_json::json!({"error": {"code": code, "message": self.message, "status": status}}))
            }
            Dialect::Anthropic => to_json(&anthropic::ErrorResponse {
                kind: "error".to_string(),
                error: anthropic::ErrorBody {
                    kind: self.kind.anthropic_type().to_string(),
                    message: self.message.clone(),
                },
            }),
            _ => to_json(&openai_chat::ErrorResponse {
                error: openai_chat::ErrorObject {
                    message: self.message.clone(),
                    kind: Some(self.kind.openai_type().to_string()),
                    param: None,
                    code: self.openai_code().map(|c| serde_json::Value::String(c.to_string())),
                },
            }),
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
    pub fn from_upstream(status: u16, body: &[u8], upstream: Dialect) -> Self {
        let parsed = match upstream {
            Dialect::Anthropic => serde_json::from_slice::<anthropic::ErrorResponse>(body)
                .ok()
                .map(|e| (ErrorKind::from_anthropic_type(&e.error.kind), e.error.message)),
            Dialect::OpenAiChat | Dialect::OpenAiResponses => {
                serde_json::from_slice::<openai_chat::ErrorResponse>(body).ok().map(|e| (None, e.error.message))
            }
            Dialect::Gemini => serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| {
                let e = v.get("error")?;
                let kind = e.get("status").and_then(|s| s.as_str()).and_then(ErrorKind::from_gemini_status);
                Some((kind, e.get("message")?.as_str()?.to_string()))
            }),
        };
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
        let status = if (400..=599).contains(&status) { Some(status) } else { None };
        ApiError { kind, message, status }
    }

    /// An error that arrives inside a stream, in the canonical (Anthropic) event shape.
    pub fn to_stream_event(&self) -> anthropic::StreamEvent {
        anthropic::StreamEvent::Error {
            error: anthropic::ErrorBody { kind: self.kind.anthropic_type().to_string(), message: self.message.clone() },
        }
    }
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
mod tests {
    use super::*;

    #[test]
    fn anthropic_429_keeps_status_and_type_for_both_dialects() {
        let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let e = ApiError::from_upstream(429, body, Dialect::Anthropic);
        assert_eq!(e.status_for(Dialect::Anthropic), 429);
        assert_eq!(e.status_for(Dialect::OpenAiChat), 429);
        assert_eq!(
            e.body_for(Dialect::OpenAiChat),
            br#"{"error":{"message":"slow down","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}"#
        );
    }

    #[test]
    fn overloaded_is_529_for_anthropic_and_503_for_openai() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#;
        let e = ApiError::from_upstream(529, body, Dialect::Anthropic);
        assert_eq!(e.status_for(Dialect::Anthropic), 529);
        assert_eq!(e.status_for(Dialect::OpenAiChat), 503);
        let openai_503 = ApiError::from_upstream(503, br#"{"error":{"message":"busy"}}"#, Dialect::OpenAiChat);
        assert_eq!(openai_503.kind, ErrorKind::Overloaded);
        assert_eq!(openai_503.status_for(Dialect::Anthropic), 529);
        assert_eq!(
            openai_503.body_for(Dialect::Anthropic),
            br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#
        );
    }

    #[test]
    fn unparseable_body_is_quoted_in_the_message() {
        let e = ApiError::from_upstream(502, b"<html>bad gateway</html>", Dialect::OpenAiChat);
        assert_eq!(e.kind, ErrorKind::Api);
        assert_eq!(e.message, "upstream returned HTTP 502: <html>bad gateway</html>");
        assert_eq!(e.status_for(Dialect::Anthropic), 502);
    }
}
