//! Adoption (issue 11): a runsv started on a service directory whose previous runsv died
//! (`kill -9`, the OOM killer) while `./run` and `log/run` still run takes them over
//! instead of starting second copies (docs/divergences.md "Adoption").
//!
//! # Identity, from what runit already writes
//! runit's 20-byte `supervise/status` holds the pid and the TAI64N stamp of the moment
//! runsv saw its fork return (to the microsecond). The kernel keeps the same process's
//! start time in `/proc/PID/stat` field 22 (clock ticks since boot); the boot's wall time
//! is `CLOCK_REALTIME - CLOCK_BOOTTIME`. A process is the one the status names when its
//! start time lies at most [`EARLY`] after and [`LATE`] before the stamp, it is alive and
//! not a zombie, and the pidfd opened *before* reading `/proc` still names it (a pid
//! reused after the open would show another start time). No new file is written, so a
//! service directory keeps runit's files byte for byte. What this excludes:
//! - a pid reused by an unrelated process: it started after the status' process died,
//!   so it matches only if the pid space wrapped within [`LATE`] of the first start
//!   *and* runsv died before it could record that exit;
//! - a status from a previous boot: with a wall clock that does not go back across a
//!   reboot, every process of this boot started after that stamp plus the reboot time;
//! - a wall clock stepped since the start: the two times disagree and the process is not
//!   adopted (runit's behaviour: a second copy), never the other way round.
//!
//! # Shape
//! The runtime probes at start-up (status, `pidfd_open`, `/proc/PID/stat`, the log pipe
//! through `pidfd_getfd`) and feeds the facts as [`Input::Resume`] before
//! [`Input::Start`]. `Runsv::on_resume_input` decides per slot; an adopted child is a
//! [`Phase::Run`] with `adopted: Some(..)`, its signals go through its pidfd
//! ([`Action::SignalPidfd`]), and its end arrives as [`Input::AdoptedExited`], with no exit
//! status (it is not runsv's child: runsvdir, a subreaper, or init reaps it). `./finish`
//! then gets `-1 0`, a pair runit never passes ([`UNKNOWN_EXIT`]).
//!
//! # The log pipe
//! The adopted service still writes into the old pipe and the adopted logger reads it, so
//! runsv takes that pipe back (the logger's fd 0, the service's fd 1) and later starts of
//! either side use it: no line is lost or duplicated. When a log service exists and the
//! pipe cannot be had (the call fails, or the two ends are different pipes), nothing is
//! adopted: runit's behaviour, with a warning.

use alloc::vec::Vec;

use super::ready::RunReady;
use super::{text, Action, Input, Phase, Runsv, Slot};
use crate::errno::Errno;
use crate::readiness::PipeReadiness;
use crate::status::{RunState, StatusRecord, Want};
use crate::time::{Now, Tai64n};

/// The stamp may lie this far (ns) *before* the kernel's start time: the kernel's tick
/// truncation is the other way, so this only absorbs rounding (2 ticks at 100 Hz).
pub const EARLY: i64 = 20_000_000;

/// The stamp may lie this far (ns) *after* the kernel's start time: runsv reads the clock
/// right after `fork` returns; this covers a loaded machine between the two.
pub const LATE: i64 = 1_000_000_000;

/// `./finish`'s arguments after an adopted `./run` ended: its status cannot be known, and
/// runit never passes `-1` with `0` (a signal death always has a non-zero second one).
pub const UNKNOWN_EXIT: (i32, i32) = (-1, 0);

/// One pipe, as `fstat` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PipeId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// `S_ISFIFO`: a pipe (or FIFO), not a file or a socket.
    pub fifo: bool,
}

/// What the runtime found about the process one slot's old `status` names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    /// The old `supervise/status`, as read (it names the pid, see [`candidate`]).
    pub status: [u8; crate::status::STATUS_LEN],
    /// `pidfd_open(pid)`: `Ok` = the runtime holds a pidfd for it.
    pub pidfd: Result<(), Errno>,
    /// `/proc/PID/stat`, read after the pidfd was opened; `None` = unreadable.
    pub proc_stat: Option<Vec<u8>>,
    /// With a log service: the pipe behind the logger's fd 0 (log slot) or the service's
    /// fd 1 (main slot), both of whose ends the runtime now holds.
    pub pipe: Option<Result<PipeId, Errno>>,
}

/// The facts for [`Input::Resume`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Resume {
    /// Wall time of this boot in Unix nanoseconds (`CLOCK_REALTIME - CLOCK_BOOTTIME`).
    pub boot_wall_ns: i64,
    /// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat`'s start time.
    pub clk_tck: u64,
    /// The main slot's candidate, if its status names a running process.
    pub main: Option<Probe>,
    /// The log slot's candidate, likewise.
    pub log: Option<Probe>,
}

