//! sv's executor, the only one: [`model::sv`]'s effects and the small wait loop (`ppoll`
//! on an inotify descriptor until the session's deadline), generic over [`SvSys`], the
//! few system calls sv makes.
//!
//! Two implementations of [`SvSys`]: `crate::raw::RawSys` (raw system calls, for the
//! freestanding sv on x86_64 Linux) and `runtime::exec::sv::HostSys` (nix/libc, for the
//! std build on other targets). Mechanism only: which events matter
//! ([`model::sv::session::event_wakes`]), when to poll, what to print and the exit code
//! are all decided in `model::sv`.

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

use model::errno::Errno;
use model::sv::report::ReportEffects;
use model::sv::session::{event_wakes, CheckRun, DirEvent, Effects, Session, StatusError, WriteOutcome};
use model::Now;

/// The system calls sv makes, one method each (`EINTR` retried inside), so one executor
/// serves the freestanding and the std build. Every descriptor opened is close-on-exec.
pub trait SvSys {
    /// Both clocks (monotonic for deadlines, wall for the status ages printed).
    fn now(&mut self) -> Now;
    /// `open(path, O_RDONLY | O_NONBLOCK)`: status files, and `.` to come back to.
    fn open_read(&mut self, path: &CStr) -> Result<i32, Errno>;
    /// `open(path, O_WRONLY | O_NONBLOCK)`: the `supervise/ok` and `control` FIFOs
    /// (`ENXIO` when no runsv reads them).
    fn open_write(&mut self, path: &CStr) -> Result<i32, Errno>;
    /// `open(path, O_RDONLY | O_DIRECTORY)`: a directory to list (`-r`).
    fn open_dir(&mut self, path: &CStr) -> Result<i32, Errno>;
    /// One `read(2)`.
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno>;
    /// One `write(2)`: the count written.
    fn write(&mut self, fd: i32, buf: &[u8]) -> Result<usize, Errno>;
    /// `close(2)`.
    fn close(&mut self, fd: i32) -> Result<(), Errno>;
    /// `chdir(2)`: into `SVDIR` and a service directory.
    fn chdir(&mut self, path: &CStr) -> Result<(), Errno>;
    /// `fchdir(2)`: back to where sv started, between services.
    fn fchdir(&mut self, fd: i32) -> Result<(), Errno>;
    /// `stat(2)`, following symlinks: whether `path` is a directory.
    fn is_dir(&mut self, path: &CStr) -> Result<bool, Errno>;
    /// `getdents64(2)`: the bytes of `struct linux_dirent64` records filled, 0 at the end.
    fn getdents64(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno>;
    /// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
    fn inotify_init(&mut self) -> Result<i32, Errno>;
    /// `inotify_add_watch(2)`: the watch descriptor.
    fn inotify_add_watch(&mut self, fd: i32, path: &CStr, mask: u32) -> Result<i32, Errno>;
    /// A pipe, both ends close-on-exec.
    fn pipe(&mut self) -> Result<(i32, i32), Errno>;
    /// `fork(2)`: 0 in the child, the child's pid in the parent.
    ///
    /// # Safety
    /// The child may only make system calls through this trait (no allocation, no
    /// locks: the std build may be multi-threaded) and must end with [`SvSys::exit_child`].
    unsafe fn fork(&mut self) -> Result<i32, Errno>;
    /// `close_range(from, to, 0)` (`to` inclusive).
    fn close_range(&mut self, from: u32, to: u32) -> Result<(), Errno>;
    /// `_exit(code)`, for a forked child: no exit handlers, no flushing.
    fn exit_child(&mut self, code: i32) -> !;
    /// Forks and runs `./check` with stdout closed and the environment inherited; when
    /// the exec fails the child writes `exec_fail_line`, the errno's text and a newline to
    /// stderr and exits 0. The child's pid.
    fn spawn_check(&mut self, exec_fail_line: &[u8]) -> Result<i32, Errno>;
    /// Waits (blocking) for child `pid`: its raw wait status.
    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno>;
    /// `ppoll` on one descriptor for readability (`fd` < 0: none) until `timeout`
    /// (seconds, nanoseconds) or forever; whether it became readable.
    fn poll_readable(&mut self, fd: i32, timeout: Option<(i64, i64)>) -> bool;

    /// Writes all of `bytes` to `fd`, giving up on an error (a closed stdout is not sv's
    /// business).
    fn write_all(&mut self, fd: i32, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.write(fd, bytes) {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes = &bytes[n..],
            }
        }
    }
}

