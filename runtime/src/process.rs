//! Starting a child with a set-up described by a [`ChildPlan`] or a [`SpawnSpec`], and
//! reaping.
//!
//! This is the one spawn path of runit-rs: every program that starts a child builds a
//! plan (its quirks are model values, see [`model::spawn`]) and hands it to
//! [`spawn_plan`], or a [`SpawnSpec`] (runsv's and sv's children, whose plan is
//! [`SpawnSpec::plan`]) to [`spawn`], which borrows the spec's C strings as they are.
//! Everything the child needs (C strings, pointer arrays) is ready *before* the child
//! starts. The child is started vfork-style (`clone` with `CLONE_VM | CLONE_VFORK`, on a
//! stack of its own): it shares the parent's memory until its `execve`, so it walks the
//! prepared steps with async-signal-safe calls only, allocates nothing and writes nothing
//! of the parent's. A failing step writes its prefix, the errno's text and a newline to
//! fd 2 and `_exit`s with the plan's code (runit's `fatal: unable to start ./run: ...`
//! and exit 111).

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, IntoRawFd};

use bare::exec::spawn::Prep;
use model::chpst::path::{after_failure, final_error, AfterFailure};
use model::errno::Errno;
use model::spawn::{ChildPlan, Exec, OpenHow, SignalPlan, SignalSet, Step};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, Pid};

use crate::sys::{self, SysResult};

pub use bare::exec::spawn::SpawnSpec;
pub use bare::exec::syscalls::Reaped;

/// Starts `spec`'s child straight from the spec (its C strings are borrowed, nothing
/// is converted). Returns the child's pid, or the errno of `clone`.
pub fn spawn(spec: &SpawnSpec) -> SysResult<i32> {
    let steps = spec.steps();
    let argv_p = pointers(&spec.argv);
    let env_p = spec.env.as_deref().map(pointers);
    // A spec opens no terminal, so the child starts vfork-style: `start` returns once it
    // has exec'd, its own group (`new_pgrp`) already made, so no signal to the group can
    // come first and the parent need not call `setpgid` too.
    start(&Prepared {
        steps: steps.as_slice(),
        candidates: std::slice::from_ref(&spec.path),
        argv_p,
        env_p,
        fail: &spec.exec_fail_msg,
        fail_exit: spec.exec_fail_code,
    })
}

/// Starts a child that carries out `plan`. Returns the child's pid, or the errno of
/// `clone` (EINVAL if a path or argument of the plan holds a NUL byte).
pub fn spawn_plan(plan: &ChildPlan) -> SysResult<i32> {
    let strings = PlanStrings::new(plan)?;
    let steps: Vec<Prep> = plan.steps.iter().zip(&strings.paths).map(|(step, path)| Prep::of(step, path.as_deref())).collect();
    start(&Prepared {
        steps: &steps,
        candidates: &strings.candidates,
        argv_p: pointers(&strings.argv),
        env_p: strings.env.as_deref().map(pointers),
        fail: &plan.exec.fail,
        fail_exit: plan.fail_exit,
    })
}

/// Room for the child's stack, mapped for one spawn and unmapped once the child has
/// exec'd (its pages do not stay in the parent). The child needs far less (a few calls
/// deep, plus a signal frame); the rest is never touched.
const CHILD_STACK: usize = 64 * 1024;

/// Starts the child with `clone(CLONE_VM | CLONE_VFORK)`: it runs in the parent's memory
/// on a stack of its own while the parent waits, until its `execve` (or `_exit`). No
/// page table is copied and the parent takes no copy-on-write faults afterwards, which
/// is most of what `fork` costs a supervisor per restart. A plan that opens a terminal
/// (stage 1's console) is forked instead: opening a terminal can wait (for a modem's
/// carrier), and the parent, runit as PID 1, must not wait with it.
fn start(prepared: &Prepared) -> SysResult<i32> {
    if prepared.steps.iter().any(|s| matches!(s, Prep::ControllingTerminal { .. })) {
        return start_forked(prepared);
    }
    // SAFETY: a fresh private anonymous mapping, checked, unmapped below.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            CHILD_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(sys::last_errno());
    }
    let window = crate::signals::SpawnWindow::open();
    let arg = std::ptr::from_ref(prepared).cast_mut().cast::<libc::c_void>();
    // SAFETY: the stack's top is 16-byte aligned (a page-aligned mapping's end) and the
    // mapping outlives the child's use of it: with CLONE_VFORK, `clone` returns only once
    // the child has exec'd or exited. `prepared` outlives the call too. The child only
    // runs `child_main`, which reads `prepared`, makes async-signal-safe calls, writes
    // nothing of the parent's but its own stack (and errno), and ends in execve or _exit.
    let pid = unsafe {
        libc::clone(child_main, stack.cast::<u8>().add(CHILD_STACK).cast(), libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD, arg)
    };
    let result = if pid < 0 { Err(sys::last_errno()) } else { Ok(pid) };
    drop(window);
    // SAFETY: the mapping made above; the child no longer runs on it.
    unsafe { libc::munmap(stack, CHILD_STACK) };
    result
}

