//! Raw Linux system calls (x86_64), each returning `Result<_, Errno>` like runtime's
//! `sys`; `EINTR` is retried where runtime's wrappers retry it.

use core::arch::asm;
use core::ffi::CStr;

use model::errno::Errno;

/// A system call's result: the value, or the errno.
pub type SysResult<T> = Result<T, Errno>;

/// x86_64 system call numbers (asm/unistd_64.h).
mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const EXECVE: usize = 59;
    pub const EXIT: usize = 60;
    pub const WAIT4: usize = 61;
    pub const KILL: usize = 62;
    pub const GETPID: usize = 39;
    pub const FORK: usize = 57;
    pub const CHDIR: usize = 80;
    pub const FCHDIR: usize = 81;
    pub const GETDENTS64: usize = 217;
    pub const CLOCK_GETTIME: usize = 228;
    pub const EXIT_GROUP: usize = 231;
    pub const INOTIFY_ADD_WATCH: usize = 254;
    pub const OPENAT: usize = 257;
    pub const INOTIFY_INIT1: usize = 294;
    pub const PIPE2: usize = 293;
    pub const CLOSE_RANGE: usize = 436;
}

/// `AT_FDCWD`: paths relative to the current directory.
const AT_FDCWD: usize = -100isize as usize;
/// `O_CLOEXEC`, as runtime's `sys::open` adds it to every open.
pub const O_CLOEXEC: usize = 0o2000000;
/// `O_RDONLY`.
pub const O_RDONLY: usize = 0;
/// `O_WRONLY`.
pub const O_WRONLY: usize = 1;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: usize = 0o4000;
/// `O_DIRECTORY`.
pub const O_DIRECTORY: usize = 0o200000;

/// One system call with up to six arguments; the raw return value.
///
/// # Safety
/// The arguments must be what system call `n` expects (valid pointers and lengths).
#[inline]
pub unsafe fn syscall6(n: usize, a: [usize; 6]) -> isize {
    let r: isize;
    // SAFETY: the caller passes valid arguments; the kernel clobbers rcx and r11 only.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
             in("r10") a[3], in("r8") a[4], in("r9") a[5], lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    r
}

