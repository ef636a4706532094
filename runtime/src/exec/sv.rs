//! sv's system calls over nix/libc ([`HostSys`]), for the std sv on targets where the
//! freestanding one (`bare::raw::RawSys`) does not exist. The executor itself is
//! `bare::sv`, the same code on every target.

use std::ffi::CStr;

use bare::sv::SvSys;
use model::errno::Errno;
use model::Now;

use crate::process::{self, SpawnSpec};
use crate::{clock, fs, sys};

pub use bare::sv::{run, run_report};

/// sv's executor over this crate's system calls.
pub type SvIo = bare::sv::SvIo<HostSys>;

/// A fresh executor (nothing opened yet).
pub fn new_io() -> SvIo {
    SvIo::new(HostSys)
}

/// The process's own system calls through libc, no state.
#[derive(Debug, Default)]
pub struct HostSys;

/// The result of a libc call returning -1 and errno on failure.
fn check(r: libc::c_int) -> Result<i32, Errno> {
    if r < 0 {
        Err(sys::last_errno())
    } else {
        Ok(r)
    }
}

impl SvSys for HostSys {
    fn now(&mut self) -> Now {
        clock::now()
    }

    fn open_read(&mut self, path: &CStr) -> Result<i32, Errno> {
        fs::open_read(path)
    }

    fn open_write(&mut self, path: &CStr) -> Result<i32, Errno> {
        fs::open_write(path)
    }

    fn open_dir(&mut self, path: &CStr) -> Result<i32, Errno> {
        sys::open(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)
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

    fn chdir(&mut self, path: &CStr) -> Result<(), Errno> {
        sys::chdir(path)
    }

    fn fchdir(&mut self, fd: i32) -> Result<(), Errno> {
        sys::fchdir(fd)
    }

    fn is_dir(&mut self, path: &CStr) -> Result<bool, Errno> {
        sys::stat(path).map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
    }

    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        sys::getdents64(fd, buf)
    }

    fn inotify_init(&mut self) -> Result<i32, Errno> {
        // SAFETY: plain flag argument.
        check(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })
    }

    fn inotify_add_watch(&mut self, fd: i32, path: &CStr, mask: u32) -> Result<i32, Errno> {
        // SAFETY: path is NUL-terminated.
        check(unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) })
    }

    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        sys::pipe(false)
    }

    unsafe fn fork(&mut self) -> Result<i32, Errno> {
        // SAFETY: the caller's contract: the child only makes system calls.
        check(unsafe { libc::fork() })
    }

    fn close_range(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        // SAFETY: close_range takes two numbers and a flag word.
        if unsafe { libc::syscall(libc::SYS_close_range, from, to, 0) } == 0 {
            Ok(())
        } else {
            Err(sys::last_errno())
        }
    }

    fn exit_child(&mut self, code: i32) -> ! {
        // SAFETY: ends the process without running anything of the parent's.
        unsafe { libc::_exit(code) }
    }

    fn spawn_check(&mut self, exec_fail_line: &[u8]) -> Result<i32, Errno> {
        let mut spec = SpawnSpec::new(b"check")?;
        spec.argv = vec![c"./check".to_owned()];
        spec.close_stdout = true;
        spec.exec_fail_msg = exec_fail_line.to_vec();
        spec.exec_fail_code = 0;
        process::spawn(&spec)
    }

    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno> {
        process::wait_pid(pid)
    }

    fn poll_readable(&mut self, fd: i32, timeout: Option<(i64, i64)>) -> bool {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let ts = timeout.map(|(s, ns)| libc::timespec { tv_sec: s as libc::time_t, tv_nsec: ns as libc::c_long });
        let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: one valid pollfd (a negative fd is ignored by ppoll); tsp is null or valid.
        let r = unsafe { libc::ppoll(&mut pfd, 1, tsp, std::ptr::null()) };
        r > 0 && pfd.revents & libc::POLLIN != 0
    }
}