/// What the model knows of an adopted child beyond its pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Adopted {
    /// It leads its own process group (it was started with `flag-timeout-killpg`), so
    /// a group signal reaches its group and nobody else's.
    pub own_group: bool,
}

/// The pid an old `status` says is running, if any: the record must be whole, in state
/// run, with a pid. (A `./finish` left running is not taken over.)
pub fn candidate(status: &[u8]) -> Option<u32> {
    let r = StatusRecord::decode(status)?;
    (r.state() == Some(RunState::Run) && r.pid != 0 && r.pid <= i32::MAX as u32).then_some(r.pid)
}

/// The fields of `/proc/PID/stat` adoption needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: u8,
    /// Field 5: the process group.
    pub pgrp: u32,
    /// Field 22: start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`: `comm` (field 2) may hold spaces and `)`, so the fields are
/// counted after the *last* `)`.
pub fn parse_proc_stat(bytes: &[u8]) -> Option<ProcStat> {
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let mut fields = bytes[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
    let num = |f: &[u8]| -> Option<u64> { core::str::from_utf8(f).ok()?.parse().ok() };
    // fields: 3 state, 4 ppid, 5 pgrp, ..., 22 starttime.
    let state = *fields.next()?.first()?;
    let _ppid = fields.next()?;
    let pgrp = u32::try_from(num(fields.next()?)?).ok()?;
    let start_ticks = num(fields.nth(16)?)?;
    Some(ProcStat { state, pgrp, start_ticks })
}

/// Unix nanoseconds of a TAI64N stamp.
fn unix_ns(stamp: Tai64n) -> i64 {
    stamp.unix_secs().saturating_mul(1_000_000_000).saturating_add(i64::from(stamp.nanos))
}

/// What one probe shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// The process the status names, alive, watched by a pidfd.
    Same { pid: u32, record: StatusRecord, own_group: bool },
    /// The process the status names, but it cannot be watched (no pidfd): warn.
    Unwatchable { pid: u32, errno: Errno },
    /// Gone, a zombie, or another process with the same pid: nothing to adopt.
    Other,
}

fn judge(p: &Probe, boot_wall_ns: i64, clk_tck: u64) -> Verdict {
    let (Some(pid), Some(record)) = (candidate(&p.status), StatusRecord::decode(&p.status)) else { return Verdict::Other };
    let Some(st) = p.proc_stat.as_deref().and_then(parse_proc_stat) else { return Verdict::Other };
    if matches!(st.state, b'Z' | b'X' | b'x') || clk_tck == 0 {
        return Verdict::Other;
    }
    let since_boot = (i128::from(st.start_ticks) * 1_000_000_000 / i128::from(clk_tck)) as i64;
    let started = boot_wall_ns.saturating_add(since_boot);
    let lag = unix_ns(record.stamp).saturating_sub(started);
    if !(-EARLY..=LATE).contains(&lag) {
        return Verdict::Other;
    }
    match p.pidfd {
        Ok(()) => Verdict::Same { pid, record, own_group: st.pgrp == pid },
        Err(errno) => Verdict::Unwatchable { pid, errno },
    }
}

impl Runsv {
    /// [`Input::Resume`]: decides, once before [`Input::Start`], which old processes to
    /// take over, and tells the runtime which pidfds to keep ([`Action::Adopt`]) or drop
    /// ([`Action::Release`]) and which pipe to use ([`Action::TakeLogPipe`]).
    pub(super) fn on_resume_input(&mut self, now: Now, input: &Input) {
        let Input::Resume(r) = input else { return };
        if self.life != super::Life::Created {
            debug_assert!(false, "Resume comes before Start");
            return;
        }
        let mut verdicts = [(Slot::Main, r.main.as_ref()), (Slot::Log, r.log.as_ref())]
            .map(|(slot, p)| (slot, p.map(|p| judge(p, r.boot_wall_ns, r.clk_tck))));
        // A log probe without a log slot (log/ removed meanwhile) is not adopted.
        if self.log.is_none() {
            verdicts[1].1 = verdicts[1].1.map(|_| Verdict::Other);
        }
        for (slot, v) in verdicts {
            if let Some(Verdict::Unwatchable { pid, errno }) = v {
                self.actions.push_back(Action::Warn(text::adopt_unwatchable(&self.dir, slot, pid, errno)));
            }
        }
        let same = |i: usize| matches!(verdicts[i].1, Some(Verdict::Same { .. }));
        let adopt = match self.pipe_source(r, same(0), same(1)) {
            Ok(Some(from)) => {
                self.actions.push_back(Action::TakeLogPipe(from));
                [same(0), same(1)]
            }
            Ok(None) => [same(0), same(1)],
            Err(errno) => {
                self.actions.push_back(Action::Warn(text::adopt_no_pipe(&self.dir, errno)));
                [false, false]
            }
        };
        for (i, (slot, v)) in verdicts.into_iter().enumerate() {
            match v {
                Some(Verdict::Same { pid, record, own_group }) if adopt[i] => self.adopt(now, slot, pid, record, own_group),
                Some(_) => self.actions.push_back(Action::Release(slot)),
                None => {}
            }
        }
    }

