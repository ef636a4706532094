//! The extended status record `supervise/status.ext` (docs/readiness.md §3): what the
//! 20-byte `status` cannot say (readiness, last exit, restart counters, the sd_notify
//! STATUS text), as versioned `key=value` text a shell script can read without a decoder.
//!
//! runsv writes it (for a service declaring a readiness protocol) beside the untouched 20
//! bytes at every status update
//! (`status.ext.new` → `status.ext`, then `status.new` → `status`); readers use it only
//! when it [`agrees`] with the 20 bytes they read. [`encode`] and [`decode`] are pure and
//! total: any bytes decode to a record or a typed [`DecodeError`], never a panic.

mod codec;
mod escape;

pub use codec::{decode, encode, parse_time, push_time, want_word, DecodeError, ErrorKind, BACKOFF_KEYS, KEYS, RECORD_MAX};
pub use escape::{escape, unescape};

use alloc::vec::Vec;

use crate::readiness::Protocol;
use crate::status::{RunState, StatusRecord, Want};
use crate::time::Tai64n;

/// The record's file, relative to the service directory (the log slot's record is part of
/// the main one, under `log_` keys).
pub const RECORD_FILE: &[u8] = b"supervise/status.ext";

/// The format version written on the first line. Readers ignore unknown keys; only an
/// incompatible change bumps it.
pub const VERSION: u64 = 1;

/// How the slot's last `./run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitHow {
    /// It exited with this status.
    Code(u8),
    /// A signal killed it.
    Signal(u8),
}

/// The last exit and when runsv reaped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LastExit {
    /// Exit status or signal.
    pub how: ExitHow,
    /// When it was reaped (wall clock, as a TAI64N stamp).
    pub at: Tai64n,
}

/// One slot's extended state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotRecord {
    /// Byte 19 of `status`.
    pub state: RunState,
    /// Bytes 12–15 (0 = none).
    pub pid: u32,
    /// Bytes 0–11: last change to run or down.
    pub since: Tai64n,
    /// What runsv wants (byte 17 says only `u`/`d`; the record tells `exit` apart).
    pub wanted: Want,
    /// `down` did not exist when runsv started.
    pub normally_up: bool,
    /// Byte 16.
    pub paused: bool,
    /// Byte 18.
    pub got_term: bool,
    /// Readiness protocols of the current (or last) child.
    pub readiness: Protocol,
    /// The current child is ready.
    pub ready: bool,
    /// When it became ready; `Some` exactly when `ready`.
    pub ready_since: Option<Tai64n>,
    /// How the last `./run` ended, if one has.
    pub last_exit: Option<LastExit>,
    /// Starts of `./run` after the first, since runsv started.
    pub restarts: u64,
    /// Latest consecutive quick deaths (docs/readiness.md §2 rule 11).
    pub quick_deaths: u64,
    /// The last sd_notify `STATUS=` text (raw bytes; empty = none).
    pub status_text: Vec<u8>,
    /// Backoff and giving up (issue 11): present only for a service with the backoff
    /// files (keys [`BACKOFF_KEYS`], a minor addition: version 1 readers skip them).
    pub backoff: Option<BackoffRecord>,
}

/// The backoff fields of a slot's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BackoffRecord {
    /// runsv gave up restarting it (`restart-limit-count`); only a command restarts it.
    pub given_up: bool,
    /// The pause before the pending automatic restart, in milliseconds (0 = none armed).
    pub restart_delay_ms: u64,
}

/// The whole record: the service and, when it has one, its log service.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// The service's slot.
    pub main: SlotRecord,
    /// The log slot, if `log/` exists.
    pub log: Option<SlotRecord>,
}

/// Whether a slot's record says what the 20 bytes say (state, pid, stamp, want, paused,
/// got TERM). A reader that finds a disagreement re-reads, then falls back to the 20 bytes.
pub fn agrees(slot: &SlotRecord, status: &StatusRecord) -> bool {
    let want_byte = if slot.wanted == Want::Up { b'u' } else { b'd' };
    status.state_byte == slot.state.byte()
        && status.pid == slot.pid
        && status.stamp == slot.since
        && status.want == want_byte
        && status.paused == slot.paused
        && status.got_term == slot.got_term
}

impl SlotRecord {
    /// The 20-byte record this slot corresponds to (what runsv writes in the same update).
    pub fn status(&self) -> StatusRecord {
        StatusRecord::new(self.since, self.pid, self.paused, self.wanted, self.got_term, self.state)
    }

    /// The first readiness invariant this record breaks, if any (docs/readiness.md §2):
    /// ready only while a `./run` runs, and a ready time exactly when ready.
    pub fn broken_invariant(&self) -> Option<&'static str> {
        if self.ready && (self.state != RunState::Run || self.pid == 0) {
            return Some("ready while no ./run runs");
        }
        if self.ready != self.ready_since.is_some() {
            return Some("ready_since set exactly when ready");
        }
        if self.state == RunState::Down && self.pid != 0 {
            return Some("down with a pid");
        }
        if self.backoff.is_some_and(|b| b.given_up && (self.state != RunState::Down || self.wanted != Want::Down)) {
            return Some("given up while not down with want down");
        }
        None
    }
}

#[cfg(test)]
mod tests;