// inotify's event bits (sys/inotify.h).
const IN_CLOSE_WRITE: u32 = 0x08;
const IN_CLOSE_NOWRITE: u32 = 0x10;
const IN_MOVED_TO: u32 = 0x80;
const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_IGNORED: u32 = 0x8000;
/// Events that can matter on a watched `supervise/` directory (filtered by name later).
const WATCH_MASK: u32 = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE;

/// The world as sv sees it: the original directory, and an inotify descriptor created on
/// the first watch request.
#[derive(Debug)]
pub struct SvIo<S: SvSys> {
    sys: S,
    home: Option<i32>,
    inotify: Option<i32>,
    inotify_failed: bool,
    /// (watch descriptor, service index).
    watches: Vec<(i32, usize)>,
}

impl<S: SvSys> SvIo<S> {
    /// A fresh executor over `sys` (nothing opened yet).
    pub fn new(sys: S) -> SvIo<S> {
        SvIo { sys, home: None, inotify: None, inotify_failed: false, watches: Vec::new() }
    }

    /// Reads a whole file (up to `limit` + 1 bytes); `None` if it cannot be opened or read.
    fn read_file(&mut self, path: &CStr, limit: usize) -> Option<Vec<u8>> {
        let fd = self.sys.open_read(path).ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let ok = loop {
            match self.sys.read(fd, &mut buf) {
                Ok(0) => break true,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > limit {
                        break true;
                    }
                }
                Err(_) => break false,
            }
        };
        let _ = self.sys.close(fd);
        ok.then_some(out)
    }

    fn inotify(&mut self) -> Option<i32> {
        if self.inotify.is_none() && !self.inotify_failed {
            match self.sys.inotify_init() {
                Ok(fd) => {
                    // The instance's teardown (~10-25 ms) must not delay sv's exit, which
                    // follows the change this watch waits for; see `hold_until_exit`.
                    let _ = hold_until_exit(&mut self.sys, fd);
                    self.inotify = Some(fd)
                }
                Err(_) => self.inotify_failed = true,
            }
        }
        self.inotify
    }

    /// Reads every queued inotify event; returns the service indices to re-check
    /// (`None` inside means "all": the queue overflowed) and those whose watch the
    /// kernel dropped.
    fn drain_events(&mut self) -> (Vec<Option<usize>>, Vec<usize>) {
        let mut woken = Vec::new();
        let mut lost = Vec::new();
        let Some(fd) = self.inotify else { return (woken, lost) };
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sys.read(fd, &mut buf) {
            if n == 0 {
                break;
            }
            let mut at = 0;
            // struct inotify_event: wd i32, mask u32, cookie u32, len u32, name[len].
            while at + 16 <= n {
                let word = |k: usize| u32::from_ne_bytes([buf[at + k], buf[at + k + 1], buf[at + k + 2], buf[at + k + 3]]);
                let (wd, mask, len) = (word(0) as i32, word(4), word(12) as usize);
                let name_end = (at + 16 + len).min(n);
                let raw = &buf[at + 16..name_end];
                let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
                at = name_end;
                if mask & IN_Q_OVERFLOW != 0 {
                    woken.push(None);
                    continue;
                }
                if mask & IN_IGNORED != 0 {
                    lost.extend(self.watches.iter().filter(|&&(w, _)| w == wd).map(|&(_, i)| i));
                    self.watches.retain(|&(w, _)| w != wd);
                    continue;
                }
                let event = if mask & IN_MOVED_TO != 0 {
                    DirEvent::MovedTo
                } else if mask & IN_CLOSE_WRITE != 0 {
                    DirEvent::ClosedWrite
                } else if mask & IN_CLOSE_NOWRITE != 0 {
                    DirEvent::ClosedNoWrite
                } else {
                    DirEvent::Other
                };
                if event_wakes(name, event) {
                    for &(w, index) in &self.watches {
                        if w == wd && !woken.contains(&Some(index)) {
                            woken.push(Some(index));
                        }
                    }
                }
            }
        }
        (woken, lost)
    }
}

impl<S: SvSys> Drop for SvIo<S> {
    fn drop(&mut self) {
        if let Some(fd) = self.home.take() {
            let _ = self.sys.close(fd);
        }
    }
}

