//! runsv's messages, byte for byte (spec/runsv.md). Pure formatters: the runtime prints
//! what these return.

use alloc::vec::Vec;

use super::{Program, Slot};
use crate::errno::Errno;
use crate::msg;

fn prefix(dir: &[u8], kind: &[u8]) -> Vec<u8> {
    // Room for the kind and what most messages append (no reallocation on a restart).
    let mut p = Vec::with_capacity(6 + dir.len() + kind.len() + 32);
    p.extend_from_slice(b"runsv ");
    p.extend_from_slice(dir);
    p.extend_from_slice(kind);
    p
}

/// `runsv <dir>: fatal: <what>: <errstr>` (errno omitted when `None`).
pub fn fatal(dir: &[u8], what: &[u8], errno: Option<Errno>) -> Vec<u8> {
    let p = prefix(dir, b": fatal: ");
    if errno.is_some() {
        msg::line(&[&p, what, b": "], errno)
    } else {
        msg::line(&[&p, what], None)
    }
}

/// `runsv <dir>: warning: <what>: <errstr>` (errno omitted when `None`).
pub fn warning(dir: &[u8], what: &[u8], errno: Option<Errno>) -> Vec<u8> {
    let p = prefix(dir, b": warning: ");
    if errno.is_some() {
        msg::line(&[&p, what, b": "], errno)
    } else {
        msg::line(&[&p, what], None)
    }
}

/// `timeout-finish` expired: `runsv <dir>: warning: ./finish timed out, sending SIGKILL`.
pub fn finish_timed_out(dir: &[u8]) -> Vec<u8> {
    warning(dir, b"./finish timed out, sending SIGKILL", None)
}

/// What a child prints before the errno text when exec fails (then it exits 111).
pub fn exec_failed(dir: &[u8], program: &Program) -> Vec<u8> {
    let what: &[u8] = match program {
        Program::Run => b"unable to start ./run: ",
        Program::Finish { .. } => b"unable to start ./finish: ",
        Program::LogRun => b"unable to start log/./run: ",
    };
    let mut out = prefix(dir, b": fatal: ");
    out.extend_from_slice(what);
    out
}

/// `unable to fork, sleeping` warning.
pub fn fork_failed(dir: &[u8], e: Errno) -> Vec<u8> {
    warning(dir, b"unable to fork, sleeping", Some(e))
}

fn control_name(byte: u8) -> [u8; 9] {
    let mut n = *b"control/?";
    n[8] = byte;
    n
}

fn with_control(what: &[u8], byte: u8) -> Vec<u8> {
    let mut v = Vec::from(what);
    v.extend_from_slice(&control_name(byte));
    v
}

/// `unable to stat control/<c>` warning.
pub fn control_stat_failed(dir: &[u8], byte: u8, e: Errno) -> Vec<u8> {
    warning(dir, &with_control(b"unable to stat ", byte), Some(e))
}

/// `unable to fork for control/<c>` warning.
pub fn control_fork_failed(dir: &[u8], byte: u8, e: Errno) -> Vec<u8> {
    warning(dir, &with_control(b"unable to fork for ", byte), Some(e))
}

/// `unable to wait for child control/<c>` warning.
pub fn control_wait_failed(dir: &[u8], byte: u8, e: Errno) -> Vec<u8> {
    warning(dir, &with_control(b"unable to wait for child ", byte), Some(e))
}

/// `unable to setup stdout for control/<c>` warning (printed by the control child).
pub fn control_stdout_failed(dir: &[u8], byte: u8) -> Vec<u8> {
    let mut out = prefix(dir, b": warning: ");
    out.extend_from_slice(&with_control(b"unable to setup stdout for ", byte));
    out.extend_from_slice(b": ");
    out
}

/// What a `control/<c>` child prints before the errno text when exec fails: runit prints
/// a literal `?` here, not the command letter.
pub fn control_exec_failed(dir: &[u8]) -> Vec<u8> {
    let mut out = prefix(dir, b": fatal: ");
    out.extend_from_slice(b"unable to run control/?: ");
    out
}

/// Which status file an atomic write failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFile {
    /// `pid`
    Pid,
    /// `stat`
    Stat,
    /// `status`
    Status,
    /// `status.ext` (addition; always in the main slot's `supervise/`)
    Ext,
}

/// Where in the write it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStep {
    /// Opening `x.new`.
    Open(Errno),
    /// Writing `x.new`.
    Write(Errno),
    /// A short write (only reported for `status`, without errno).
    Partial,
    /// Renaming onto `x`.
    Rename(Errno),
}

