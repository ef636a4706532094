//! sv's pure half (spec/sv.md): argv parsing and mode selection, command-word dispatch,
//! service name resolution, the status line, wait predicates, output lines and exit codes.
//!
//! sv is a short-lived, strictly sequential client: every step (chdir, liveness probe,
//! status read, control write, `./check` run) needs the previous step's result before the
//! next one can be chosen. So instead of an action queue, the flow in [`session`] asks an
//! [`Effects`] implementation for each fact as it needs it. `Effects` is the only way the
//! model touches the world; the runtime implements it with syscalls and the tests with a
//! scripted fake, so every decision here is testable without processes.
//!
//! The waiting part is still driven like a machine: [`Session::poll_deadline`] says when
//! to call [`Session::on_tick`], and [`Session::on_changed`] reacts at once to a change
//! in a service's `supervise/` directory (inotify in the runtime).
//!
//! The machine-output modes (`-j`, `-o`, `-m`/`-M`, `-r`; docs/readiness.md §4) run
//! through [`report`] instead: [`view`] builds what is known about a service from the
//! 20 bytes and the extended record, [`json`], [`svstat`] and [`metrics`] format it.
//!
//! Two deliberate improvements over runit 2.1.2 live in [`predicate`] and [`session`]
//! (docs/divergences.md, `## sv`): waits are satisfied only by a real change (no
//! whole-second race), and they react to status changes immediately.

pub mod args;
pub mod command;
pub mod json;
pub mod line;
pub mod metrics;
pub mod predicate;
pub mod report;
pub mod resolve;
pub mod session;
pub mod svstat;
pub mod view;

pub use args::{parse, Env, Invocation, Mode, Output, Parse};
pub use command::{dispatch, Command, Kind, WaitRule};
pub use predicate::{Baseline, Rule};
pub use session::{CheckRun, Effects, Session, StatusError, WriteOutcome};

use crate::time::Span;

/// Services directory for bare names when `SVDIR` is unset (Debian's value; upstream
/// runit uses `/service/`).
pub const SVDIR_DEFAULT: &[u8] = b"/etc/service/";

/// Wait limit in seconds when neither `-w` nor `SVWAIT` is given.
pub const SVWAIT_DEFAULT_SECS: u64 = 7;

/// How often a pending wait re-reads everything and re-runs `./check` (runit's 420 ms).
pub const CHECK_INTERVAL: Span = Span::from_millis(420);

/// For this long after sv starts, pending services are polled every [`FAST_POLL`]
/// instead of being watched with inotify. Most commands take effect within a few
/// milliseconds, and closing an inotify descriptor that ever held a watch costs the
/// process ~10 ms at exit (the kernel waits for an SRCU grace period), which would be
/// most of sv's latency; past this phase, inotify is cheaper than polling.
pub const FAST_PHASE: Span = Span::from_millis(100);

/// Status re-read period during [`FAST_PHASE`], per pending service (10 services: every
/// 10 ms, capped at [`STATUS_POLL_FALLBACK`]).
pub const FAST_POLL: Span = Span::from_millis(1);

/// How often the status is re-read when a service's `supervise/` cannot be watched
/// (inotify unavailable): cheap, and `./check` still only runs every [`CHECK_INTERVAL`]
/// unless the status changed.
pub const STATUS_POLL_FALLBACK: Span = Span::from_millis(10);

/// The version line `-V` prints (any `$Id: ... $` line is accepted; this is runit's).
pub const VERSION: &[u8] = b"$Id: 900314260c6d52c986c5357673bea2f3bd3f4698 $\n";

/// Usage synopsis in normal mode (after the program name).
pub const SYNOPSIS: &[u8] = b" [-v] [-w sec] command service ...";

/// Usage synopsis in LSB init-script mode.
pub const SYNOPSIS_LSB: &[u8] = b" [-w sec] command";

/// Exit code for usage and fatal errors in normal mode.
pub const EXIT_USAGE: i32 = 100;
/// Exit code for usage errors in LSB mode.
pub const EXIT_USAGE_LSB: i32 = 2;
/// Exit code for fatal errors in LSB mode.
pub const EXIT_FATAL_LSB: i32 = 151;
/// The failure count is capped here so it never collides with 100.
pub const EXIT_FAILURES_MAX: u32 = 99;

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod session_tests;
