//! The sv executor over raw system calls: `runtime::exec::sv` for the freestanding sv
//! (same calls in the same order; runtime's stays for targets without this crate).
//!
//! Mechanism only: which events matter ([`model::sv::session::event_wakes`]), when to
//! poll, what to print and the exit code are all decided in `model::sv`.

use alloc::vec::Vec;

use model::errno::Errno;
use model::sv::report::ReportEffects;
use model::sv::session::{event_wakes, CheckRun, DirEvent, Effects, Session, StatusError, WriteOutcome};
use model::{Mono, Now, Wall};

use crate::sys::{self, O_DIRECTORY, O_NONBLOCK, O_RDONLY, O_WRONLY};

// inotify's event bits (sys/inotify.h).
const IN_CLOSE_WRITE: u32 = 0x08;
const IN_CLOSE_NOWRITE: u32 = 0x10;
const IN_MOVED_TO: u32 = 0x80;
const IN_Q_OVERFLOW: u32 = 0x4000;
const IN_IGNORED: u32 = 0x8000;
/// Events that can matter on a watched `supervise/` directory (filtered by name later).
const WATCH_MASK: u32 = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE;

/// Both clocks, as runtime's `clock::now`.
pub fn now() -> Now {
    let (ms, mns) = sys::clock_gettime(sys::CLOCK_MONOTONIC);
    let (ws, wns) = sys::clock_gettime(sys::CLOCK_REALTIME);
    Now { mono: Mono(ms as u64 * 1_000_000_000 + mns as u64), wall: Wall { unix_secs: ws, nanos: wns as u32 } }
}

fn open_read(path: &core::ffi::CStr) -> Result<i32, Errno> {
    sys::open(path, O_RDONLY | O_NONBLOCK, 0)
}

fn open_write(path: &core::ffi::CStr) -> Result<i32, Errno> {
    sys::open(path, O_WRONLY | O_NONBLOCK, 0)
}

