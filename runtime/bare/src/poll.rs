//! The one blocking wait without libc: `ppoll` over (fd, events) with an optional timeout
//! and the signal mask runsv sleeps with (empty: the handled signals arrive only here),
//! as `runtime::wait` calls glibc's `ppoll`.

use crate::sys::{self, syscall6, SysResult};

const NR_PPOLL: usize = 271;

/// `POLLIN`.
pub const POLLIN: i16 = 0x1;
/// `POLLOUT`.
pub const POLLOUT: i16 = 0x4;
/// `POLLERR`.
pub const POLLERR: i16 = 0x8;
/// `POLLHUP`.
pub const POLLHUP: i16 = 0x10;
/// `POLLNVAL`.
pub const POLLNVAL: i16 = 0x20;

/// The kernel's `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    /// The descriptor (negative: skipped by the kernel).
    pub fd: i32,
    /// What to wait for (`POLLIN`, `POLLOUT`).
    pub events: i16,
    /// What happened (filled in by the kernel).
    pub revents: i16,
}

impl PollFd {
    /// Interest in `events` on `fd`.
    pub fn new(fd: i32, events: i16) -> PollFd {
        PollFd { fd, events, revents: 0 }
    }
    /// Readable, or hung up / errored (which a read will report), as runtime's `wait`.
    pub fn readable(&self) -> bool {
        self.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0
    }
    /// Writable (or errored / hung up), as runtime's `wait`.
    pub fn writable(&self) -> bool {
        self.revents & (POLLOUT | POLLERR | POLLHUP) != 0
    }
}

/// `ppoll(fds, n, timeout, mask, 8)`: waits until a descriptor is ready, a signal not in
/// `mask` arrives (`Err(EINTR)`), or `timeout` (seconds, nanoseconds) passes (`Ok(0)`);
/// `None` waits forever. `mask` `None` keeps the current mask (NULL); runsv passes
/// `Some(0)`, glibc's empty set. Not retried: an interruption is how signals wake the loop.
pub fn ppoll(fds: &mut [PollFd], timeout: Option<(i64, i64)>, mask: Option<u64>) -> SysResult<usize> {
    // Mutable: `ppoll` writes the time left back into its timespec (unlike `poll`), so the
    // pointer must not come from a shared reference.
    let mut ts = timeout.map(|(s, ns)| [s, ns]);
    let tsp = ts.as_mut().map_or(0, |t| t.as_mut_ptr() as usize);
    let maskp = mask.as_ref().map_or(0, |m| m as *const u64 as usize);
    // SAFETY: fds is a live array of `struct pollfd` of the length passed; tsp is null or
    // a writable `struct timespec`; maskp is null or an 8-byte sigset the kernel only
    // reads; all outlive the call. A timeout the kernel refuses (negative seconds,
    // nanoseconds past 999 999 999) is `Err(EINVAL)`, never a wait: [`timespec`] makes
    // only valid ones, and a huge one is capped by the kernel, not wrapped.
    sys::result(unsafe { syscall6(NR_PPOLL, [fds.as_mut_ptr() as usize, fds.len(), tsp, maskp, 8, 0]) })
}

/// A timeout of `ns` nanoseconds as `ppoll`'s (seconds, nanoseconds).
pub fn timespec(ns: u64) -> (i64, i64) {
    ((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64)
}
