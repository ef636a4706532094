//! The runsvdir executor: carries out [`model::runsvdir::Action`]s with syscalls and
//! turns wake-ups into [`model::runsvdir::Input`]s. Mechanism only.
//!
//! - Scans never change runsvdir's working directory: the directory is opened once
//!   (standing in for runit's `chdir` + `opendir`), read with `readdir`, and every entry
//!   is `fstatat`ed through that fd; a runsv child `fchdir`s to it before its PATH
//!   search. The one descriptor is kept until the next scan, so runsvdir needs six
//!   (0-2, the signal eventfd, inotify, the scan; one more with a log argument).
//! - Change notices come from inotify on the directory itself and on the parent of every
//!   path in the symlink chain that leads to it (so a `current` link replaced by
//!   runsvchdir is seen at once); events on those parents are filtered by name.
//! - The log argument's bytes in argv are rewritten through `/proc/self/mem` at the
//!   address range `/proc/self/stat` reports (`arg_start`), so `ps` shows the buffer.

use std::collections::VecDeque;
use std::ffi::CString;

use model::errno::Errno;
use model::runsvdir::machine::{Action, DirStamp, Entry, EntryKind, Input, LogFailure, ScanReply, StampError, WatchState};
use model::runsvdir::msg;
use model::runsvdir::spawn::runsv_plan;
use model::runsvdir::watch::{self, Effect, Source};
use model::runsvdir::Runsvdir;
use model::spawn::Signal;
use model::Now;

use crate::driver::{Io, Woke};
use crate::notify::Notify;
use crate::os::{DirSyscalls, Real};
use crate::sys;
use crate::wait::Interest;

/// The signals runsvdir handles as runit does (blocked outside the wait, default in children).
pub const HANDLED_SIGNALS: [i32; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGALRM, libc::SIGCHLD];

/// runsvdir's signals: runit's four plus the strays it survives (runit dies on them and
/// leaves every runsv without its supervisor); call before installing handlers.
pub fn handled_signals() -> (Vec<i32>, crate::signals::Strays) {
    let strays = crate::signals::strays(&HANDLED_SIGNALS, &[]);
    crate::signals::ignore_reserved();
    let mut all = HANDLED_SIGNALS.to_vec();
    all.extend_from_slice(&strays.catch);
    (all, strays)
}

/// The executor's state: fds and the prepared pieces of every spawn. Generic over the
/// kernel it runs on ([`Real`] in runsvdir, the simulator's fake in `verification`).
pub struct RunsvdirIo<O: DirSyscalls = Real> {
    os: O,
    dir: Vec<u8>,
    dir_c: CString,
    pgrp: bool,
    /// The directory as opened by the last scan (children `fchdir` to its descriptor).
    scan_dir: Option<O::Dir>,
    /// `$PATH`, for the runsv child's search.
    path_env: Option<Vec<u8>>,
    log_read: Option<i32>,
    title: Option<TitleMem>,
    watch: Option<O::Watch>,
    finished: Option<i32>,
    /// Signals a runsv child sets back to default and unblocks: runit's four and the
    /// strays runsvdir did not inherit blocked.
    child_unblock: Vec<i32>,
}

impl RunsvdirIo<Real> {
    /// An executor for `dir`; `path_env` is `$PATH` (None → `/bin:/usr/bin`); `strays`
    /// as found by [`handled_signals`].
    pub fn new(
        dir: &[u8],
        pgrp: bool,
        path_env: Option<&[u8]>,
        title: Option<TitleMem>,
        strays: &crate::signals::Strays,
    ) -> Result<RunsvdirIo, Errno> {
        RunsvdirIo::over(Real, dir, pgrp, path_env, title, strays)
    }
}

impl<O: DirSyscalls> RunsvdirIo<O> {
    /// [`RunsvdirIo::new`] over another kernel (the simulator's fake).
    pub fn over(
        os: O,
        dir: &[u8],
        pgrp: bool,
        path_env: Option<&[u8]>,
        title: Option<TitleMem>,
        strays: &crate::signals::Strays,
    ) -> Result<RunsvdirIo<O>, Errno> {
        Ok(RunsvdirIo {
            os,
            dir: dir.to_vec(),
            dir_c: sys::cstr(dir)?,
            pgrp,
            scan_dir: None,
            path_env: path_env.map(<[u8]>::to_vec),
            log_read: None,
            title,
            watch: None,
            finished: None,
            child_unblock: HANDLED_SIGNALS.iter().chain(&strays.unblock_in_child).copied().collect(),
        })
    }

