//! The syscalls an executor makes, as traits, and their real-kernel implementation
//! [`Real`]. The traits runsv's executor needs ([`Syscalls`], and [`SetupSys`] for its
//! start-up) live in `bare::exec` (no_std: the same executor runs over raw system calls in
//! the freestanding runsv) and are re-exported here; runsvdir's, svlogd's and runit's
//! extensions ([`DirSyscalls`], [`LogSyscalls`], [`StageSyscalls`]) are here. The fake
//! kernels of the simulators (`verification/src/sim/`) implement the same traits, so the
//! simulators test the production executors, not a copy of them.
//!
//! [`Real`] is a unit struct whose methods forward to the free functions of [`fs`],
//! [`process`] and [`sys`]: executors are generic over the traits, monomorphised, so the
//! shipping binaries pay nothing for them.

use std::ffi::CStr;

use crate::fs;
use crate::process::{self, Reaped, SpawnSpec};
use crate::sys::{self, SysResult};

pub use bare::exec::setup::SetupSys;
pub use bare::exec::syscalls::{mode_owner_exec, AtomicWriteError, Datagram, FileStat, Syscalls};

/// The real kernel: every method is the free function of [`fs`], [`process`] or [`sys`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Real;

impl Syscalls for Real {
    #[inline]
    fn spawn(&mut self, spec: &SpawnSpec) -> SysResult<i32> {
        process::spawn(spec)
    }
    #[inline]
    fn wait_pid(&mut self, pid: i32) -> SysResult<i32> {
        process::wait_pid(pid)
    }
    #[inline]
    fn reap_nohang(&mut self) -> Option<Reaped> {
        process::reap_nohang()
    }
    #[inline]
    fn kill(&mut self, pid: i32, sig: i32) -> SysResult<()> {
        process::signal(pid, sig)
    }
    #[inline]
    fn stat_mode(&mut self, path: &CStr) -> SysResult<u32> {
        sys::stat(path).map(|st| st.st_mode)
    }
    #[inline]
    fn open_read(&mut self, path: &CStr) -> SysResult<i32> {
        fs::open_read(path)
    }
    #[inline]
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        sys::read(fd, buf)
    }
    #[inline]
    fn close(&mut self, fd: i32) -> SysResult<()> {
        sys::close(fd)
    }
    #[inline]
    fn write_atomic(&mut self, tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        fs::write_atomic(tmp, dest, bytes)
    }
    #[inline]
    fn write_stderr(&mut self, line: &[u8]) {
        crate::diag::write_stderr(line)
    }
    #[inline]
    fn pipe(&mut self) -> SysResult<(i32, i32)> {
        sys::pipe(false)
    }
    #[inline]
    fn set_nonblock(&mut self, fd: i32) -> SysResult<()> {
        sys::set_nonblock(fd, true)
    }
    #[inline]
    fn recv_datagram(&mut self, fd: i32) -> Option<Datagram> {
        crate::exec::runsv_ready::recv_datagram(fd)
    }
    #[inline]
    fn parent_of(&mut self, pid: i32) -> Option<i32> {
        crate::exec::runsv_ready::parent_of(pid)
    }
    fn environment(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        use std::os::unix::ffi::OsStringExt;
        std::env::vars_os().map(|(k, v)| (k.into_vec(), v.into_vec())).collect()
    }
    #[inline]
    fn read_small(&mut self, path: &CStr, max: usize) -> SysResult<Vec<u8>> {
        fs::read_small(path, max)
    }
    #[inline]
    fn pidfd_open(&mut self, pid: u32) -> SysResult<i32> {
        crate::pidfd::open(pid)
    }
    #[inline]
    fn pidfd_send_signal(&mut self, pidfd: i32, sig: i32) -> SysResult<()> {
        crate::pidfd::send_signal(pidfd, sig)
    }
    #[inline]
    fn pidfd_getfd(&mut self, pidfd: i32, target: i32) -> SysResult<i32> {
        crate::pidfd::getfd(pidfd, target)
    }
    #[inline]
    fn fstat(&mut self, fd: i32) -> SysResult<FileStat> {
        sys::fstat(fd).map(|st| file_stat(&st))
    }
    #[inline]
    fn reopen_pipe(&mut self, fd: i32, write: bool) -> SysResult<i32> {
        crate::pidfd::reopen_pipe(fd, write)
    }
    #[inline]
    fn proc_stat(&mut self, pid: u32) -> Option<Vec<u8>> {
        crate::pidfd::proc_stat(pid)
    }
    #[inline]
    fn boot_wall_ns(&mut self) -> i64 {
        crate::pidfd::boot_wall_ns()
    }
    #[inline]
    fn clk_tck(&mut self) -> u64 {
        crate::pidfd::clk_tck()
    }
}

