//! The stage executor: carries out [`model::stage::Action`]s for runit as PID 1 and
//! turns wake-ups (reaped children, signals, deadlines) into inputs. Mechanism only:
//! which stage runs, when, and what a signal means are decided in `model::stage`.
//!
//! Everything a forked child needs (paths, argv, message lines) is prepared before
//! `fork`, so the child allocates nothing. No `unwrap` anywhere: a panic in PID 1 is a
//! kernel panic.

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::AsFd;

use model::errno::Errno;
use model::stage::spawn::script_plan;
use model::stage::{msg, Action, FinalPlan, FinalStep, Flags, Input, Job, Msg, Paths, RebootCmd, Script, SendSig, Sig, Stages};
use model::Now;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::reboot::{reboot, RebootMode};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};

use crate::driver::{Io, Woke};
use crate::os::{Real, StageSyscalls};
use crate::sys;
use crate::wait::Interest;

/// The signals runit catches (SIGTERM only in container mode).
pub fn handled_signals(container: bool) -> Vec<i32> {
    let mut v = vec![libc::SIGCHLD, libc::SIGCONT, libc::SIGINT, libc::SIGALRM, libc::SIGPWR];
    if container {
        v.push(libc::SIGTERM);
    }
    v
}

/// The signals runit blocks so they are ignored for it (HUP, PIPE, and TERM unless
/// container mode catches it).
pub fn blocked_signals(container: bool) -> Vec<i32> {
    let mut v = vec![libc::SIGHUP, libc::SIGPIPE];
    if !container {
        v.push(libc::SIGTERM);
    }
    v
}

/// Blocks `sigs` in the calling process.
pub fn block(sigs: &[i32]) {
    let set: SigSet = sigs.iter().filter_map(|&s| Signal::try_from(s).ok()).collect();
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
}

/// Whether this process is PID 1 (runit refuses to run otherwise).
pub fn is_pid1() -> bool {
    nix::unistd::getpid().as_raw() == 1
}

/// runit's start-up: a session of its own (failure ignored, as runit) and
/// Ctrl-Alt-Del turned into SIGINT to PID 1 (EINVAL inside a PID namespace: harmless).
pub fn take_over_console_and_cad() {
    let _ = nix::unistd::setsid();
    let _ = nix::sys::reboot::set_cad_enabled(false);
}

/// A path as a C string; a path with a NUL (impossible from argv/env) becomes "/".
fn c(p: &[u8]) -> CString {
    CString::new(p).unwrap_or_else(|_| CString::from(c"/"))
}

/// The executor's view of the files.
pub struct StagePaths {
    /// The model's byte paths (for messages).
    pub paths: Paths,
    ctrlaltdel: CString,
    stopit: CString,
    reboot: CString,
    nosync: CString,
    console: CString,
}

impl StagePaths {
    /// C strings for every path in `paths`.
    pub fn new(paths: Paths) -> StagePaths {
        StagePaths {
            ctrlaltdel: c(&paths.ctrlaltdel),
            stopit: c(&paths.stopit),
            reboot: c(&paths.reboot),
            nosync: c(&paths.nosync),
            console: c(&paths.console),
            paths,
        }
    }

    /// Samples the flag files (the facts the model needs with an input) with `os`'s
    /// `stat`.
    pub fn flags<S: StageSyscalls>(&self, os: &mut S) -> Flags {
        let mut x = |p: &CString| os.stat_mode(p).is_ok_and(crate::os::mode_owner_exec);
        let (stopit, reboot, ctrlaltdel) = (x(&self.stopit), x(&self.reboot), x(&self.ctrlaltdel));
        Flags { stopit, reboot, ctrlaltdel, nosync: os.stat_mode(&self.nosync).is_ok() }
    }
}

/// Opens the console write-only, non-blocking, and makes it fds 0, 1, 2 (`all`) or
/// only fd 2. If the open fails the inherited fds stay (as runit).
pub fn point_at_console(console: &std::ffi::CStr, all: bool) {
    let Ok(fd) = sys::open(console, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0) else { return };
    if all {
        let _ = sys::dup2(fd, 0);
        let _ = sys::dup2(fd, 1);
    }
    let _ = sys::dup2(fd, 2);
    if fd > 2 {
        let _ = sys::close(fd);
    }
}

/// How long one message may wait for a busy console (per stall), and how many stalls.
const CONSOLE_STALL_MS: u16 = 50;
const CONSOLE_STALLS_MAX: u32 = 20;

/// Writes one runit message to fd 2 (the non-blocking console). A console that is busy
/// (`EAGAIN`, e.g. a slow serial line) is waited for, 50 ms at a time and at most 1 s
/// per message, instead of dropping the line as runit does; PID 1 never blocks longer.
fn say(paths: &Paths, m: Msg) {
    say_line(&msg::line(m, paths))
}

/// Writes one message line to fd 2 as [`say`] does ([`Real`]'s `say`).
pub fn say_line(line: &[u8]) {
    let mut rest: &[u8] = line;
    let mut stalls = 0;
    while !rest.is_empty() {
        match sys::write(2, rest) {
            Ok(0) => return,
            Ok(n) => rest = rest.get(n..).unwrap_or(&[]),
            Err(e) if e == Errno::EAGAIN && stalls < CONSOLE_STALLS_MAX => {
                stalls += 1;
                let _ = poll(&mut [PollFd::new(std::io::stderr().as_fd(), PollFlags::POLLOUT)], CONSOLE_STALL_MS);
            }
            Err(_) => return,
        }
    }
}

