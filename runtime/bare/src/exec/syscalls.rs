//! The system calls an executor makes once it runs, as a trait, so the same executor code
//! runs over the real kernel (`runtime::os::Real`, std; the raw implementation in the
//! freestanding runsv) and over the fake kernels of `verification/`: the simulators then
//! test the production executors, not a copy of them.
//!
//! The trait is the executors' half of the OS; the driver's half (the clocks and the
//! blocking wait) is [`crate::exec::driver::Os`]. Methods sit at the level the executors
//! call (`write_atomic`, not open/write/rename one by one), so call sites stay short and
//! a fake can still fail each step (the error says which). Executors are generic over the
//! trait, monomorphised: the shipping binaries pay nothing for it.

use alloc::vec::Vec;
use core::ffi::CStr;

use model::errno::Errno;

use super::linux;
use super::spawn::SpawnSpec;

/// Result of a system call: the value or the errno.
pub type SysResult<T> = Result<T, Errno>;

/// What an executor asks of the kernel once it runs (runsv's start-up is
/// [`crate::exec::setup::SetupSys`]).
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
    ///
    /// The readiness calls (`pipe`, `recv_datagram`, `parent_of`) default to a kernel that
    /// offers none (no descriptor to spare, no datagram, no ancestry), so a fake that does
    /// not model readiness (runsvdir's, svlogd's, stage's) needs nothing; the real kernels
    /// and runsv's fakes implement them.
    fn pipe(&mut self) -> SysResult<(i32, i32)> {
        Err(Errno::EMFILE)
    }
    /// Makes `fd` non-blocking: a notification pipe is read without ever blocking runsv.
    fn set_nonblock(&mut self, fd: i32) -> SysResult<()>;
    /// Receives one queued sd_notify datagram with the sender's credentials, or `None`:
    /// where the simulator injects lost, duplicated and forged notifications.
    fn recv_datagram(&mut self, _fd: i32) -> Option<Datagram> {
        None
    }
    /// The parent of `pid` (from `/proc`): a notification is accepted from the child's
    /// descendants, so runsv walks the sender's ancestry.
    fn parent_of(&mut self, _pid: i32) -> Option<i32> {
        None
    }
    /// This process's environment as (name, value) pairs, read when `./run` is spawned
    /// with sd_notify variables of its own (the rest of the environment is passed on).
    /// The default (a fake kernel's) is empty.
    fn environment(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        Vec::new()
    }

    // Adoption (issue 11, `exec::runsv_adopt`): what a new runsv asks about the processes
    // its predecessor left. The defaults are a kernel without pidfds (runit's behaviour
    // follows: nothing adopted), so a fake that does not model adoption needs nothing.

    /// A small file whole (at most `max` bytes): the old `supervise/status`.
    fn read_small(&mut self, _path: &CStr, _max: usize) -> SysResult<Vec<u8>> {
        Err(Errno::ENOENT)
    }
    /// `pidfd_open(pid, 0)`: a descriptor that pins the process and becomes readable
    /// when it ends (polled with the other interests).
    fn pidfd_open(&mut self, _pid: u32) -> SysResult<i32> {
        Err(Errno(linux::ENOSYS))
    }
    /// `pidfd_send_signal(pidfd, sig)`: a signal to exactly the process the pidfd pins.
    fn pidfd_send_signal(&mut self, _pidfd: i32, _sig: i32) -> SysResult<()> {
        Err(Errno(linux::ENOSYS))
    }
    /// `pidfd_getfd(pidfd, target)`: a duplicate of the process's descriptor `target`.
    fn pidfd_getfd(&mut self, _pidfd: i32, _target: i32) -> SysResult<i32> {
        Err(Errno(linux::ENOSYS))
    }
    /// `fstat(fd)`: which pipe a recovered descriptor is (device, inode, FIFO type).
    fn fstat(&mut self, _fd: i32) -> SysResult<FileStat> {
        Err(Errno::EBADF)
    }
    /// The other end of the pipe behind `fd` (`/proc/self/fd/<fd>` reopened).
    fn reopen_pipe(&mut self, _fd: i32, _write: bool) -> SysResult<i32> {
        Err(Errno(linux::ENOSYS))
    }
    /// `/proc/<pid>/stat`, whole: the process's state and start time.
    fn proc_stat(&mut self, _pid: u32) -> Option<Vec<u8>> {
        None
    }
    /// This boot's wall time in Unix ns (`CLOCK_REALTIME - CLOCK_BOOTTIME`).
    fn boot_wall_ns(&mut self) -> i64 {
        0
    }
    /// `sysconf(_SC_CLK_TCK)`: the unit of the start time (0: unknown, nothing adopted).
    fn clk_tck(&mut self) -> u64 {
        0
    }
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

/// One reaped child: pid and raw wait status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The child's pid.
    pub pid: i32,
    /// Raw `wait` status (exit code = `status >> 8`, signal = `status & 127`).
    pub status: i32,
}

/// Where an atomic write failed, so the caller can print runit's exact warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicWriteError {
    /// Opening `x.new` failed.
    Open(Errno),
    /// Writing `x.new` failed (it has been unlinked).
    Write(Errno),
    /// Fewer bytes were written than asked (it has been unlinked).
    Partial,
    /// Renaming `x.new` over `x` failed.
    Rename(Errno),
}

/// Whether a mode from [`Syscalls::stat_mode`] has the owner-execute bit (runit's test
/// for `control/<c>` scripts).
pub fn mode_owner_exec(mode: u32) -> bool {
    mode & linux::S_IXUSR != 0
}

/// Whether a mode from [`Syscalls::stat_mode`] is a FIFO's.
pub fn mode_is_fifo(mode: u32) -> bool {
    mode & linux::S_IFMT == linux::S_IFIFO
}

/// Whether a mode from [`Syscalls::stat_mode`] is a directory's.
pub fn mode_is_dir(mode: u32) -> bool {
    mode & linux::S_IFMT == linux::S_IFDIR
}

/// `stat(2)`'s fields the executors use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    /// File type and permission bits.
    pub mode: u32,
    /// Modification time, seconds (runsvdir's change stamp).
    pub mtime: i64,
    /// Inode number (a service's identity for runsvdir).
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

impl FileStat {
    /// Whether it describes a directory.
    pub fn is_dir(&self) -> bool {
        mode_is_dir(self.mode)
    }
}