/// runsv's start-up on the real kernel: each method is the free function of [`fs`] or
/// [`sys`] runsv called before its start-up became generic.
impl SetupSys for Real {
    #[inline]
    fn chdir(&mut self, path: &CStr) -> SysResult<()> {
        sys::chdir(path)
    }
    #[inline]
    fn fchdir(&mut self, fd: i32) -> SysResult<()> {
        sys::fchdir(fd)
    }
    #[inline]
    fn mkdir(&mut self, path: &CStr, mode: u32) -> SysResult<()> {
        sys::mkdir(path, mode)
    }
    #[inline]
    fn readlink(&mut self, path: &CStr, max: usize) -> SysResult<Vec<u8>> {
        sys::readlink(path, max)
    }
    #[inline]
    fn open_append(&mut self, path: &CStr) -> SysResult<i32> {
        fs::open_append(path)
    }
    #[inline]
    fn open_write(&mut self, path: &CStr) -> SysResult<i32> {
        fs::open_write(path)
    }
    #[inline]
    fn open_dir(&mut self, path: &CStr) -> SysResult<i32> {
        sys::open(path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)
    }
    #[inline]
    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> SysResult<usize> {
        sys::getdents64(fd, buf)
    }
    #[inline]
    fn lock_exclusive(&mut self, fd: i32, wait: bool) -> SysResult<()> {
        fs::lock_exclusive(fd, wait)
    }
    #[inline]
    fn lock_record(&mut self, fd: i32) -> SysResult<()> {
        fs::lock_record(fd)
    }
    #[inline]
    fn mkfifo(&mut self, path: &CStr, mode: u32) -> SysResult<()> {
        sys::mkfifo(path, mode)
    }
    #[inline]
    fn make_fifodir(&mut self, path: &CStr) -> SysResult<()> {
        fs::make_fifodir(path)
    }
    fn fd_limit(&mut self) -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
    }
    fn getcwd(&mut self) -> SysResult<Vec<u8>> {
        use std::os::unix::ffi::OsStringExt;
        std::env::current_dir()
            .map(|d| d.into_os_string().into_vec())
            .map_err(|e| model::errno::Errno(e.raw_os_error().unwrap_or(libc::EIO)))
    }
    fn bind_notify_socket(&mut self, path: &CStr) -> SysResult<i32> {
        crate::exec::runsv_ready::bind_notify_socket(path)
    }
}

