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

#[cfg(test)]
mod tests {
    use super::*;

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
