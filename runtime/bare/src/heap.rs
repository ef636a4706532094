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

    #[test]
    fn impossible_requests_are_null_not_a_crash() {
        let heap = std::boxed::Box::new(Heap::new());
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        // SAFETY: null results are not freed; nothing else is allocated.
        unsafe {
            assert!(heap.alloc(l(16, 8192)).is_null(), "an alignment above a page is refused");
            assert!(heap.alloc(l(isize::MAX as usize - 8191, 4096)).is_null(), "an unmappable size is refused");
            let small = heap.alloc(l(8, 8));
            assert!(!small.is_null(), "the heap still works after refusals");
            heap.dealloc(small, l(8, 8));
        }
    }

    /// Under an address-space limit the heap runs out: `alloc` returns null (which
    /// `alloc::alloc::handle_alloc_error` turns into an abort, never a corrupt block),
    /// every block handed out before is intact, and freed blocks are handed out again.
    /// In a forked child (raw `fork`, no allocation after it: the test harness is
    /// multi-threaded), which reports through its exit code.
    #[test]
    fn exhaustion_is_a_null_and_freed_blocks_come_back() {
        const CAP: usize = 20_000; // 4 KiB blocks: 80 MiB, past any limit set below
        const SETRLIMIT: usize = 160;
        const RLIMIT_AS: usize = 9;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let vm_kib: usize = status
            .lines()
            .find_map(|l| l.strip_prefix("VmSize:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmSize in /proc/self/status");
        let limit = [(vm_kib + 4096) * 1024, usize::MAX]; // soft: 4 MiB more; hard: unchanged
        let heap = std::boxed::Box::new(Heap::new());
        let mut blocks: std::vec::Vec<*mut u8> = std::vec::Vec::with_capacity(CAP);
        let layout = Layout::from_size_align(4096, 8).unwrap();
        match sys::fork().expect("fork") {
            0 => {
                // SAFETY: the child only makes raw system calls and uses `heap`, whose
                // blocks it owns; `blocks` never grows past its capacity.
                let code = unsafe {
                    if sys::syscall6(SETRLIMIT, [RLIMIT_AS, limit.as_ptr() as usize, 0, 0, 0, 0]) != 0 {
                        sys::exit_thread(5)
                    }
                    let mut exhausted = false;
                    while blocks.len() < CAP {
                        let p = heap.alloc(layout);
                        if p.is_null() {
                            exhausted = true;
                            break;
                        }
                        p.write_bytes(blocks.len() as u8, 4096);
                        blocks.push(p);
                    }
                    let intact = blocks
                        .iter()
                        .enumerate()
                        .all(|(i, &p)| (p as usize) & 4095 == 0 && (0..4096).step_by(511).all(|k| *p.add(k) == i as u8));
                    for &p in blocks.iter().rev() {
                        heap.dealloc(p, layout);
                    }
                    let again = heap.alloc(layout);
                    if !exhausted {
                        1
                    } else if !intact {
                        3
                    } else if again.is_null() || Some(again) != blocks.first().copied() {
                        4
                    } else {
                        0
                    }
                };
                sys::exit_thread(code)
            }
            pid => {
                let status = sys::wait_pid(pid).expect("wait4");
                assert_eq!(status & 0x7f, 0, "the child was killed by signal {}", status & 0x7f);
                let code = (status >> 8) & 0xff;
                assert_eq!(code, 0, "1: no null before the cap, 3: a block corrupted, 4: a freed block not reused, 5: setrlimit failed");
            }
        }
    }

    /// One step of a heap's life, for the model test below.
    #[derive(Clone, Debug)]
    enum Op {
        /// Allocate `size` bytes aligned to `1 << align_log`.
        Alloc { size: usize, align_log: u32 },
        /// Free the live block at this index (modulo the number live).
        Free(usize),
        /// Resize the live block at this index to `size`.
        Realloc(usize, usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let size = prop_oneof![4 => 1usize..=64, 3 => 65usize..=4096, 1 => 4097usize..=20_000];
        prop_oneof![
            3 => (size.clone(), 0u32..=7).prop_map(|(size, align_log)| Op::Alloc { size, align_log }),
            2 => any::<usize>().prop_map(Op::Free),
            1 => (any::<usize>(), size).prop_map(|(i, size)| Op::Realloc(i, size)),
        ]
    }

    proptest::proptest! {
        /// Against a model (a Vec of live blocks, each filled with its own byte): every
        /// block is non-null, aligned, disjoint from every other live block, and keeps its
        /// contents through other blocks' allocation, freeing and resizing, and its own
        /// resizing (up to the smaller size).
        #[test]
        fn alloc_free_realloc_sequences_keep_blocks_aligned_disjoint_and_intact(ops in proptest::collection::vec(op(), 1..120)) {
            let heap = std::boxed::Box::new(Heap::new());
            let mut live: std::vec::Vec<(*mut u8, Layout, u8)> = std::vec::Vec::new();
            let mut next_byte = 0u8;
            let intact = |&(p, l, b): &(*mut u8, Layout, u8)| {
                // SAFETY: p is a live block of l.size() bytes.
                unsafe { core::slice::from_raw_parts(p, l.size()) }.iter().all(|&x| x == b)
            };
            let disjoint = |live: &[(*mut u8, Layout, u8)], p: *mut u8, size: usize| {
                live.iter().all(|&(q, l, _)| p as usize + size <= q as usize || q as usize + l.size() <= p as usize)
            };
            for op in ops {
                match op {
                    Op::Alloc { size, align_log } => {
                        let layout = Layout::from_size_align(size, 1 << align_log).unwrap();
                        // SAFETY: a non-zero-sized layout.
                        let p = unsafe { heap.alloc(layout) };
                        proptest::prop_assert!(!p.is_null());
                        proptest::prop_assert_eq!(p as usize % layout.align(), 0);
                        proptest::prop_assert!(disjoint(&live, p, size));
                        next_byte = next_byte.wrapping_add(1);
                        // SAFETY: a fresh block of `size` bytes.
                        unsafe { p.write_bytes(next_byte, size) };
                        live.push((p, layout, next_byte));
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let block = live.swap_remove(i % live.len());
                        proptest::prop_assert!(intact(&block));
                        // SAFETY: freed once, with its layout.
                        unsafe { heap.dealloc(block.0, block.1) };
                    }
                    Op::Realloc(i, size) if !live.is_empty() => {
                        let (p, layout, b) = live.swap_remove(i % live.len());
                        // SAFETY: a live block, its layout, a non-zero size.
                        let q = unsafe { heap.realloc(p, layout, size) };
                        proptest::prop_assert!(!q.is_null());
                        proptest::prop_assert_eq!(q as usize % layout.align(), 0);
                        proptest::prop_assert!(disjoint(&live, q, size));
                        let kept = layout.size().min(size);
                        // SAFETY: q is a live block of at least `size` bytes.
                        let head = unsafe { core::slice::from_raw_parts(q, kept) };
                        proptest::prop_assert!(head.iter().all(|&x| x == b), "realloc kept the first {} bytes", kept);
                        // SAFETY: as above.
                        unsafe { q.write_bytes(b, size) };
                        live.push((q, Layout::from_size_align(size, layout.align()).unwrap(), b));
                    }
                    _ => {}
                }
                proptest::prop_assert!(live.iter().all(intact));
            }
            for block in live {
                proptest::prop_assert!(intact(&block));
                // SAFETY: freed once, with its layout.
                unsafe { heap.dealloc(block.0, block.1) };
            }
        }
    }
}
