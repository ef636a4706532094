//! Verification harnesses shared by the test files in `verification/tests/`:
//! reference models, the bounded explorer, and the simulated kernel.
pub mod explore;
pub mod reference;
pub mod sim;