/// Reads a whole file (up to `limit` + 1 bytes); `None` if it cannot be opened or read.
fn read_file(path: &core::ffi::CStr, limit: usize) -> Option<Vec<u8>> {
    let fd = open_read(path).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let ok = loop {
        match sys::read(fd, &mut buf) {
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
    let _ = sys::close(fd);
    ok.then_some(out)
}

/// The world as sv sees it: the original directory, and an inotify descriptor created on
/// the first watch request.
#[derive(Debug, Default)]
pub struct SvIo {
    home: Option<i32>,
    inotify: Option<i32>,
    inotify_failed: bool,
    /// (watch descriptor, service index).
    watches: Vec<(i32, usize)>,
}

impl SvIo {
    /// A fresh executor (nothing opened yet).
    pub fn new() -> SvIo {
        SvIo::default()
    }

    fn inotify(&mut self) -> Option<i32> {
        if self.inotify.is_none() && !self.inotify_failed {
            match sys::inotify_init() {
                Ok(fd) => {
                    // The instance's teardown (~10-25 ms) must not delay sv's exit, which
                    // follows the change this watch waits for; see `hold_until_exit`.
                    let _ = hold_until_exit(fd);
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
        while let Ok(n) = sys::read(fd, &mut buf) {
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

impl Drop for SvIo {
    fn drop(&mut self) {
        if let Some(fd) = self.home.take() {
            let _ = sys::close(fd);
        }
    }
}

/// Moves the cost of tearing down the inotify instance `keep` off this process's exit
/// (runtime's `notify::hold_until_exit`, which says why): a holder child keeps only
/// `keep` and waits on a close-on-exec pipe for this process to end.
fn hold_until_exit(keep: i32) -> Result<(), Errno> {
    const O_CLOEXEC: usize = sys::O_CLOEXEC;
    let (hold_r, hold_w) = sys::pipe2(O_CLOEXEC)?;
    let (gone_r, gone_w) = match sys::pipe2(O_CLOEXEC) {
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

fn cpath(path: &[u8]) -> Result<alloc::ffi::CString, Errno> {
    sys::cstr(path)
}

impl Effects for SvIo {
    fn open_home(&mut self) -> Result<(), Errno> {
        self.home = Some(open_read(c".")?);
        Ok(())
    }

    fn go_home(&mut self) -> Result<(), Errno> {
        match self.home {
            Some(fd) => sys::fchdir(fd),
            None => Err(Errno::EBADF),
        }
    }

    fn chdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        sys::chdir(&cpath(path)?)
    }

    fn probe_ok(&mut self) -> Result<(), Errno> {
        let fd = open_write(c"supervise/ok")?;
        let _ = sys::close(fd);
        Ok(())
    }

    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        let fd = open_read(c"supervise/status").map_err(StatusError::Open)?;
        let mut buf = [0u8; model::status::STATUS_LEN];
        let r = sys::read(fd, &mut buf);
        let _ = sys::close(fd);
        let n = r.map_err(StatusError::Read)?;
        Ok(buf[..n].to_vec())
    }

    fn stat(&mut self, file: &[u8]) -> Result<(), Errno> {
        sys::stat_is_dir(&cpath(file)?).map(|_| ())
    }

    /// `./check` with stdout closed, the environment inherited; when the exec fails the
    /// child writes `exec_fail_line`, the errno's text and a newline to stderr and exits
    /// 0 (runtime's `SpawnSpec` as `runtime::exec::sv` sets it up).
    fn run_check(&mut self, exec_fail_line: &[u8]) -> CheckRun {
        let path = c"./check";
        let argv = [path.as_ptr() as *const u8, core::ptr::null()];
        let pid = match sys::fork() {
            Ok(0) => {
                let _ = sys::close(1);
                // SAFETY: argv and the kernel's environment are NULL-terminated arrays of
                // NUL-terminated strings.
                let e = unsafe { sys::execve(path, argv.as_ptr(), crate::start::environ()) };
                let _ = sys::write(2, exec_fail_line);
                let _ = sys::write(2, model::errno::errstr(e.0).as_bytes());
                let _ = sys::write(2, b"\n");
                sys::exit(0)
            }
            Ok(pid) => pid,
            Err(e) => return CheckRun::ForkFailed(e),
        };
        match sys::wait_pid(pid) {
            Ok(status) => CheckRun::Exited(status),
            Err(e) => CheckRun::WaitFailed(e),
        }
    }

    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        let fd = match open_write(c"supervise/control") {
            Ok(fd) => fd,
            Err(e) => return WriteOutcome::OpenFailed(e),
        };
        let r = sys::write(fd, bytes);
        let _ = sys::close(fd);
        match r {
            Ok(n) => WriteOutcome::Written(n),
            Err(e) => WriteOutcome::WriteFailed(e),
        }
    }

    /// At most `RECORD_MAX` + 1 bytes (a longer record is refused by the decoder).
    fn read_record(&mut self) -> Option<Vec<u8>> {
        let path = sys::cstr(model::record::RECORD_FILE).ok()?;
        read_file(&path, model::record::RECORD_MAX)
    }

    fn watch(&mut self, index: usize) -> bool {
        let Some(fd) = self.inotify() else { return false };
        let Ok(wd) = sys::inotify_add_watch(fd, c"supervise", WATCH_MASK) else { return false };
        self.watches.push((wd, index));
        true
    }

    fn stdout(&mut self, line: &[u8]) {
        sys::write_all(1, line);
    }

    fn stderr(&mut self, line: &[u8]) {
        sys::write_all(2, line);
    }
}

impl ReportEffects for SvIo {
    fn read_stat(&mut self) -> Option<Vec<u8>> {
        read_file(c"supervise/stat", usize::MAX - 1)
    }

    /// The entries of `path` but `.` and `..`, each with whether it is a directory
    /// (following symlinks: service directories are often links into /etc/sv).
    fn list_dir(&mut self, path: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, Errno> {
        let dir = cpath(path)?;
        let fd = sys::open(&dir, O_RDONLY | O_DIRECTORY, 0)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let result = loop {
            let n = match sys::getdents64(fd, &mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            let mut at = 0;
            // struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name (NUL-terminated).
            while at + 19 < n {
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                if reclen == 0 {
                    break;
                }
                let raw = &buf[at + 19..(at + reclen).min(n)];
                let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
                if name != b"." && name != b".." {
                    let mut full = path.to_vec();
                    if !full.ends_with(b"/") {
                        full.push(b'/');
                    }
                    full.extend_from_slice(name);
                    let is_dir = cpath(&full).ok().and_then(|p| sys::stat_is_dir(&p).ok()).unwrap_or(false);
                    out.push((name.to_vec(), is_dir));
                }
                at += reclen;
            }
        };
        let _ = sys::close(fd);
        result.map(|()| out)
    }
}

/// Runs a machine-output invocation (`-j`, `-o`, `-m`/`-M`, `-r`) to its exit code.
pub fn run_report(inv: &model::sv::Invocation, io: &mut SvIo) -> i32 {
    model::sv::report::run(inv, now(), io)
}

/// Runs a session to its end: first pass, then wait rounds on deadlines and inotify
/// events. Returns the exit code.
pub fn run(session: &mut Session, io: &mut SvIo) -> i32 {
    session.start(now(), io);
    loop {
        if let Some(code) = session.finished() {
            return code;
        }
        let before = now();
        let deadline = session.poll_deadline();
        let timeout = deadline.map(|d| {
            let span = d - before.mono;
            ((span.0 / 1_000_000_000) as i64, (span.0 % 1_000_000_000) as i64)
        });
        let readable = sys::poll_readable(io.inotify.unwrap_or(-1), timeout);
        let now = now();
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
