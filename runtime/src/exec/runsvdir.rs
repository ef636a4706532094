//! The runsvdir executor (being built).
