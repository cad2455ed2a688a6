//! Worker threads give their allocator caches back to the system when they go quiet.
//!
//! mimalloc keeps the pages that frees have emptied in the heap of the thread that
//! allocated them until that thread collects (see [`crate::allocator::release_thread_cache`]).
//! Each worker thread counts the requests it begins and ends, in `request_filter` and
//! `logging`, phases that run on the thread serving the request for HTTP/1 and HTTP/2
//! alike. The first request a thread serves starts a task on that thread's runtime
//! (each worker thread runs its own: `work_stealing: false` in `main`) that looks once a
//! second whether the count moved, and releases the caches as
//! [`crate::allocator::IdleRelease`] decides: at the first second without a request
//! beginning or ending, then every 30 s while the thread stays quiet. Streams still
//! running keep their memory: only pages with nothing allocated in them are freed. The
//! task ends with its runtime.
//!
//! A forced collect also returns the process's freed pages at once instead of after
//! mimalloc's purge delay, so the next request after a pause may fault a few pages back
//! in: a cost paid once per pause, not per request under load.

use std::cell::Cell;
use std::time::Duration;

/// How often a worker thread looks whether it has gone quiet.
const TICK: Duration = Duration::from_secs(1);

thread_local! {
    /// Requests this thread has begun plus those it has ended.
    static ACTIVITY: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread's [`collect_when_idle`] task was started.
    static COLLECTING: Cell<bool> = const { Cell::new(false) };
}

/// Records that a request began or ended on this thread; the first call on a thread
/// starts its collector. Must be called from within the thread's runtime.
pub fn note_activity() {
    ACTIVITY.set(ACTIVITY.get().wrapping_add(1));
    if !COLLECTING.replace(true) {
        tokio::spawn(collect_when_idle());
    }
}

async fn collect_when_idle() {
    let mut idle = crate::allocator::IdleRelease::default();
    loop {
        tokio::time::sleep(TICK).await;
        if idle.tick(ACTIVITY.get()) {
            crate::allocator::release_thread_cache();
        }
    }
}