    /// Which slot's descriptor gives the log pipe back: `Ok(None)` without a log service
    /// or when nothing is adopted; `Err` when it cannot be had (adopt nothing).
    fn pipe_source(&self, r: &Resume, main: bool, log: bool) -> Result<Option<Slot>, Errno> {
        if self.log.is_none() || !(main || log) {
            return Ok(None);
        }
        let pipe = |p: Option<&Probe>| -> Result<PipeId, Errno> {
            match p.and_then(|p| p.pipe) {
                Some(Ok(id)) if id.fifo => Ok(id),
                Some(Ok(_)) => Err(Errno::EINVAL),
                Some(Err(e)) => Err(e),
                None => Err(Errno::EBADF),
            }
        };
        match (main, log) {
            (true, true) => {
                let (m, l) = (pipe(r.main.as_ref())?, pipe(r.log.as_ref())?);
                if m == l {
                    Ok(Some(Slot::Log))
                } else {
                    Err(Errno::EINVAL)
                }
            }
            (true, false) => pipe(r.main.as_ref()).map(|_| Some(Slot::Main)),
            (false, _) => pipe(r.log.as_ref()).map(|_| Some(Slot::Log)),
        }
    }

    /// The slot runs the adopted process: as the old status said (stamp, want, paused,
    /// TERM sent), ready, with no notification pipe or watchdog of this runsv's making.
    fn adopt(&mut self, now: Now, slot: Slot, pid: u32, record: StatusRecord, own_group: bool) {
        debug_assert!(self.slot(slot).is_some_and(|s| s.pid() == 0), "one child per slot");
        self.actions.push_back(Action::Adopt { slot, pid });
        let ready = RunReady { since: Some(record.stamp), stopping: false, pipe: PipeReadiness::Closed, watchdog: None };
        // Its cycle began at its real start (so an early death is not taken for a quick one).
        let age = unix_ns(Tai64n::from_wall(now.wall)).saturating_sub(unix_ns(record.stamp)).max(0) as u64;
        let started = crate::time::Mono(now.mono.0.saturating_sub(age));
        let s = self.slot_mut(slot);
        s.want = if record.want == b'u' { Want::Up } else { Want::Down };
        s.paused = record.paused;
        s.stamp = record.stamp;
        s.phase = Phase::Run { pid, started, got_term: record.got_term, kill_at: None, ready, adopted: Some(Adopted { own_group }) };
        self.pid_changed = true;
    }

    /// The adopted child of `slot` is gone (its pidfd became readable): counted by the
    /// backoff files, then `./finish -1 0` if present, else down, as a reaped `./run`
    /// would be; no exit is recorded in the
    /// history, and nothing is sent to its group (its number may already be free).
    pub(super) fn adopted_exited(&mut self, now: Now, slot: Slot, finish_present: bool) {
        let Phase::Run { started, .. } = self.phase(slot) else {
            debug_assert!(false, "adopted_exited outside run");
            return;
        };
        // A death like any other for the backoff files (their count and window).
        self.count_death(now, slot);
        self.pid_changed = true;
        if slot == Slot::Main && finish_present {
            self.set(slot, Phase::Finish { pid: None, args: UNKNOWN_EXIT, started, not_before: None, kill_at: None });
            self.update(slot);
        } else {
            self.went_down(now, slot, started);
        }
    }

    /// Whether the slot's live child is an adopted one (signals go through its pidfd).
    pub fn adopted(&self, slot: Slot) -> Option<Adopted> {
        match self.slot(slot).map(|s| s.phase) {
            Some(Phase::Run { adopted, .. }) => adopted,
            _ => None,
        }
    }

    /// The slot whose adopted child has this pid.
    pub(super) fn whose_adopted(&self, pid: u32) -> Option<Slot> {
        self.whose(pid).filter(|&s| self.adopted(s).is_some())
    }
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
