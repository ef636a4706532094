//! The runsv executor: start-up (spec/runsv.md §2) and the [`Io`] that carries out the
//! runsv machine's actions.
//!
//! Start-up order follows runit: chdir, `down`, `log`, `supervise/` (following a
//! symlink and creating its target), the lock (non-blocking for the main slot, blocking
//! for the log slot), the `control` FIFOs held open for reading *and* writing (so they
//! never report EOF), then the `ok` FIFOs held open for reading (so `open(ok,
//! O_WRONLY|O_NONBLOCK)` succeeds exactly while runsv runs).

use alloc::collections::VecDeque;
use alloc::ffi::CString;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;

use model::errno::Errno;
use model::runsv::text::{self, StatusFile, WriteStep};
use model::runsv::{Action, Backoff, Config, ControlOutcome, Input, Program, Resume, Runsv, Sig, Slot, Stop};
use model::spawn::Signal;
use model::svcfiles::{self, SvcFile};

use super::driver::{Interest, Io, Os, Trace, Woke};
use super::linux::*;
use super::runsv_adopt::AdoptIo;
use super::runsv_ready::ReadyIo;
use super::setup::{Present, SetupSys};
use super::spawn::{cstr, SpawnSpec};
use super::syscalls::{mode_is_dir, mode_is_fifo, mode_owner_exec, AtomicWriteError, Syscalls};

/// Signals runsv handles: runit's TERM and CHLD.
pub const CORE_SIGNALS: [i32; 2] = [SIGCHLD, SIGTERM];

/// Some of the stray signals runsv survives (runit dies on them), for the simulator; the
/// whole set is `runtime::signals::strays` (docs/divergences.md).
pub const STRAY_SIGNALS: [i32; 7] = [SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE];

/// runsv's signals: the core ones, plus every stray one that was not inherited ignored
/// (caught only so that it cannot kill runsv and orphan the service).
#[derive(Clone, Debug)]
pub struct Handled {
    /// Everything to install a handler for.
    pub all: Vec<i32>,
    /// The strays a child unblocks again (the ones runsv did not inherit blocked), so the
    /// services see the dispositions and mask they would under runit.
    pub stray_unblock: Vec<i32>,
}

/// The files of a service directory runsv looks for at start-up; one listing of the
/// directory tells which exist ([`Present`]), and only those are opened.
const SERVICE_FILES: &[&str] = &[
    "down",
    "log",
    "down-signal",
    "timeout-kill",
    "timeout-finish",
    "flag-timeout-killpg",
    "notification-fd",
    "notify-socket",
    "restart-delay",
    "restart-steps",
    "restart-max-delay",
    "restart-limit-interval",
    "restart-limit-count",
    "timeout-watchdog",
];

/// A fatal start-up error: the complete message; runsv exits 111 after printing it.
#[derive(Debug)]
pub struct Fatal(pub Vec<u8>);

/// Open descriptors of one slot's `supervise/`.
#[derive(Debug)]
struct SlotFds {
    control: i32,
    /// Held open, never read: the control FIFO's write end (so it never reports EOF), the
    /// `ok` FIFO's reader and the lock. Empty on the simulator's kernel.
    _held: Vec<i32>,
}

