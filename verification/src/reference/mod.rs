//! Naive reference models of runit's semantics and the simulated surroundings used to drive
//! the real machines against them (ARCHITECTURE.md "Verification layers" 3 and 4).
//!
//! A reference model is deliberately simple: a direct transliteration of the spec, so a
//! difference between it and the real machine is either a bug or an undocumented divergence.

pub mod runsv;
pub mod runsv_adopt;
pub mod runsv_world;
