//! runsv's system calls without a C library (x86_64 Linux): [`RawKernel`] implements the
//! executor's [`Syscalls`] and start-up's [`SetupSys`] over the raw primitives ([`crate::file`],
//! [`crate::proc`], [`crate::spawn`], [`crate::notify`]), [`RawOs`] the driver's clock and
//! wait ([`crate::poll`] with the signal latch of [`crate::signal`]). What the freestanding
//! runsv runs on; each method makes the calls its `runtime::os::Real` twin makes.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::CStr;

use model::errno::Errno;
use model::readiness::notify::NOTIFY_BUFFER_MAX;
use model::{Mono, Now, Wall};

use crate::exec::driver::{Interest, Os, Ready, SignalSet, Trace, TraceSink};
use crate::exec::runsv::{Handled, CORE_SIGNALS};
use crate::exec::setup::SetupSys;
use crate::exec::spawn::SpawnSpec;
use crate::exec::syscalls::{AtomicWriteError, Datagram, FileStat, Reaped, SysResult, Syscalls};
use crate::poll::{self, PollFd};
use crate::signal::{self, Signals};
use crate::spawn::ChildSetup;
use crate::{file, notify, proc, start, sys, vdso};

/// The process's own system calls for runsv, no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawKernel;

/// The NUL-terminated strings' pointers, then a null: an `argv` or `envp` for `execve`.
fn pointers(v: &[alloc::ffi::CString]) -> Vec<*const u8> {
    v.iter().map(|c| c.as_ptr().cast::<u8>()).chain(core::iter::once(core::ptr::null())).collect()
}

impl Syscalls for RawKernel {
    fn spawn(&mut self, spec: &SpawnSpec) -> SysResult<i32> {
        let argv = pointers(&spec.argv);
        let env = spec.env.as_deref().map(pointers);
        let setup = ChildSetup {
            path: &spec.path,
            argv: &argv,
            envp: env.as_ref().map_or(start::environ(), |e| e.as_ptr()),
            stdin: spec.stdin,
            stdout: spec.stdout,
            close_stdout: spec.close_stdout,
            extra_fd: spec.extra_fd,
            new_pgrp: spec.new_pgrp,
            new_session: spec.new_session,
            reset_signals: spec.reset_signals,
            chdir: spec.chdir.as_deref(),
            fail_msg: &spec.exec_fail_msg,
            fail_code: spec.exec_fail_code,
        };
        // SAFETY: argv and envp are NULL-terminated arrays of NUL-terminated strings (the
        // spec's C strings, or the kernel's environment), alive for the call.
        unsafe { crate::spawn::spawn(&setup) }
    }
    fn wait_pid(&mut self, pid: i32) -> SysResult<i32> {
        proc::wait_pid(pid)
    }
    fn reap_nohang(&mut self) -> Option<Reaped> {
        proc::reap_nohang().map(|(pid, status)| Reaped { pid, status })
    }
    fn kill(&mut self, pid: i32, sig: i32) -> SysResult<()> {
        sys::kill(pid, sig)
    }
    fn stat_mode(&mut self, path: &CStr) -> SysResult<u32> {
        file::stat(path).map(|st| st.mode)
    }
    fn open_read(&mut self, path: &CStr) -> SysResult<i32> {
        file::open_read(path)
    }
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        sys::read(fd, buf)
    }
    fn close(&mut self, fd: i32) -> SysResult<()> {
        sys::close(fd)
    }
    fn write_atomic(&mut self, tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        file::write_atomic(tmp, dest, bytes)
    }
    fn write_stderr(&mut self, line: &[u8]) {
        sys::write_all(2, line)
    }
    fn pipe(&mut self) -> SysResult<(i32, i32)> {
        file::pipe()
    }
    fn set_nonblock(&mut self, fd: i32) -> SysResult<()> {
        file::set_nonblock(fd, true)
    }
    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram> {
        notify::recv_datagram(fd, NOTIFY_BUFFER_MAX)
    }
    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        proc::parent_of(pid)
    }
    fn environment(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        environment()
    }
    fn read_small(&mut self, path: &CStr, max: usize) -> SysResult<Vec<u8>> {
        file::read_small(path, max)
    }
    fn pidfd_open(&mut self, pid: u32) -> SysResult<i32> {
        proc::pidfd_open(pid)
    }
    fn pidfd_send_signal(&mut self, pidfd: i32, sig: i32) -> SysResult<()> {
        proc::pidfd_send_signal(pidfd, sig)
    }
    fn pidfd_getfd(&mut self, pidfd: i32, target: i32) -> SysResult<i32> {
        proc::pidfd_getfd(pidfd, target)
    }
    fn fstat(&mut self, fd: i32) -> SysResult<FileStat> {
        file::fstat(fd).map(|st| FileStat { mode: st.mode, mtime: st.mtime, ino: st.ino, dev: st.dev })
    }
    fn reopen_pipe(&mut self, fd: i32, write: bool) -> SysResult<i32> {
        proc::reopen_pipe(fd, write)
    }
    fn proc_stat(&mut self, pid: u32) -> Option<Vec<u8>> {
        proc::proc_stat(pid)
    }
    fn boot_wall_ns(&mut self) -> i64 {
        proc::boot_wall_ns()
    }
    fn clk_tck(&mut self) -> u64 {
        proc::clk_tck()
    }
}

