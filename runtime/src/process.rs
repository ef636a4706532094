//! fork/exec with file descriptors wired and signals reset, and reaping.
//!
//! The child side does only what runit's children do: dup the given fds into place,
//! optionally change directory / process group / session, restore the default
//! disposition and an empty mask for the signals the parent handles, then `execve`.
//! If anything fails it writes the prepared message to fd 2 and `_exit`s with the
//! prepared code (runit's child prints `fatal: unable to start ./run: ...` and exits
//! 111). Everything the child needs is prepared before `fork`, so the child allocates
//! nothing.

use std::ffi::CString;

use model::errno::Errno;

use crate::sys::{self, SysResult};

/// Everything needed to start one child.
pub struct SpawnSpec {
    /// Path to execute (no PATH search).
    pub path: CString,
    /// argv, including argv[0].
    pub argv: Vec<CString>,
    /// Environment; `None` inherits the parent's.
    pub env: Option<Vec<CString>>,
    /// Directory to change to before exec.
    pub chdir: Option<CString>,
    /// fd to place on stdin.
    pub stdin: Option<i32>,
    /// fd to place on stdout.
    pub stdout: Option<i32>,
    /// Close stdout instead (sv's `check` runs with fd 1 closed).
    pub close_stdout: bool,
    /// `(source, target)`: the child gets `source` on descriptor `target`, inheritable
    /// (runsv's notification-fd pipe).
    pub extra_fd: Option<(i32, i32)>,
    /// Put the child in a new process group of its own.
    pub new_pgrp: bool,
    /// Make the child a session leader.
    pub new_session: bool,
    /// Signals to reset to default and unblock in the child.
    pub reset_signals: Vec<i32>,
    /// Message prefix written to fd 2 before the errno text when exec fails.
    pub exec_fail_msg: Vec<u8>,
    /// Exit code of the child when setup or exec fails.
    pub exec_fail_code: i32,
}

impl SpawnSpec {
    /// A spec for `path` with argv `[path]`, inheriting everything else.
    pub fn new(path: &[u8]) -> SysResult<SpawnSpec> {
        let p = sys::cstr(path)?;
        Ok(SpawnSpec {
            path: p.clone(),
            argv: vec![p],
            env: None,
            chdir: None,
            stdin: None,
            stdout: None,
            close_stdout: false,
            extra_fd: None,
            new_pgrp: false,
            new_session: false,
            reset_signals: Vec::new(),
            exec_fail_msg: Vec::new(),
            exec_fail_code: 111,
        })
    }
}

/// Forks and executes `spec`. Returns the child's pid, or the fork errno.
pub fn spawn(spec: &SpawnSpec) -> SysResult<i32> {
    let mut argv: Vec<*const libc::c_char> = spec.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: Option<Vec<*const libc::c_char>> = spec.env.as_ref().map(|e| {
        let mut v: Vec<*const libc::c_char> = e.iter().map(|a| a.as_ptr()).collect();
        v.push(std::ptr::null());
        v
    });
    // SAFETY: fork in a single-threaded process; the child only calls async-signal-safe
    // functions on memory prepared above, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(sys::last_errno());
    }
    if pid == 0 {
        // SAFETY: in the child; see above.
        unsafe { child(spec, &argv, envp.as_deref()) }
    }
    Ok(pid)
}

unsafe fn child(spec: &SpawnSpec, argv: &[*const libc::c_char], envp: Option<&[*const libc::c_char]>) -> ! {
    let fail = |e: i32| -> ! {
        let text = model::errno::errstr(e).as_bytes();
        libc::write(2, spec.exec_fail_msg.as_ptr().cast(), spec.exec_fail_msg.len());
        libc::write(2, text.as_ptr().cast(), text.len());
        libc::write(2, b"\n".as_ptr().cast(), 1);
        libc::_exit(spec.exec_fail_code)
    };
    if let Some(fd) = spec.stdin {
        if libc::dup2(fd, 0) < 0 {
            fail(sys::errno());
        }
    }
    if let Some(fd) = spec.stdout {
        if libc::dup2(fd, 1) < 0 {
            fail(sys::errno());
        }
    }
    if spec.close_stdout {
        libc::close(1);
    }
    if let Some((src, target)) = spec.extra_fd {
        // dup2 onto itself keeps FD_CLOEXEC, so clear it explicitly in that case.
        let r = if src == target { libc::fcntl(src, libc::F_SETFD, 0) } else { libc::dup2(src, target) };
        if r < 0 {
            fail(sys::errno());
        }
    }
    if spec.new_session {
        libc::setsid();
    } else if spec.new_pgrp {
        libc::setpgid(0, 0);
    }
    let mut mask: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut mask);
    for &s in &spec.reset_signals {
        libc::signal(s, libc::SIG_DFL);
        libc::sigaddset(&mut mask, s);
    }
    libc::sigprocmask(libc::SIG_UNBLOCK, &mask, std::ptr::null_mut());
    crate::signals::reset_reserved_in_child();
    if let Some(dir) = &spec.chdir {
        if libc::chdir(dir.as_ptr()) < 0 {
            fail(sys::errno());
        }
    }
    match envp {
        Some(e) => libc::execve(spec.path.as_ptr(), argv.as_ptr(), e.as_ptr()),
        None => libc::execv(spec.path.as_ptr(), argv.as_ptr()),
    };
    fail(sys::errno())
}

/// One reaped child: pid and raw wait status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The child's pid.
    pub pid: i32,
    /// Raw `wait` status (exit code = `status >> 8`, signal = `status & 127`).
    pub status: i32,
}

/// Reaps one exited child without blocking; `None` when there is none (or no children).
pub fn reap_nohang() -> Option<Reaped> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if pid <= 0 {
            return None;
        }
        return Some(Reaped { pid, status });
    }
}

/// Waits (blocking) for the specific child `pid`; returns its raw status.
pub fn wait_pid(pid: i32) -> SysResult<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return Err(sys::last_errno());
        }
        return Ok(status);
    }
}

/// Sends `sig` to `pid`; ESRCH is reported, never fatal.
pub fn signal(pid: i32, sig: i32) -> Result<(), Errno> {
    sys::kill(pid, sig)
}