/// Moves the cost of tearing down the inotify instance `keep` off this process's exit:
/// forks a *holder* child that keeps only `keep` and waits for this process to end.
///
/// Why: the last close of an inotify instance that held a watch waits for the kernel's
/// fsnotify mark reaper (a delayed work item, then an SRCU grace period): 10–25 ms on a
/// loaded machine (`strace -T`: `close(inotify) = 0 <0.021>`; docs/performance.md). A
/// process's exit closes its descriptors *before* its parent is told, so sv, which exits
/// right after the change it waited for, would pay it on every `-w` in the watch phase.
/// With the holder, sv's close only drops a reference; the holder's close is the last.
///
/// Nothing a caller can observe changes: the holder closes every other descriptor
/// (sv's stdout and stderr included) *before* this function returns, so a caller
/// reading sv's output until EOF gets it when sv exits; it needs no waiting, blocks on a
/// close-on-exec pipe whose only writer is this process (so `./check` scripts do not
/// keep it alive) and exits on its own as soon as this process has exited (or been
/// killed), without writing anything. If the fork fails, nothing is lost but the speed.
fn hold_until_exit<S: SvSys>(sys: &mut S, keep: i32) -> Result<(), Errno> {
    let (hold_r, hold_w) = sys.pipe()?;
    let (gone_r, gone_w) = match sys.pipe() {
        Ok(p) => p,
        Err(e) => {
            let _ = sys.close(hold_r);
            let _ = sys.close(hold_w);
            return Err(e);
        }
    };
    // SAFETY: the child only makes system calls through `sys` and ends with exit_child.
    match unsafe { sys.fork() } {
        Ok(0) => {
            // Step 1: drop everything but `keep`, the hold pipe and the "gone" pipe.
            let mut kept = [keep, hold_r, gone_w];
            kept.sort_unstable();
            let mut from: u32 = 0;
            for k in kept {
                close_span(sys, from, k as u32);
                from = k as u32 + 1;
            }
            close_span(sys, from, u32::MAX);
            // Step 2: only now tell the parent that its stdout and stderr are no longer held.
            let _ = sys.close(gone_w);
            let mut byte = [0u8; 1];
            // Blocks until every writer of the hold pipe (the parent) is gone; the exit
            // then closes `keep`: the teardown happens here, after the parent has exited.
            let _ = sys.read(hold_r, &mut byte);
            sys.exit_child(0)
        }
        Ok(_) => {
            let _ = sys.close(hold_r);
            let _ = sys.close(gone_w);
            // Wait for step 2 (end of file on the "gone" pipe): the holder has let go of stdio.
            let mut byte = [0u8; 1];
            let _ = sys.read(gone_r, &mut byte);
            let _ = sys.close(gone_r);
            // `hold_w` stays open (close-on-exec) for the rest of this process's life:
            // its close at exit is what lets the holder go.
            Ok(())
        }
        Err(e) => {
            for fd in [hold_r, hold_w, gone_r, gone_w] {
                let _ = sys.close(fd);
            }
            Err(e)
        }
    }
}

/// Closes descriptors `from..to` (exclusive; `to` = `u32::MAX` means "all above"):
/// `close_range(2)`, else one `close` per number up to 1024 (a kernel before 5.9).
fn close_span<S: SvSys>(sys: &mut S, from: u32, to: u32) {
    if from >= to {
        return;
    }
    let last = if to == u32::MAX { u32::MAX } else { to - 1 };
    if sys.close_range(from, last).is_ok() {
        return;
    }
    for fd in from..to.min(1024) {
        let _ = sys.close(fd as i32);
    }
}

/// A path as a NUL-terminated string (`EINVAL` if it holds a NUL, as runtime's `sys::cstr`).
fn cpath(path: &[u8]) -> Result<CString, Errno> {
    CString::new(path).map_err(|_| Errno::EINVAL)
}

impl<S: SvSys> Effects for SvIo<S> {
    fn open_home(&mut self) -> Result<(), Errno> {
        self.home = Some(self.sys.open_read(c".")?);
        Ok(())
    }

    fn go_home(&mut self) -> Result<(), Errno> {
        match self.home {
            Some(fd) => self.sys.fchdir(fd),
            None => Err(Errno::EBADF),
        }
    }

