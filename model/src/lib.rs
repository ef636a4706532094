//! runit's behaviour as pure state machines.
//!
//! Nothing in this crate can perform I/O, read a clock or an environment variable: it is
//! `no_std` (plus `alloc`) and forbids `unsafe`, so the compiler enforces that every
//! decision is a function of values passed in. The runtime crate turns the world into
//! inputs and carries out the actions that come back (see [`machine::Machine`]).
//!
//! | module | what it decides |
//! |---|---|
//! | [`runsv`] | supervision of one service and its log service |
//! | [`runsvdir`] | which runsv processes a services directory needs |
//! | [`svlogd`] | line assembly, timestamps, selection, rotation |
//! | [`stage`] | runit's three init stages |
//! | [`sv`] | sv's argument parsing, planning, waiting and output lines |
//! | [`chpst`] | chpst's argument parsing and its ordered plan of process changes |
//! | [`readiness`] | readiness protocols (s6 notification-fd, sd_notify) and their service-dir files |
//! | [`record`] | the extended status record `supervise/status.ext` (text, versioned) |
//! | [`utmp`] | utmpset's record edits |
//! | [`spawn`] | a child's set-up between fork and exec, as a plan |
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod errno;
pub mod getopt;
pub mod machine;
pub mod msg;
pub mod scripted;
pub mod spawn;
pub mod status;
pub mod step_cap;
pub mod table;
pub mod time;

pub mod chpst;
pub mod readiness;
pub mod record;
pub mod runsv;
pub mod runsvdir;
pub mod stage;
pub mod sv;
pub mod svcfiles;
pub mod svlogd;
pub mod utmp;

pub use machine::Machine;
pub use step_cap::StepCap;
pub use time::{Mono, Now, Span, Tai64n, Wall};