/// The value, or the errno of a negative return.
fn check(r: isize) -> SysResult<usize> {
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

/// A system call retried while it fails with `EINTR`.
///
/// # Safety
/// As [`syscall6`].
unsafe fn retry(n: usize, a: [usize; 6]) -> SysResult<usize> {
    loop {
        // SAFETY: forwarded from the caller.
        match check(unsafe { syscall6(n, a) }) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// `openat(AT_FDCWD, path, flags | O_CLOEXEC, mode)`.
pub fn open(path: &CStr, flags: usize, mode: usize) -> SysResult<i32> {
    // SAFETY: path is NUL-terminated.
    unsafe { retry(nr::OPENAT, [AT_FDCWD, path.as_ptr() as usize, flags | O_CLOEXEC, mode, 0, 0]) }.map(|fd| fd as i32)
}

/// `read(2)` into `buf`.
pub fn read(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: buf is a live, writable slice.
    unsafe { retry(nr::READ, [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0]) }
}

/// `write(2)` of `buf` (one call; the count written).
pub fn write(fd: i32, buf: &[u8]) -> SysResult<usize> {
    // SAFETY: buf is a live slice.
    unsafe { retry(nr::WRITE, [fd as usize, buf.as_ptr() as usize, buf.len(), 0, 0, 0]) }
}

/// Writes all of `bytes` to `fd` (as runtime's `diag`: gives up on an error other than EINTR).
pub fn write_all(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(0) | Err(_) => return,
            Ok(n) => bytes = &bytes[n..],
        }
    }
}

/// `close(2)`.
pub fn close(fd: i32) -> SysResult<()> {
    // SAFETY: plain number argument.
    check(unsafe { syscall6(nr::CLOSE, [fd as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// `close_range(from, to, 0)`.
pub fn close_range(from: u32, to: u32) -> SysResult<()> {
    // SAFETY: plain number arguments.
    check(unsafe { syscall6(nr::CLOSE_RANGE, [from as usize, to as usize, 0, 0, 0, 0]) }).map(|_| ())
}

/// `chdir(2)`.
pub fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { syscall6(nr::CHDIR, [path.as_ptr() as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// `fchdir(2)`.
pub fn fchdir(fd: i32) -> SysResult<()> {
    // SAFETY: plain number argument.
    check(unsafe { syscall6(nr::FCHDIR, [fd as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// `stat(2)` (follows symlinks); whether it names a directory. Over [`crate::file::stat`],
/// the one `newfstatat` wrapper.
pub fn stat_is_dir(path: &CStr) -> SysResult<bool> {
    crate::file::stat(path).map(|st| st.is_dir())
}

/// `getdents64(2)` into `buf`: the bytes filled (0 at the end of the directory).
pub fn getdents64(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: buf is a live, writable slice.
    unsafe { retry(nr::GETDENTS64, [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0]) }
}

/// `clock_gettime(2)`: (seconds, nanoseconds).
pub fn clock_gettime(clock: usize) -> (i64, i64) {
    let mut ts = [0i64; 2];
    // SAFETY: ts is a struct timespec.
    let _ = unsafe { syscall6(nr::CLOCK_GETTIME, [clock, ts.as_mut_ptr() as usize, 0, 0, 0, 0]) };
    (ts[0], ts[1])
}

/// `CLOCK_REALTIME`.
pub const CLOCK_REALTIME: usize = 0;
/// `CLOCK_MONOTONIC`.
pub const CLOCK_MONOTONIC: usize = 1;

/// `mmap` of `len` bytes of private anonymous read-write memory.
pub fn map_anonymous(len: usize) -> SysResult<*mut u8> {
    const PROT_RW: usize = 3;
    const MAP_PRIVATE_ANONYMOUS: usize = 0x22;
    // SAFETY: a fresh mapping; no existing memory is touched.
    check(unsafe { syscall6(nr::MMAP, [0, len, PROT_RW, MAP_PRIVATE_ANONYMOUS, usize::MAX, 0]) }).map(|p| p as *mut u8)
}

/// `munmap(2)`.
///
/// # Safety
/// `[addr, addr+len)` must be a mapping nothing refers to any more.
pub unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: forwarded from the caller.
    let _ = unsafe { syscall6(nr::MUNMAP, [addr as usize, len, 0, 0, 0, 0]) };
}

/// `mprotect(addr, len, PROT_READ)`.
///
/// # Safety
/// Nothing may write to `[addr, addr+len)` afterwards.
pub unsafe fn protect_read_only(addr: usize, len: usize) {
    // SAFETY: forwarded from the caller.
    let _ = unsafe { syscall6(nr::MPROTECT, [addr, len, 1, 0, 0, 0]) };
}

/// `pipe2(flags)`: (read end, write end).
pub fn pipe2(flags: usize) -> SysResult<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds holds two ints.
    check(unsafe { syscall6(nr::PIPE2, [fds.as_mut_ptr() as usize, flags, 0, 0, 0, 0]) })?;
    Ok((fds[0], fds[1]))
}

/// `fork(2)`: 0 in the child, the child's pid in the parent.
pub fn fork() -> SysResult<i32> {
    // SAFETY: no arguments; this process is single-threaded, so the child is a full copy.
    check(unsafe { syscall6(nr::FORK, [0; 6]) }).map(|p| p as i32)
}

/// `execve(2)`; returns only on failure, with the errno.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of NUL-terminated strings.
pub unsafe fn execve(path: &CStr, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: forwarded from the caller.
    match check(unsafe { syscall6(nr::EXECVE, [path.as_ptr() as usize, argv as usize, envp as usize, 0, 0, 0]) }) {
        Err(e) => e,
        Ok(_) => Errno(0),
    }
}

/// `wait4(pid, &status, 0, NULL)`, retried on EINTR: the raw wait status.
pub fn wait_pid(pid: i32) -> SysResult<i32> {
    let mut status = 0i32;
    // SAFETY: status is a valid out-pointer.
    unsafe { retry(nr::WAIT4, [pid as usize, &mut status as *mut i32 as usize, 0, 0, 0, 0]) }?;
    Ok(status)
}

/// `_exit(2)` of this thread (for a forked child).
pub fn exit_thread(code: i32) -> ! {
    // SAFETY: ends the calling thread.
    unsafe { asm!("syscall", in("rax") nr::EXIT, in("rdi") code as isize, options(noreturn, nostack)) }
}

/// `exit_group(2)`: ends the process.
pub fn exit(code: i32) -> ! {
    // SAFETY: ends the process.
    unsafe { asm!("syscall", in("rax") nr::EXIT_GROUP, in("rdi") code as isize, options(noreturn, nostack)) }
}

/// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
pub fn inotify_init() -> SysResult<i32> {
    // SAFETY: plain flag argument.
    check(unsafe { syscall6(nr::INOTIFY_INIT1, [O_NONBLOCK | O_CLOEXEC, 0, 0, 0, 0, 0]) }).map(|fd| fd as i32)
}

/// `inotify_add_watch(2)`: the watch descriptor.
pub fn inotify_add_watch(fd: i32, path: &CStr, mask: u32) -> SysResult<i32> {
    // SAFETY: path is NUL-terminated.
    check(unsafe { syscall6(nr::INOTIFY_ADD_WATCH, [fd as usize, path.as_ptr() as usize, mask as usize, 0, 0, 0]) }).map(|w| w as i32)
}

/// `ppoll` on one descriptor for readability (`fd` < 0: none) until `timeout` (seconds,
/// nanoseconds) or forever, keeping the signal mask; whether it became readable. Over
/// [`crate::poll::ppoll`], the one `ppoll` wrapper.
pub fn poll_readable(fd: i32, timeout: Option<(i64, i64)>) -> bool {
    use crate::poll::{ppoll, PollFd, POLLIN};
    let mut pfd = [PollFd::new(fd, POLLIN)];
    matches!(ppoll(&mut pfd, timeout, None), Ok(n) if n > 0) && pfd[0].revents & POLLIN != 0
}

/// A path as a NUL-terminated string (`EINVAL` if it holds a NUL, as runtime's `sys::cstr`).
pub fn cstr(path: &[u8]) -> SysResult<alloc::ffi::CString> {
    alloc::ffi::CString::new(path).map_err(|_| Errno::EINVAL)
}

/// A raw return value as the value or its errno, for runsv's modules ([`crate::signal`],
/// [`crate::file`], ...) that make their own calls.
pub fn result(r: isize) -> SysResult<usize> {
    check(r)
}

/// [`syscall6`], retried while it fails with `EINTR` (as runtime's wrappers retry).
///
/// # Safety
/// As [`syscall6`].
pub unsafe fn syscall_retry(n: usize, a: [usize; 6]) -> SysResult<usize> {
    // SAFETY: forwarded from the caller.
    unsafe { retry(n, a) }
}

/// `getpid(2)`: the spawn window's owner, and `kill` to oneself from a handler.
pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    (unsafe { syscall6(nr::GETPID, [0; 6]) }) as i32
}

/// `kill(2)` (a negative pid names a process group): how runsv's actions reach children.
pub fn kill(pid: i32, sig: i32) -> SysResult<()> {
    // SAFETY: plain number arguments.
    check(unsafe { syscall6(nr::KILL, [pid as isize as usize, sig as isize as usize, 0, 0, 0, 0]) }).map(|_| ())
}
