//! runsv's start-up calls as a trait, [`SetupSys`], beside [`Syscalls`]: making
//! `supervise/`, the locks, the FIFOs, reading the service directory's files, the
//! sd_notify socket and the s6 fifodir. Start-up runs once per runsv, on the real OS only
//! (`runtime::os::Real` over libc; the raw implementation in the freestanding runsv), but
//! it is one piece of code over both, as the executor is.

use alloc::vec::Vec;
use core::ffi::CStr;

use super::syscalls::{SysResult, Syscalls};

/// What runsv's start-up asks of the kernel on top of [`Syscalls`]. Every descriptor
/// opened is close-on-exec.
pub trait SetupSys: Syscalls {
    /// `chdir(2)`: into the service directory, into `./log` for a `log/supervise` link.
    fn chdir(&mut self, path: &CStr) -> SysResult<()>;
    /// `fchdir(2)`: back to the service directory.
    fn fchdir(&mut self, fd: i32) -> SysResult<()>;
    /// `mkdir(path, mode)`: `supervise/` (0700), or a `supervise` link's target.
    fn mkdir(&mut self, path: &CStr, mode: u32) -> SysResult<()>;
    /// `readlink(2)` of at most `max` bytes; `ENAMETOOLONG` if the target does not fit
    /// (runit uses a 256-byte buffer for `supervise` links).
    fn readlink(&mut self, path: &CStr, max: usize) -> SysResult<Vec<u8>>;
    /// runit's open-append: `O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT`, 0600 (the lock).
    fn open_append(&mut self, path: &CStr) -> SysResult<i32>;
    /// runit's open-write: `O_WRONLY | O_NONBLOCK`, no create (the control FIFO's
    /// write end, held so the FIFO never reports EOF).
    fn open_write(&mut self, path: &CStr) -> SysResult<i32>;
    /// `open(path, O_RDONLY | O_DIRECTORY)`: the service directory, to list it once.
    fn open_dir(&mut self, path: &CStr) -> SysResult<i32>;
    /// `getdents64(2)`: the bytes of `struct linux_dirent64` records filled, 0 at the end.
    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize>;
    /// Exclusive `flock`; `wait` = blocking (the log slot's lock waits, the main's not).
    fn lock_exclusive(&mut self, fd: i32, wait: bool) -> SysResult<()>;
    /// A non-blocking POSIX write lock on the whole file (`fcntl(F_SETLK, F_WRLCK)`)
    /// beside the flock: what s6's `fd_islocked` sees.
    fn lock_record(&mut self, fd: i32) -> SysResult<()>;
    /// `mkfifo(path, mode)`: `control` and `ok`.
    fn mkfifo(&mut self, path: &CStr, mode: u32) -> SysResult<()>;
    /// s6's fifodir (`ftrigw_fifodir_make`): a directory, mode 03730, group runsv's
    /// effective group; an existing directory is kept as it is.
    fn make_fifodir(&mut self, path: &CStr) -> SysResult<()>;
    /// The soft `RLIMIT_NOFILE` (`notification-fd` must be below it); 1024 if unknown.
    fn fd_limit(&mut self) -> u64;
    /// The current directory's absolute path (the service directory, for
    /// `NOTIFY_SOCKET`).
    fn getcwd(&mut self) -> SysResult<Vec<u8>>;
    /// A datagram socket (`AF_UNIX`, close-on-exec, non-blocking) bound at `path` after
    /// unlinking whatever is there, with `SO_PASSCRED` on: `supervise/notify`. Nothing is
    /// left open on failure.
    fn bind_notify_socket(&mut self, path: &CStr) -> SysResult<i32>;
}

/// Which of a few names exist in a directory, learnt from one listing of it.
///
/// Why: a service directory's opt-in files (`down-signal`, `notification-fd`, ...) are
/// usually absent, and on tmpfs (where `/run` and most service directories of a big host
/// live) a failed lookup costs a dentry allocated and freed each time, several times a
/// `getdents64`; one listing replaces seven failed `open`s per runsv start. A name listed
/// is still opened as before (it may be a dangling symlink or unreadable), so what a
/// caller finds is what the `open` alone would find.
#[derive(Clone, Copy, Debug)]
pub struct Present {
    names: &'static [&'static str],
    /// Bit `i`: `names[i]` is listed; `None`: the directory could not be listed (then
    /// every name counts as possibly there).
    bits: Option<u64>,
}

impl Present {
    /// Lists directory `dir` once and notes which of `names` (at most 64) it holds.
    pub fn list(os: &mut impl SetupSys, dir: &CStr, names: &'static [&'static str]) -> Present {
        let fd = match os.open_dir(dir) {
            Ok(fd) => fd,
            Err(_) => return Present { names, bits: None },
        };
        let mut bits = 0u64;
        // 2 KiB lists a service directory in one call (the second returns 0).
        let mut buf = [0u8; 2048];
        let bits = loop {
            match os.getdents64(fd, &mut buf) {
                Err(_) => break None,
                Ok(0) => break Some(bits),
                Ok(n) => {
                    for name in crate::dirent::names(&buf[..n]) {
                        if let Some(i) = names.iter().position(|n| n.as_bytes() == name) {
                            bits |= 1 << i;
                        }
                    }
                }
            }
        };
        let _ = os.close(fd);
        Present { names, bits }
    }

    /// Whether `name` may exist: false only when it is one of the listed names and the
    /// listing did not show it.
    pub fn may_exist(&self, name: &[u8]) -> bool {
        match (self.bits, self.names.iter().position(|n| n.as_bytes() == name)) {
            (Some(bits), Some(i)) => bits & (1 << i) != 0,
            _ => true,
        }
    }
}
