//! The process allocator: mimalloc, called the way its fast paths expect.
//!
//! The `mimalloc` crate hands every allocation to `mi_malloc_aligned(size, align)`.
//! mimalloc 3 serves that from its fast path only for blocks up to 1 KiB whose free
//! block happens to be aligned; anything else goes to its generic aligned path, which
//! over-allocates by the alignment when the block size is not a power of two (a 14 KiB
//! request future, a 4 KiB read buffer). Callgrind counted seven such calls per small
//! request, about 300 instructions each.
//!
//! Plain `mi_malloc` aligns every block of 16 bytes or more to 16, as a C `malloc` must
//! (its size classes are multiples of 16 bytes on 64-bit targets), and every block to 8.
//! So a layout whose alignment is at most 16 and at most its size takes `mi_malloc`,
//! and only larger alignments the aligned functions. The test below checks both kinds.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The largest alignment `mi_malloc` guarantees (for sizes at least that large).
const MAX_PLAIN_ALIGN: usize = 16;

/// mimalloc as the global allocator (see the module comment).
pub struct MiMalloc;

/// Whether a plain (unaligned) mimalloc call is aligned enough for `layout`.
#[inline]
fn plain(align: usize, size: usize) -> bool {
    align <= MAX_PLAIN_ALIGN && align <= size
}

// SAFETY: every method forwards to mimalloc with a size and alignment that satisfy the
// layout (see `plain`); pointers given back come from this allocator, as the
// `GlobalAlloc` contract guarantees, and mimalloc frees any of its blocks with `mi_free`.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI calls; a null return is passed on as the allocation failure.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` was allocated by mimalloc through this allocator.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the new block keeps the
        // alignment because `plain` holds for the new size too, or the aligned call is used.
        unsafe {
            if plain(layout.align(), new_size) {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

/// Gives back to the system the pages the calling thread's mimalloc heap keeps for reuse
/// although nothing in them is allocated any more. mimalloc holds such pages per thread
/// until that thread collects: after a load peak, an idle gateway kept about 12 MiB of
/// them in its two worker threads (26 MiB resident after 256 connections of 80 KiB
/// requests; 14 MiB once each worker had collected).
pub fn release_thread_cache() {
    // SAFETY: `mi_collect` takes no pointers and works on the calling thread's heap (and
    // the shared arenas); `force` makes it free every page that holds no live block.
    unsafe { mi::mi_collect(true) }
}

/// When a worker thread should call [`release_thread_cache`]: after each burst of
/// requests, at the first tick that passed without a request beginning or ending, and
/// again every [`IdleRelease::REPEAT`] quiet ticks, for memory freed later from other
/// threads (idle upstream connections closed by the pool's sweep). Ticks are the
/// caller's (a second in the gateway); `activity` counts the requests the thread has
/// begun and ended. A thread that has served nothing has nothing to give back.
#[derive(Debug, Default)]
pub struct IdleRelease {
    seen: u64,
    /// Quiet ticks since the last request; `None` before the first.
    quiet: Option<u64>,
}

impl IdleRelease {
    pub const REPEAT: u64 = 30;

    /// Called once per tick with the thread's activity count; true when the caches
    /// should be released now.
    pub fn tick(&mut self, activity: u64) -> bool {
        if activity != self.seen {
            self.seen = activity;
            self.quiet = Some(0);
            return false;
        }
        match self.quiet.as_mut() {
            Some(quiet) => {
                *quiet += 1;
                *quiet == 1 || *quiet % Self::REPEAT == 0
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_released_after_each_burst_then_every_thirty_quiet_ticks() {
        let mut idle = IdleRelease::default();
        // Started, nothing served yet: nothing to give back.
        assert!((0..100).all(|_| !idle.tick(0)));
        // Busy ticks: requests keep coming.
        assert!(!idle.tick(5));
        assert!(!idle.tick(40));
        // Quiet ticks 1 to 95: the first releases, then every thirtieth.
        let released: Vec<u64> = (1..=95).filter(|_| idle.tick(40)).collect();
        assert_eq!(released, [1, 30, 60, 90]);
        // One request after a quiet stretch: released at the next quiet tick again.
        assert!(!idle.tick(41));
        assert!(idle.tick(41));
        assert!(!idle.tick(41));
    }

    #[test]
    fn releasing_the_thread_cache_keeps_live_blocks() {
        let a = MiMalloc;
        let layout = Layout::from_size_align(4096, 8).unwrap();
        let freed = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: every block is written within its size, read while live, and freed
        // once with its layout.
        unsafe {
            let kept: Vec<*mut u8> = (0..64u8)
                .map(|i| {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    std::ptr::write_bytes(p, i, 4096);
                    p
                })
                .collect();
            let gone: Vec<*mut u8> = (0..1024).map(|_| a.alloc(freed)).collect();
            for p in gone {
                a.dealloc(p, freed);
            }
            release_thread_cache();
            for (i, &p) in kept.iter().enumerate() {
                assert!(filled(p, 4096, i as u8), "block {i} changed");
                a.dealloc(p, layout);
            }
        }
    }

    fn filled(p: *mut u8, len: usize, byte: u8) -> bool {
        // SAFETY: callers pass a live block of at least `len` bytes.
        unsafe { std::slice::from_raw_parts(p, len) }.iter().all(|&b| b == byte)
    }

    #[test]
    fn blocks_are_aligned_zeroed_and_keep_their_contents_when_resized() {
        let a = MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 9, 15, 16, 24, 40, 1000, 1025, 4096, 14_336, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                let big = Layout::from_size_align(size * 3, align).unwrap();
                let small = Layout::from_size_align(size / 2 + 1, align).unwrap();
                // SAFETY: non-zero sizes; every block is used within its size and freed
                // once, with the layout it has at that point.
                unsafe {
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "alloc_zeroed {size} / {align}");
                    assert!(filled(z, size, 0));
                    a.dealloc(z, layout);

                    let p = a.alloc(layout);
                    assert_eq!(p as usize % align, 0, "alloc {size} / {align}");
                    std::ptr::write_bytes(p, 0xa5, size);
                    let grown = a.realloc(p, layout, big.size());
                    assert_eq!(grown as usize % align, 0, "grown {size} / {align}");
                    assert!(filled(grown, size, 0xa5));
                    std::ptr::write_bytes(grown, 0x5a, big.size());
                    let shrunk = a.realloc(grown, big, small.size());
                    assert_eq!(shrunk as usize % align, 0, "shrunk {size} / {align}");
                    assert!(filled(shrunk, small.size(), 0x5a));
                    a.dealloc(shrunk, small);
                }
            }
        }
    }
}
