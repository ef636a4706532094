//! The heap of a single-threaded freestanding program: blocks of 16 B to 4 KiB in
//! power-of-two size classes with one free list each, carved from a 32 KiB arena in
//! `.bss` (pages are touched only when used) and then from 64 KiB anonymous mappings;
//! larger blocks are mappings of their own, unmapped when freed. Freed blocks are reused,
//! so a long `sv -w` stays bounded by what it holds at once.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

use crate::sys;

const CLASSES: usize = 9; // 16 << 0 ..= 16 << 8 = 4096
const LARGEST: usize = 16 << (CLASSES - 1);
const ARENA: usize = 32 * 1024;
const CHUNK: usize = 64 * 1024;
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Arena([u8; ARENA]);

struct State {
    /// Head of each class's free list (the first word of a free block is the next).
    free: [*mut u8; CLASSES],
    /// The unused part of the current arena or chunk.
    next: usize,
    end: usize,
    arena_used: bool,
}

/// The global allocator of a freestanding binary ([`crate::freestanding_main!`]).
pub struct Heap {
    arena: UnsafeCell<Arena>,
    state: UnsafeCell<State>,
}

// SAFETY: freestanding binaries are single-threaded (no thread is ever created; a forked
// child only execs or exits), so the cells are never accessed concurrently.
unsafe impl Sync for Heap {}

impl Heap {
    /// An empty heap.
    pub const fn new() -> Heap {
        Heap {
            arena: UnsafeCell::new(Arena([0; ARENA])),
            state: UnsafeCell::new(State { free: [core::ptr::null_mut(); CLASSES], next: 0, end: 0, arena_used: false }),
        }
    }
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

/// The size class of a request (`None`: a mapping of its own).
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(16);
    if size > LARGEST {
        return None;
    }
    Some(size.next_power_of_two().trailing_zeros() as usize - 4)
}

fn round_to_page(n: usize) -> usize {
    (n + PAGE - 1) & !(PAGE - 1)
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else {
            if layout.align() > PAGE {
                return core::ptr::null_mut();
            }
            return sys::map_anonymous(round_to_page(layout.size())).unwrap_or(core::ptr::null_mut());
        };
        // SAFETY: single-threaded (see the Sync impl); no reference outlives this call.
        let st = unsafe { &mut *self.state.get() };
        let head = st.free[c];
        if !head.is_null() {
            // SAFETY: a free block's first word holds the next free block of its class.
            st.free[c] = unsafe { *(head as *mut *mut u8) };
            return head;
        }
        let size = 16usize << c;
        // Blocks are aligned to their size (sizes and alignments are powers of two).
        let mut at = (st.next + size - 1) & !(size - 1);
        if at + size > st.end || st.end == 0 {
            let (start, len) = if !st.arena_used {
                st.arena_used = true;
                (self.arena.get() as usize, ARENA)
            } else {
                match sys::map_anonymous(CHUNK) {
                    Ok(p) => (p as usize, CHUNK),
                    Err(_) => return core::ptr::null_mut(),
                }
            };
            st.next = start;
            st.end = start + len;
            at = start;
        }
        st.next = at + size;
        at as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else {
            // SAFETY: the block was its own mapping of this rounded size.
            unsafe { sys::unmap(ptr, round_to_page(layout.size())) };
            return;
        };
        // SAFETY: single-threaded; the freed block is at least 16 bytes and aligned.
        unsafe {
            let st = &mut *self.state.get();
            *(ptr as *mut *mut u8) = st.free[c];
            st.free[c] = ptr;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes_and_alignments() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(class(l(1, 1)), Some(0));
        assert_eq!(class(l(16, 8)), Some(0));
        assert_eq!(class(l(17, 1)), Some(1));
        assert_eq!(class(l(8, 64)), Some(2));
        assert_eq!(class(l(4096, 1)), Some(8));
        assert_eq!(class(l(4097, 1)), None);
    }

    #[test]
    fn freed_blocks_are_reused_and_blocks_are_aligned_and_distinct() {
        let heap = std::boxed::Box::new(Heap::new());
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        // SAFETY: every block is freed once, with the layout it was allocated with.
        unsafe {
            let a = heap.alloc(l(24, 8));
            let b = heap.alloc(l(24, 8));
            let c = heap.alloc(l(100, 64));
            assert!(!a.is_null() && !b.is_null() && !c.is_null());
            assert_ne!(a, b);
            assert_eq!(a as usize % 32, 0);
            assert_eq!(c as usize % 64, 0);
            a.write_bytes(0xaa, 24);
            b.write_bytes(0xbb, 24);
            assert_eq!(*a.add(23), 0xaa);
            heap.dealloc(a, l(24, 8));
            assert_eq!(heap.alloc(l(30, 1)), a, "a freed block of the class is handed out again");
            // Past the arena: more blocks than it holds come from mappings.
            let blocks: std::vec::Vec<*mut u8> = (0..40).map(|_| heap.alloc(l(4096, 8))).collect();
            assert!(blocks.iter().all(|p| !p.is_null() && (*p as usize) & 4095 == 0));
            let mut sorted = blocks.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 40);
            for p in blocks {
                heap.dealloc(p, l(4096, 8));
            }
            let big = heap.alloc(l(100_000, 16));
            assert!(!big.is_null());
            big.add(99_999).write(1);
            heap.dealloc(big, l(100_000, 16));
        }
    }
}