    fn chdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        self.sys.chdir(&cpath(path)?)
    }

    fn probe_ok(&mut self) -> Result<(), Errno> {
        let fd = self.sys.open_write(c"supervise/ok")?;
        let _ = self.sys.close(fd);
        Ok(())
    }

    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        let fd = self.sys.open_read(c"supervise/status").map_err(StatusError::Open)?;
        let mut buf = [0u8; model::status::STATUS_LEN];
        let r = self.sys.read(fd, &mut buf);
        let _ = self.sys.close(fd);
        let n = r.map_err(StatusError::Read)?;
        Ok(buf[..n].to_vec())
    }

    fn stat(&mut self, file: &[u8]) -> Result<(), Errno> {
        self.sys.is_dir(&cpath(file)?).map(|_| ())
    }

    fn run_check(&mut self, exec_fail_line: &[u8]) -> CheckRun {
        let pid = match self.sys.spawn_check(exec_fail_line) {
            Ok(pid) => pid,
            Err(e) => return CheckRun::ForkFailed(e),
        };
        match self.sys.wait_pid(pid) {
            Ok(status) => CheckRun::Exited(status),
            Err(e) => CheckRun::WaitFailed(e),
        }
    }

    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        let fd = match self.sys.open_write(c"supervise/control") {
            Ok(fd) => fd,
            Err(e) => return WriteOutcome::OpenFailed(e),
        };
        let r = self.sys.write(fd, bytes);
        let _ = self.sys.close(fd);
        match r {
            Ok(n) => WriteOutcome::Written(n),
            Err(e) => WriteOutcome::WriteFailed(e),
        }
    }

    /// At most `RECORD_MAX` + 1 bytes (a longer record is refused by the decoder).
    fn read_record(&mut self) -> Option<Vec<u8>> {
        let path = cpath(model::record::RECORD_FILE).ok()?;
        self.read_file(&path, model::record::RECORD_MAX)
    }

    fn watch(&mut self, index: usize) -> bool {
        let Some(fd) = self.inotify() else { return false };
        let Ok(wd) = self.sys.inotify_add_watch(fd, c"supervise", WATCH_MASK) else { return false };
        self.watches.push((wd, index));
        true
    }

    fn stdout(&mut self, line: &[u8]) {
        self.sys.write_all(1, line);
    }

    fn stderr(&mut self, line: &[u8]) {
        self.sys.write_all(2, line);
    }
}

impl<S: SvSys> ReportEffects for SvIo<S> {
    fn read_stat(&mut self) -> Option<Vec<u8>> {
        self.read_file(c"supervise/stat", usize::MAX - 1)
    }

    /// The entries of `path` but `.` and `..`, each with whether it is a directory
    /// (following symlinks: service directories are often links into /etc/sv).
    fn list_dir(&mut self, path: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, Errno> {
        let dir = cpath(path)?;
        let fd = self.sys.open_dir(&dir)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let result = loop {
            let n = match self.sys.getdents64(fd, &mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            for name in crate::dirent::names(&buf[..n]) {
                if name != b"." && name != b".." {
                    let mut full = path.to_vec();
                    if !full.ends_with(b"/") {
                        full.push(b'/');
                    }
                    full.extend_from_slice(name);
                    let is_dir = cpath(&full).ok().and_then(|p| self.sys.is_dir(&p).ok()).unwrap_or(false);
                    out.push((name.to_vec(), is_dir));
                }
            }
        };
        let _ = self.sys.close(fd);
        result.map(|()| out)
    }
}

/// Runs a machine-output invocation (`-j`, `-o`, `-m`/`-M`, `-r`) to its exit code.
pub fn run_report<S: SvSys>(inv: &model::sv::Invocation, io: &mut SvIo<S>) -> i32 {
    let now = io.sys.now();
    model::sv::report::run(inv, now, io)
}

/// Runs a session to its end: first pass, then wait rounds on deadlines and inotify
/// events. Returns the exit code.
pub fn run<S: SvSys>(session: &mut Session, io: &mut SvIo<S>) -> i32 {
    let now = io.sys.now();
    session.start(now, io);
    loop {
        if let Some(code) = session.finished() {
            return code;
        }
        let before = io.sys.now();
        let deadline = session.poll_deadline();
        let timeout = deadline.map(|d| {
            let span = d - before.mono;
            ((span.0 / 1_000_000_000) as i64, (span.0 % 1_000_000_000) as i64)
        });
        let readable = io.sys.poll_readable(io.inotify.unwrap_or(-1), timeout);
        let now = io.sys.now();
        if readable {
            let (woken, lost) = io.drain_events();
            for index in lost {
                session.on_watch_lost(now, index);
            }
            for index in woken {
                session.on_changed(now, index, io);
            }
        }
        if deadline.is_some_and(|d| now.mono >= d) {
            session.on_tick(now, io);
        }
    }
}
