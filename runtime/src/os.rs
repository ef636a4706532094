//! The syscalls an executor makes, as a trait, so the same executor code runs over the
//! real kernel ([`Real`]) and over the fake kernel of the deterministic simulator
//! (`verification/src/sim/`): the simulator then tests the production executors, not a
//! copy of them.
//!
//! The trait is the executors' half of the OS; the driver's half (the clocks and the
//! blocking wait) is [`crate::driver::Os`]. Methods sit at the level the executors call
//! today (`write_atomic`, not open/write/rename one by one), so call sites read as before
//! (`self.os.write_atomic(..)` where there was `fs::write_atomic(..)`) and the fake can
//! still fail each step (the error says which). [`Real`] is a unit struct whose methods
//! forward to the free functions: executors are generic over the trait, monomorphised, so
//! the shipping binaries pay nothing for it.

use std::ffi::CStr;

use crate::fs::{self, AtomicWriteError};
use crate::process::{self, Reaped, SpawnSpec};
use crate::sys::{self, SysResult};

/// What an executor asks of the kernel once it runs (start-up stays on the real OS).
pub trait Syscalls {
    /// Forks and executes `spec` (runsv's `./run`, `./finish`, `log/run`, `control/<c>`):
    /// the child's pid, or the fork errno. The fake decides what the child will do.
    fn spawn(&mut self, spec: &SpawnSpec) -> SysResult<i32>;
    /// Waits (blocking) for child `pid`; its raw status. runsv blocks in a `control/<c>`
    /// script exactly like runit, so the fake lets time pass here.
    fn wait_pid(&mut self, pid: i32) -> SysResult<i32>;
    /// Reaps one exited child without blocking: how exits become inputs.
    fn reap_nohang(&mut self) -> Option<Reaped>;
    /// `kill(pid, sig)` (a negative pid names a process group): how actions reach children.
    fn kill(&mut self, pid: i32, sig: i32) -> SysResult<()>;
    /// `stat(path)`'s mode bits (file type and permissions): the executors only ask
    /// "is it there, is it executable, is it a FIFO".
    fn stat_mode(&mut self, path: &CStr) -> SysResult<u32>;
    /// Opens `path` for reading, non-blocking (runit's `open_read`).
    fn open_read(&mut self, path: &CStr) -> SysResult<i32>;
    /// One `read(2)`: control bytes from a FIFO, a pipe's chunk.
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize>;
    /// `close(2)`: closing the log pipe is how a logger learns the service is gone.
    fn close(&mut self, fd: i32) -> SysResult<()>;
    /// Writes `tmp` then renames it over `dest` (status files); the error names the step
    /// that failed, for runit's exact warning.
    fn write_atomic(&mut self, tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError>;
    /// One diagnostic line to fd 2 in one `write(2)` (what the fake records as stderr).
    fn write_stderr(&mut self, line: &[u8]);
    /// A pipe (both ends close-on-exec): each `./run` gets a fresh notification-fd pipe.
    fn pipe(&mut self) -> SysResult<(i32, i32)>;
    /// Makes `fd` non-blocking: a notification pipe is read without ever blocking runsv.
    fn set_nonblock(&mut self, fd: i32) -> SysResult<()>;
    /// Receives one queued sd_notify datagram with the sender's credentials, or `None`:
    /// where the simulator injects lost, duplicated and forged notifications.
    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram>;
    /// The parent of `pid` (from `/proc`): a notification is accepted from the child's
    /// descendants, so runsv walks the sender's ancestry.
    fn parent_of(&mut self, pid: i32) -> Option<i32>;
}

/// One received sd_notify datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The payload as received.
    pub payload: Vec<u8>,
    /// The sender's pid from its credentials, if the kernel attached them.
    pub pid: Option<i32>,
    /// How many descriptors came along (closed at once).
    pub fds: usize,
    /// The payload was longer than the buffer.
    pub truncated: bool,
}

/// The real kernel: every method is the free function of [`fs`], [`process`] or [`sys`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Real;

impl Syscalls for Real {
    #[inline]
    fn spawn(&mut self, spec: &SpawnSpec) -> SysResult<i32> {
        process::spawn(spec)
    }
    #[inline]
    fn wait_pid(&mut self, pid: i32) -> SysResult<i32> {
        process::wait_pid(pid)
    }
    #[inline]
    fn reap_nohang(&mut self) -> Option<Reaped> {
        process::reap_nohang()
    }
    #[inline]
    fn kill(&mut self, pid: i32, sig: i32) -> SysResult<()> {
        process::signal(pid, sig)
    }
    #[inline]
    fn stat_mode(&mut self, path: &CStr) -> SysResult<u32> {
        sys::stat(path).map(|st| st.st_mode)
    }
    #[inline]
    fn open_read(&mut self, path: &CStr) -> SysResult<i32> {
        fs::open_read(path)
    }
    #[inline]
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        sys::read(fd, buf)
    }
    #[inline]
    fn close(&mut self, fd: i32) -> SysResult<()> {
        sys::close(fd)
    }
    #[inline]
    fn write_atomic(&mut self, tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        fs::write_atomic(tmp, dest, bytes)
    }
    #[inline]
    fn write_stderr(&mut self, line: &[u8]) {
        crate::diag::write_stderr(line)
    }
    #[inline]
    fn pipe(&mut self) -> SysResult<(i32, i32)> {
        sys::pipe(false)
    }
    #[inline]
    fn set_nonblock(&mut self, fd: i32) -> SysResult<()> {
        sys::set_nonblock(fd, true)
    }
    #[inline]
    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram> {
        crate::exec::runsv_ready::recv_datagram(fd)
    }
    #[inline]
    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        crate::exec::runsv_ready::parent_of(pid)
    }
}

/// Whether a mode from [`Syscalls::stat_mode`] has the owner-execute bit (runit's test
/// for `control/<c>` scripts).
pub fn mode_owner_exec(mode: u32) -> bool {
    mode & libc::S_IXUSR != 0
}
