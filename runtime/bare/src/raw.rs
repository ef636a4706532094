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

    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        sys::pipe2(sys::O_CLOEXEC)
    }

    unsafe fn fork(&mut self) -> Result<i32, Errno> {
        sys::fork()
    }

    fn close_range(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        sys::close_range(from, to)
    }

    fn exit_child(&mut self, code: i32) -> ! {
        sys::exit_thread(code)
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
