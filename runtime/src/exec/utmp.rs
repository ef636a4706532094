//! The utmp executor (being built).