/// Starts the child with `fork` (see [`start`]).
fn start_forked(prepared: &Prepared) -> SysResult<i32> {
    let window = crate::signals::SpawnWindow::open();
    // SAFETY: every program of runit-rs is single-threaded when it forks; the child only
    // runs `Prepared::run`, which makes async-signal-safe calls on memory built before,
    // allocates nothing, and ends in execve or _exit. The child's copy of the window
    // stays open (it never returns from `run`).
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => {
            drop(window);
            Ok(child.as_raw())
        }
        Ok(ForkResult::Child) => prepared.run(),
        Err(e) => Err(Errno(e as i32)),
    }
}

/// The child's entry point: carries out the prepared plan. Never returns.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `start` passes a pointer to a `Prepared` that lives until the child has
    // exec'd or exited.
    let prepared = unsafe { &*arg.cast_const().cast::<Prepared>() };
    prepared.run()
}

/// Replaces this process with `path` and argv `argv`, keeping the environment (runit-init
/// becoming runit). Returns only on failure, with the errno.
pub fn exec(path: &[u8], argv: &[&[u8]]) -> Errno {
    let (Ok(path), Ok(argv)) = (sys::cstr(path), argv.iter().map(|a| sys::cstr(a)).collect::<SysResult<Vec<CString>>>()) else {
        return Errno::EINVAL;
    };
    match nix::unistd::execv(&path, &argv) {
        Err(e) => Errno(e as i32),
        Ok(never) => match never {},
    }
}

/// Forks a child that runs `f` in-process and then `_exit(0)`s: runit's final child,
/// which carries out the shutdown plan itself. Returns the child's pid or the fork errno.
pub fn fork_run(f: impl FnOnce()) -> SysResult<i32> {
    // SAFETY: every program of runit-rs is single-threaded when it forks, so the child
    // may allocate; it runs `f` and leaves with _exit, never returning into the caller.
    match unsafe { nix::unistd::fork() } {
        Ok(ForkResult::Parent { child }) => Ok(child.as_raw()),
        Ok(ForkResult::Child) => {
            f();
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Err(e) => Err(Errno(e as i32)),
    }
}

/// A plan's strings as C strings: one entry per step (`None` for a step without a path),
/// then the exec's.
struct PlanStrings {
    paths: Vec<Option<CString>>,
    candidates: Vec<CString>,
    argv: Vec<CString>,
    env: Option<Vec<CString>>,
}

impl PlanStrings {
    fn new(plan: &ChildPlan) -> SysResult<PlanStrings> {
        let mut paths = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            paths.push(match step {
                Step::Chdir { path, .. } | Step::Open { path, .. } | Step::ControllingTerminal { path, .. } => Some(sys::cstr(path)?),
                _ => None,
            });
        }
        let Exec { candidates, argv, env, .. } = &plan.exec;
        Ok(PlanStrings { paths, candidates: cstrings(candidates)?, argv: cstrings(argv)?, env: env.as_deref().map(cstrings).transpose()? })
    }
}

/// Everything the child needs, built before `clone`: nothing in it allocates when run.
struct Prepared<'a> {
    steps: &'a [Prep<'a>],
    candidates: &'a [CString],
    argv_p: Vec<*const libc::c_char>,
    env_p: Option<Vec<*const libc::c_char>>,
    fail: &'a [u8],
    fail_exit: i32,
}