    /// The kernel this executor runs on (the simulator inspects its fake).
    pub fn os(&mut self) -> &mut O {
        &mut self.os
    }

    fn stat_dir(&mut self) -> Result<DirStamp, Errno> {
        let st = self.os.stat(&self.dir_c)?;
        Ok(DirStamp { mtime_secs: st.mtime, ino: st.ino, dev: st.dev })
    }

    fn scan(&mut self) -> ScanReply {
        // The previous scan's directory is no longer needed (children are started right
        // after the scan that found them): free it first, so a tight descriptor limit
        // still leaves room for this scan.
        self.scan_dir = None;
        // One descriptor serves the listing, the `fstatat`s and the children's `fchdir`.
        let mut dir = match self.os.open_dir(&self.dir_c) {
            Ok(d) => d,
            // Unreadable: runit's chdir succeeds (and its opendir fails) only if the
            // directory can still be entered.
            Err(Errno::EACCES) => {
                return match self.os.open(&self.dir_c, libc::O_PATH | libc::O_DIRECTORY, 0) {
                    Ok(p) => {
                        let _ = self.os.close(p);
                        ScanReply::OpenFailed(Errno::EACCES)
                    }
                    Err(e) => ScanReply::dir_unopenable(e),
                };
            }
            Err(e) => return ScanReply::dir_unopenable(e),
        };
        let (names, read_error) = self.os.list_dir(&mut dir);
        let fd = self.os.dir_fd(&dir);
        let entries = names
            .into_iter()
            .map(|name| {
                let kind = match self.os.stat_at(fd, &name) {
                    Err(e) => EntryKind::StatFailed(e),
                    Ok(st) if st.is_dir() => EntryKind::Dir { dev: st.dev, ino: st.ino },
                    Ok(_) => EntryKind::NotDir,
                };
                Entry { name: name.into_bytes(), kind }
            })
            .collect();
        self.scan_dir = Some(dir);
        ScanReply::Listed { entries, read_error }
    }

    fn start_runsv(&mut self, name: &[u8]) -> Result<i32, Errno> {
        let scan_fd = self.scan_dir.as_ref().map(|d| self.os.dir_fd(d));
        let reset = self.child_unblock.iter().map(|&s| Signal(s)).collect();
        self.os.spawn_plan(&runsv_plan(&self.dir, name, scan_fd, self.pgrp, self.path_env.as_deref(), reset))
    }

    fn write_stamp(&mut self, text: &[u8; 25]) -> Result<(), StampError> {
        let mut p = self.dir.clone();
        p.extend_from_slice(b"/.forced-rescan");
        let p = sys::cstr(&p).map_err(|_| StampError::Open)?;
        // runit's open-truncate (`crate::fs::open_trunc`).
        let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_TRUNC | libc::O_CREAT;
        let fd = self.os.open(&p, flags, 0o644).map_err(|_| StampError::Open)?;
        let r = self.os.write(fd, text);
        let _ = self.os.close(fd);
        match r {
            Ok(n) if n == text.len() => Ok(()),
            _ => Err(StampError::Write),
        }
    }

    fn setup_log(&mut self) -> Result<(), LogFailure> {
        let (r, w) = self.os.pipe_nonblocking().map_err(|_| LogFailure::Pipe)?;
        // fd 2 loses close-on-exec so children inherit it.
        if self.os.dup2(w, 2).is_err() {
            let _ = self.os.close(r);
            let _ = self.os.close(w);
            return Err(LogFailure::Dup);
        }
        let _ = self.os.close(w);
        let _ = self.os.set_nonblock(2);
        self.log_read = Some(r);
        Ok(())
    }

    fn rewatch(&mut self) -> WatchState {
        self.watch = None;
        match self.os.watch(&self.dir) {
            Some(w) => {
                self.watch = Some(w);
                WatchState::Active
            }
            None => WatchState::Unavailable,
        }
    }
}

