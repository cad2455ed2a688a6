//! What an upstream error response means for retries and health (pure).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try another key or channel. `channel_too`: the failure counts against the
    /// whole channel (server errors, overload), not just the key (rate limits).
    Retryable { channel_too: bool },
    /// The key is refused (auth, billing, quota): retire it and try the next key.
    Retire,
    /// The request itself is at fault: answer the client with it.
    Final,
}

/// Words in an error message that mean the account, not the request, is the problem.
const QUOTA_WORDS: [&str; 4] = ["insufficient", "quota", "credit", "balance"];

/// `billing`: the error's own type or code says the account is out of credit
/// (`insufficient_quota`, `billing_error`). `resets`: the error itself says when to try
/// again (Gemini's `RetryInfo`; a `retry-after` header, which Anthropic sends on every
/// 429, does not count): a limit that resets soon is a rate limit, whatever words its
/// message uses (Gemini's per-minute 429 speaks of "quota").
pub fn classify(status: u16, message: &str, billing: bool, resets: bool) -> ErrorClass {
    let quota = || {
        let m = message.to_ascii_lowercase();
        QUOTA_WORDS.iter().any(|w| m.contains(w))
    };
    match status {
        401..=403 => ErrorClass::Retire,
        400 | 429 if billing => ErrorClass::Retire,
        429 if resets => ErrorClass::Retryable { channel_too: false },
        400 | 429 if quota() => ErrorClass::Retire,
        429 => ErrorClass::Retryable { channel_too: false },
        408 | 500 | 502 | 503 | 504 | 529 => ErrorClass::Retryable { channel_too: true },
        _ => ErrorClass::Final,
    }
}

/// `retry-after-ms` (milliseconds) or `retry-after` (seconds, possibly fractional).
/// HTTP-date forms and values over an hour are ignored.
pub fn retry_after(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<Duration> {
    let parsed = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|ms| ms / 1000.0)
        .or_else(|| retry_after.and_then(|v| v.trim().parse::<f64>().ok()))?;
    (parsed.is_finite() && parsed > 0.0 && parsed <= 3600.0).then(|| Duration::from_secs_f64(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let c = |status, message| classify(status, message, false, false);
        assert_eq!(c(529, "Overloaded"), ErrorClass::Retryable { channel_too: true });
        assert_eq!(c(503, ""), ErrorClass::Retryable { channel_too: true });
        assert_eq!(c(429, "slow down"), ErrorClass::Retryable { channel_too: false });
        assert_eq!(c(429, "You exceeded your current quota"), ErrorClass::Retire);
        assert_eq!(c(400, "Your credit balance is too low"), ErrorClass::Retire);
        assert_eq!(c(401, "invalid x-api-key"), ErrorClass::Retire);
        assert_eq!(c(402, ""), ErrorClass::Retire);
        assert_eq!(c(400, "messages: field required"), ErrorClass::Final);
        assert_eq!(c(404, "model not found"), ErrorClass::Final);
        assert_eq!(c(413, ""), ErrorClass::Final);
        // The error's type says billing, whatever the words.
        assert_eq!(classify(429, "Request limit", true, true), ErrorClass::Retire);
        // A limit with a reset time is a rate limit, whatever the words (Gemini's 429).
        let gemini = "You exceeded your current quota, please check your plan and billing details.";
        assert_eq!(classify(429, gemini, false, true), ErrorClass::Retryable { channel_too: false });
        assert_eq!(classify(429, gemini, false, false), ErrorClass::Retire);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(None, Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(Some("1500"), Some("9")), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(None, Some("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(retry_after(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(None, Some("86400")), None);
        assert_eq!(retry_after(None, None), None);
    }
}
