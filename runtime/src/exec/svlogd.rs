//! The svlogd executor (being built).
