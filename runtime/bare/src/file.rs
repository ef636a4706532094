//! Files as runsv makes them, without libc: the calls `runtime::fs` and `runtime::sys`
//! make through glibc today, with the same system calls, flags and modes (glibc's
//! `mkdir`, `unlink`, `chown` and `readlink` are the old single-path calls on x86_64,
//! `mkfifo` is `mknodat`, `stat` is `newfstatat`: so are these).

use core::ffi::CStr;

use alloc::vec::Vec;
use model::errno::Errno;

use crate::sys::{self, syscall6, SysResult};

const NR_FSTAT_AT: usize = 262;
const NR_FCNTL: usize = 72;
const NR_FLOCK: usize = 73;
const NR_GETCWD: usize = 79;
const NR_MKDIR: usize = 83;
const NR_UNLINK: usize = 87;
const NR_READLINK: usize = 89;
const NR_CHOWN: usize = 92;
const NR_GETEGID: usize = 108;
const NR_MKNODAT: usize = 259;
const NR_RENAMEAT: usize = 264;
const NR_FCHMODAT: usize = 268;

/// `AT_FDCWD`.
pub const AT_FDCWD: i32 = -100;
const AT_EMPTY_PATH: usize = 0x1000;
/// `O_CREAT`.
pub const O_CREAT: usize = 0o100;
/// `O_TRUNC`.
pub const O_TRUNC: usize = 0o1000;
/// `O_APPEND`.
pub const O_APPEND: usize = 0o2000;
/// `O_NOFOLLOW`.
pub const O_NOFOLLOW: usize = 0o400000;
/// The `st_mode` bits, as the executor's (checked against libc by runtime's tests).
pub use crate::exec::linux::{S_IFDIR, S_IFIFO, S_IFMT, S_IXUSR};

/// `openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)`: runit's `open_read`
/// (FIFOs, files, directories).
pub fn open_read(path: &CStr) -> SysResult<i32> {
    sys::open(path, sys::O_RDONLY | sys::O_NONBLOCK, 0)
}

/// `O_WRONLY | O_NONBLOCK`, no create: runit's `open_write` (a FIFO; ENXIO without reader).
pub fn open_write(path: &CStr) -> SysResult<i32> {
    sys::open(path, sys::O_WRONLY | sys::O_NONBLOCK, 0)
}

/// `O_WRONLY | O_NONBLOCK | O_APPEND | O_CREAT`, 0600: runit's `open_append` (the lock).
pub fn open_append(path: &CStr) -> SysResult<i32> {
    sys::open(path, sys::O_WRONLY | sys::O_NONBLOCK | O_APPEND | O_CREAT, 0o600)
}

/// `O_RDONLY | O_DIRECTORY | O_CLOEXEC`: the service directory's one listing
/// (`runtime::fs::Present`).
pub fn open_dir(path: &CStr) -> SysResult<i32> {
    sys::open(path, sys::O_RDONLY | sys::O_DIRECTORY, 0)
}

/// The first bytes (at most `max`) of a small file: [`open_read`], one `read`, `close`
/// (runtime's `fs::read_small`: a FIFO where a setting file belongs yields nothing).
pub fn read_small(path: &CStr, max: usize) -> SysResult<Vec<u8>> {
    let fd = open_read(path)?;
    let mut buf = alloc::vec![0u8; max];
    let n = sys::read(fd, &mut buf);
    let _ = sys::close(fd);
    buf.truncate(n?);
    Ok(buf)
}

/// `mkdir(path, mode)` (`supervise`, `event`, the log's supervise target).
pub fn mkdir(path: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: path is NUL-terminated.
    sys::result(unsafe { syscall6(NR_MKDIR, [path.as_ptr() as usize, mode as usize, 0, 0, 0, 0]) }).map(|_| ())
}

/// glibc's `mkfifo`: `mknodat(AT_FDCWD, path, S_IFIFO | mode, 0)` (`supervise/control`, `ok`).
pub fn mkfifo(path: &CStr, mode: u32) -> SysResult<()> {
    let at = AT_FDCWD as isize as usize;
    // SAFETY: path is NUL-terminated.
    sys::result(unsafe { syscall6(NR_MKNODAT, [at, path.as_ptr() as usize, (S_IFIFO | mode) as usize, 0, 0, 0]) }).map(|_| ())
}

/// `stat(2)`'s fields runsv uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    /// File type and permission bits.
    pub mode: u32,
    /// Device (a recovered pipe's identity, with `ino`).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, seconds.
    pub mtime: i64,
}

impl FileStat {
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        crate::exec::syscalls::mode_is_dir(self.mode)
    }
}