impl<O: DirSyscalls> Io<Runsvdir> for RunsvdirIo<O> {
    fn execute(&mut self, _now: Now, action: Action) -> Option<Input> {
        match action {
            Action::SetupLog => Some(Input::LogReady(self.setup_log())),
            Action::Watch => Some(Input::Watch(self.rewatch())),
            Action::StatDir => Some(Input::DirStat(self.stat_dir())),
            Action::Scan => Some(Input::Scanned(self.scan())),
            Action::StartRunsv { name, dev, ino } => Some(Input::Spawned { dev, ino, result: self.start_runsv(&name) }),
            Action::Term { pid } => {
                let _ = self.os.kill(pid, libc::SIGTERM);
                None
            }
            Action::WriteStamp(text) => Some(Input::StampWritten(self.write_stamp(&text))),
            Action::WriteLog(bytes) => {
                let _ = self.os.write(2, &bytes);
                None
            }
            Action::ShowTitle(bytes) => {
                if let Some(t) = &self.title {
                    t.show(&bytes);
                }
                None
            }
            Action::Warn(w) => {
                self.os.write_stderr(&msg::format(&self.dir, &w));
                None
            }
            Action::Exit(code) => {
                self.finished = Some(code);
                None
            }
        }
    }

    fn interests(&self, out: &mut Vec<Interest>) {
        if let Some(w) = &self.watch {
            out.push(Interest::read(self.os.watch_fd(w)));
        }
        if let Some(fd) = self.log_read {
            out.push(Interest::read(fd));
        }
    }

    fn gather(&mut self, _now: Now, woke: &Woke, out: &mut VecDeque<Input>) {
        if woke.signals.contains(libc::SIGTERM) {
            out.push_back(Input::Terminate);
        }
        if woke.signals.contains(libc::SIGHUP) {
            out.push_back(Input::Hangup);
        }
        // Reap at every wake-up, as runit does (SIGCHLD only makes the wake-up prompt).
        while let Some(r) = self.os.reap_nohang() {
            out.push_back(Input::RunsvExited { pid: r.pid });
        }
        if let Some(fd) = self.log_read {
            let mut buf = [0u8; 1024];
            let mut got = Vec::new();
            while let Ok(n) = self.os.read(fd, &mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.len() > 64 * 1024 {
                    break;
                }
            }
            if !got.is_empty() {
                out.push_back(Input::LogBytes(got));
            }
        }
        let Effect { changed, rebuild } = self.watch.as_mut().map(|w| self.os.drain_watch(w)).unwrap_or_default();
        if rebuild {
            let st = self.rewatch();
            if st == WatchState::Unavailable {
                out.push_back(Input::Watch(st));
            }
        }
        if changed {
            out.push_back(Input::DirChanged);
        }
        if woke.signals.contains(libc::SIGALRM) {
            out.push_back(Input::Alarm);
        }
        if woke.deadline_passed {
            out.push_back(Input::Tick);
        }
    }

    fn finished(&self) -> Option<i32> {
        self.finished
    }
}

/// inotify watches on the directory and on the parents of its symlink chain.
pub struct Watcher {
    notify: Notify,
    /// The directory's own watch descriptor.
    dir_wd: i32,
    /// Parent watches and the one name in each that matters.
    parents: Vec<(i32, Vec<u8>)>,
}

const DIR_MASK: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF
    | libc::IN_ONLYDIR;
const PARENT_MASK: u32 = libc::IN_CREATE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO | libc::IN_ONLYDIR;

fn split_parent(p: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let trimmed: &[u8] = {
        let mut t = p;
        while t.len() > 1 && t.ends_with(b"/") {
            t = &t[..t.len() - 1];
        }
        t
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/".to_vec(), trimmed[1..].to_vec()),
        Some(i) => (trimmed[..i].to_vec(), trimmed[i + 1..].to_vec()),
        None => (b".".to_vec(), trimmed.to_vec()),
    }
}