/// What start-up produced: the facts for the machine and the descriptors for the executor.
/// Generic over the kernel it runs on (`runtime::os::Real` or the raw one in runsv, the
/// simulator's fake in `verification/src/sim/`).
pub struct RunsvIo<O: Syscalls> {
    os: O,
    dir: Vec<u8>,
    main: Option<SlotFds>,
    log: Option<SlotFds>,
    /// (read, write) ends of the log pipe; `None` when closed or no log.
    log_pipe: Option<(i32, i32)>,
    handled: Handled,
    finished: Option<i32>,
    stop: Stop,
    /// The main slot's backoff files (addition; runit's throttle without them).
    backoff: Backoff,
    /// notification-fd pipe and sd_notify socket (additions; idle without the files).
    ready: ReadyIo,
    /// What the previous runsv left running, and the adopted children's pidfds.
    adopt: AdoptIo,
    /// The facts probed at start-up, until [`RunsvIo::take_resume`].
    resume: Option<Resume>,
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// The temporary name and the name of a status file of `slot`, as constants: a status
/// update (one per start, exit and command) builds no path on the heap.
fn status_paths(slot: Slot, file: StatusFile) -> (&'static CStr, &'static CStr) {
    match (slot, file) {
        (Slot::Log, StatusFile::Pid) => (c"log/supervise/pid.new", c"log/supervise/pid"),
        (Slot::Log, StatusFile::Stat) => (c"log/supervise/stat.new", c"log/supervise/stat"),
        (Slot::Log, StatusFile::Status) => (c"log/supervise/status.new", c"log/supervise/status"),
        (_, StatusFile::Ext) => (c"supervise/status.ext.new", c"supervise/status.ext"),
        (_, StatusFile::Pid) => (c"supervise/pid.new", c"supervise/pid"),
        (_, StatusFile::Stat) => (c"supervise/stat.new", c"supervise/stat"),
        (_, StatusFile::Status) => (c"supervise/status.new", c"supervise/status"),
    }
}

/// `mkdir(name, 0700)`, or if it exists as a symlink, create its (one-level) target.
/// `label` names it in runit's messages (`./supervise`, `./log/supervise`).
fn make_supervise(os: &mut impl SetupSys, dir: &[u8], name: &str, label: &str, in_log: bool) -> Result<(), Fatal> {
    let path = c(name);
    if os.mkdir(&path, 0o700).is_ok() {
        return Ok(());
    }
    match os.readlink(&path, 256) {
        Ok(target) => {
            let target = cstr(&target).map_err(|e| Fatal(text::fatal(dir, format!("unable to readlink {label}").as_bytes(), Some(e))))?;
            if in_log {
                let here = os.open_read(&c(".")).map_err(|e| Fatal(text::fatal(dir, b"unable to open current directory", Some(e))))?;
                os.chdir(&c("./log")).map_err(|e| Fatal(text::fatal(dir, b"unable to change directory to ./log", Some(e))))?;
                let _ = os.mkdir(&target, 0o700);
                let back = os.fchdir(here);
                let _ = os.close(here);
                back.map_err(|e| Fatal(text::fatal(dir, b"unable to change back to service directory", Some(e))))?;
            } else {
                let _ = os.mkdir(&target, 0o700);
            }
            Ok(())
        }
        Err(Errno::ENAMETOOLONG) => Err(Fatal(text::fatal(dir, format!("unable to readlink {label}: name too long").as_bytes(), None))),
        Err(Errno::ENOENT) | Err(Errno::EINVAL) => Ok(()),
        Err(e) => Err(Fatal(text::fatal(dir, format!("unable to readlink {label}").as_bytes(), Some(e)))),
    }
}

fn lock(os: &mut impl SetupSys, dir: &[u8], sup: &str, wait: bool) -> Result<i32, Fatal> {
    let path = format!("{sup}/lock");
    let fd = os.open_append(&c(&path)).map_err(|e| Fatal(text::fatal(dir, format!("unable to open {path}").as_bytes(), Some(e))))?;
    os.lock_exclusive(fd, wait).map_err(|e| Fatal(text::fatal(dir, format!("unable to lock {path}").as_bytes(), Some(e))))?;
    Ok(fd)
}

/// The control FIFO, held open both ways. runit's quirk: the FIFO-type check always
/// examines the *main* `supervise/control` (spec/runsv.md §2 step 10).
fn control_fifo(os: &mut impl SetupSys, dir: &[u8], sup: &str) -> Result<(i32, i32), Fatal> {
    let path = c(&format!("{sup}/control"));
    let _ = os.mkfifo(&path, 0o600);
    let mode = os.stat_mode(&c("supervise/control")).map_err(|e| Fatal(text::fatal(dir, b"unable to stat supervise/control", Some(e))))?;
    if !mode_is_fifo(mode) {
        return Err(Fatal(text::fatal(dir, b"supervise/control exists but is not a fifo", None)));
    }
    let what = format!("unable to open {sup}/control");
    let r = os.open_read(&path).map_err(|e| Fatal(text::fatal(dir, what.as_bytes(), Some(e))))?;
    let w = os.open_write(&path).map_err(|e| Fatal(text::fatal(dir, what.as_bytes(), Some(e))))?;
    Ok((r, w))
}

fn ok_fifo(os: &mut impl SetupSys, dir: &[u8], sup: &str) -> Result<i32, Fatal> {
    let path = c(&format!("{sup}/ok"));
    let _ = os.mkfifo(&path, 0o600);
    os.open_read(&path).map_err(|e| Fatal(text::fatal(dir, format!("unable to read {sup}/ok").as_bytes(), Some(e))))
}

/// runsv once its signals are installed: start-up in `dir` over `kernel` (`Err`: the
/// message to print before exiting 111), the trace opened (`trace`, after start-up, so a
/// failed start creates no trace file), then the driver loop over `os` until it ends with
/// runsv's exit code. Both runsv mains (freestanding and hosted) are this call, so they
/// cannot drift apart.
pub fn supervise<K: SetupSys, O: Os>(
    kernel: K,
    dir: &[u8],
    handled: Handled,
    os: &mut O,
    trace: impl FnOnce() -> Trace,
) -> Result<i32, Fatal> {
    let (mut io, config) = RunsvIo::setup(kernel, dir, handled)?;
    let now = os.now();
    let mut trace = trace();
    let stop = io.stop();
    let backoff = io.backoff();
    trace.note(&(now, &config, stop, backoff));
    let mut machine = Runsv::new(now, config).with_stop(stop).with_backoff(backoff);
    let first = io.take_resume().into_iter().chain([Input::Start]).collect();
    Ok(super::driver::run(&mut machine, &mut io, os, first, &mut trace))
}

impl<O: SetupSys> RunsvIo<O> {
    /// Performs runsv's start-up in `dir` (the argument verbatim) over `os`. On success
    /// the process has changed into the service directory and the machine's facts are
    /// returned.
    pub fn setup(mut os: O, dir: &[u8], handled: Handled) -> Result<(RunsvIo<O>, Config), Fatal> {
        let os_ = &mut os;
        let cdir = cstr(dir).map_err(|e| Fatal(text::fatal(dir, b"unable to change to directory", Some(e))))?;
        os_.chdir(&cdir).map_err(|e| Fatal(text::fatal(dir, b"unable to change to directory", Some(e))))?;
        let present = Present::list(os_, c".", SERVICE_FILES);
        let down = present.may_exist(b"down") && os_.stat_mode(&c("down")).is_ok();
        let mut warnings = Vec::new();
        let log = match if present.may_exist(b"log") { os_.stat_mode(&c("log")) } else { Err(Errno::ENOENT) } {
            Err(Errno::ENOENT) => None,
            Err(e) => {
                warnings.push(text::warning(dir, b"unable to stat() ./log: ", Some(e)));
                None
            }
            Ok(mode) if !mode_is_dir(mode) => {
                warnings.push(text::warning(dir, b"./log: not a directory.", None));
                None
            }
            Ok(_) => Some(os_.stat_mode(&c("log/down")).is_ok()),
        };
        let stop = read_stop_files(os_, dir, &present, &mut warnings);
        let backoff = read_backoff_files(os_, dir, &present, &mut warnings);
        for w in &warnings {
            os_.write_stderr(w);
        }
        let log_pipe = if log.is_some() {
            Some(os_.pipe().map_err(|e| Fatal(text::fatal(dir, b"unable to create log pipe", Some(e))))?)
        } else {
            None
        };
        make_supervise(os_, dir, "supervise", "./supervise", false)?;
        let main_lock = lock(os_, dir, "supervise", false)?;
        let log_lock = if log.is_some() {
            make_supervise(os_, dir, "log/supervise", "./log/supervise", true)?;
            Some(lock(os_, dir, "log/supervise", true)?)
        } else {
            None
        };
        let (mc, mcw) = control_fifo(os_, dir, "supervise")?;
        let log_ctl = if log.is_some() { Some(control_fifo(os_, dir, "log/supervise")?) } else { None };
        let mok = ok_fifo(os_, dir, "supervise")?;
        let log_ok = if log.is_some() { Some(ok_fifo(os_, dir, "log/supervise")?) } else { None };
        let main = SlotFds { control: mc, _held: vec![mcw, mok, main_lock] };
        let log_fds = match (log_ctl, log_ok, log_lock) {
            (Some((r, w)), Some(ok), Some(l)) => Some(SlotFds { control: r, _held: vec![w, ok, l] }),
            _ => None,
        };
        let (ready, readiness) = ReadyIo::setup(os_, dir, &present);
        let (adopt, resume) = AdoptIo::probe(os_, log.is_some());
        if readiness.s6_compat() {
            if let Err(e) = os_.lock_record(main_lock) {
                os_.write_stderr(&text::warning(dir, b"unable to lock supervise/lock for s6", Some(e)));
            }
            if let Err(e) = os_.make_fifodir(&c("event")) {
                os_.write_stderr(&text::warning(dir, b"unable to make fifodir ./event", Some(e)));
            }
        }
        let io = RunsvIo {
            os,
            dir: dir.to_vec(),
            main: Some(main),
            log: log_fds,
            log_pipe,
            handled,
            finished: None,
            stop,
            backoff,
            ready,
            adopt,
            resume: Some(resume),
        };
        Ok((io, Config { dir: dir.to_vec(), down, log, readiness }))
    }
}

impl<O: Syscalls> RunsvIo<O> {
    /// An executor over `os` whose start-up is already done: the fake kernel's runsv holds
    /// the `control` FIFOs as `control = (main, log)`, the log pipe as `(read, write)` and
    /// its readiness plumbing as `ready`.
    pub fn started(
        os: O,
        dir: &[u8],
        control: (i32, Option<i32>),
        log_pipe: Option<(i32, i32)>,
        handled: Handled,
        ready: ReadyIo,
    ) -> RunsvIo<O> {
        let fds = |control| SlotFds { control, _held: Vec::new() };
        RunsvIo {
            os,
            dir: dir.to_vec(),
            main: Some(fds(control.0)),
            log: control.1.map(fds),
            log_pipe,
            handled,
            finished: None,
            stop: Stop::RUNIT,
            backoff: Backoff::RUNIT,
            ready,
            adopt: AdoptIo::default(),
            resume: None,
        }
    }