/// `newfstatat(dir, name, &st, flags)`, the one stat call (x86_64's `struct stat`).
fn fstatat_raw(dir: i32, name: &CStr, flags: usize) -> SysResult<FileStat> {
    let mut st = [0u64; 18];
    // SAFETY: name is NUL-terminated; st is large enough for struct stat (144 bytes).
    sys::result(unsafe { syscall6(NR_FSTAT_AT, [dir as isize as usize, name.as_ptr() as usize, st.as_mut_ptr() as usize, flags, 0, 0]) })?;
    Ok(FileStat {
        dev: st[0],
        ino: st[1],
        mode: st[3] as u32,
        uid: (st[3] >> 32) as u32,
        gid: st[4] as u32,
        size: st[6] as i64,
        mtime: st[11] as i64,
    })
}

/// glibc's `stat`: `newfstatat(AT_FDCWD, path, &st, 0)` (follows symbolic links).
pub fn stat(path: &CStr) -> SysResult<FileStat> {
    fstatat_raw(AT_FDCWD, path, 0)
}

/// glibc's `fstat`: `newfstatat(fd, "", &st, AT_EMPTY_PATH)` (which pipe a recovered
/// descriptor is).
pub fn fstat(fd: i32) -> SysResult<FileStat> {
    fstatat_raw(fd, c"", AT_EMPTY_PATH)
}

/// `readlink(path)` of at most `max` bytes; `ENAMETOOLONG` if the target does not fit
/// (runit's 256-byte buffer for a `supervise` link).
pub fn readlink(path: &CStr, max: usize) -> SysResult<Vec<u8>> {
    let mut target: Vec<u8> = Vec::with_capacity(max);
    // SAFETY: readlink writes at most `max` bytes into the buffer's capacity.
    let n = sys::result(unsafe { syscall6(NR_READLINK, [path.as_ptr() as usize, target.as_mut_ptr() as usize, max, 0, 0, 0]) })?;
    if n >= max {
        return Err(Errno::ENAMETOOLONG);
    }
    // SAFETY: the kernel wrote `n` (< max) bytes.
    unsafe { target.set_len(n) };
    Ok(target)
}

/// `renameat(AT_FDCWD, from, AT_FDCWD, to)` (runtime's `rename`).
pub fn rename(from: &CStr, to: &CStr) -> SysResult<()> {
    let a = [AT_FDCWD as isize as usize, from.as_ptr() as usize, AT_FDCWD as isize as usize, to.as_ptr() as usize, 0, 0];
    // SAFETY: both paths are NUL-terminated.
    sys::result(unsafe { syscall6(NR_RENAMEAT, a) }).map(|_| ())
}

