//! The files runsv publishes in `supervise/`: the 20-byte `status` record, the `stat`
//! line and the `pid` text (spec/formats.md §2.4-2.6).
//!
//! These bytes are read by runit's `sv`, daemontools' `svstat`/`svc`, and monitoring
//! tools in the wild, so the layout is exact: bytes 0-11 TAI64N stamp (big-endian),
//! 12-15 pid (little-endian), 16 paused, 17 want (`u`/`d`), 18 got-TERM, 19 state.

use alloc::vec::Vec;

use crate::time::Tai64n;

/// What a slot is doing, as encoded in status byte 19.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    /// No process.
    Down,
    /// `./run` is running.
    Run,
    /// `./finish` is running.
    Finish,
}

impl RunState {
    /// The byte runit writes (0, 1, 2).
    pub fn byte(self) -> u8 {
        match self {
            RunState::Down => 0,
            RunState::Run => 1,
            RunState::Finish => 2,
        }
    }
    /// The word `stat` and `sv` print.
    pub fn word(self) -> &'static str {
        match self {
            RunState::Down => "down",
            RunState::Run => "run",
            RunState::Finish => "finish",
        }
    }
}

/// What the slot should be doing. `Exit` is written as `d` in `status`, `want exit` in `stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Want {
    /// Keep `./run` running.
    Up,
    /// Do not restart.
    Down,
    /// Stop, then let runsv terminate.
    Exit,
}

/// The decoded 20-byte `supervise/status` record.
///
/// `state_byte` is kept raw so a reader can show what a foreign or damaged file holds
/// (sv prints no state word for an unknown value but still prints the pid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusRecord {
    /// Time of the last change to run or down.
    pub stamp: Tai64n,
    /// pid of the process in the slot, 0 if none.
    pub pid: u32,
    /// STOP sent and no CONT since.
    pub paused: bool,
    /// `b'u'` or `b'd'` (raw, as read).
    pub want: u8,
    /// TERM sent and the process has not exited since.
    pub got_term: bool,
    /// 0 down, 1 run, 2 finish; anything else from a foreign writer.
    pub state_byte: u8,
}

/// Exact size of the record; sv rejects anything shorter.
pub const STATUS_LEN: usize = 20;

impl StatusRecord {
    /// The record runsv writes for a slot.
    pub fn new(stamp: Tai64n, pid: u32, paused: bool, want: Want, got_term: bool, state: RunState) -> StatusRecord {
        StatusRecord { stamp, pid, paused, want: if want == Want::Up { b'u' } else { b'd' }, got_term, state_byte: state.byte() }
    }

    /// The 20 bytes, as runsv writes them.
    pub fn encode(&self) -> [u8; STATUS_LEN] {
        let mut b = [0u8; STATUS_LEN];
        b[..12].copy_from_slice(&self.stamp.pack());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16] = self.paused as u8;
        b[17] = self.want;
        b[18] = self.got_term as u8;
        b[19] = self.state_byte;
        b
    }

    /// Reads a record from the first 20 bytes; `None` if fewer (sv's `bad format`).
    /// Bytes are taken as found (any non-zero flag counts as set, as sv reads them).
    pub fn decode(bytes: &[u8]) -> Option<StatusRecord> {
        if bytes.len() < STATUS_LEN {
            return None;
        }
        let mut stamp = [0u8; 12];
        stamp.copy_from_slice(&bytes[..12]);
        let mut pid = [0u8; 4];
        pid.copy_from_slice(&bytes[12..16]);
        Some(StatusRecord {
            stamp: Tai64n::unpack(&stamp),
            pid: u32::from_le_bytes(pid),
            paused: bytes[16] != 0,
            want: bytes[17],
            got_term: bytes[18] != 0,
            state_byte: bytes[19],
        })
    }

    /// The state, if the byte is one runsv writes.
    pub fn state(&self) -> Option<RunState> {
        match self.state_byte {
            0 => Some(RunState::Down),
            1 => Some(RunState::Run),
            2 => Some(RunState::Finish),
            _ => None,
        }
    }
}

/// The `stat` line: `<state>[, paused][, got TERM][, want down | , want exit]\n`.
pub fn stat_text(state: RunState, paused: bool, got_term: bool, want: Want) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(state.word().as_bytes());
    if paused {
        out.extend_from_slice(b", paused");
    }
    if got_term {
        out.extend_from_slice(b", got TERM");
    }
    if state != RunState::Down {
        match want {
            Want::Down => out.extend_from_slice(b", want down"),
            Want::Exit => out.extend_from_slice(b", want exit"),
            Want::Up => {}
        }
    }
    out.push(b'\n');
    out
}

/// The `pid` file: `<pid>\n`, or empty when no process runs.
pub fn pid_text(pid: u32) -> Vec<u8> {
    if pid == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(12);
    push_decimal(&mut out, pid as u64);
    out.push(b'\n');
    out
}

/// Appends the decimal form of `n` (no allocation beyond `out`).
pub fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends the decimal form of a signed `n`.
pub fn push_signed(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_decimal(out, n.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_formats_md_example() {
        let rec =
            StatusRecord::new(Tai64n { secs: 0x4000_0000_6b05_576c, nanos: 0x3b75_4e4c }, 7600, false, Want::Up, false, RunState::Run);
        let want: [u8; 20] = [0x40, 0, 0, 0, 0x6b, 0x05, 0x57, 0x6c, 0x3b, 0x75, 0x4e, 0x4c, 0xb0, 0x1d, 0, 0, 0, 0x75, 0, 1];
        assert_eq!(rec.encode(), want);
        assert_eq!(StatusRecord::decode(&want), Some(rec));
        assert_eq!(StatusRecord::decode(&want[..19]), None);
    }

    #[test]
    fn stat_lines() {
        assert_eq!(stat_text(RunState::Run, false, true, Want::Down), b"run, got TERM, want down\n");
        assert_eq!(stat_text(RunState::Down, true, false, Want::Down), b"down, paused\n");
        assert_eq!(stat_text(RunState::Run, false, false, Want::Exit), b"run, want exit\n");
        assert_eq!(stat_text(RunState::Finish, false, false, Want::Up), b"finish\n");
    }

    #[test]
    fn pid_lines() {
        assert_eq!(pid_text(0), b"");
        assert_eq!(pid_text(4242), b"4242\n");
        let mut v = Vec::new();
        push_signed(&mut v, -1);
        assert_eq!(v, b"-1");
    }
}