/// runit's warning for a failed status-file write (spec/runsv.md §12).
pub fn status_write_failed(dir: &[u8], slot: Slot, file: StatusFile, step: WriteStep) -> Vec<u8> {
    let sup: &[u8] = if slot == Slot::Log && file != StatusFile::Ext { b"log/supervise/" } else { b"supervise/" };
    let name: &[u8] = match file {
        StatusFile::Pid => b"pid",
        StatusFile::Stat => b"stat",
        StatusFile::Status => b"status",
        StatusFile::Ext => b"status.ext",
    };
    let mut what = Vec::new();
    let errno = match step {
        WriteStep::Open(e) => {
            what.extend_from_slice(b"unable to open ");
            what.extend_from_slice(sup);
            what.extend_from_slice(name);
            what.extend_from_slice(b".new");
            Some(e)
        }
        WriteStep::Write(e) => {
            what.extend_from_slice(b"unable to write ");
            what.extend_from_slice(sup);
            what.extend_from_slice(name);
            what.extend_from_slice(b".new");
            Some(e)
        }
        WriteStep::Partial => {
            what.extend_from_slice(b"unable to write ");
            what.extend_from_slice(sup);
            what.extend_from_slice(name);
            what.extend_from_slice(b".new: partial write.");
            None
        }
        WriteStep::Rename(e) => {
            what.extend_from_slice(b"unable to rename ");
            what.extend_from_slice(name);
            what.extend_from_slice(b".new to ");
            what.extend_from_slice(sup);
            what.extend_from_slice(name);
            Some(e)
        }
    };
    warning(dir, &what, errno)
}

/// `usage: <argv0> dir` + empty line.
pub fn usage(argv0: &[u8]) -> Vec<u8> {
    msg::usage(argv0, b" dir")
}

/// Adoption: the previous runsv's process is alive but cannot be watched (no pidfd):
/// `runsv <dir>: warning: unable to take over ./run (pid <n>), starting a new one: <errstr>`.
pub fn adopt_unwatchable(dir: &[u8], slot: Slot, pid: u32, e: Errno) -> Vec<u8> {
    let mut what = Vec::new();
    what.extend_from_slice(if slot == Slot::Main {
        b"unable to take over ./run (pid " as &[u8]
    } else {
        b"unable to take over log/./run (pid "
    });
    crate::status::push_decimal(&mut what, u64::from(pid));
    what.extend_from_slice(b"), starting a new one");
    warning(dir, &what, Some(e))
}

/// Adoption: the log pipe cannot be taken back, so nothing is taken over (runit's
/// behaviour): `runsv <dir>: warning: unable to take over the log pipe, starting new processes: <errstr>`.
pub fn adopt_no_pipe(dir: &[u8], e: Errno) -> Vec<u8> {
    warning(dir, b"unable to take over the log pipe, starting new processes", Some(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_strings() {
        assert_eq!(
            fatal(b"/tmp/t7/s", b"unable to lock supervise/lock", Some(Errno::EAGAIN)),
            b"runsv /tmp/t7/s: fatal: unable to lock supervise/lock: temporary failure\n".to_vec()
        );
        assert_eq!(
            fatal(b"/tmp/t14/a", b"supervise/control exists but is not a fifo", None),
            b"runsv /tmp/t14/a: fatal: supervise/control exists but is not a fifo\n".to_vec()
        );
        assert_eq!(
            warning(b"/tmp/t14/d", b"./log: not a directory.", None),
            b"runsv /tmp/t14/d: warning: ./log: not a directory.\n".to_vec()
        );
        assert_eq!(exec_failed(b"b", &Program::LogRun), b"runsv b: fatal: unable to start log/./run: ".to_vec());
        assert_eq!(
            status_write_failed(b"s", Slot::Log, StatusFile::Status, WriteStep::Partial),
            b"runsv s: warning: unable to write log/supervise/status.new: partial write.\n".to_vec()
        );
        assert_eq!(
            status_write_failed(b"s", Slot::Main, StatusFile::Pid, WriteStep::Rename(Errno::EACCES)),
            b"runsv s: warning: unable to rename pid.new to supervise/pid: access denied\n".to_vec()
        );
        assert_eq!(usage(b"/x/runsv"), b"usage: /x/runsv dir\n\n".to_vec());
    }
}
