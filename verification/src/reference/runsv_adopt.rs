//! The reference's adoption (issue 11), written from docs/divergences.md "Adoption" and
//! runsv.8 ADOPTION alone, not from `model/src/runsv/adopt.rs`: what a runsv started on a
//! directory whose previous runsv was killed takes over, decided once, before start-up.
//!
//! The documented rules, one per function below:
//! - a slot's old `supervise/status` names a candidate only if it says *run* with a pid (a
//!   `./finish` left running is not taken over) — [`candidate`];
//! - `/proc/PID/stat`: not a zombie (`Z`/`X`), and its start time (field 22, clock ticks
//!   since boot, plus the boot's wall time) lies at most 20 ms after and at most 1 s before
//!   the stamp — [`same_process`]; `comm` may hold spaces and `)`, so fields are counted
//!   after the last `)`;
//! - the genuine process is watched through a pidfd; if `pidfd_open` failed, one warning
//!   and a new `./run` — [`decide`];
//! - with a log service, the log pipe is taken back from what was adopted (the service's
//!   fd 1, the logger's fd 0): both must be one FIFO; if not (or a call failed), nothing is
//!   adopted, with one warning — [`decide`].

use model::errno::Errno;
use model::runsv::{text, PipeId, Probe, Resume, Slot};
use model::status::StatusRecord;

/// The stamp may be at most this much (ns) after the process's start (runsv reads the
/// clock after `fork` returns).
pub const START_BEFORE_STAMP_NS: i64 = 1_000_000_000;
/// The process may start at most this much (ns) after the stamp (tick rounding).
pub const START_AFTER_STAMP_NS: i64 = 20_000_000;

/// One slot the reference takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Taken {
    /// The old status record (stamp, want, paused, TERM sent are kept).
    pub record: StatusRecord,
    /// `/proc` field 5 equals the pid: with `flag-timeout-killpg` its group is signalled.
    pub leads_group: bool,
}

/// What [`decide`] returns: per slot (main, log) what is taken over, the warnings, and
/// whether the log pipe was taken back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Taken over, per slot (index 0 main, 1 log).
    pub taken: [Option<Taken>; 2],
    /// Warning lines, in order.
    pub warnings: Vec<Vec<u8>>,
    /// The old log pipe is used from now on.
    pub pipe_taken: bool,
}

/// The pid an old status says runs: whole record, state *run* (byte 19 = 1), pid non-zero.
pub fn candidate(status: &[u8]) -> Option<StatusRecord> {
    let r = StatusRecord::decode(status)?;
    (r.state_byte == 1 && r.pid != 0).then_some(r)
}

/// `/proc/PID/stat` fields 3 (state), 5 (pgrp) and 22 (start ticks), counted after the
/// last `)`.
fn proc_fields(stat: &[u8]) -> Option<(u8, u64, u64)> {
    let after = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let text = std::str::from_utf8(after).ok()?;
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    // fields[0] is field 3.
    let state = *fields.first()?.as_bytes().first()?;
    let pgrp = fields.get(2)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, pgrp, start))
}

/// Whether the process `/proc` shows is the one the record names: alive, not a zombie,
/// started within the documented window around the stamp. Returns whether it leads its
/// own process group.
pub fn same_process(record: &StatusRecord, stat: &[u8], boot_wall_ns: i64, clk_tck: u64) -> Option<bool> {
    let (state, pgrp, ticks) = proc_fields(stat)?;
    if state == b'Z' || state == b'X' || clk_tck == 0 {
        return None;
    }
    let started_ns = i128::from(boot_wall_ns) + i128::from(ticks) * 1_000_000_000 / i128::from(clk_tck);
    let stamp_ns = i128::from(record.stamp.unix_secs()) * 1_000_000_000 + i128::from(record.stamp.nanos);
    let earliest = stamp_ns - i128::from(START_BEFORE_STAMP_NS);
    let latest = stamp_ns + i128::from(START_AFTER_STAMP_NS);
    (earliest <= started_ns && started_ns <= latest).then_some(pgrp == u64::from(record.pid))
}

/// The pipe one probe recovered, as documented: it must be a FIFO.
fn pipe_of(p: &Probe) -> Result<PipeId, Errno> {
    match p.pipe {
        Some(Ok(id)) if id.fifo => Ok(id),
        Some(Ok(_)) => Err(Errno::EINVAL),
        Some(Err(e)) => Err(e),
        None => Err(Errno::EBADF),
    }
}

/// The whole documented decision for a service directory `dir` (`has_log`: `log/` exists).
pub fn decide(dir: &[u8], has_log: bool, resume: &Resume) -> Decision {
    let mut d = Decision::default();
    let probes = [resume.main.as_ref(), if has_log { resume.log.as_ref() } else { None }];
    let mut watchable = [None, None];
    for (i, (slot, probe)) in [Slot::Main, Slot::Log].into_iter().zip(probes).enumerate() {
        let Some(p) = probe else { continue };
        let Some(record) = candidate(&p.status) else { continue };
        let Some(leads_group) = p.proc_stat.as_deref().and_then(|s| same_process(&record, s, resume.boot_wall_ns, resume.clk_tck)) else {
            continue;
        };
        match p.pidfd {
            Ok(()) => watchable[i] = Some((Taken { record, leads_group }, p)),
            Err(e) => d.warnings.push(text::adopt_unwatchable(dir, slot, record.pid, e)),
        }
    }
    if has_log && watchable.iter().any(Option::is_some) {
        // The service's end first, then the logger's; both must be the same FIFO.
        let pipes: Result<Vec<PipeId>, Errno> = watchable.iter().flatten().map(|(_, p)| pipe_of(p)).collect();
        let one_pipe = pipes.and_then(|p| if p.windows(2).all(|w| w[0] == w[1]) { Ok(()) } else { Err(Errno::EINVAL) });
        match one_pipe {
            Ok(()) => d.pipe_taken = true,
            Err(e) => {
                d.warnings.push(text::adopt_no_pipe(dir, e));
                return d;
            }
        }
    }
    d.taken = watchable.map(|w| w.map(|(t, _)| t));
    d
}
