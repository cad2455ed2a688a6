//! The relay's timeouts (first byte, stream idle): Pingora's fast timer, with coarse
//! deadlines.
//!
//! Registering a fast timer is a lookup in a per-thread map of 10 ms slots; a slot
//! stays in the map until its time comes, however early the guarded read finished.
//! With timeouts of minutes, a busy gateway kept a slot for every 10 ms of the last
//! five minutes on each thread (about 10 MiB). Deadlines are therefore rounded up to a
//! step of 1/100 of the timeout, at most one second: a five-minute timeout keeps at
//! most 300 slots per thread, and fires at most 1% late.
//!
//! tokio's timer forgets a timeout as soon as it is dropped, but registering one into an
//! empty timer wheel writes to the runtime's eventfd: one more system call per request
//! whenever the gateway is not busy. (Pingora sends timeouts over 15 minutes to tokio's
//! timer anyway.)

use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The longest step a deadline is rounded up to.
const MAX_STEP: Duration = Duration::from_secs(1);

/// Deadlines are whole steps after this instant.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// `future`, failing with `Elapsed` once `limit` (rounded up as above) has passed.
pub(super) fn timeout<F: Future>(
    limit: Duration,
    future: F,
) -> pingora_timeout::Timeout<F, pingora_timeout::fast_timeout::FastOrTokioTimeout> {
    let now = Instant::now();
    pingora_timeout::timeout(rounded(now.saturating_duration_since(*EPOCH), limit), future)
}

/// The wait that ends at the first whole step (of `limit / 100`, at most [`MAX_STEP`])
/// after `since_epoch + limit`, counted from `since_epoch`.
fn rounded(since_epoch: Duration, limit: Duration) -> Duration {
    let step = (limit / 100).clamp(Duration::from_millis(1), MAX_STEP).as_nanos();
    let deadline = since_epoch.as_nanos() + limit.as_nanos();
    let aligned = deadline.div_ceil(step) * step;
    // At most `limit + step` after `since_epoch`; a timeout beyond u64 nanoseconds
    // (584 years) is cut to that.
    Duration::from_nanos(u64::try_from(aligned - since_epoch.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_within_a_step_share_one_slot() {
        let limit = Duration::from_secs(300);
        let mut ends = std::collections::BTreeSet::new();
        for ms in 0..3_000u64 {
            let at = Duration::from_millis(10_000 + ms);
            let wait = rounded(at, limit);
            assert!(wait >= limit && wait < limit + MAX_STEP, "{ms}: {wait:?}");
            ends.insert(at + wait);
        }
        // Three seconds of requests: three deadlines (a fourth when the start is not aligned).
        assert!(ends.len() <= 4, "{ends:?}");
        assert!(ends.iter().all(|e| e.subsec_nanos() == 0), "{ends:?}");
    }

    #[test]
    fn short_timeouts_stay_precise() {
        let limit = Duration::from_millis(300);
        for ns in [0u64, 1, 2_999_999, 3_000_000, 123_456_789] {
            let wait = rounded(Duration::from_nanos(ns), limit);
            assert!(wait >= limit && wait < limit + Duration::from_millis(3), "{ns}: {wait:?}");
        }
        assert_eq!(rounded(Duration::ZERO, Duration::ZERO), Duration::ZERO);
    }
}
