//! Shared by the raw-primitive tests: a forked child for what touches process-wide state
//! (signals, the current directory, fd 2, children), and scratch directories.
#![allow(dead_code)]

use std::ffi::CString;
use std::path::PathBuf;

/// Runs `f` in a forked child (the harness has threads: process-wide state is changed
/// only there) and returns its exit code; a child killed by a signal gives 1000 + signal.
/// The child leaves with `_exit`, never returning into the harness.
pub fn in_fork(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs `f` (raw system calls and allocation, which glibc's fork
    // keeps usable) and `_exit`s; it never unwinds into the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(99);
        // SAFETY: ends the child without running the harness's exit handlers.
        unsafe { libc::_exit(code) }
    }
    let mut status = 0;
    // SAFETY: status is a valid out-pointer; pid is our child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    if libc::WIFSIGNALED(status) {
        1000 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// A fresh scratch directory under /tmp, unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(format!("/tmp/runit-rs-bare-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A path as a C string.
pub fn c(p: impl AsRef<std::path::Path>) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_ref().as_os_str().as_bytes()).unwrap()
}

/// A NULL-terminated pointer array over `v` (which must outlive it).
pub fn pointers(v: &[CString]) -> Vec<*const u8> {
    v.iter().map(|s| s.as_ptr().cast::<u8>()).chain(std::iter::once(std::ptr::null())).collect()
}
