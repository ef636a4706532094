//! [`SvSys`] over raw system calls ([`crate::sys`]): what the freestanding sv runs on.

use model::errno::Errno;
use model::{Mono, Now, Wall};

use crate::sv::SvSys;
use crate::sys::{self, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_WRONLY};

/// The process's own system calls, no state.
#[derive(Debug, Default)]
pub struct RawSys;

impl SvSys for RawSys {
    fn now(&mut self) -> Now {
        let (ms, mns) = sys::clock_gettime(sys::CLOCK_MONOTONIC);
        let (ws, wns) = sys::clock_gettime(sys::CLOCK_REALTIME);
        Now { mono: Mono(ms as u64 * 1_000_000_000 + mns as u64), wall: Wall { unix_secs: ws, nanos: wns as u32 } }
    }

    fn open_read(&mut self, path: &core::ffi::CStr) -> Result<i32, Errno> {
        sys::open(path, O_RDONLY | O_NONBLOCK, 0)
    }

    fn open_write(&mut self, path: &core::ffi::CStr) -> Result<i32, Errno> {
        sys::open(path, O_WRONLY | O_NONBLOCK, 0)
    }

    fn open_dir(&mut self, path: &core::ffi::CStr) -> Result<i32, Errno> {
        sys::open(path, O_RDONLY | O_DIRECTORY, 0)
    }

    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        sys::read(fd, buf)
    }

    fn write(&mut self, fd: i32, buf: &[u8]) -> Result<usize, Errno> {
        sys::write(fd, buf)
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        sys::close(fd)
    }

    fn chdir(&mut self, path: &core::ffi::CStr) -> Result<(), Errno> {
        sys::chdir(path)
    }

    fn fchdir(&mut self, fd: i32) -> Result<(), Errno> {
        sys::fchdir(fd)
    }

    fn is_dir(&mut self, path: &core::ffi::CStr) -> Result<bool, Errno> {
        sys::stat_is_dir(path)
    }

    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        sys::getdents64(fd, buf)
    }

    fn inotify_init(&mut self) -> Result<i32, Errno> {
        sys::inotify_init()
    }

    fn inotify_add_watch(&mut self, fd: i32, path: &core::ffi::CStr, mask: u32) -> Result<i32, Errno> {
        sys::inotify_add_watch(fd, path, mask)
    }

    fn hold_until_exit(&mut self, fd: i32) -> Result<(), Errno> {
        hold_until_exit(fd)
    }

    fn spawn_check(&mut self, exec_fail_line: &[u8]) -> Result<i32, Errno> {
        let path = c"./check";
        let argv = [path.as_ptr() as *const u8, core::ptr::null()];
        match sys::fork()? {
            0 => {
                let _ = sys::close(1);
                // SAFETY: argv and the kernel's environment are NULL-terminated arrays of
                // NUL-terminated strings.
                let e = unsafe { sys::execve(path, argv.as_ptr(), crate::start::environ()) };
                let _ = sys::write(2, exec_fail_line);
                let _ = sys::write(2, model::errno::errstr(e.0).as_bytes());
                let _ = sys::write(2, b"\n");
                sys::exit(0)
            }
            pid => Ok(pid),
        }
    }

    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno> {
        sys::wait_pid(pid)
    }

    fn poll_readable(&mut self, fd: i32, timeout: Option<(i64, i64)>) -> bool {
        sys::poll_readable(fd, timeout)
    }
}

/// runtime's `notify::hold_until_exit` over raw system calls (which says why): a holder
/// child keeps only `keep` and waits on a close-on-exec pipe for this process to end.
fn hold_until_exit(keep: i32) -> Result<(), Errno> {
    let (hold_r, hold_w) = sys::pipe2(sys::O_CLOEXEC)?;
    let (gone_r, gone_w) = match sys::pipe2(sys::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            let _ = sys::close(hold_r);
            let _ = sys::close(hold_w);
            return Err(e);
        }
    };
    match sys::fork() {
        Ok(0) => {
            // Step 1: drop everything but `keep`, the hold pipe and the "gone" pipe.
            let mut kept = [keep, hold_r, gone_w];
            kept.sort_unstable();
            let mut from: u32 = 0;
            for k in kept {
                close_span(from, k as u32);
                from = k as u32 + 1;
            }
            close_span(from, u32::MAX);
            // Step 2: only now tell the parent that its stdout and stderr are no longer held.
            let _ = sys::close(gone_w);
            let mut byte = [0u8; 1];
            // Blocks until every writer of the hold pipe (the parent) is gone.
            let _ = sys::read(hold_r, &mut byte);
            sys::exit_thread(0)
        }
        Ok(_) => {
            let _ = sys::close(hold_r);
            let _ = sys::close(gone_w);
            let mut byte = [0u8; 1];
            let _ = sys::read(gone_r, &mut byte);
            let _ = sys::close(gone_r);
            // `hold_w` stays open (close-on-exec) until this process exits.
            Ok(())
        }
        Err(e) => {
            for fd in [hold_r, hold_w, gone_r, gone_w] {
                let _ = sys::close(fd);
            }
            Err(e)
        }
    }
}

/// Closes descriptors `from..to` (exclusive; `to` = `u32::MAX` means "all above"):
/// `close_range(2)`, else one `close` per number up to 1024.
fn close_span(from: u32, to: u32) {
    if from >= to {
        return;
    }
    let last = if to == u32::MAX { u32::MAX } else { to - 1 };
    if sys::close_range(from, last).is_ok() {
        return;
    }
    for fd in from..to.min(1024) {
        let _ = sys::close(fd as i32);
    }
}
