//! runsvdir: which runsv processes a services directory needs (spec/runsvdir.md).
//!
//! The runtime reports facts — the directory's (mtime, inode, device), the entries of a
//! scan with what `stat` said about each, pids of started and exited runsv processes,
//! signals, inotify change notices, bytes from the log pipe — and the [`Runsvdir`]
//! machine decides what to start, what to TERM, what to warn about and when to look
//! again. Pure parts beside it: argv parsing ([`args`]), runit's exact message text
//! ([`msg`]), the readproctitle scrolling buffer ([`title`]), what an inotify event
//! means ([`watch`]) and runsvchdir's step machine ([`chdir`]).
//!
//! Services are keyed by the (device, inode) of their directory, at most
//! [`MAX_SERVICES`] of them, as runit does.

pub mod args;
pub mod chdir;
pub mod machine;
pub mod msg;
pub mod spawn;
mod timer;
pub mod title;
pub mod watch;

pub use args::{parse_args, Args};
pub use machine::{Action, DirStamp, Entry, EntryKind, Input, LogFailure, Owed, Runsvdir, ScanReply, Service, StampError, WatchState};
pub use msg::Warning;
pub use title::Title;

/// runit's fixed service cap (`MAXSERVICES` in runsvdir.c): further new services are
/// warned about at every scan and never started.
pub const MAX_SERVICES: usize = 1000;

#[cfg(test)]
mod tests;
