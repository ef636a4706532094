//! Golden-table generators of the machines whose tables are built from scripted
//! scenarios: each renders `docs/state-tables/<machine>.md`, compared by a test in
//! `verification/tests/`. They live here, not in the shipping `no_std` model, because
//! only tests need them.

pub mod runsvdir;
pub mod stage;
pub mod svlogd;