/// What runsvdir asks of the kernel on top of [`Syscalls`]: its directory scans, its
/// runsv children (a [`model::spawn::ChildPlan`]), the forced-rescan stamp, its log pipe
/// and the change notices. A separate trait so runsv's stays small.
pub trait DirSyscalls: Syscalls {
    /// An open directory: its listing and the descriptor a runsv child `fchdir`s to.
    type Dir;
    /// The change notices on the directory (inotify on the real kernel).
    type Watch;
    /// `stat(path)`: the directory's stamp (mtime, inode, device).
    fn stat(&mut self, path: &CStr) -> SysResult<FileStat>;
    /// `open(2)` with runit's flags: the stamp file (create-truncate) and the probe that
    /// tells an unreadable directory from a missing one (`O_PATH`).
    fn open(&mut self, path: &CStr, flags: i32, mode: u32) -> SysResult<i32>;
    /// One `write(2)`: the stamp, and the log bytes runsvdir copies to fd 2.
    fn write(&mut self, fd: i32, bytes: &[u8]) -> SysResult<usize>;
    /// `dup2(2)`: the log pipe's write end onto fd 2, so every runsv inherits it.
    fn dup2(&mut self, from: i32, to: i32) -> SysResult<()>;
    /// A pipe, both ends non-blocking (the log pipe runsvdir reads).
    fn pipe_nonblocking(&mut self) -> SysResult<(i32, i32)>;
    /// Forks and carries out `plan` (a runsv child): its pid, or the fork errno.
    fn spawn_plan(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32>;
    /// Opens directory `path` for a scan.
    fn open_dir(&mut self, path: &CStr) -> SysResult<Self::Dir>;
    /// Its names in `readdir` order (no `.`/`..`) and the error that ended it early.
    fn list_dir(&mut self, dir: &mut Self::Dir) -> (Vec<std::ffi::CString>, Option<model::errno::Errno>);
    /// The descriptor of an open directory (for `stat_at` and the child's `fchdir`).
    fn dir_fd(&self, dir: &Self::Dir) -> i32;
    /// `fstatat(dir, name)`, following links: what each entry is.
    fn stat_at(&mut self, dir: i32, name: &CStr) -> SysResult<FileStat>;
    /// Starts watching `dir` (and its symlink chain); `None` when notices are unavailable.
    fn watch(&mut self, dir: &[u8]) -> Option<Self::Watch>;
    /// The descriptor that becomes readable when a notice is pending.
    fn watch_fd(&self, w: &Self::Watch) -> i32;
    /// Reads every pending notice: what they add up to.
    fn drain_watch(&mut self, w: &mut Self::Watch) -> model::runsvdir::watch::Effect;
}

fn file_stat(st: &libc::stat) -> FileStat {
    FileStat { mode: st.st_mode, mtime: st.st_mtime, ino: st.st_ino, dev: st.st_dev }
}

impl DirSyscalls for Real {
    type Dir = nix::dir::Dir;
    type Watch = crate::exec::runsvdir::Watcher;
    #[inline]
    fn stat(&mut self, path: &CStr) -> SysResult<FileStat> {
        sys::stat(path).map(|st| file_stat(&st))
    }
    #[inline]
    fn open(&mut self, path: &CStr, flags: i32, mode: u32) -> SysResult<i32> {
        sys::open(path, flags, mode)
    }
    #[inline]
    fn write(&mut self, fd: i32, bytes: &[u8]) -> SysResult<usize> {
        sys::write(fd, bytes)
    }
    #[inline]
    fn dup2(&mut self, from: i32, to: i32) -> SysResult<()> {
        sys::dup2(from, to)
    }
    #[inline]
    fn pipe_nonblocking(&mut self) -> SysResult<(i32, i32)> {
        sys::pipe(true)
    }
    #[inline]
    fn spawn_plan(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32> {
        process::spawn_plan(plan)
    }
    #[inline]
    fn open_dir(&mut self, path: &CStr) -> SysResult<Self::Dir> {
        sys::open_dir(path)
    }
    #[inline]
    fn list_dir(&mut self, dir: &mut Self::Dir) -> (Vec<std::ffi::CString>, Option<model::errno::Errno>) {
        sys::list(dir)
    }
    #[inline]
    fn dir_fd(&self, dir: &Self::Dir) -> i32 {
        std::os::fd::AsRawFd::as_raw_fd(dir)
    }
    #[inline]
    fn stat_at(&mut self, dir: i32, name: &CStr) -> SysResult<FileStat> {
        sys::statat(dir, name).map(|st| file_stat(&st))
    }
    #[inline]
    fn watch(&mut self, dir: &[u8]) -> Option<Self::Watch> {
        crate::exec::runsvdir::Watcher::build(dir)
    }
    #[inline]
    fn watch_fd(&self, w: &Self::Watch) -> i32 {
        w.fd()
    }
    #[inline]
    fn drain_watch(&mut self, w: &mut Self::Watch) -> model::runsvdir::watch::Effect {
        w.drain()
    }
}

/// What svlogd asks of the kernel on top of [`Syscalls`]: its log directories (opened,
/// locked, listed, their files renamed, chmodded, synced, deleted), `current`'s appends,
/// its processors, UDP and stdin. A separate trait so runsv's stays small; names differ
/// from [`DirSyscalls`]'s so a type may implement both.
pub trait LogSyscalls: Syscalls {
    /// Opens a log directory by path (`O_RDONLY | O_NONBLOCK`, as svlogd's `open_read`).
    fn open_dir_fd(&mut self, path: &CStr) -> SysResult<i32>;
    /// `fstat(fd)`'s mode bits: is the opened path a directory.
    fn fstat_mode(&mut self, fd: i32) -> SysResult<u32>;
    /// `openat(2)` in a log directory: `lock`, `config`, `current`.
    fn openat(&mut self, dir: i32, name: &CStr, flags: i32, mode: u32) -> SysResult<i32>;
    /// Takes the directory's `lock` without waiting (`flock(LOCK_EX | LOCK_NB)`).
    fn lock_nowait(&mut self, fd: i32) -> SysResult<()>;
    /// The directory's names in `readdir` order (no `.`/`..`).
    fn list_at(&mut self, dir: i32) -> SysResult<Vec<std::ffi::CString>>;
    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: mode bits and size (`current`).
    fn lstat_at(&mut self, dir: i32, name: &CStr) -> SysResult<(u32, u64)>;
    /// One `write(2)` to `current`; a short count or `ENOSPC` is the caller's to handle.
    fn write_fd(&mut self, fd: i32, bytes: &[u8]) -> SysResult<usize>;
    /// `renameat(2)` within a directory: rotation, `newstate`, processed files.
    fn renameat(&mut self, dir: i32, from: &CStr, to: &CStr) -> SysResult<()>;
    /// `unlinkat(2)`: old files beyond `n`.
    fn unlinkat(&mut self, dir: i32, name: &CStr) -> SysResult<()>;
    /// `fchmodat(2)`: a processed file made read-only.
    fn fchmodat(&mut self, dir: i32, name: &CStr, mode: u32) -> SysResult<()>;
    /// `fchmod(2)` on `current` (its executable bit says "complete").
    fn fchmod(&mut self, fd: i32, mode: u32) -> SysResult<()>;
    /// `fsync(2)` on `current` before it is rotated.
    fn fsync(&mut self, fd: i32) -> SysResult<()>;
    /// Forks and carries out a processor's plan: its pid, or the fork errno.
    fn spawn_processor(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32>;
    /// Sends one datagram to the configured UDP address.
    fn send_udp(&mut self, udp: model::svlogd::config::Udp, bytes: &[u8]) -> model::svlogd::UdpOutcome;
    /// Reads at most `max` bytes appended to `buf` (stdin).
    fn read_append(&mut self, fd: i32, buf: &mut Vec<u8>, max: usize) -> SysResult<usize>;
}

impl LogSyscalls for Real {
    #[inline]
    fn open_dir_fd(&mut self, path: &CStr) -> SysResult<i32> {
        sys::open(path, libc::O_RDONLY | libc::O_NONBLOCK, 0)
    }
    #[inline]
    fn fstat_mode(&mut self, fd: i32) -> SysResult<u32> {
        sys::fstat(fd).map(|st| st.st_mode)
    }
    #[inline]
    fn openat(&mut self, dir: i32, name: &CStr, flags: i32, mode: u32) -> SysResult<i32> {
        sys::openat(dir, name, flags, mode)
    }
    #[inline]
    fn lock_nowait(&mut self, fd: i32) -> SysResult<()> {
        fs::lock_exclusive(fd, false)
    }
    #[inline]
    fn list_at(&mut self, dir: i32) -> SysResult<Vec<std::ffi::CString>> {
        Ok(sys::list(&mut sys::open_dir_at(dir, c".")?).0)
    }
    #[inline]
    fn lstat_at(&mut self, dir: i32, name: &CStr) -> SysResult<(u32, u64)> {
        sys::lstatat(dir, name).map(|st| (st.st_mode, st.st_size as u64))
    }
    #[inline]
    fn write_fd(&mut self, fd: i32, bytes: &[u8]) -> SysResult<usize> {
        sys::write(fd, bytes)
    }
    #[inline]
    fn renameat(&mut self, dir: i32, from: &CStr, to: &CStr) -> SysResult<()> {
        sys::renameat(dir, from, to)
    }
    #[inline]
    fn unlinkat(&mut self, dir: i32, name: &CStr) -> SysResult<()> {
        sys::unlinkat(dir, name)
    }
    #[inline]
    fn fchmodat(&mut self, dir: i32, name: &CStr, mode: u32) -> SysResult<()> {
        sys::fchmodat(dir, name, mode)
    }
    #[inline]
    fn fchmod(&mut self, fd: i32, mode: u32) -> SysResult<()> {
        sys::fchmod(fd, mode)
    }
    #[inline]
    fn fsync(&mut self, fd: i32) -> SysResult<()> {
        sys::fsync(fd)
    }
    #[inline]
    fn spawn_processor(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32> {
        process::spawn_plan(plan)
    }
    #[inline]
    fn send_udp(&mut self, udp: model::svlogd::config::Udp, bytes: &[u8]) -> model::svlogd::UdpOutcome {
        crate::exec::svlogd::send_udp(udp, bytes)
    }
    #[inline]
    fn read_append(&mut self, fd: i32, buf: &mut Vec<u8>, max: usize) -> SysResult<usize> {
        sys::read_append(fd, buf, max)
    }
}

/// What runit (PID 1) asks of the kernel on top of [`Syscalls`]: its stage scripts and
/// final child, the console, `chmod(stopit, 0)`, `sync`, and the final plan run inline
/// when the fork for it failed. A separate trait so runsv's stays small.
pub trait StageSyscalls: Syscalls {
    /// Forks and carries out a stage script's or ctrlaltdel's plan: its pid, or the fork
    /// errno (PID 1's fork failure: the machine retries in 5 s).
    fn spawn_script(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32>;
    /// Forks the final child, which carries out `plan` and exits 0.
    fn spawn_final(&mut self, paths: &model::stage::Paths, plan: &model::stage::FinalPlan) -> SysResult<i32>;
    /// Carries out the final plan in runit itself (its fork failed).
    fn run_final(&mut self, paths: &model::stage::Paths, plan: &model::stage::FinalPlan);
    /// One runit message line to the console (fd 2).
    fn say(&mut self, line: &[u8]);
    /// Re-points fd 2 at the console (runit does after every wake-up).
    fn point_at_console(&mut self, console: &CStr);
    /// `chmod(path, mode)`, result ignored by the caller as runit does.
    fn chmod(&mut self, path: &CStr, mode: u32) -> SysResult<()>;
    /// `sync()`.
    fn sync(&mut self);
}

impl StageSyscalls for Real {
    #[inline]
    fn spawn_script(&mut self, plan: &model::spawn::ChildPlan) -> SysResult<i32> {
        process::spawn_plan(plan)
    }
    #[inline]
    fn spawn_final(&mut self, paths: &model::stage::Paths, plan: &model::stage::FinalPlan) -> SysResult<i32> {
        crate::exec::stage::spawn_final(paths, plan)
    }
    #[inline]
    fn run_final(&mut self, paths: &model::stage::Paths, plan: &model::stage::FinalPlan) {
        crate::exec::stage::run_final(paths, plan)
    }
    #[inline]
    fn say(&mut self, line: &[u8]) {
        crate::exec::stage::say_line(line)
    }
    #[inline]
    fn point_at_console(&mut self, console: &CStr) {
        crate::exec::stage::point_at_console(console, false)
    }
    #[inline]
    fn chmod(&mut self, path: &CStr, mode: u32) -> SysResult<()> {
        sys::chmod(path, mode)
    }
    #[inline]
    fn sync(&mut self) {
        nix::unistd::sync()
    }
}
