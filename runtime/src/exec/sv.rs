//! The sv executor: [`model::sv::Effects`] over syscalls, and the small wait loop
//! (`ppoll` on an inotify descriptor until the session's deadline).
//!
//! Mechanism only: which events matter ([`model::sv::session::event_wakes`]), when to
//! poll, what to print and the exit code are all decided in `model::sv`.

use model::errno::Errno;
use model::sv::report::ReportEffects;
use model::sv::session::{event_wakes, CheckRun, DirEvent, Effects, Session, StatusError, WriteOutcome};
use model::Now;

use crate::notify::Notify;
use crate::process::{self, SpawnSpec};
use crate::{clock, diag, fs, sys};

/// Events that can matter on a watched `supervise/` directory (filtered by name later).
const WATCH_MASK: u32 = libc::IN_MOVED_TO | libc::IN_CLOSE_WRITE | libc::IN_CLOSE_NOWRITE;

/// The world as sv sees it: the original directory, and an inotify descriptor created on
/// the first watch request.
#[derive(Debug, Default)]
pub struct SvIo {
    home: Option<i32>,
    inotify: Option<Notify>,
    inotify_failed: bool,
    /// (watch descriptor, service index).
    watches: Vec<(i32, usize)>,
}

impl SvIo {
    /// A fresh executor (nothing opened yet).
    pub fn new() -> SvIo {
        SvIo::default()
    }

    fn inotify(&mut self) -> Option<&Notify> {
        if self.inotify.is_none() && !self.inotify_failed {
            match Notify::new() {
                Ok(n) => {
                    // The instance's teardown (~10-25 ms) must not delay sv's exit, which
                    // follows the change this watch waits for; see `hold_until_exit`.
                    let _ = crate::notify::hold_until_exit(n.fd());
                    self.inotify = Some(n)
                }
                Err(_) => self.inotify_failed = true,
            }
        }
        self.inotify.as_ref()
    }

