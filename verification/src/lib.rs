//! Verification harnesses shared by the test files in `verification/tests/`:
//! reference models, the bounded explorer, the simulated kernel, and the golden-table
//! generators.
pub mod contract;
pub mod explore;
pub mod reference;
pub mod sim;
pub mod tables;
