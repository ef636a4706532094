//! The stage executor (being built).
