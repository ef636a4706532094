//! One child's set-up the simple way (runsv's and sv's children): [`SpawnSpec`], its steps
//! in order ([`SpawnSpec::steps`], borrowing the spec's strings) and the same steps as a
//! model value ([`SpawnSpec::plan`]). Data only: the spawn routines that carry the steps
//! out live beside the system calls (`runtime::process` over libc, the raw one in bare).

use alloc::ffi::CString;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;

use model::errno::Errno;
use model::spawn::{ChildPlan, Exec, OpenHow, SignalPlan, SignalSet, Step};

use super::syscalls::SysResult;

/// Everything needed to start one child the simple way (runsv's and sv's children); its
/// set-up as a model value is [`SpawnSpec::plan`], and a spawn routine carries it out
/// from [`SpawnSpec::steps`] without building that value.
pub struct SpawnSpec {
    /// Path to execute (no PATH search).
    pub path: CString,
    /// argv, including argv[0].
    pub argv: Vec<CString>,
    /// Environment; `None` inherits the parent's.
    pub env: Option<Vec<CString>>,
    /// Directory to change to before exec.
    pub chdir: Option<CString>,
    /// fd to place on stdin.
    pub stdin: Option<i32>,
    /// fd to place on stdout.
    pub stdout: Option<i32>,
    /// Close stdout instead (sv's `check` runs with fd 1 closed).
    pub close_stdout: bool,
    /// `(source, target)`: the child gets `source` on descriptor `target`, inheritable
    /// (runsv's notification-fd pipe).
    pub extra_fd: Option<(i32, i32)>,
    /// Put the child in a new process group of its own.
    pub new_pgrp: bool,
    /// Make the child a session leader.
    pub new_session: bool,
    /// Signals to reset to default and unblock in the child (a bitmask: a restart
    /// allocates no list for them).
    pub reset_signals: SignalSet,
    /// Message prefix written to fd 2 before the errno text when exec fails.
    pub exec_fail_msg: Vec<u8>,
    /// Exit code of the child when setup or exec fails.
    pub exec_fail_code: i32,
}

/// A path (or bytes) as a C string; an interior NUL becomes EINVAL.
pub fn cstr(bytes: &[u8]) -> SysResult<CString> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

impl SpawnSpec {
    /// A spec for `path` with argv `[path]`, inheriting everything else.
    pub fn new(path: &[u8]) -> SysResult<SpawnSpec> {
        let p = cstr(path)?;
        Ok(SpawnSpec {
            path: p.clone(),
            argv: vec![p],
            env: None,
            chdir: None,
            stdin: None,
            stdout: None,
            close_stdout: false,
            extra_fd: None,
            new_pgrp: false,
            new_session: false,
            reset_signals: SignalSet::EMPTY,
            exec_fail_msg: Vec::new(),
            exec_fail_code: 111,
        })
    }

    /// The plan this spec stands for, as a model value: the steps a spawn routine
    /// carries out (fds into place, session or group, signals reset, directory), then the
    /// exec; every failure with the exec message.
    pub fn plan(&self) -> ChildPlan {
        let bytes = |v: &[CString]| v.iter().map(|c| c.as_bytes().to_vec()).collect();
        let exec = Exec {
            candidates: vec![self.path.as_bytes().to_vec()],
            argv: bytes(&self.argv),
            env: self.env.as_deref().map(bytes),
            fail: self.exec_fail_msg.clone(),
        };
        ChildPlan { steps: self.steps().as_slice().iter().map(|p| p.to_step()).collect(), exec, fail_exit: self.exec_fail_code }
    }

    /// The child's set-up steps in order, borrowing the spec's strings (the one place
    /// their order is written: spawn routines run them, [`SpawnSpec::plan`] describes them).
    pub fn steps(&self) -> SpecSteps<'_> {
        let fail = &self.exec_fail_msg[..];
        let mut steps = SpecSteps { buf: [Prep::NewSession; SPEC_STEPS], len: 0 };
        let fds = [(self.stdin, 0), (self.stdout, 1)];
        for (from, to) in fds.into_iter().filter_map(|(f, to)| f.map(|f| (f, to))) {
            steps.push(Prep::Dup { from, to, fail });
        }
        if self.close_stdout {
            steps.push(Prep::Close(1));
        }
        if let Some((from, to)) = self.extra_fd {
            steps.push(Prep::Dup { from, to, fail });
        }
        if self.new_session {
            steps.push(Prep::NewSession);
        } else if self.new_pgrp {
            steps.push(Prep::NewProcessGroup);
        }
        steps.push(Prep::Signals(SignalPlan::reset(self.reset_signals.iter())));
        if let Some(dir) = &self.chdir {
            steps.push(Prep::Chdir { path: dir, fail });
        }
        steps
    }
}

