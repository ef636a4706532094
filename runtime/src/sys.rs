//! Small wrappers over the syscalls used across the runtime: nix's safe API where it
//! covers the call, raw libc (each with its SAFETY comment) where it does not. File
//! descriptors stay plain numbers, as the models and children see them.

use std::ffi::{CStr, CString};
use std::os::fd::{BorrowedFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use model::errno::Errno;
use nix::dir::Dir;
use nix::fcntl::{AtFlags, FcntlArg, OFlag, AT_FDCWD};
use nix::sys::stat::{FchmodatFlags, Mode};

/// The calling thread's errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The calling thread's errno as a model value.
pub fn last_errno() -> Errno {
    Errno(errno())
}

/// Result of a syscall wrapper: the value or the errno.
pub type SysResult<T> = Result<T, Errno>;

/// A path (or bytes) as a C string; an interior NUL becomes EINVAL.
pub fn cstr(bytes: &[u8]) -> SysResult<CString> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

/// A `Path` as a C string.
pub fn cpath(p: &Path) -> SysResult<CString> {
    cstr(p.as_os_str().as_bytes())
}

fn check(r: libc::c_int) -> SysResult<libc::c_int> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// `open(2)` with flags and mode, retried on EINTR. Always adds `O_CLOEXEC`.
pub fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> SysResult<i32> {
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_CLOEXEC;
    loop {
        match nix::fcntl::open(path, flags, Mode::from_bits_truncate(mode)) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return nx(r).map(IntoRawFd::into_raw_fd),
        }
    }
}

/// `close(2)`; errors reported but the fd is gone either way.
pub fn close(fd: i32) -> SysResult<()> {
    nx(nix::unistd::close(fd))
}

/// `getdents64(2)` into `buf`, retried on EINTR: the records [`bare::dirent::names`]
/// walks. The one wrapper for sv's host listing and runsv's start-up listing.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    loop {
        // SAFETY: buf is a live, writable slice of the length passed.
        let r = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if r >= 0 {
            return Ok(r as usize);
        }
        if errno() != libc::EINTR {
            return Err(last_errno());
        }
    }
}

/// `read(2)` into `buf`, retried on EINTR.
pub fn read(file: i32, buf: &mut [u8]) -> SysResult<usize> {
    loop {
        match nix::unistd::read(fd(file), buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return nx(r),
        }
    }
}

/// `read(2)` of up to `max` bytes appended to `buf`'s spare capacity, retried on EINTR;
/// returns the count read. Unlike zero-filling a buffer and reading into it, this touches
/// only the pages the kernel writes: svlogd's 128-KiB read buffer stays one page resident
/// while its input is a line at a time, and no 128 KiB are cleared before every read.
pub fn read_append(fd: i32, buf: &mut Vec<u8>, max: usize) -> SysResult<usize> {
    buf.reserve(max);
    loop {
        let spare = buf.spare_capacity_mut();
        // SAFETY: the spare capacity is writable for at least `max` bytes (reserved above).
        let r = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), max) };
        if r < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return Err(last_errno());
        }
        // SAFETY: the kernel initialised the first r (<= max) bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + r as usize) };
        return Ok(r as usize);
    }
}

/// `write(2)` of `buf`, retried on EINTR; may be short.
pub fn write(file: i32, buf: &[u8]) -> SysResult<usize> {
    loop {
        match nix::unistd::write(fd(file), buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return nx(r),
        }
    }
}