    /// Probes what a previous runsv left running, over this executor's kernel, as
    /// [`RunsvIo::setup`] does on the real one (the simulator's restarted runsv then takes
    /// the production adoption path); `has_log` says whether there is a log slot.
    pub fn probed(mut self, has_log: bool) -> RunsvIo<O> {
        let (adopt, resume) = AdoptIo::probe(&mut self.os, has_log);
        (self.adopt, self.resume) = (adopt, Some(resume));
        self
    }

    /// The kernel this executor runs on (the simulator inspects its fake).
    pub fn os(&mut self) -> &mut O {
        &mut self.os
    }

    /// The first input: what start-up found of the previous runsv's children (feed it
    /// before [`Input::Start`]).
    pub fn take_resume(&mut self) -> Option<Input> {
        self.resume.take().map(Input::Resume)
    }

    /// The main slot's stop settings read at start-up (give them to [`Runsv::with_stop`]).
    pub fn stop(&self) -> Stop {
        self.stop
    }

    /// The main slot's backoff settings read at start-up (give them to
    /// [`Runsv::with_backoff`]).
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    fn spawn(&mut self, slot: Slot, program: &Program, fail: Vec<u8>, own_group: bool) -> Result<u32, Errno> {
        let mut spec = SpawnSpec::new(b"./run")?;
        match program {
            Program::Run => {
                spec.stdout = self.log_pipe.map(|(_, w)| w);
                self.ready.prepare_run(&mut self.os, &mut spec)?;
            }
            Program::Finish { a, b } => {
                spec.path = c("./finish");
                spec.argv = vec![c("./finish"), c(&a.to_string()), c(&b.to_string())];
                spec.stdout = self.log_pipe.map(|(_, w)| w);
            }
            Program::LogRun => {
                spec.stdin = self.log_pipe.map(|(r, _)| r);
                spec.chdir = Some(c("./log"));
            }
        }
        let _ = slot;
        spec.new_pgrp = own_group;
        spec.reset_signals = CORE_SIGNALS.iter().chain(&self.handled.stray_unblock).map(|&s| Signal(s)).collect();
        spec.exec_fail_msg = fail;
        spec.exec_fail_code = 111;
        let pid = self.os.spawn(&spec).map(|p| p as u32);
        if *program == Program::Run {
            self.ready.spawned(&mut self.os, pid.ok());
        }
        pid
    }

