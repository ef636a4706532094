//! Processes without libc, as runtime's `process`, `pidfd` and `exec::runsv_ready` reach
//! them: reaping (`wait4`), pidfds, the subreaper flag, the descriptor limit, the facts
//! that date a process (`/proc/<pid>/stat`, the boot's wall time, the clock tick from the
//! auxiliary vector) and `/proc/self/fd/<n>`.

use core::ffi::CStr;

use alloc::vec::Vec;
use model::errno::Errno;

use crate::sys::{self, syscall6, SysResult};

const NR_WAIT4: usize = 61;
const NR_PRCTL: usize = 157;
const NR_PRLIMIT64: usize = 302;
const NR_PIDFD_SEND_SIGNAL: usize = 424;
const NR_PIDFD_OPEN: usize = 434;
const NR_PIDFD_GETFD: usize = 438;
const WNOHANG: usize = 1;

/// `wait4(-1, &status, WNOHANG, NULL)`, retried on EINTR: one exited child as (pid, raw
/// status), or `None` (none exited, or no children): how exits become runsv's inputs.
pub fn reap_nohang() -> Option<(i32, i32)> {
    let mut status = 0i32;
    // SAFETY: status is a valid out-pointer.
    match unsafe { sys::syscall_retry(NR_WAIT4, [-1isize as usize, &mut status as *mut i32 as usize, WNOHANG, 0, 0, 0]) } {
        Ok(0) | Err(_) => None,
        Ok(pid) => Some((pid as i32, status)),
    }
}

/// Blocking `wait4(pid, &status, 0, NULL)`, retried on EINTR: the raw status (runsv
/// waits for a `control/<c>` script as runit does).
pub fn wait_pid(pid: i32) -> SysResult<i32> {
    sys::wait_pid(pid)
}

/// `pidfd_open(pid, 0)`: a descriptor that pins a process runsv adopted (not its child)
/// and becomes readable when it ends.
pub fn pidfd_open(pid: u32) -> SysResult<i32> {
    let pid = i32::try_from(pid).map_err(|_| Errno::EINVAL)?;
    // SAFETY: plain number arguments.
    sys::result(unsafe { syscall6(NR_PIDFD_OPEN, [pid as usize, 0, 0, 0, 0, 0]) }).map(|fd| fd as i32)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`: `kill` without the pid-reuse race.
pub fn pidfd_send_signal(pidfd: i32, sig: i32) -> SysResult<()> {
    // SAFETY: a NULL siginfo; plain number arguments.
    sys::result(unsafe { syscall6(NR_PIDFD_SEND_SIGNAL, [pidfd as usize, sig as usize, 0, 0, 0, 0]) }).map(|_| ())
}

/// `pidfd_getfd(pidfd, target, 0)`: a close-on-exec duplicate of an adopted process's
/// descriptor (its log pipe).
pub fn pidfd_getfd(pidfd: i32, target: i32) -> SysResult<i32> {
    // SAFETY: plain number arguments.
    sys::result(unsafe { syscall6(NR_PIDFD_GETFD, [pidfd as usize, target as usize, 0, 0, 0, 0]) }).map(|fd| fd as i32)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)`: orphans below this process come here.
pub fn become_child_subreaper() -> SysResult<()> {
    const PR_SET_CHILD_SUBREAPER: usize = 36;
    // SAFETY: plain number arguments.
    sys::result(unsafe { syscall6(NR_PRCTL, [PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0]) }).map(|_| ())
}

/// The soft `RLIMIT_NOFILE` (`prlimit64(0, RLIMIT_NOFILE, NULL, &old)`, as glibc's
/// `getrlimit`): `notification-fd` must be below it.
pub fn nofile_soft_limit() -> SysResult<u64> {
    const RLIMIT_NOFILE: usize = 7;
    let mut lim = [0u64; 2];
    // SAFETY: lim is a `struct rlimit64`; no new limit is passed.
    sys::result(unsafe { syscall6(NR_PRLIMIT64, [0, RLIMIT_NOFILE, 0, lim.as_mut_ptr() as usize, 0, 0]) })?;
    Ok(lim[0])
}

/// `CLOCK_BOOTTIME`: the clock `/proc/<pid>/stat`'s start time counts from.
pub const CLOCK_BOOTTIME: usize = 7;

/// This boot's wall time in Unix nanoseconds: `CLOCK_REALTIME - CLOCK_BOOTTIME`, read in
/// that order (BOOTTIME first), as `runtime::pidfd::boot_wall_ns`.
pub fn boot_wall_ns() -> i64 {
    let ns = |(s, n): (i64, i64)| s.saturating_mul(1_000_000_000).saturating_add(n);
    let boot = ns(crate::vdso::clock_gettime(CLOCK_BOOTTIME));
    ns(crate::vdso::clock_gettime(sys::CLOCK_REALTIME)).saturating_sub(boot)
}

/// The clock tick (`AT_CLKTCK` of the auxiliary vector, what glibc's
/// `sysconf(_SC_CLK_TCK)` returns): the unit of `/proc/<pid>/stat`'s start time; 0 when
/// unknown (then nothing is adopted).
pub fn clk_tck() -> u64 {
    const AT_CLKTCK: usize = 17;
    crate::start::aux_value(AT_CLKTCK).map_or(0, |v| v as u64)
}

/// `prefix`, `n` in decimal, `suffix` and a NUL in `buf`: a `/proc` path without `format!`.
fn proc_path<'b>(buf: &'b mut [u8; 48], prefix: &[u8], n: u32, suffix: &[u8]) -> &'b CStr {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut len = 0;
    for &b in prefix.iter().chain(&digits[i..]).chain(suffix) {
        buf[len] = b;
        len += 1;
    }
    buf[len] = 0;
    // SAFETY: one NUL, at the end (prefix and suffix are NUL-free constants).
    unsafe { CStr::from_bytes_with_nul_unchecked(&buf[..=len]) }
}

/// `/proc/<pid>/stat`, whole (one `read` of at most 4096 bytes, as runtime's
/// `pidfd::proc_stat`): a process's state and start time.
pub fn proc_stat(pid: u32) -> Option<Vec<u8>> {
    let mut buf = [0u8; 48];
    crate::file::read_small(proc_path(&mut buf, b"/proc/", pid, b"/stat"), 4096).ok()
}

/// Field 4 of `/proc/<pid>/stat` (after the last `)`: `comm` may hold anything): the
/// parent, so runsv can walk an sd_notify sender's ancestry.
pub fn parent_of(pid: i32) -> Option<i32> {
    crate::exec::runsv_ready::parent_in_stat(&proc_stat(u32::try_from(pid).ok()?)?)
}

/// A second descriptor of the pipe behind `fd`, open the other way (`/proc/self/fd/<fd>`
/// opens a pipe as a FIFO): opened non-blocking (the caller holds the other end), then
/// blocking again, as `runtime::pidfd::reopen_pipe`.
pub fn reopen_pipe(fd: i32, write: bool) -> SysResult<i32> {
    let mut buf = [0u8; 48];
    let fd_u = u32::try_from(fd).map_err(|_| Errno::EBADF)?;
    let path = proc_path(&mut buf, b"/proc/self/fd/", fd_u, b"");
    let mode = if write { sys::O_WRONLY } else { sys::O_RDONLY };
    let other = sys::open(path, mode | sys::O_NONBLOCK, 0)?;
    if let Err(e) = crate::file::set_nonblock(other, false) {
        let _ = sys::close(other);
        return Err(e);
    }
    Ok(other)
}
