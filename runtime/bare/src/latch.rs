//! The pending-signal latch: the signal handler records a bit, the loop takes all bits.
//!
//! The hand-off order is what makes it lossless: the handler sets its bit *before*
//! writing the wake byte, and the loop drains the wake pipe *before* taking the bits. A
//! signal that lands after the take leaves both a bit and a byte behind, so the next wait
//! wakes at once. loom checks this (and that the opposite order loses a signal) in
//! `runtime/tests/loom_latch.rs`.
//!
//! Here in `bare` (atomics only, no std) so the freestanding runsv's handler
//! ([`crate::signal`]) and the std one (`runtime::signals`) share it;
//! `runtime::latch` re-exports it.

#[cfg(not(loom))]
use core::sync::atomic::{AtomicU64, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};

/// A set of pending signal numbers (1..=63) as a bit mask.
pub struct Latch {
    pending: AtomicU64,
}

impl Latch {
    /// An empty latch.
    #[cfg(not(loom))]
    pub const fn new() -> Latch {
        Latch { pending: AtomicU64::new(0) }
    }

    /// An empty latch (loom's atomics are not `const`).
    #[cfg(loom)]
    pub fn new() -> Latch {
        Latch { pending: AtomicU64::new(0) }
    }

    /// Records `signo` as pending. Async-signal-safe: one atomic OR.
    pub fn record(&self, signo: i32) {
        if (1..64).contains(&signo) {
            self.pending.fetch_or(1u64 << signo, Ordering::SeqCst);
        }
    }

    /// Takes every pending signal, leaving the latch empty. Repeated signals coalesce.
    pub fn take(&self) -> SignalSet {
        SignalSet(self.pending.swap(0, Ordering::SeqCst))
    }
}

#[cfg(not(loom))]
impl Default for Latch {
    fn default() -> Self {
        Latch::new()
    }
}

/// Signals taken from the latch in one go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(pub u64);

impl SignalSet {
    /// Whether `signo` is in the set.
    pub fn contains(self, signo: i32) -> bool {
        (1..64).contains(&signo) && self.0 & (1u64 << signo) != 0
    }
    /// Whether no signal is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