    fn run_control(&mut self, byte: u8) -> ControlOutcome {
        let name = format!("control/{}", byte as char);
        let path = c(&name);
        match self.os.stat_mode(&path) {
            Err(Errno::ENOENT) => return ControlOutcome::Absent,
            Err(e) => return ControlOutcome::StatFailed(e),
            Ok(mode) if !mode_owner_exec(mode) => return ControlOutcome::Absent,
            Ok(_) => {}
        }
        let Ok(mut spec) = SpawnSpec::new(name.as_bytes()) else { return ControlOutcome::Absent };
        spec.stdout = self.log_pipe.map(|(_, w)| w);
        // runit's quirk: override scripts run with SIGTERM and SIGCHLD blocked. Only the
        // stray signals (which runit does not block) are unblocked.
        spec.reset_signals = self.handled.stray_unblock.iter().map(|&s| Signal(s)).collect();
        spec.exec_fail_msg = text::control_exec_failed(&self.dir);
        let pid = match self.os.spawn(&spec) {
            Ok(p) => p,
            Err(e) => return ControlOutcome::ForkFailed(e),
        };
        match self.os.wait_pid(pid) {
            Ok(st) => ControlOutcome::Exited(st),
            Err(e) => ControlOutcome::WaitFailed(e),
        }
    }