impl Watcher {
    /// Watches `dir` (following symlinks) and the parent of every link on the way;
    /// `None` if inotify or the directory's own watch is unavailable.
    pub fn build(dir: &[u8]) -> Option<Watcher> {
        let notify = Notify::new().ok()?;
        let add = |path: &[u8], mask: u32| -> Option<i32> { notify.watch(&CString::new(path).ok()?, mask).ok() };
        let mut parents = Vec::new();
        let mut p = dir.to_vec();
        for _ in 0..40 {
            let (parent, name) = split_parent(&p);
            if let Some(wd) = add(&parent, PARENT_MASK) {
                parents.push((wd, name));
            }
            let Ok(c) = CString::new(p.clone()) else { break };
            // `readlink` fails (EINVAL) on anything but a symbolic link: the walk ends there.
            match sys::readlink(&c, 4096) {
                Ok(target) if target.first() == Some(&b'/') => p = target,
                Ok(target) => {
                    let mut q = parent.clone();
                    q.push(b'/');
                    q.extend_from_slice(&target);
                    p = q;
                }
                Err(_) => break,
            }
        }
        let dir_wd = add(dir, DIR_MASK)?;
        Some(Watcher { notify, dir_wd, parents })
    }

    /// The inotify descriptor (readable when events are pending).
    pub fn fd(&self) -> i32 {
        self.notify.fd()
    }

    /// Reads every pending event: what they add up to ([`watch::effect`] of each).
    pub fn drain(&mut self) -> Effect {
        let mut total = Effect::default();
        for ev in self.notify.drain() {
            if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                total = total.merge(watch::effect(Source::Overflow));
            } else if ev.wd == self.dir_wd {
                let gone = ev.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED) != 0;
                total = total.merge(watch::effect(Source::Dir { gone }));
            }
            // Not `else`: one inode can be both the directory and a parent on its chain
            // (the kernel then hands out one watch descriptor for both).
            for (_, chain_name) in self.parents.iter().filter(|(wd, _)| *wd == ev.wd) {
                total = total.merge(watch::effect(Source::Parent { on_chain: *chain_name == ev.name }));
            }
        }
        total
    }
}

/// The log argument's bytes inside this process's argv memory.
pub struct TitleMem {
    addr: u64,
    len: usize,
}

impl TitleMem {
    /// Finds argv[`index`] in memory via `/proc/self/stat` (arg_start, arg_end) and
    /// checks the area holds exactly `argv`; `None` if anything does not match.
    pub fn locate(argv: &[Vec<u8>], index: usize) -> Option<TitleMem> {
        let stat = std::fs::read("/proc/self/stat").ok()?;
        let close = stat.iter().rposition(|&b| b == b')')?;
        let fields: Vec<&[u8]> = stat[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty()).collect();
        let num = |i: usize| -> Option<u64> { std::str::from_utf8(fields.get(i)?).ok()?.trim().parse().ok() };
        // Field 48 is arg_start, 49 arg_end; fields[0] is field 3 (state).
        let (start, end) = (num(45)?, num(46)?);
        let mut expect = Vec::new();
        for a in argv {
            expect.extend_from_slice(a);
            expect.push(0);
        }
        if end.checked_sub(start)? as usize != expect.len() {
            return None;
        }
        let mem = sys::open(c"/proc/self/mem", libc::O_RDWR, 0).ok()?;
        let mut have = vec![0u8; expect.len()];
        let r = sys::pread(mem, &mut have, start as i64);
        // Only to check the area: no descriptor is kept (runsvdir must start its services
        // under a tight descriptor limit), the bytes are written in place.
        let _ = sys::close(mem);
        if r != Ok(have.len()) || have != expect {
            return None;
        }
        let (Some(arg), Some(before)) = (argv.get(index), argv.get(..index)) else {
            return None;
        };
        let offset: usize = before.iter().map(|a| a.len() + 1).sum();
        Some(TitleMem { addr: start + offset as u64, len: arg.len() })
    }

    /// Overwrites the argument's bytes (never beyond its length).
    pub fn show(&self, bytes: &[u8]) {
        let n = bytes.len().min(self.len);
        // SAFETY: [addr, addr + len) lies in this process's argv area (checked by `locate`
        // against /proc/self/stat and the bytes themselves), which is writable memory of
        // the initial stack that no Rust reference points into; bytes is readable for n.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.addr as usize as *mut u8, n) };
    }
}
