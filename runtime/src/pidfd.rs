//! Supervising a process that is not this one's child (spec/additions.md §4): pidfds
//! (`pidfd_open` 5.3, `pidfd_send_signal` 5.1, `pidfd_getfd` 5.6), the child-subreaper
//! flag, and the two facts that date a process (`/proc/PID/stat`'s start time is in clock
//! ticks since boot; the boot's wall time). Raw syscalls: glibc before 2.36 has no
//! wrappers. Mechanism only; `model::runsv` decides what to adopt.

use std::ffi::CString;

use model::errno::Errno;

use crate::sys::{self, SysResult};

fn check(r: libc::c_long) -> SysResult<libc::c_long> {
    if r < 0 {
        Err(sys::last_errno())
    } else {
        Ok(r)
    }
}

/// `pidfd_open(pid, 0)`: a close-on-exec descriptor that becomes readable when `pid`
/// ends, and that never names another process afterwards.
pub fn open(pid: u32) -> SysResult<i32> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| Errno::EINVAL)?;
    // SAFETY: pidfd_open takes a pid and flags by value and touches no memory of ours.
    check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) }).map(|fd| fd as i32)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`: `kill` without the pid-reuse race.
pub fn send_signal(pidfd: i32, sig: i32) -> SysResult<()> {
    // SAFETY: a NULL siginfo is allowed (it then behaves as kill); no memory is passed.
    check(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, sig, std::ptr::null::<libc::siginfo_t>(), 0) }).map(|_| ())
}

/// `pidfd_getfd(pidfd, target, 0)`: a close-on-exec duplicate of the process's
/// descriptor `target` (same open file description).
pub fn getfd(pidfd: i32, target: i32) -> SysResult<i32> {
    // SAFETY: pidfd_getfd takes three integers by value and touches no memory of ours.
    check(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, target, 0) }).map(|fd| fd as i32)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphans below this process are reparented here,
/// not to init (a runsv's service outlives its runsv under its runsvdir).
pub fn become_child_subreaper() -> SysResult<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer argument; no memory is passed.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    check(r as libc::c_long).map(|_| ())
}

// time_t is i32 on some 32-bit targets: the casts are no-ops only here.
#[allow(clippy::unnecessary_cast)]
fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; clock_gettime cannot fail for these clocks.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as i64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as i64)
}

/// This boot's wall time in Unix nanoseconds: `CLOCK_REALTIME - CLOCK_BOOTTIME` (the
/// clock `/proc/PID/stat`'s start time counts from).
pub fn boot_wall_ns() -> i64 {
    let boot = clock_ns(libc::CLOCK_BOOTTIME);
    clock_ns(libc::CLOCK_REALTIME).saturating_sub(boot)
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat`'s start time (0 if unknown).
pub fn clk_tck() -> u64 {
    // SAFETY: sysconf reads a constant.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(0)
}

/// `/proc/<pid>/stat`, whole (it is one short line).
pub fn proc_stat(pid: u32) -> Option<Vec<u8>> {
    let path = CString::new(format!("/proc/{pid}/stat")).ok()?;
    crate::fs::read_small(&path, 4096).ok()
}

/// A second descriptor of the pipe behind `fd`, open the other way (`/proc/self/fd/<fd>`
/// opens a pipe as a FIFO): `write` = open the write end. Non-blocking open (the caller
/// holds the other end, so it succeeds at once), then blocking again, as a pipe from
/// `pipe(2)` is.
pub fn reopen_pipe(fd: i32, write: bool) -> SysResult<i32> {
    let path = sys::cstr(format!("/proc/self/fd/{fd}").as_bytes())?;
    let mode = if write { libc::O_WRONLY } else { libc::O_RDONLY };
    let other = sys::open(&path, mode | libc::O_NONBLOCK, 0)?;
    if let Err(e) = sys::set_nonblock(other, false) {
        let _ = sys::close(other);
        return Err(e);
    }
    Ok(other)
}
