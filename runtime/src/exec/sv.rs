//! The sv executor (being built).