/// Carries out the final plan (in the final child, or in runit if the fork failed).
pub fn run_final(paths: &Paths, plan: &FinalPlan) {
    for step in &plan.0 {
        match *step {
            FinalStep::Say(m) => say(paths, m),
            FinalStep::Sync => nix::unistd::sync(),
            FinalStep::Reboot(cmd) => {
                let how = match cmd {
                    RebootCmd::Restart => RebootMode::RB_AUTOBOOT,
                    RebootCmd::PowerOff => RebootMode::RB_POWER_OFF,
                    RebootCmd::Halt => RebootMode::RB_HALT_SYSTEM,
                };
                let _ = reboot(how);
            }
            FinalStep::Sleep(span) => std::thread::sleep(std::time::Duration::from_nanos(span.0)),
        }
    }
}

/// Forks the final child ([`Real`]'s `spawn_final`).
pub fn spawn_final(paths: &Paths, plan: &FinalPlan) -> Result<i32, Errno> {
    // The child runs the plan (its message lines allocate, which is fine after fork in a
    // single-threaded process) and exits 0.
    crate::process::fork_run(|| run_final(paths, plan))
}

/// The executor for runit's stage machine, over the kernel `S` (the real one in the
/// binary, the fake one in the stage simulation).
pub struct StageIo<S: StageSyscalls = Real> {
    os: S,
    paths: StagePaths,
    exit: Option<i32>,
}

impl StageIo<Real> {
    /// An executor for these paths.
    pub fn new(paths: StagePaths) -> StageIo<Real> {
        StageIo::over(Real, paths)
    }
}

impl<S: StageSyscalls> StageIo<S> {
    /// An executor over the kernel `os`.
    pub fn over(os: S, paths: StagePaths) -> StageIo<S> {
        StageIo { os, paths, exit: None }
    }

    /// The kernel it runs over (the simulation drives its fake).
    pub fn os_mut(&mut self) -> &mut S {
        &mut self.os
    }

    fn say(&mut self, m: Msg) {
        let line = msg::line(m, &self.paths.paths);
        self.os.say(&line);
    }
}

fn signo(s: SendSig) -> i32 {
    match s {
        SendSig::Term => libc::SIGTERM,
        SendSig::Kill => libc::SIGKILL,
        SendSig::Alrm => libc::SIGALRM,
    }
}

impl<S: StageSyscalls> Io<Stages> for StageIo<S> {
    fn execute(&mut self, _now: Now, action: Action) -> Option<Input> {
        match action {
            Action::Say(m) => {
                self.say(m);
                None
            }
            Action::Spawn(job) => {
                let r = match &job {
                    Job::Stage(s) => self.os.spawn_script(&script_plan(Script::Stage(*s), &self.paths.paths)),
                    Job::CtrlAltDel => self.os.spawn_script(&script_plan(Script::CtrlAltDel, &self.paths.paths)),
                    Job::Final(plan) => self.os.spawn_final(&self.paths.paths, plan),
                };
                Some(match r {
                    Ok(pid) => Input::Spawned { pid },
                    Err(errno) => Input::SpawnFailed { errno },
                })
            }
            Action::Kill { pid, sig } => {
                let _ = self.os.kill(pid, signo(sig));
                None
            }
            Action::KillGroup { pgid } => {
                let _ = self.os.kill(-pgid, libc::SIGKILL);
                None
            }
            Action::ClearStopit => {
                // The result is ignored as runit does.
                let _ = self.os.chmod(&self.paths.stopit, 0);
                None
            }
            Action::KillAll => {
                let _ = self.os.kill(-1, libc::SIGKILL);
                None
            }
            Action::Sync => {
                self.os.sync();
                None
            }
            Action::RunInline(plan) => {
                self.os.run_final(&self.paths.paths, &plan);
                None
            }
            Action::Exit(code) => {
                self.exit = Some(code);
                None
            }
        }
    }

    fn interests(&self, _out: &mut Vec<Interest>) {}

    fn gather(&mut self, _now: Now, woke: &Woke, out: &mut VecDeque<Input>) {
        // runit re-points fd 2 at the console after every wake-up.
        self.os.point_at_console(&self.paths.console);
        // Children first (as runit: reap, then look at signals). Every orphan is reaped.
        let mut flags: Option<Flags> = None;
        while let Some(r) = self.os.reap_nohang() {
            let f = *flags.get_or_insert_with(|| self.paths.flags(&mut self.os));
            out.push_back(Input::Exited { pid: r.pid, status: r.status, flags: f });
        }
        let sigs = [
            (libc::SIGCONT, Sig::Cont),
            (libc::SIGINT, Sig::Int),
            (libc::SIGPWR, Sig::Pwr),
            (libc::SIGALRM, Sig::Alrm),
            (libc::SIGTERM, Sig::Term),
        ];
        for (n, sig) in sigs {
            if woke.signals.contains(n) {
                let f = *flags.get_or_insert_with(|| self.paths.flags(&mut self.os));
                out.push_back(Input::Signal { sig, flags: f });
            }
        }
        if woke.deadline_passed {
            out.push_back(Input::Tick);
        }
    }

    fn finished(&self) -> Option<i32> {
        self.exit
    }
}

/// The inode number the kernel gives the initial PID namespace (`PROC_PID_INIT_INO`,
/// fixed in the kernel ABI): `/proc/self/ns/pid` reads `pid:[4026531836]` there.
pub const INITIAL_PID_NS: &str = "pid:[4026531836]";

/// Whether this process lives in a non-initial PID namespace (a container): its
/// `/proc/self/ns/pid` names another namespace than the initial one. `false` when
/// `/proc` is not mounted (a real boot, before stage 1 mounts it).
pub fn in_child_pid_namespace() -> bool {
    match std::fs::read_link("/proc/self/ns/pid") {
        Ok(target) => target.as_os_str() != INITIAL_PID_NS,
        Err(_) => false,
    }
}
