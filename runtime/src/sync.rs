//! Atomics used by the signal hand-off, swapped for loom's under `cfg(loom)` so the same
//! code is model-checked (the tokio `loom` shim pattern).

#[cfg(loom)]
pub use loom::sync::atomic;
#[cfg(not(loom))]
pub use std::sync::atomic;
