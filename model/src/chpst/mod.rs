//! chpst: argv (and the personality chosen by argv\[0\]) to an ordered plan of
//! process-state changes, plus the pure decisions the runtime needs while carrying the
//! plan out (spec/chpst.md).
//!
//! The contract: [`parse`] turns argv into either a usage message (exit 100) or a
//! [`Plan`]. A plan is a list of [`Step`]s already sorted in runit's fixed order (setsid,
//! envdir, chroot, nice, `-U`, `-u`, lock, closing fds, limits) followed by the exec. The
//! runtime performs each step with syscalls and asks this module for every decision it
//! meets on the way: which envdir entries count and what value a file gives
//! ([`envdir`]), who an account is given user-database answers ([`account`]), what soft
//! limit to set given the hard one ([`limits`]), where to look for the program and when
//! to stop looking ([`path`]), how the environment is rebuilt ([`env`]), and the exact
//! text and exit code of every failure ([`fatal`]).

pub mod account;
pub mod env;
pub mod envdir;
pub mod fatal;
pub mod limits;
pub mod parse;
pub mod path;
pub mod plan;

pub use account::{AccountSpec, Ids, Lookup, UserDb};
pub use env::EnvEdit;
pub use fatal::{Fatal, Termination};
pub use limits::{Limit, LimitValue};
pub use parse::{parse, parse_with, personality, Dialect, Parsed, Personality};
pub use plan::{Exec, OnFailure, Plan, Step, SubdirPolicy};

/// Exit code of every usage error of chpst and its personalities.
pub const EXIT_USAGE: i32 = 100;
/// Exit code of every fatal error of chpst and its personalities.
pub const EXIT_FATAL: i32 = 111;
