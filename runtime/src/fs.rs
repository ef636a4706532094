//! Files as runit makes them (spec/common.md §8): its open modes, FIFOs, flock locks,
//! and status files written as `x.new` then renamed, so a reader never sees a partial
//! file.

use std::ffi::CStr;

use model::errno::Errno;

use crate::sys::{self, SysResult};

/// Open for reading, non-blocking (FIFOs, files, directories).
pub fn open_read(path: &CStr) -> SysResult<i32> {
    sys::open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)
}

/// Open for writing, non-blocking, no create (FIFOs; fails with ENXIO with no reader).
pub fn open_write(path: &CStr) -> SysResult<i32> {
    sys::open(path, libc::O_WRONLY | libc::O_NONBLOCK, 0)
}

/// Open-truncate: create 0644 (before umask), truncate.
pub fn open_trunc(path: &CStr) -> SysResult<i32> {
    sys::open(path, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT, 0o644)
}

/// Open-append: create 0600 (before umask), append (lock files, svlogd's `current`).
pub fn open_append(path: &CStr) -> SysResult<i32> {
    sys::open(path, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT, 0o600)
}

/// The first bytes (at most `max`) of a small file, read non-blocking (a FIFO put where a
/// setting file belongs yields nothing rather than a hang). Only one `read`: enough for a
/// regular file of a few bytes.
pub fn read_small(path: &CStr, max: usize) -> SysResult<Vec<u8>> {
    let fd = open_read(path)?;
    let mut buf = vec![0u8; max];
    let n = sys::read(fd, &mut buf);
    let _ = sys::close(fd);
    buf.truncate(n?);
    Ok(buf)
}

/// Which of a few names exist in a directory, from one listing (runsv's start-up; it
/// lives with runsv's executor in `bare`).
pub use bare::exec::setup::Present;

/// Exclusive flock; `wait` = blocking.
pub fn lock_exclusive(fd: i32, wait: bool) -> SysResult<()> {
    sys::flock(fd, libc::LOCK_EX | if wait { 0 } else { libc::LOCK_NB })
}

/// A non-blocking POSIX write lock on the whole file (`fcntl(F_SETLK, F_WRLCK)`), beside
/// the flock: what s6's `fd_islocked` (`F_GETLK`) sees. Released when the process exits or
/// closes any descriptor of the file.
pub fn lock_record(fd: i32) -> SysResult<()> {
    sys::fcntl_write_lock(fd)
}

/// s6's *fifodir* (`ftrigw_fifodir_make`): a directory, mode 03730 and group runsv's
/// effective group, in which s6 clients (`s6-notifyoncheck` via s6-ftrigrd) create their
/// event FIFOs. An existing directory is kept as it is.
pub fn make_fifodir(path: &CStr) -> SysResult<()> {
    match sys::mkdir(path, 0o700) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(e) => return Err(e),
    }
    nix::unistd::chown(path, None, Some(nix::unistd::getegid())).map_err(|e| Errno(e as i32))?;
    sys::chmod(path, 0o3730)
}

/// Where an atomic write failed (the type lives with the `Syscalls` trait in `bare`).
pub use bare::exec::syscalls::AtomicWriteError;

/// Writes `bytes` to `tmp` (open-truncate, as runit), then renames it to `dest`.
///
/// Unlike runit, `tmp` is opened with `O_NOFOLLOW`: a symbolic link planted at `tmp`
/// fails the open with `ELOOP` (reported like any open failure, e.g. runsv's `unable
/// to open supervise/status.new: symbolic link loop`) instead of truncating and
/// writing whatever file it points to. The rename replaces a link at `dest` itself,
/// never its target.
pub fn write_atomic(tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT | libc::O_NOFOLLOW;
    let fd = sys::open(tmp, flags, 0o644).map_err(AtomicWriteError::Open)?;
    // An empty file (runsv's `pid` while nothing runs) needs no `write`, as in runit.
    let written = if bytes.is_empty() { Ok(0) } else { sys::write(fd, bytes) };
    let _ = sys::close(fd);
    match written {
        Err(e) => {
            let _ = sys::unlink(tmp);
            return Err(AtomicWriteError::Write(e));
        }
        Ok(n) if n < bytes.len() => {
            let _ = sys::unlink(tmp);
            return Err(AtomicWriteError::Partial);
        }
        Ok(_) => {}
    }
    sys::rename(tmp, dest).map_err(AtomicWriteError::Rename)
}

/// Whether `st` describes a FIFO.
pub fn is_fifo(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFIFO
}

/// Whether `st` describes a directory.
pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["down", "log", "timeout-kill", "notify-socket"];

    #[test]
    fn present_reports_listed_names_only() {
        let dir = std::env::temp_dir().join(format!("runit-rs-present-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("down"), b"").unwrap();
        std::fs::create_dir_all(dir.join("log")).unwrap();
        std::os::unix::fs::symlink("nowhere", dir.join("notify-socket")).unwrap();
        for i in 0..100 {
            std::fs::write(dir.join(format!("filler-{i:03}-with-a-long-name-to-need-two-reads")), b"").unwrap();
        }
        let p = Present::list(&mut crate::os::Real, &sys::cpath(&dir).unwrap(), NAMES);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(p.may_exist(b"down"));
        assert!(p.may_exist(b"log"));
        assert!(!p.may_exist(b"timeout-kill"));
        // A dangling symlink is listed: the caller's open finds ENOENT, as without the listing.
        assert!(p.may_exist(b"notify-socket"));
        // A name not asked about is never ruled out.
        assert!(p.may_exist(b"finish"));
    }

    #[test]
    fn present_without_listing_rules_nothing_out() {
        let p = Present::list(&mut crate::os::Real, c"/nonexistent/runit-rs", NAMES);
        assert!(p.may_exist(b"down") && p.may_exist(b"timeout-kill"));
    }
}
