//! The pending-signal latch, now in `bare` (no std needed: atomics only) so the
//! freestanding runsv shares it; re-exported here so every user compiles unchanged.

pub use bare::latch::{Latch, SignalSet};