    fn write_status(&mut self, slot: Slot, pid: Option<&[u8]>, stat: &[u8], status: &[u8], ext: Option<&[u8]>) {
        // The record is always the main slot's file, renamed in just before `status`.
        let files = [
            pid.map(|p| (StatusFile::Pid, p)),
            Some((StatusFile::Stat, stat)),
            ext.map(|x| (StatusFile::Ext, x)),
            Some((StatusFile::Status, status)),
        ];
        for (file, bytes) in files.into_iter().flatten() {
            let (tmp, dest) = status_paths(slot, file);
            if let Err(e) = self.os.write_atomic(tmp, dest, bytes) {
                let step = match e {
                    AtomicWriteError::Open(e) => WriteStep::Open(e),
                    AtomicWriteError::Write(e) => WriteStep::Write(e),
                    AtomicWriteError::Partial => WriteStep::Partial,
                    AtomicWriteError::Rename(e) => WriteStep::Rename(e),
                };
                self.os.write_stderr(&text::status_write_failed(&self.dir, slot, file, step));
                // runit skips the rest of the update when the pid file fails.
                if file == StatusFile::Pid {
                    return;
                }
            }
        }
    }

    fn close_log_pipe(&mut self) {
        if let Some((r, w)) = self.log_pipe.take() {
            if let Err(e) = self.os.close(w) {
                self.os.write_stderr(&text::warning(&self.dir, b"unable to close logpipe[1]", Some(e)));
            }
            if let Err(e) = self.os.close(r) {
                self.os.write_stderr(&text::warning(&self.dir, b"unable to close logpipe[0]", Some(e)));
            }
        }
    }
}

/// One opt-in file of the service directory (the current directory): its bytes, or `None`
/// when the listing or the open says it does not exist; a file that exists but cannot be
/// read gets a warning in `warnings` and counts as absent (s6's rule).
fn read_svc_file(os: &mut impl Syscalls, dir: &[u8], present: &Present, file: SvcFile, warnings: &mut Vec<Vec<u8>>) -> Option<Vec<u8>> {
    if !present.may_exist(file.name().as_bytes()) {
        return None;
    }
    match os.read_small(&c(file.name()), 64) {
        Ok(bytes) => Some(bytes),
        Err(Errno::ENOENT) => None,
        Err(e) => {
            warnings.push(svcfiles::unreadable_line(dir, file, e));
            None
        }
    }
}

/// Reads the opt-in stop files of the service directory (the current directory): each
/// one's bytes, or `None` when it does not exist; a file that exists but cannot be read
/// gets a warning and counts as absent (s6's rule). Warnings go to `warnings`.
fn read_stop_files(os: &mut impl Syscalls, dir: &[u8], present: &Present, warnings: &mut Vec<Vec<u8>>) -> Stop {
    let mut read = |file: SvcFile| read_svc_file(os, dir, present, file, warnings);
    let down_signal = read(SvcFile::DownSignal);
    let timeout_kill = read(SvcFile::TimeoutKill);
    let timeout_finish = read(SvcFile::TimeoutFinish);
    let killpg = present.may_exist(b"flag-timeout-killpg") && os.stat_mode(&c("flag-timeout-killpg")).is_ok();
    let (stop, lines) = Stop::from_files(dir, down_signal.as_deref(), timeout_kill.as_deref(), timeout_finish.as_deref(), killpg);
    warnings.extend(lines);
    stop
}

/// Reads the opt-in backoff files (`restart-delay`, ...) as [`read_stop_files`] reads the
/// stop files: missing = not set, unreadable = a warning and not set.
fn read_backoff_files(os: &mut impl Syscalls, dir: &[u8], present: &Present, warnings: &mut Vec<Vec<u8>>) -> Backoff {
    let mut read = |file: SvcFile| read_svc_file(os, dir, present, file, warnings);
    let [delay, steps, max, interval, count] =
        [SvcFile::RestartDelay, SvcFile::RestartSteps, SvcFile::RestartMaxDelay, SvcFile::RestartLimitInterval, SvcFile::RestartLimitCount]
            .map(&mut read);
    let (backoff, lines) =
        Backoff::from_files(dir, delay.as_deref(), steps.as_deref(), max.as_deref(), interval.as_deref(), count.as_deref());
    warnings.extend(lines);
    backoff
}

/// The platform number of a signal the model names.
pub fn signo(sig: Sig) -> i32 {
    match sig {
        Sig::Term => SIGTERM,
        Sig::Cont => SIGCONT,
        Sig::Stop => SIGSTOP,
        Sig::Hup => SIGHUP,
        Sig::Alrm => SIGALRM,
        Sig::Int => SIGINT,
        Sig::Quit => SIGQUIT,
        Sig::Usr1 => SIGUSR1,
        Sig::Usr2 => SIGUSR2,
        Sig::Kill => SIGKILL,
        Sig::Abrt => SIGABRT,
    }
}

/// Whether `./finish` can be opened for reading now (runit samples it at reap time).
fn finish_present(os: &mut impl Syscalls) -> bool {
    match os.open_read(&c("finish")) {
        Ok(fd) => {
            let _ = os.close(fd);
            true
        }
        Err(_) => false,
    }
}

fn read_byte(os: &mut impl Syscalls, fd: i32) -> Option<u8> {
    let mut b = [0u8; 1];
    match os.read(fd, &mut b) {
        Ok(1) => Some(b[0]),
        _ => None,
    }
}

impl<O: Syscalls> Io<Runsv> for RunsvIo<O> {
    fn execute(&mut self, _now: model::Now, action: Action) -> Option<Input> {
        match action {
            Action::Spawn { slot, program, exec_fail_msg, own_group } => Some(match self.spawn(slot, &program, exec_fail_msg, own_group) {
                Ok(pid) => Input::Spawned(slot, pid),
                Err(e) => Input::SpawnFailed(slot, e),
            }),
            Action::RunControl(byte) => Some(Input::ControlDone(self.run_control(byte))),
            Action::Signal(_, pid, sig) => {
                let _ = self.os.kill(pid as i32, signo(sig));
                None
            }
            Action::SignalGroup(_, pgid, sig) => {
                let _ = self.os.kill(-(pgid as i32), signo(sig));
                None
            }
            Action::WriteStatus { slot, pid, stat, status, ext } => {
                self.write_status(slot, pid.as_deref(), &stat, &status, ext.as_deref());
                None
            }
            Action::CloseNotificationFd => {
                self.ready.close_pipe(&mut self.os);
                None
            }
            Action::CloseLogPipe => {
                self.close_log_pipe();
                None
            }
            Action::Warn(line) => {
                self.os.write_stderr(&line);
                None
            }
            Action::Exit(code) => {
                self.finished = Some(code);
                None
            }
            Action::Adopt { slot, pid } => {
                self.adopt.adopt(&mut self.os, slot, pid);
                None
            }
            Action::Release(slot) => {
                self.adopt.release(&mut self.os, slot);
                None
            }
            Action::TakeLogPipe(slot) => {
                if let Some(pair) = self.adopt.take_pipe(slot) {
                    self.close_log_pipe();
                    self.log_pipe = Some(pair);
                }
                None
            }
            Action::SignalPidfd(slot, pid, sig) => {
                self.adopt.signal(&mut self.os, slot, pid, signo(sig));
                None
            }
        }
    }