/// The C set of `sigs`, built on the stack (sigemptyset and sigaddset are
/// async-signal-safe, so the child builds its masks itself and nothing is allocated).
fn sigset(sigs: SignalSet) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset write into a local set (an invalid number is refused
    // with EINVAL and changes nothing).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs.iter() {
            libc::sigaddset(&mut set, s.0);
        }
        set
    }
}

fn pointers(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

fn cstrings(v: &[Vec<u8>]) -> SysResult<Vec<CString>> {
    // Pushed into an exact capacity (collecting a `Result` starts from a guess of 4).
    let mut out = Vec::with_capacity(v.len());
    for b in v {
        out.push(sys::cstr(b)?);
    }
    Ok(out)
}

const WRITE_NEW: OFlag = OFlag::O_WRONLY.union(OFlag::O_NONBLOCK).union(OFlag::O_TRUNC).union(OFlag::O_CREAT);

fn flags(how: OpenHow) -> OFlag {
    match how {
        OpenHow::ReadNonblock => OFlag::O_RDONLY.union(OFlag::O_NONBLOCK),
        OpenHow::WriteNewNonblock => WRITE_NEW,
    }
}

impl<'a> Prepared<'a> {
    /// The child: every step, then the exec. Never returns.
    fn run(&self) -> ! {
        for step in self.steps {
            self.step(step);
        }
        let mut remembered = None;
        let mut stopped = None;
        for path in self.candidates {
            let e = self.exec(path);
            match after_failure(e, remembered) {
                AfterFailure::Next(r) => remembered = r,
                AfterFailure::Stop(e) => {
                    stopped = Some(e);
                    break;
                }
            }
        }
        self.fail(self.fail, stopped.unwrap_or_else(|| final_error(remembered)).0)
    }

    fn exec(&self, path: &CStr) -> Errno {
        // SAFETY: path, argv_p and env_p point into C strings that outlive `self`, and the
        // pointer arrays are NULL-terminated (nix's execv would allocate them here).
        unsafe {
            match &self.env_p {
                Some(env) => libc::execve(path.as_ptr(), self.argv_p.as_ptr(), env.as_ptr()),
                None => libc::execv(path.as_ptr(), self.argv_p.as_ptr()),
            }
        };
        sys::last_errno()
    }

    fn step(&self, step: &Prep) {
        match step {
            Prep::Signals(SignalPlan { default, ignore, clear_mask, unblock, block }) => {
                // SAFETY: signal(2) with SIG_DFL/SIG_IGN installs no handler; the C sets
                // are built on the stack. Raw libc: nix's Signal cannot name real-time
                // signals.
                unsafe {
                    // A caught signal needs no reset: `execve` resets it, and until then
                    // its handler takes the default action in a child.
                    for s in default.iter().filter(|s| !crate::signals::is_caught(s.0)) {
                        libc::signal(s.0, libc::SIG_DFL);
                    }
                    for s in ignore.iter() {
                        libc::signal(s.0, libc::SIG_IGN);
                    }
                    if *clear_mask {
                        let empty = sigset(SignalSet::EMPTY);
                        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                    }
                    // An empty set changes nothing: no call for it.
                    if !unblock.is_empty() {
                        libc::sigprocmask(libc::SIG_UNBLOCK, &sigset(*unblock), std::ptr::null_mut());
                    }
                    if !block.is_empty() {
                        libc::sigprocmask(libc::SIG_BLOCK, &sigset(*block), std::ptr::null_mut());
                    }
                }
                crate::signals::reset_reserved_in_child();
            }
            Prep::NewSession => {
                let _ = nix::unistd::setsid();
            }
            Prep::NewProcessGroup => {
                let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            }
            Prep::Dup { from, to, fail } => {
                if let Err(e) = dup2(*from, *to) {
                    self.fail(fail, e);
                }
            }
            Prep::Close(fd) => {
                let _ = nix::unistd::close(*fd);
            }
            Prep::Chdir { path, fail } => {
                if let Err(e) = nix::unistd::chdir(*path) {
                    self.fail(fail, e as i32);
                }
            }
            Prep::Fchdir { fd, fail } => {
                if let Err(e) = sys::fchdir(*fd) {
                    self.fail(fail, e.0);
                }
            }
            Prep::Open { path, how, to, create_empty, fail, move_fail } => {
                let flags = flags(*how);
                let fd = match open(path, flags) {
                    Err(e) if e == libc::ENOENT && create_empty.is_some() => {
                        match open(path, WRITE_NEW) {
                            Ok(fd) => {
                                let _ = nix::unistd::close(fd);
                            }
                            Err(e) => self.fail(create_empty.unwrap_or_default(), e),
                        }
                        open(path, flags)
                    }
                    r => r,
                };
                match fd {
                    Ok(fd) => self.move_fd(fd, *to, move_fail),
                    Err(e) => self.fail(fail, e),
                }
            }
            Prep::ControllingTerminal { path, warn } => match open(path, OFlag::O_RDWR) {
                Ok(fd) => {
                    // SAFETY: TIOCSCTTY takes an int argument; nix has no wrapper for it.
                    unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
                    let _ = dup2(fd, 0);
                    if fd > 2 {
                        let _ = nix::unistd::close(fd);
                    }
                }
                Err(e) => self.say_error(warn, e),
            },
            Prep::Say(bytes) => say(bytes),
        }
    }

    fn move_fd(&self, fd: i32, to: i32, fail: &[u8]) {
        if fd != to {
            if let Err(e) = dup2(fd, to) {
                self.fail(fail, e);
            }
            let _ = nix::unistd::close(fd);
        }
    }

    fn say_error(&self, prefix: &[u8], e: i32) {
        say(prefix);
        say(model::errno::errstr(e).as_bytes());
        say(b"\n");
    }

    /// runit's child failure: `prefix`, the errno's text, a newline, then exit.
    fn fail(&self, prefix: &[u8], e: i32) -> ! {
        self.say_error(prefix, e);
        // SAFETY: _exit ends the child without running the parent's atexit handlers or
        // flushing its buffers (nix 0.32 has no wrapper).
        unsafe { libc::_exit(self.fail_exit) }
    }
}

/// Writes to fd 2, ignoring failure (nothing is allocated: `stderr()` is a static handle).
fn say(bytes: &[u8]) {
    let _ = nix::unistd::write(std::io::stderr().as_fd(), bytes);
}

fn open(path: &CStr, flags: OFlag) -> Result<i32, i32> {
    nix::fcntl::open(path, flags, Mode::from_bits_truncate(0o644)).map(IntoRawFd::into_raw_fd).map_err(|e| e as i32)
}

fn dup2(from: i32, to: i32) -> Result<(), i32> {
    if from == to {
        // dup2 onto itself is a no-op that keeps FD_CLOEXEC; the plan wants the fd to
        // reach the new program (e.g. a `notification-fd` pipe already on its number).
        // SAFETY: F_SETFD on a plain fd number touches no memory (async-signal-safe).
        return if unsafe { libc::fcntl(from, libc::F_SETFD, 0) } < 0 { Err(sys::last_errno().0) } else { Ok(()) };
    }
    sys::dup2(from, to).map_err(|e| e.0)
}

/// Reaps one exited child without blocking; `None` when there is none (or no children).
pub fn reap_nohang() -> Option<Reaped> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        if pid <= 0 {
            return None;
        }
        return Some(Reaped { pid, status });
    }
}

/// Waits (blocking) for the specific child `pid`; returns its raw status.
pub fn wait_pid(pid: i32) -> SysResult<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return Err(sys::last_errno());
        }
        return Ok(status);
    }
}

/// Sends `sig` to `pid`; ESRCH is reported, never fatal.
pub fn signal(pid: i32, sig: i32) -> Result<(), Errno> {
    sys::kill(pid, sig)
}

#[cfg(test)]
mod tests {
    use model::spawn::Signal;

    #[test]
    fn model_signal_numbers_are_libcs() {
        let pairs = [
            (Signal::HUP, libc::SIGHUP),
            (Signal::INT, libc::SIGINT),
            (Signal::PIPE, libc::SIGPIPE),
            (Signal::ALRM, libc::SIGALRM),
            (Signal::TERM, libc::SIGTERM),
            (Signal::CHLD, libc::SIGCHLD),
            (Signal::CONT, libc::SIGCONT),
            (Signal::PWR, libc::SIGPWR),
        ];
        for (m, l) in pairs {
            assert_eq!(m.0, l);
        }
    }
}
