//! The chpst executor (being built).