impl SetupSys for RawKernel {
    fn chdir(&mut self, path: &CStr) -> SysResult<()> {
        sys::chdir(path)
    }
    fn fchdir(&mut self, fd: i32) -> SysResult<()> {
        sys::fchdir(fd)
    }
    fn mkdir(&mut self, path: &CStr, mode: u32) -> SysResult<()> {
        file::mkdir(path, mode)
    }
    fn readlink(&mut self, path: &CStr, max: usize) -> SysResult<Vec<u8>> {
        file::readlink(path, max)
    }
    fn open_append(&mut self, path: &CStr) -> SysResult<i32> {
        file::open_append(path)
    }
    fn open_write(&mut self, path: &CStr) -> SysResult<i32> {
        file::open_write(path)
    }
    fn open_dir(&mut self, path: &CStr) -> SysResult<i32> {
        file::open_dir(path)
    }
    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        sys::getdents64(fd, buf)
    }
    fn lock_exclusive(&mut self, fd: i32, wait: bool) -> SysResult<()> {
        file::lock_exclusive(fd, wait)
    }
    fn lock_record(&mut self, fd: i32) -> SysResult<()> {
        file::fcntl_write_lock(fd)
    }
    fn mkfifo(&mut self, path: &CStr, mode: u32) -> SysResult<()> {
        file::mkfifo(path, mode)
    }
    fn make_fifodir(&mut self, path: &CStr) -> SysResult<()> {
        file::make_fifodir(path)
    }
    fn fd_limit(&mut self) -> u64 {
        proc::nofile_soft_limit().unwrap_or(1024)
    }
    fn getcwd(&mut self) -> SysResult<Vec<u8>> {
        // std's `current_dir` starts with 512 bytes and grows while the kernel says ERANGE.
        let mut size = 512;
        loop {
            let mut buf = alloc::vec![0u8; size];
            match file::getcwd(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Err(Errno(crate::exec::linux::ERANGE)) if size < 64 * 1024 => size *= 2,
                Err(e) => return Err(e),
            }
        }
    }
    fn bind_notify_socket(&mut self, path: &CStr) -> SysResult<i32> {
        notify::bind_socket(path)
    }
}

/// The environment the kernel passed, as (name, value) pairs split as std's
/// `env::vars_os` splits them: at the first `=` after the first byte (a name may start
/// with `=`); an entry without one is left out.
pub fn environment() -> Vec<(Vec<u8>, Vec<u8>)> {
    start::environment()
        .into_iter()
        .filter(|e| !e.is_empty())
        .filter_map(|e| e[1..].iter().position(|&b| b == b'=').map(|i| (e[..i + 1].to_vec(), e[i + 2..].to_vec())))
        .collect()
}

/// The real OS for the driver without libc: both clocks, and `ppoll` on the interests
/// plus the wake-up eventfd with every signal unblocked for the wait only.
pub struct RawOs {
    /// The installed signal handlers.
    pub signals: Signals,
}

/// Both clocks, now, through the vDSO (no system call, as glibc's `clock_gettime`).
pub fn now() -> Now {
    let (ms, mns) = vdso::clock_gettime(sys::CLOCK_MONOTONIC);
    let (ws, wns) = vdso::clock_gettime(sys::CLOCK_REALTIME);
    Now { mono: Mono(ms as u64 * 1_000_000_000 + mns as u64), wall: Wall { unix_secs: ws, nanos: wns as u32 } }
}

impl Os for RawOs {
    fn now(&mut self) -> Now {
        now()
    }
    fn wait(&mut self, interests: &[Interest], now: Now, deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        let mut fds: Vec<PollFd> = Vec::with_capacity(interests.len() + 1);
        fds.push(PollFd::new(self.signals.wake_fd(), poll::POLLIN));
        for i in interests {
            let mut ev = 0;
            if i.read {
                ev |= poll::POLLIN;
            }
            if i.write {
                ev |= poll::POLLOUT;
            }
            fds.push(PollFd::new(i.fd, ev));
        }
        let timeout = deadline.map(|d| poll::timespec((d - now.mono).0));
        let ready = match poll::ppoll(&mut fds, timeout, Some(0)) {
            Ok(n) if n > 0 => fds[1..]
                .iter()
                .filter(|p| p.revents != 0)
                .map(|p| Ready {
                    fd: p.fd,
                    readable: p.revents & (poll::POLLIN | poll::POLLHUP | poll::POLLERR | poll::POLLNVAL) != 0,
                    writable: p.revents & (poll::POLLOUT | poll::POLLERR | poll::POLLHUP) != 0,
                })
                .collect(),
            _ => Vec::new(),
        };
        (ready, self.signals.take())
    }
}

/// runsv's signals without libc, as `runtime::exec::runsv::handled_signals`: the core
/// ones plus every stray one not inherited ignored; glibc's reserved signals ignored.
pub fn handled_signals() -> Handled {
    let strays = signal::strays(&CORE_SIGNALS, &[]);
    signal::ignore_reserved();
    let mut all = CORE_SIGNALS.to_vec();
    all.extend_from_slice(&strays.catch);
    Handled { all, stray_unblock: strays.unblock_in_child }
}

/// A trace file opened for appending: each line in one `write(2)`.
struct TraceFile(i32);

impl TraceSink for TraceFile {
    fn line(&mut self, line: &[u8]) {
        sys::write_all(self.0, line)
    }
}

/// The trace named by `RUNIT_TRACE`, if set and the file opens (`O_WRONLY | O_APPEND |
/// O_CREAT`, 0666, as std's `OpenOptions` with create and append); otherwise none.
pub fn trace_from_env() -> Trace {
    let Some(path) = start::env(b"RUNIT_TRACE") else { return Trace::none() };
    let Ok(path) = sys::cstr(path) else { return Trace::none() };
    match sys::open(&path, sys::O_WRONLY | file::O_APPEND | file::O_CREAT, 0o666) {
        Ok(fd) => Trace::to(Box::new(TraceFile(fd))),
        Err(_) => Trace::none(),
    }
}