    /// Reads every queued inotify event; returns the service indices to re-check
    /// (`None` inside means "all": the queue overflowed) and those whose watch the
    /// kernel dropped.
    fn drain_events(&mut self) -> (Vec<Option<usize>>, Vec<usize>) {
        let mut woken = Vec::new();
        let mut lost = Vec::new();
        let Some(notify) = &self.inotify else { return (woken, lost) };
        for ev in notify.drain() {
            let (wd, mask) = (ev.wd, ev.mask);
            if mask & libc::IN_Q_OVERFLOW != 0 {
                woken.push(None);
                continue;
            }
            if mask & libc::IN_IGNORED != 0 {
                lost.extend(self.watches.iter().filter(|&&(w, _)| w == wd).map(|&(_, i)| i));
                self.watches.retain(|&(w, _)| w != wd);
                continue;
            }
            let event = if mask & libc::IN_MOVED_TO != 0 {
                DirEvent::MovedTo
            } else if mask & libc::IN_CLOSE_WRITE != 0 {
                DirEvent::ClosedWrite
            } else if mask & libc::IN_CLOSE_NOWRITE != 0 {
                DirEvent::ClosedNoWrite
            } else {
                DirEvent::Other
            };
            if event_wakes(&ev.name, event) {
                for &(w, index) in &self.watches {
                    if w == wd && !woken.contains(&Some(index)) {
                        woken.push(Some(index));
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

fn cpath(path: &[u8]) -> Result<std::ffi::CString, Errno> {
    sys::cstr(path)
}

impl Effects for SvIo {
    fn open_home(&mut self) -> Result<(), Errno> {
        self.home = Some(fs::open_read(c".")?);
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
        let fd = fs::open_write(c"supervise/ok")?;
        let _ = sys::close(fd);
        Ok(())
    }

    fn read_status(&mut self) -> Result<Vec<u8>, StatusError> {
        let fd = fs::open_read(c"supervise/status").map_err(StatusError::Open)?;
        let mut buf = [0u8; model::status::STATUS_LEN];
        let r = sys::read(fd, &mut buf);
        let _ = sys::close(fd);
        let n = r.map_err(StatusError::Read)?;
        Ok(buf[..n].to_vec())
    }

    fn stat(&mut self, file: &[u8]) -> Result<(), Errno> {
        sys::stat(&cpath(file)?).map(|_| ())
    }

    fn run_check(&mut self, exec_fail_line: &[u8]) -> CheckRun {
        let mut spec = match SpawnSpec::new(b"check") {
            Ok(s) => s,
            Err(e) => return CheckRun::ForkFailed(e),
        };
        spec.argv = vec![c"./check".to_owned()];
        spec.close_stdout = true;
        spec.exec_fail_msg = exec_fail_line.to_vec();
        spec.exec_fail_code = 0;
        let pid = match process::spawn(&spec) {
            Ok(pid) => pid,
            Err(e) => return CheckRun::ForkFailed(e),
        };
        match process::wait_pid(pid) {
            Ok(status) => CheckRun::Exited(status),
            Err(e) => CheckRun::WaitFailed(e),
        }
    }

    fn write_control(&mut self, bytes: &[u8]) -> WriteOutcome {
        let fd = match fs::open_write(c"supervise/control") {
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
        let fd = fs::open_read(&path).ok()?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let ok = loop {
            match sys::read(fd, &mut buf) {
                Ok(0) => break true,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > model::record::RECORD_MAX {
                        break true;
                    }
                }
                Err(_) => break false,
            }
        };
        let _ = sys::close(fd);
        ok.then_some(out)
    }

    fn watch(&mut self, index: usize) -> bool {
        let Some(Ok(wd)) = self.inotify().map(|n| n.watch(c"supervise", WATCH_MASK)) else { return false };
        self.watches.push((wd, index));
        true
    }

    fn stdout(&mut self, line: &[u8]) {
        diag::write_stdout(line);
    }

    fn stderr(&mut self, line: &[u8]) {
        diag::write_stderr(line);
    }
}

impl ReportEffects for SvIo {
    fn read_stat(&mut self) -> Option<Vec<u8>> {
        std::fs::read("supervise/stat").ok()
    }

    fn list_dir(&mut self, path: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, Errno> {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let dir = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
        let io_errno = |e: std::io::Error| Errno(e.raw_os_error().unwrap_or(libc::EIO));
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_errno)? {
            let entry = entry.map_err(io_errno)?;
            // Follow symlinks: service directories are often links into /etc/sv.
            let is_dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
            out.push((entry.file_name().into_vec(), is_dir));
        }
        Ok(out)
    }
}

/// Runs a machine-output invocation (`-j`, `-o`, `-m`/`-M`, `-r`) to its exit code.
pub fn run_report(inv: &model::sv::Invocation, io: &mut SvIo) -> i32 {
    model::sv::report::run(inv, clock::now(), io)
}

/// Sleeps until the inotify descriptor is readable or `deadline` passes.
fn sleep_until(fd: Option<i32>, now: Now, deadline: Option<model::Mono>) -> bool {
    let mut pfd = libc::pollfd { fd: fd.unwrap_or(-1), events: libc::POLLIN, revents: 0 };
    let ts = deadline.map(|d| {
        let span = d - now.mono;
        libc::timespec { tv_sec: (span.0 / 1_000_000_000) as libc::time_t, tv_nsec: (span.0 % 1_000_000_000) as libc::c_long }
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: one valid pollfd (a negative fd is ignored by ppoll); tsp is null or valid.
    let r = unsafe { libc::ppoll(&mut pfd, 1, tsp, std::ptr::null()) };
    r > 0 && pfd.revents & libc::POLLIN != 0
}

/// Runs a session to its end: first pass, then wait rounds on deadlines and inotify
/// events. Returns the exit code.
pub fn run(session: &mut Session, io: &mut SvIo) -> i32 {
    session.start(clock::now(), io);
    loop {
        if let Some(code) = session.finished() {
            return code;
        }
        let now = clock::now();
        let deadline = session.poll_deadline();
        let readable = sleep_until(io.inotify.as_ref().map(Notify::fd), now, deadline);
        let now = clock::now();
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