/// glibc's `unlink`: the `unlink` system call.
pub fn unlink(path: &CStr) -> SysResult<()> {
    // SAFETY: path is NUL-terminated.
    sys::result(unsafe { syscall6(NR_UNLINK, [path.as_ptr() as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// `flock(fd, op)`, retried on EINTR only when it may wait (as runtime's `sys::flock`).
pub fn flock(fd: i32, op: u32) -> SysResult<()> {
    const LOCK_NB: u32 = 4;
    loop {
        // SAFETY: plain number arguments.
        match sys::result(unsafe { syscall6(NR_FLOCK, [fd as usize, op as usize, 0, 0, 0, 0]) }) {
            Err(Errno::EINTR) if op & LOCK_NB == 0 => continue,
            r => return r.map(|_| ()),
        }
    }
}

/// `LOCK_EX`, and `LOCK_NB` unless `wait`: runit's lock on `supervise/lock`.
pub fn lock_exclusive(fd: i32, wait: bool) -> SysResult<()> {
    flock(fd, 2 | if wait { 0 } else { 4 })
}

/// `fcntl(fd, F_SETLK, {F_WRLCK, SEEK_SET, 0, 0})`, retried on EINTR: the POSIX write
/// lock s6's `fd_islocked` sees.
pub fn fcntl_write_lock(fd: i32) -> SysResult<()> {
    const F_SETLK: usize = 6;
    const F_WRLCK: u16 = 1;
    // struct flock: l_type i16, l_whence i16, pad, l_start i64, l_len i64, l_pid i32, pad.
    let fl = [F_WRLCK as u64, 0, 0, 0];
    // SAFETY: fl is a valid, zero-filled `struct flock` (32 bytes) that outlives the call.
    unsafe { sys::syscall_retry(NR_FCNTL, [fd as usize, F_SETLK, fl.as_ptr() as usize, 0, 0, 0]) }.map(|_| ())
}

/// `fcntl(F_GETFL)` then `fcntl(F_SETFL)` with `O_NONBLOCK` set or cleared (as nix's
/// two calls in runtime's `sys::set_nonblock`).
pub fn set_nonblock(fd: i32, on: bool) -> SysResult<()> {
    const F_GETFL: usize = 3;
    const F_SETFL: usize = 4;
    // SAFETY: plain number arguments.
    let fl = sys::result(unsafe { syscall6(NR_FCNTL, [fd as usize, F_GETFL, 0, 0, 0, 0]) })?;
    let nfl = if on { fl | sys::O_NONBLOCK } else { fl & !sys::O_NONBLOCK };
    // SAFETY: plain number arguments.
    sys::result(unsafe { syscall6(NR_FCNTL, [fd as usize, F_SETFL, nfl, 0, 0, 0]) }).map(|_| ())
}

/// `fchmodat(AT_FDCWD, path, mode)` (glibc's `chmod` through nix): the fifodir's 03730.
pub fn chmod(path: &CStr, mode: u32) -> SysResult<()> {
    fchmodat(AT_FDCWD, path, mode)
}

/// `fchmodat(dir, name, mode)`, following links.
pub fn fchmodat(dir: i32, name: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: name is NUL-terminated.
    sys::result(unsafe { syscall6(NR_FCHMODAT, [dir as isize as usize, name.as_ptr() as usize, mode as usize, 0, 0, 0]) }).map(|_| ())
}

/// glibc's `chown(path, -1, gid)`: only the group (the fifodir's, runsv's effective one).
pub fn chown_group(path: &CStr, gid: u32) -> SysResult<()> {
    // SAFETY: path is NUL-terminated.
    sys::result(unsafe { syscall6(NR_CHOWN, [path.as_ptr() as usize, u32::MAX as usize, gid as usize, 0, 0, 0]) }).map(|_| ())
}

/// `getegid(2)`.
pub fn getegid() -> u32 {
    // SAFETY: no arguments.
    (unsafe { syscall6(NR_GETEGID, [0; 6]) }) as u32
}

/// `getcwd(2)` into `buf`: the length of the path written (without its NUL); `ERANGE`
/// if it does not fit (std's `current_dir` starts with 512 bytes).
pub fn getcwd(buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: buf is a live, writable slice of the length passed.
    let n = sys::result(unsafe { syscall6(NR_GETCWD, [buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0, 0]) })?;
    Ok(n.saturating_sub(1))
}

/// s6's fifodir as `runtime::fs::make_fifodir` makes it: `mkdir(path, 0700)` (an existing
/// one is kept as it is), `getegid`, `chown(path, -1, egid)`, `chmod(path, 03730)`.
pub fn make_fifodir(path: &CStr) -> SysResult<()> {
    match mkdir(path, 0o700) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(e) => return Err(e),
    }
    chown_group(path, getegid())?;
    chmod(path, 0o3730)
}

/// Where an atomic write failed: the executor's type ([`crate::exec::syscalls`]), so
/// [`write_atomic`] is `Syscalls::write_atomic` as it stands.
pub use crate::exec::syscalls::AtomicWriteError;

/// The flags of [`write_atomic`]'s open (`O_CLOEXEC` is added by the open).
pub const ATOMIC_WRITE_FLAGS: usize = sys::O_WRONLY | sys::O_NONBLOCK | O_TRUNC | O_CREAT | O_NOFOLLOW;

/// runtime's `fs::write_atomic`: `openat(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK |
/// O_NOFOLLOW | O_CLOEXEC, 0644)`, one `write` (none for empty bytes), `close`, then
/// `renameat` over `dest`; a failed or short write unlinks `tmp`.
pub fn write_atomic(tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let fd = sys::open(tmp, ATOMIC_WRITE_FLAGS, 0o644).map_err(AtomicWriteError::Open)?;
    let written = if bytes.is_empty() { Ok(0) } else { sys::write(fd, bytes) };
    let _ = sys::close(fd);
    match written {
        Err(e) => {
            let _ = unlink(tmp);
            return Err(AtomicWriteError::Write(e));
        }
        Ok(n) if n < bytes.len() => {
            let _ = unlink(tmp);
            return Err(AtomicWriteError::Partial);
        }
        Ok(_) => {}
    }
    rename(tmp, dest).map_err(AtomicWriteError::Rename)
}

/// `pipe2(O_CLOEXEC)`: (read, write), as runtime's `sys::pipe(false)`.
pub fn pipe() -> SysResult<(i32, i32)> {
    sys::pipe2(sys::O_CLOEXEC)
}