    fn interests(&self, out: &mut Vec<Interest>) {
        if let Some(m) = &self.main {
            out.push(Interest::read(m.control));
        }
        if let Some(l) = &self.log {
            out.push(Interest::read(l.control));
        }
        self.ready.interests(out);
        self.adopt.interests(out);
    }

    fn gather(&mut self, _now: model::Now, woke: &Woke, out: &mut VecDeque<Input>) {
        // runit's loop order: reap every exited child, one byte from the main FIFO, one
        // byte from the log FIFO, then SIGTERM as `x`.
        while let Some(r) = self.os.reap_nohang() {
            let finish_present = finish_present(&mut self.os);
            out.push_back(Input::ChildExited { pid: r.pid as u32, status: r.status, finish_present });
        }
        self.adopt.gather(&mut self.os, woke, |os| finish_present(os), out);
        let ready = |fd: i32| woke.ready.iter().any(|r| r.fd == fd && r.readable);
        if let Some(m) = self.main.as_ref().map(|m| m.control) {
            if ready(m) {
                if let Some(b) = read_byte(&mut self.os, m) {
                    out.push_back(Input::Control(Slot::Main, b));
                }
            }
        }
        if let Some(l) = self.log.as_ref().map(|l| l.control) {
            if ready(l) {
                if let Some(b) = read_byte(&mut self.os, l) {
                    out.push_back(Input::Control(Slot::Log, b));
                }
            }
        }
        self.ready.gather(&mut self.os, woke, out);
        if woke.signals.contains(SIGTERM) {
            out.push_back(Input::Terminate);
        }
        if woke.deadline_passed {
            out.push_back(Input::Tick);
        }
    }

    fn finished(&self) -> Option<i32> {
        self.finished
    }
}