/// Writes all of `buf`, retrying short writes; returns the first error.
pub fn write_all(fd: i32, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// `rename(2)`.
pub fn rename(from: &CStr, to: &CStr) -> SysResult<()> {
    nx(nix::fcntl::renameat(AT_FDCWD, from, AT_FDCWD, to))
}

/// `unlink(2)`.
pub fn unlink(path: &CStr) -> SysResult<()> {
    nx(nix::unistd::unlink(path))
}

/// `chdir(2)`.
pub fn chdir(path: &CStr) -> SysResult<()> {
    nx(nix::unistd::chdir(path))
}

/// `fchdir(2)`.
pub fn fchdir(dir: i32) -> SysResult<()> {
    nx(nix::unistd::fchdir(fd(dir)))
}

/// `stat(2)` (follows symlinks).
pub fn stat(path: &CStr) -> SysResult<libc::stat> {
    nx(nix::sys::stat::stat(path))
}

/// `fstat(2)`.
pub fn fstat(file: i32) -> SysResult<libc::stat> {
    nx(nix::sys::stat::fstat(fd(file)))
}

/// `mkdir(2)`.
pub fn mkdir(path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    nx(nix::unistd::mkdir(path, Mode::from_bits_truncate(mode)))
}

/// `mkfifo(3)`.
pub fn mkfifo(path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    nx(nix::unistd::mkfifo(path, Mode::from_bits_truncate(mode)))
}

/// `symlink(2)`: a link at `link` pointing to `target`.
pub fn symlink(target: &CStr, link: &CStr) -> SysResult<()> {
    nx(nix::unistd::symlinkat(target, AT_FDCWD, link))
}

/// `readlink(2)` of at most `max` bytes; `ENAMETOOLONG` if the target does not fit
/// (runit uses a 256-byte buffer for `supervise` links).
/// The buffer is exactly `max` bytes (nix's would be `PATH_MAX`: a 4 KiB allocation that
/// alone pushed runsv's start-up heap onto a third page).
pub fn readlink(path: &CStr, max: usize) -> SysResult<Vec<u8>> {
    let mut target: Vec<u8> = Vec::with_capacity(max);
    // SAFETY: readlink writes at most `max` bytes into the buffer's capacity.
    let n = unsafe { libc::readlink(path.as_ptr(), target.as_mut_ptr().cast(), max) };
    let n = usize::try_from(n).map_err(|_| last_errno())?;
    if n >= max {
        return Err(Errno::ENAMETOOLONG);
    }
    // SAFETY: the kernel wrote `n` (< max) bytes.
    unsafe { target.set_len(n) };
    Ok(target)
}

/// `fcntl(fd, F_SETLK, {F_WRLCK, whole file})`: a non-blocking POSIX record lock.
pub fn fcntl_write_lock(fd: i32) -> SysResult<()> {
    // SAFETY: a zeroed `flock` is a valid value (l_start = l_len = 0: the whole file).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    loop {
        // SAFETY: `fl` is a valid, initialised `struct flock` that outlives the call.
        let r = unsafe { libc::fcntl(fd, libc::F_SETLK, &fl) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return check(r).map(|_| ());
    }
}

/// `flock(2)`.
pub fn flock(fd: i32, op: libc::c_int) -> SysResult<()> {
    loop {
        // SAFETY: no memory preconditions.
        let r = unsafe { libc::flock(fd, op) };
        if r < 0 && errno() == libc::EINTR && op & libc::LOCK_NB == 0 {
            continue;
        }
        return check(r).map(|_| ());
    }
}

/// `kill(2)`.
pub fn kill(pid: i32, sig: i32) -> SysResult<()> {
    // SAFETY: no memory preconditions.
    check(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

/// `pipe2(2)` with `O_CLOEXEC` (and optionally `O_NONBLOCK`): (read, write).
pub fn pipe(nonblock: bool) -> SysResult<(i32, i32)> {
    let flags = OFlag::O_CLOEXEC | if nonblock { OFlag::O_NONBLOCK } else { OFlag::empty() };
    let (r, w) = nx(nix::unistd::pipe2(flags))?;
    Ok((r.into_raw_fd(), w.into_raw_fd()))
}

/// Sets or clears `O_NONBLOCK` on an fd.
pub fn set_nonblock(file: i32, on: bool) -> SysResult<()> {
    let fl = OFlag::from_bits_retain(nx(nix::fcntl::fcntl(fd(file), FcntlArg::F_GETFL))?);
    let nfl = if on { fl | OFlag::O_NONBLOCK } else { fl - OFlag::O_NONBLOCK };
    nx(nix::fcntl::fcntl(fd(file), FcntlArg::F_SETFL(nfl))).map(|_| ())
}

/// `dup2(from, to)`: raw fd numbers (nix's dup2 wants an owned target, which the standard
/// fds of a program are not).
pub fn dup2(from: i32, to: i32) -> SysResult<()> {
    // SAFETY: dup2 on plain fd numbers touches no memory.
    if unsafe { libc::dup2(from, to) } < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `chmod(path, mode)`, following symbolic links.
pub fn chmod(path: &CStr, mode: u32) -> SysResult<()> {
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        nix::sys::stat::Mode::from_bits_truncate(mode as libc::mode_t),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| Errno(e as i32))
}

/// A nix result as the model's errno.
fn nx<T>(r: nix::Result<T>) -> SysResult<T> {
    r.map_err(|e| Errno(e as i32))
}

/// The descriptor `fd` for nix's I/O-safe wrappers. The runtime keeps descriptors as
/// plain numbers (the models name them, children inherit them by number); a number
/// that is no longer open only makes the call fail with EBADF.
fn fd(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: the BorrowedFd is only handed to one nix syscall wrapper in this module,
    // for the duration of that call; the kernel checks the number, no memory is involved.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// `openat(2)` relative to directory `dir`, retried on EINTR. Always adds `O_CLOEXEC`.
pub fn openat(dir: i32, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> SysResult<i32> {
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_CLOEXEC;
    loop {
        match nix::fcntl::openat(fd(dir), name, flags, Mode::from_bits_truncate(mode)) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return nx(r).map(IntoRawFd::into_raw_fd),
        }
    }
}

/// `renameat(2)` within one directory.
pub fn renameat(dir: i32, from: &CStr, to: &CStr) -> SysResult<()> {
    nx(nix::fcntl::renameat(fd(dir), from, fd(dir), to))
}

/// `fstatat(2)` of `name` in `dir`, without following a final symbolic link.
pub fn lstatat(dir: i32, name: &CStr) -> SysResult<libc::stat> {
    nx(nix::sys::stat::fstatat(fd(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW))
}

/// `fstatat(2)` of `name` in `dir`, following symbolic links (as `stat`).
pub fn statat(dir: i32, name: &CStr) -> SysResult<libc::stat> {
    nx(nix::sys::stat::fstatat(fd(dir), name, AtFlags::empty()))
}

/// `unlinkat(2)` of a file (not a directory) in `dir`.
pub fn unlinkat(dir: i32, name: &CStr) -> SysResult<()> {
    nx(nix::unistd::unlinkat(fd(dir), name, nix::unistd::UnlinkatFlags::NoRemoveDir))
}

/// `fchmodat(2)` of `name` in `dir`, following links (as `chmod`).
pub fn fchmodat(dir: i32, name: &CStr, mode: u32) -> SysResult<()> {
    nx(nix::sys::stat::fchmodat(fd(dir), name, Mode::from_bits_truncate(mode), FchmodatFlags::FollowSymlink))
}

/// `fchmod(2)`.
pub fn fchmod(file: i32, mode: u32) -> SysResult<()> {
    nx(nix::sys::stat::fchmod(fd(file), Mode::from_bits_truncate(mode)))
}

/// `fsync(2)`.
pub fn fsync(file: i32) -> SysResult<()> {
    nx(nix::unistd::fsync(fd(file)))
}

/// Opens directory `path` for listing (close-on-exec); the listing's descriptor also
/// serves `*at` calls and a child's `fchdir` while the [`Dir`] lives.
pub fn open_dir(path: &CStr) -> SysResult<Dir> {
    nx(Dir::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()))
}

/// Opens directory `name` relative to `dir` for listing (close-on-exec).
pub fn open_dir_at(dir: i32, name: &CStr) -> SysResult<Dir> {
    nx(Dir::openat(fd(dir), name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()))
}

/// The names in `dir` in `readdir` order, `.` and `..` left out, and the read error that
/// ended the listing early, if one did.
pub fn list(dir: &mut Dir) -> (Vec<CString>, Option<Errno>) {
    let mut names = Vec::new();
    for entry in dir.iter() {
        match entry {
            Ok(e) => {
                let n = e.file_name();
                if n != c"." && n != c".." {
                    names.push(n.to_owned());
                }
            }
            Err(e) => return (names, Some(Errno(e as i32))),
        }
    }
    (names, None)
}

/// Moves `file`'s offset by `delta` from where it is (`lseek(SEEK_CUR)`).
pub fn seek_back(file: i32, delta: i64) -> SysResult<i64> {
    nx(nix::unistd::lseek(fd(file), -delta, nix::unistd::Whence::SeekCur))
}

/// `ftruncate(2)`.
pub fn ftruncate(file: i32, len: i64) -> SysResult<()> {
    nx(nix::unistd::ftruncate(fd(file), len))
}

/// `pread(2)`: up to `buf.len()` bytes at `offset`, the file's own offset untouched.
pub fn pread(file: i32, buf: &mut [u8], offset: i64) -> SysResult<usize> {
    nx(nix::sys::uio::pread(fd(file), buf, offset))
}