/// A step with its C strings ready, borrowed from a [`SpawnSpec`] or from a plan's
/// strings (built before the child starts: the child converts nothing). One variant per
/// [`Step`]; the fields are the step's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Prep<'a> {
    Signals(SignalPlan),
    NewSession,
    NewProcessGroup,
    Dup { from: i32, to: i32, fail: &'a [u8] },
    Close(i32),
    Chdir { path: &'a CStr, fail: &'a [u8] },
    Fchdir { fd: i32, fail: &'a [u8] },
    Open { path: &'a CStr, how: OpenHow, to: i32, create_empty: Option<&'a [u8]>, fail: &'a [u8], move_fail: &'a [u8] },
    ControllingTerminal { path: &'a CStr, warn: &'a [u8] },
    Say(&'a [u8]),
}

impl<'a> Prep<'a> {
    /// `step` with its path as the C string `path` (`None` for a step without one).
    pub fn of(step: &'a Step, path: Option<&'a CStr>) -> Prep<'a> {
        let path = path.unwrap_or_default();
        match step {
            Step::Signals(p) => Prep::Signals(*p),
            Step::NewSession => Prep::NewSession,
            Step::NewProcessGroup => Prep::NewProcessGroup,
            Step::Dup { from, to, fail } => Prep::Dup { from: *from, to: *to, fail },
            Step::Close(fd) => Prep::Close(*fd),
            Step::Chdir { fail, .. } => Prep::Chdir { path, fail },
            Step::Fchdir { fd, fail } => Prep::Fchdir { fd: *fd, fail },
            Step::Open { how, to, create_empty, fail, move_fail, .. } => {
                Prep::Open { path, how: *how, to: *to, create_empty: create_empty.as_deref(), fail, move_fail }
            }
            Step::ControllingTerminal { warn, .. } => Prep::ControllingTerminal { path, warn },
            Step::Say(b) => Prep::Say(b),
        }
    }

    /// The model's step this one carries out.
    pub fn to_step(self) -> Step {
        let v = |b: &[u8]| b.to_vec();
        match self {
            Prep::Signals(p) => Step::Signals(p),
            Prep::NewSession => Step::NewSession,
            Prep::NewProcessGroup => Step::NewProcessGroup,
            Prep::Dup { from, to, fail } => Step::Dup { from, to, fail: v(fail) },
            Prep::Close(fd) => Step::Close(fd),
            Prep::Chdir { path, fail } => Step::Chdir { path: v(path.to_bytes()), fail: v(fail) },
            Prep::Fchdir { fd, fail } => Step::Fchdir { fd, fail: v(fail) },
            Prep::Open { path, how, to, create_empty, fail, move_fail } => {
                Step::Open { path: v(path.to_bytes()), how, to, create_empty: create_empty.map(v), fail: v(fail), move_fail: v(move_fail) }
            }
            Prep::ControllingTerminal { path, warn } => Step::ControllingTerminal { path: v(path.to_bytes()), warn: v(warn) },
            Prep::Say(b) => Step::Say(v(b)),
        }
    }
}

/// The most steps a [`SpawnSpec`] makes: stdin, stdout, close stdout, the extra fd,
/// session or group, signals, directory.
const SPEC_STEPS: usize = 7;

/// A [`SpawnSpec`]'s steps, on the stack (a restart allocates no list for them).
pub struct SpecSteps<'a> {
    buf: [Prep<'a>; SPEC_STEPS],
    len: usize,
}

impl<'a> SpecSteps<'a> {
    fn push(&mut self, step: Prep<'a>) {
        self.buf[self.len] = step;
        self.len += 1;
    }

    /// The steps in order.
    pub fn as_slice(&self) -> &[Prep<'a>] {
        &self.buf[..self.len]
    }
}
