//! bare's file primitives against the real kernel in scratch directories under /tmp:
//! write_atomic's flags and each failing step, the opens, FIFOs, stat fields, links,
//! locks, the fifodir.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use bare::file::{self, AtomicWriteError};
use bare::sys;
use common::{c, in_fork, scratch};
use model::errno::Errno;

#[test]
fn write_atomic_flags_are_todays() {
    let expected = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NONBLOCK | libc::O_NOFOLLOW;
    assert_eq!(file::ATOMIC_WRITE_FLAGS, expected as usize);
    assert_eq!(sys::O_CLOEXEC, libc::O_CLOEXEC as usize);
}

#[test]
fn write_atomic_truncates_writes_and_renames_with_mode_0644() {
    let dir = scratch("atomic-ok");
    let (tmp, dest) = (dir.join("status.new"), dir.join("status"));
    std::fs::write(&tmp, b"a much longer previous content").unwrap();
    std::fs::write(&dest, b"old").unwrap();
    // Read without setting it: the harness's other threads create files meanwhile.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mask = status.lines().find_map(|l| l.strip_prefix("Umask:")).map(|m| u32::from_str_radix(m.trim(), 8).unwrap()).unwrap();
    std::fs::remove_file(&tmp).unwrap();
    assert_eq!(file::write_atomic(&c(&tmp), &c(&dest), b"run\n"), Ok(()));
    assert_eq!(std::fs::read(&dest).unwrap(), b"run\n");
    assert!(!tmp.exists());
    assert_eq!(std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777, 0o644 & !mask);
    // An existing tmp is truncated (O_TRUNC), not appended to.
    std::fs::write(&tmp, b"a much longer previous content").unwrap();
    assert_eq!(file::write_atomic(&c(&tmp), &c(&dest), b"down\n"), Ok(()));
    assert_eq!(std::fs::read(&dest).unwrap(), b"down\n");
    // Empty bytes: an empty file (runsv's `pid` while nothing runs).
    assert_eq!(file::write_atomic(&c(&tmp), &c(&dest), b""), Ok(()));
    assert_eq!(std::fs::read(&dest).unwrap(), b"");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_atomic_names_the_step_that_failed() {
    let dir = scratch("atomic-fail");
    let (tmp, dest) = (dir.join("x.new"), dir.join("x"));
    // O_NOFOLLOW: a link planted at tmp fails the open.
    std::os::unix::fs::symlink(dir.join("target"), &tmp).unwrap();
    assert_eq!(file::write_atomic(&c(&tmp), &c(&dest), b"x"), Err(AtomicWriteError::Open(Errno::ELOOP)));
    assert!(!dir.join("target").exists());
    std::fs::remove_file(&tmp).unwrap();
    // O_NONBLOCK | O_WRONLY: a FIFO without a reader fails at once with ENXIO.
    file::mkfifo(&c(&tmp), 0o600).unwrap();
    assert_eq!(file::write_atomic(&c(&tmp), &c(&dest), b"x"), Err(AtomicWriteError::Open(Errno(libc::ENXIO))));
    std::fs::remove_file(&tmp).unwrap();
    // Rename over a non-empty directory fails; tmp stays (as runit).
    std::fs::create_dir_all(dest.join("full")).unwrap();
    assert!(matches!(file::write_atomic(&c(&tmp), &c(&dest), b"x"), Err(AtomicWriteError::Rename(_))));
    assert!(tmp.exists());
    std::fs::remove_dir_all(&dest).unwrap();
    // Write failures under a file-size limit, in a forked child: a short write
    // (Partial) and a failed one (EFBIG), each unlinking tmp.
    let (t2, d2) = (tmp.clone(), dest.clone());
    let code = in_fork(move || {
        let lim = libc::rlimit { rlim_cur: 2, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: this forked child's own limit and disposition.
        unsafe {
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        }
        if file::write_atomic(&c(&t2), &c(&d2), b"12345") != Err(AtomicWriteError::Partial) || t2.exists() {
            return 10;
        }
        let lim = libc::rlimit { rlim_cur: 0, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &lim) };
        if file::write_atomic(&c(&t2), &c(&d2), b"12345") != Err(AtomicWriteError::Write(Errno(libc::EFBIG))) || t2.exists() {
            return 11;
        }
        0
    });
    assert_eq!(code, 0);
    assert!(!dest.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The flags of an open descriptor, from /proc/self/fdinfo.
fn fd_flags(fd: i32) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap().trim();
    i32::from_str_radix(flags, 8).unwrap()
}

#[test]
fn opens_use_runits_flags_and_modes() {
    let dir = scratch("opens");
    let lock = dir.join("lock");
    let fd = file::open_append(&c(&lock)).unwrap();
    let want = libc::O_WRONLY | libc::O_APPEND | libc::O_NONBLOCK | libc::O_CLOEXEC;
    assert_eq!(fd_flags(fd) & want, want);
    assert_eq!(std::fs::metadata(&lock).unwrap().permissions().mode() & 0o077, 0, "0600 before the umask");
    sys::close(fd).unwrap();
    let fd = file::open_read(&c(&lock)).unwrap();
    assert_eq!(fd_flags(fd) & (libc::O_ACCMODE | libc::O_NONBLOCK | libc::O_CLOEXEC), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC);
    sys::close(fd).unwrap();
    let fd = file::open_dir(&c(&dir)).unwrap();
    assert_ne!(fd_flags(fd) & libc::O_DIRECTORY, 0);
    sys::close(fd).unwrap();
    // A FIFO for writing without a reader: ENXIO (runit's open_write).
    file::mkfifo(&c(dir.join("fifo")), 0o600).unwrap();
    assert!(std::fs::metadata(dir.join("fifo")).unwrap().file_type().is_fifo());
    assert_eq!(file::open_write(&c(dir.join("fifo"))), Err(Errno(libc::ENXIO)));
    let r = file::open_read(&c(dir.join("fifo"))).unwrap();
    let w = file::open_write(&c(dir.join("fifo"))).unwrap();
    assert_eq!(sys::write(w, b"u"), Ok(1));
    assert_eq!(file::read_small(&c(&lock), 8), Ok(Vec::new()));
    sys::close(r).unwrap();
    sys::close(w).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stat_fields_match_std() {
    let dir = scratch("stat");
    let f = dir.join("f");
    std::fs::write(&f, b"12345").unwrap();
    let m = std::fs::metadata(&f).unwrap();
    let st = file::stat(&c(&f)).unwrap();
    assert_eq!((st.mode, st.dev, st.ino, st.uid, st.gid, st.size, st.mtime), (m.mode(), m.dev(), m.ino(), m.uid(), m.gid(), 5, m.mtime()));
    assert!(!st.is_dir());
    let dfd = file::open_dir(&c(&dir)).unwrap();
    std::os::unix::fs::symlink("f", dir.join("l")).unwrap();
    assert!(file::fstat(dfd).unwrap().is_dir());
    let (r, w) = file::pipe().unwrap();
    let (sr, sw) = (file::fstat(r).unwrap(), file::fstat(w).unwrap());
    assert!(sr.mode & file::S_IFMT == file::S_IFIFO && sr.ino == sw.ino && sr.dev == sw.dev);
    assert_eq!(file::stat(&c(dir.join("none"))), Err(Errno::ENOENT));
    // readlink within and beyond the buffer.
    assert_eq!(file::readlink(&c(dir.join("l")), 256), Ok(b"f".to_vec()));
    std::os::unix::fs::symlink("x".repeat(300), dir.join("long")).unwrap();
    assert_eq!(file::readlink(&c(dir.join("long")), 256), Err(Errno::ENAMETOOLONG));
    // rename / unlink.
    file::rename(&c(&f), &c(dir.join("g"))).unwrap();
    assert!(dir.join("g").exists() && !f.exists());
    file::rename(&c(dir.join("g")), &c(&f)).unwrap();
    file::unlink(&c(dir.join("l"))).unwrap();
    file::unlink(&c(&f)).unwrap();
    assert!(!f.exists() && std::fs::symlink_metadata(dir.join("l")).is_err());
    for fd in [dfd, r, w] {
        sys::close(fd).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn locks_nonblocking_flag_and_fifodir() {
    let dir = scratch("locks");
    let lock = c(dir.join("lock"));
    let a = file::open_append(&lock).unwrap();
    let b = file::open_append(&lock).unwrap();
    file::lock_exclusive(a, false).unwrap();
    assert_eq!(file::lock_exclusive(b, false), Err(Errno::EAGAIN));
    file::fcntl_write_lock(a).unwrap();
    // The POSIX lock is visible to another process (s6's fd_islocked: F_GETLK).
    let path = dir.join("lock");
    let code = in_fork(move || {
        let fd = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as i16;
        // SAFETY: fl is a valid struct flock.
        let r = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETLK, &mut fl) };
        if r == 0 && fl.l_type == libc::F_WRLCK as i16 {
            0
        } else {
            1
        }
    });
    assert_eq!(code, 0);
    let flags = |fd| unsafe { libc::fcntl(fd, libc::F_GETFL) };
    file::set_nonblock(b, false).unwrap();
    assert_eq!(flags(b) & libc::O_NONBLOCK, 0);
    file::set_nonblock(b, true).unwrap();
    assert_ne!(flags(b) & libc::O_NONBLOCK, 0);
    sys::close(a).unwrap();
    sys::close(b).unwrap();
    // The fifodir: 03730, the effective group; an existing one is kept as it is.
    let ev = dir.join("event");
    file::make_fifodir(&c(&ev)).unwrap();
    let m = std::fs::metadata(&ev).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o3730);
    assert_eq!(m.gid(), file::getegid());
    std::fs::set_permissions(&ev, std::fs::Permissions::from_mode(0o700)).unwrap();
    file::make_fifodir(&c(&ev)).unwrap();
    assert_eq!(std::fs::metadata(&ev).unwrap().mode() & 0o7777, 0o700);
    file::mkdir(&c(dir.join("d")), 0o700).unwrap();
    assert_eq!(file::mkdir(&c(dir.join("d")), 0o700), Err(Errno::EEXIST));
    file::chmod(&c(dir.join("d")), 0o755).unwrap();
    assert_eq!(std::fs::metadata(dir.join("d")).unwrap().mode() & 0o777, 0o755);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn getcwd_within_and_beyond_the_buffer() {
    let mut buf = [0u8; 512];
    let n = file::getcwd(&mut buf).unwrap();
    assert_eq!(&buf[..n], std::env::current_dir().unwrap().as_os_str().as_encoded_bytes());
    assert_eq!(file::getcwd(&mut [0u8; 1]), Err(Errno(libc::ERANGE)));
}
