//! runsv: supervision of one service (the *main* slot) and its optional log service (the
//! *log* slot), as one pure machine (spec/runsv.md).
//!
//! # Contract
//! The runtime performs runsv's start-up (chdir, `supervise/`, lock, FIFOs) and then builds
//! the machine with [`Runsv::new`] from the facts it found (is there a `down` file, a
//! `log/` directory, a `log/down`). It feeds [`Input::Start`] first, then one input per
//! event. Two actions are *obligations* and must be answered before anything else:
//! [`Action::Spawn`] (answer [`Input::Spawned`] / [`Input::SpawnFailed`]) and
//! [`Action::RunControl`] (answer [`Input::ControlDone`]); [`Runsv::owed`] says which.
//!
//! # Deliberate differences from runit (docs/divergences.md)
//! - The restart throttle is a deadline, not a blocking `sleep(1)`: commands, exits and the
//!   other slot are served meanwhile. No `./run` starts less than 1 s after the previous
//!   start of the same slot when that cycle lasted under a second, exactly as runit spaces
//!   them.
//! - A fork failure is retried after 5 s through a deadline, not a blocking `sleep(5)`.
//! - `k` does not mark the slot down before the process is reaped (runit does, which makes
//!   `./finish` run twice after `k` during finish, and lets a `u` start a second `./run`
//!   beside a process that `control/k` chose not to kill).
//! - Exiting (`x`/SIGTERM) does not wait for a pending throttle.

mod slot;
pub mod text;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::machine::Machine;
use crate::status::{self, RunState, StatusRecord, Want};
use crate::time::{Mono, Now, Span, Tai64n};

pub use slot::SlotState;

/// runit's restart throttle: a `./run` cycle shorter than this is followed by a pause of
/// the same length before the next start.
pub const RESTART_THROTTLE: Span = Span::from_secs(1);

/// How long runsv waits before retrying a failed `fork`.
pub const FORK_RETRY: Span = Span::from_secs(5);

/// Which of the two supervised processes an input or action concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// The service itself (`./run`, `./finish`, `control/<c>`).
    Main,
    /// The log service (`log/run`).
    Log,
}

/// The program a [`Action::Spawn`] starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Program {
    /// `./run`, stdout on the log pipe when there is a log service.
    Run,
    /// `./finish <a> <b>` with runit's arguments for the exit it follows.
    Finish {
        /// First argument: the exit code, or `-1` if killed by a signal.
        a: i32,
        /// Second argument: `0`, or the raw low byte of the wait status (signal + core bit).
        b: i32,
    },
    /// `log/run` (cwd `log/`, stdin from the log pipe).
    LogRun,
}

/// A signal runsv sends, by name (the runtime maps it to the platform number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Sig {
    Term,
    Cont,
    Stop,
    Hup,
    Alrm,
    Int,
    Quit,
    Usr1,
    Usr2,
    Kill,
}

/// What a `control/<c>` script did, as the runtime found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlOutcome {
    /// No such file, or its owner-execute bit is clear: not an override.
    Absent,
    /// `stat` failed with something other than ENOENT (runit warns, treats as absent).
    StatFailed(Errno),
    /// fork failed (runit warns, treats as failure: the signal is sent).
    ForkFailed(Errno),
    /// waiting for it failed (runit warns).
    WaitFailed(Errno),
    /// It ran; raw wait status.
    Exited(i32),
}

/// The facts runsv's start-up found.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// The directory argument verbatim (used in every message).
    pub dir: Vec<u8>,
    /// `./down` exists: the main slot starts wanting down.
    pub down: bool,
    /// `Some(log/down exists)` when `log/` is a directory.
    pub log: Option<bool>,
}

/// A fact for the machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Start-up is done: publish the initial status and start what is wanted up.
    Start,
    /// One command byte read from a slot's `control` FIFO.
    Control(Slot, u8),
    /// SIGTERM: behave as `x` on the main slot.
    Terminate,
    /// A child was reaped. `finish_present` = `./finish` can be opened for reading now.
    ChildExited {
        /// Its pid.
        pid: u32,
        /// Raw wait status.
        status: i32,
        /// Sampled at reap time, as runit does.
        finish_present: bool,
    },
    /// Reply to [`Action::Spawn`]: the child's pid.
    Spawned(Slot, u32),
    /// Reply to [`Action::Spawn`]: fork failed.
    SpawnFailed(Slot, Errno),
    /// Reply to [`Action::RunControl`].
    ControlDone(ControlOutcome),
    /// A deadline from [`Machine::poll_deadline`] may have passed.
    Tick,
}

/// A decision for the runtime.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Obligation: fork and exec; reply [`Input::Spawned`] or [`Input::SpawnFailed`].
    Spawn {
        /// Which slot the child belongs to.
        slot: Slot,
        /// What to run.
        program: Program,
        /// What the child prints (before the errno text) if exec fails; it then exits 111.
        exec_fail_msg: Vec<u8>,
    },
    /// Obligation: run `control/<byte>` if present and executable and wait for it; reply
    /// [`Input::ControlDone`].
    RunControl(u8),
    /// Send a signal to a live, unreaped child of the slot.
    Signal(Slot, u32, Sig),
    /// Rewrite the slot's status files in runit's order: `pid` (only when given), `stat`,
    /// `status`, each as `x.new` + rename.
    WriteStatus {
        /// Whose `supervise/`.
        slot: Slot,
        /// New `pid` content, when the pid changed since the last pid write.
        pid: Option<Vec<u8>>,
        /// New `stat` line.
        stat: Vec<u8>,
        /// New 20-byte record.
        status: [u8; status::STATUS_LEN],
    },
    /// Close both ends of the log pipe so the log service sees EOF and can flush.
    CloseLogPipe,
    /// Print a warning line (complete, with newline) on stderr.
    Warn(Vec<u8>),
    /// Terminate runsv with this exit code.
    Exit(i32),
}

/// Which reply the machine is waiting for, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owed {
    /// A [`Input::Spawned`] / [`Input::SpawnFailed`] for this slot.
    Spawn(Slot),
    /// A [`Input::ControlDone`].
    Control(u8),
}

/// What to do when a `control/<c>` script's result arrives (runit runs them synchronously
/// inside a command; this is where that command resumes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Then {
    /// `control/u` before starting `./run` (result ignored).
    StartRun,
    /// `control/t` inside a stop: send TERM unless it succeeded, then the rest of the stop.
    StopAfterT,
    /// `control/d` / `control/x` at the end of a stop (result ignored).
    Nothing,
    /// `control/<c>` for a signal command: send the signal unless it succeeded.
    SignalUnless(Sig, u8),
}

/// The whole runsv: two slots and the pieces shared between them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Runsv {
    dir: Vec<u8>,
    main: SlotState,
    log: Option<SlotState>,
    /// runit's single "pid changed" flag, shared by both slots (formats.md §2.4 quirk).
    pid_changed: bool,
    /// The log pipe was closed for the exit sequence.
    log_pipe_closed: bool,
    owed: Option<Owed>,
    then: Option<Then>,
    exited: bool,
    started: bool,
    actions: VecDeque<Action>,
}

impl Runsv {
    /// A machine for a service directory with the facts found at start-up. `now` is the
    /// start-up time (both slots' first stamp).
    pub fn new(now: Now, config: Config) -> Runsv {
        let stamp = Tai64n::from_wall(now.wall);
        Runsv {
            dir: config.dir,
            main: SlotState::new(if config.down { Want::Down } else { Want::Up }, stamp),
            log: config.log.map(|down| SlotState::new(if down { Want::Down } else { Want::Up }, stamp)),
            pid_changed: true,
            log_pipe_closed: false,
            owed: None,
            then: None,
            exited: false,
            started: false,
            actions: VecDeque::new(),
        }
    }

    /// The reply the runtime owes, if any (it must feed that reply next).
    pub fn owed(&self) -> Option<Owed> {
        self.owed
    }

    /// A slot's state, for the runtime's trace, tests and the explorer.
    pub fn slot(&self, slot: Slot) -> Option<&SlotState> {
        match slot {
            Slot::Main => Some(&self.main),
            Slot::Log => self.log.as_ref(),
        }
    }

    /// Whether runsv has decided to exit.
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// Whether the log pipe has been closed (exit sequence under way).
    pub fn log_pipe_closed(&self) -> bool {
        self.log_pipe_closed
    }

    /// Whether the machine reads control bytes for `slot` now (false while a reply is
    /// owed or after exit, so the runtime leaves bytes in the FIFO).
    pub fn accepts_control(&self, slot: Slot) -> bool {
        self.owed.is_none() && !self.exited && self.slot(slot).is_some()
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut SlotState {
        match slot {
            Slot::Main => &mut self.main,
            Slot::Log => self.log.as_mut().expect("log slot exists"),
        }
    }

    fn has(&self, slot: Slot) -> bool {
        slot == Slot::Main || self.log.is_some()
    }

    /// Queues the status files of `slot` (runit's `update_status`).
    fn update(&mut self, slot: Slot) {
        let pid_changed = self.pid_changed;
        self.pid_changed = false;
        let s = self.slot_mut(slot);
        let record = StatusRecord::new(s.stamp, s.pid, s.paused, s.want, s.got_term, s.state);
        let stat = status::stat_text(s.state, s.paused, s.got_term, s.want);
        let pid = if pid_changed { Some(status::pid_text(s.pid)) } else { None };
        self.actions.push_back(Action::WriteStatus { slot, pid, stat, status: record.encode() });
    }

    fn signal(&mut self, slot: Slot, sig: Sig) {
        let pid = self.slot_mut(slot).pid;
        debug_assert!(pid != 0, "signals go only to live children");
        if pid != 0 {
            self.actions.push_back(Action::Signal(slot, pid, sig));
        }
    }

    fn run_control(&mut self, byte: u8, then: Then) {
        debug_assert!(self.owed.is_none());
        self.owed = Some(Owed::Control(byte));
        self.then = Some(then);
        self.actions.push_back(Action::RunControl(byte));
    }

    fn spawn(&mut self, slot: Slot, program: Program) {
        debug_assert!(self.owed.is_none());
        let exec_fail_msg = text::exec_failed(&self.dir, &program);
        self.owed = Some(Owed::Spawn(slot));
        self.actions.push_back(Action::Spawn { slot, program, exec_fail_msg });
    }

    /// runit's `stopservice` for the main slot or the log slot (no overrides for the log).
    fn stop(&mut self, slot: Slot) {
        if slot == Slot::Main {
            self.run_control(b't', Then::StopAfterT);
        } else {
            self.stop_after_t(slot, false);
        }
    }

    fn stop_after_t(&mut self, slot: Slot, overridden: bool) {
        if self.slot_mut(slot).pid == 0 {
            return;
        }
        if !overridden {
            self.signal(slot, Sig::Term);
            self.slot_mut(slot).got_term = true;
            self.update(slot);
        }
        let want = self.slot_mut(slot).want;
        if want != Want::Up {
            self.signal(slot, Sig::Cont);
            if slot == Slot::Main {
                self.run_control(if want == Want::Down { b'd' } else { b'x' }, Then::Nothing);
            }
        }
    }

    /// One control byte for one slot (spec/runsv.md §4).
    fn control(&mut self, now: Now, slot: Slot, byte: u8) {
        let state = self.slot_mut(slot).state;
        match byte {
            b'u' => {
                let s = self.slot_mut(slot);
                s.want = Want::Up;
                s.once_pending = false;
                self.update(slot);
            }
            b'o' => {
                self.slot_mut(slot).want = Want::Down;
                self.update(slot);
                if state == RunState::Down {
                    self.slot_mut(slot).once_pending = true;
                }
            }
            b'd' => {
                // A start deferred by the throttle (a once-start) or by a fork retry is
                // cancelled: runit would have started it and this `d` would stop it, so it
                // ends down either way. The next start is a new one, with `control/u`.
                let s = self.slot_mut(slot);
                s.want = Want::Down;
                s.once_pending = false;
                s.fork_retry = false;
                self.update(slot);
                if state == RunState::Run {
                    self.stop(slot);
                }
            }
            b'x' if slot == Slot::Main => {
                let s = self.slot_mut(slot);
                s.want = Want::Exit;
                s.once_pending = false;
                s.fork_retry = false;
                self.update(slot);
                if state == RunState::Run {
                    self.stop(slot);
                }
            }
            b't' => {
                if state == RunState::Run {
                    self.stop(slot);
                }
            }
            b'k' | b'p' | b'c' | b'h' | b'a' | b'i' | b'q' | b'1' | b'2' => {
                let sig = sig_for(byte);
                if state == RunState::Run {
                    if slot == Slot::Main {
                        self.run_control(byte, Then::SignalUnless(sig, byte));
                        return;
                    }
                    self.signal(slot, sig);
                }
                self.after_signal_command(slot, byte);
            }
            _ => {}
        }
        let _ = now;
    }

    /// The flag updates `p` and `c` make whether or not a signal was sent.
    fn after_signal_command(&mut self, slot: Slot, byte: u8) {
        match byte {
            b'p' => {
                self.slot_mut(slot).paused = true;
                self.update(slot);
            }
            b'c' => {
                self.slot_mut(slot).paused = false;
                self.update(slot);
            }
            _ => {}
        }
    }

    fn child_exited(&mut self, now: Now, pid: u32, wstatus: i32, finish_present: bool) {
        if pid == 0 {
            return;
        }
        if self.main.pid == pid {
            self.pid_changed = true;
            let s = &mut self.main;
            s.pid = 0;
            s.got_term = false;
            if s.state != RunState::Finish && finish_present {
                s.state = RunState::Finish;
                s.finish_args = Some(finish_args(wstatus));
                self.update(Slot::Main);
                return;
            }
            self.slot_down(now, Slot::Main);
        } else if self.log.as_ref().is_some_and(|l| l.pid == pid) {
            self.pid_changed = true;
            let s = self.slot_mut(Slot::Log);
            s.pid = 0;
            s.got_term = false;
            self.slot_down(now, Slot::Log);
        }
        // Any other pid (a control script reaped late, a stray) is ignored, as runit does.
    }

    /// The slot becomes down: restamp, and arm the throttle if the cycle was short.
    fn slot_down(&mut self, now: Now, slot: Slot) {
        let s = self.slot_mut(slot);
        s.state = RunState::Down;
        s.finish_args = None;
        if now.mono < s.run_started + RESTART_THROTTLE {
            s.not_before = Some(now.mono + RESTART_THROTTLE);
        }
        s.stamp = Tai64n::from_wall(now.wall);
        self.update(slot);
    }

    /// runit's loop top + exit check: start what should run, or exit when done.
    fn step(&mut self, now: Now) {
        if self.owed.is_some() || self.exited || !self.started {
            return;
        }
        if self.main.want == Want::Exit && self.main.state == RunState::Down && self.main.pid == 0 {
            self.exit_check();
            return;
        }
        if let Some(log) = &self.log {
            if log.pid == 0 && (log.want == Want::Up || log.once_pending) && log.ready(now.mono) && !self.log_pipe_closed {
                self.slot_mut(Slot::Log).once_pending = false;
                self.spawn(Slot::Log, Program::LogRun);
                return;
            }
        }
        let m = &self.main;
        if m.pid == 0 && m.ready(now.mono) {
            if m.state == RunState::Finish {
                let (a, b) = m.finish_args.unwrap_or((0, 0));
                self.spawn(Slot::Main, Program::Finish { a, b });
                return;
            }
            if m.want == Want::Up || m.once_pending {
                self.main.once_pending = false;
                if self.main.fork_retry {
                    // runit runs control/u once per start, not once per fork attempt.
                    self.spawn(Slot::Main, Program::Run);
                } else {
                    self.run_control(b'u', Then::StartRun);
                }
            }
        }
    }

    fn exit_check(&mut self) {
        if self.main.want != Want::Exit || self.main.state != RunState::Down || self.main.pid != 0 {
            return;
        }
        let log_running = self.log.as_ref().is_some_and(|l| l.pid != 0);
        if !log_running {
            self.exited = true;
            self.actions.push_back(Action::Exit(0));
            return;
        }
        if !self.log_pipe_closed {
            self.slot_mut(Slot::Log).want = Want::Exit;
            self.update(Slot::Log);
            self.log_pipe_closed = true;
            self.actions.push_back(Action::CloseLogPipe);
        }
    }

    fn spawned(&mut self, now: Now, slot: Slot, pid: u32) {
        let is_finish = slot == Slot::Main && self.main.state == RunState::Finish;
        let s = self.slot_mut(slot);
        if !is_finish {
            s.stamp = Tai64n::from_wall(now.wall);
            s.run_started = now.mono;
            s.state = RunState::Run;
        }
        s.not_before = None;
        s.fork_retry = false;
        s.pid = pid;
        s.paused = false;
        s.got_term = false;
        self.pid_changed = true;
        self.update(slot);
    }

    fn spawn_failed(&mut self, now: Now, slot: Slot, errno: Errno) {
        self.actions.push_back(Action::Warn(text::fork_failed(&self.dir, errno)));
        let s = self.slot_mut(slot);
        s.not_before = Some(now.mono + FORK_RETRY);
        if s.state != RunState::Finish {
            s.fork_retry = true;
            // `o` is still owed a start once the retry succeeds.
            if s.want != Want::Up {
                s.once_pending = true;
            }
        }
    }

    fn control_done(&mut self, now: Now, byte: u8, outcome: ControlOutcome) {
        let ok = match outcome {
            ControlOutcome::Absent => false,
            ControlOutcome::StatFailed(e) => {
                self.actions.push_back(Action::Warn(text::control_stat_failed(&self.dir, byte, e)));
                false
            }
            ControlOutcome::ForkFailed(e) => {
                self.actions.push_back(Action::Warn(text::control_fork_failed(&self.dir, byte, e)));
                false
            }
            ControlOutcome::WaitFailed(e) => {
                self.actions.push_back(Action::Warn(text::control_wait_failed(&self.dir, byte, e)));
                false
            }
            // runit: success is `status >> 8 == 0`, so a script killed by a signal succeeds.
            ControlOutcome::Exited(st) => (st >> 8) & 0xff == 0,
        };
        let then = self.then.take();
        match then {
            Some(Then::StartRun) => {
                if self.main.pid == 0 {
                    self.spawn(Slot::Main, Program::Run);
                }
            }
            Some(Then::StopAfterT) => self.stop_after_t(Slot::Main, ok),
            Some(Then::Nothing) | None => {}
            Some(Then::SignalUnless(sig, b)) => {
                if !ok && self.main.pid != 0 && self.main.state == RunState::Run {
                    self.signal(Slot::Main, sig);
                }
                self.after_signal_command(Slot::Main, b);
            }
        }
        let _ = now;
    }
}

fn sig_for(byte: u8) -> Sig {
    match byte {
        b'k' => Sig::Kill,
        b'p' => Sig::Stop,
        b'c' => Sig::Cont,
        b'h' => Sig::Hup,
        b'a' => Sig::Alrm,
        b'i' => Sig::Int,
        b'q' => Sig::Quit,
        b'1' => Sig::Usr1,
        b'2' => Sig::Usr2,
        _ => Sig::Term,
    }
}

/// runit's `./finish` arguments for a raw wait status (spec/runsv.md §5).
pub fn finish_args(wstatus: i32) -> (i32, i32) {
    if wstatus & 0x7f != 0 {
        (-1, wstatus & 0xff)
    } else {
        ((wstatus >> 8) & 0xff, 0)
    }
}

impl Machine for Runsv {
    type Input = Input;
    type Action = Action;

    fn handle(&mut self, now: Now, input: Input) {
        if self.exited {
            return;
        }
        match (self.owed, input) {
            (_, Input::Start) => {
                if !self.started {
                    self.started = true;
                    self.update(Slot::Main);
                    if self.log.is_some() {
                        self.update(Slot::Log);
                    }
                }
            }
            (Some(Owed::Spawn(owed)), Input::Spawned(slot, pid)) if owed == slot => {
                self.owed = None;
                self.spawned(now, slot, pid);
            }
            (Some(Owed::Spawn(owed)), Input::SpawnFailed(slot, e)) if owed == slot => {
                self.owed = None;
                self.spawn_failed(now, slot, e);
            }
            (Some(Owed::Control(byte)), Input::ControlDone(outcome)) => {
                self.owed = None;
                self.control_done(now, byte, outcome);
            }
            // A reply nobody asked for is a runtime bug; ignore it rather than corrupt state.
            (_, Input::Spawned(..) | Input::SpawnFailed(..) | Input::ControlDone(_)) => {
                debug_assert!(false, "unexpected reply");
            }
            // Anything else while a reply is owed breaks the contract; drop it.
            (Some(_), _) => debug_assert!(false, "input while a reply is owed"),
            (None, Input::Control(slot, byte)) => {
                if self.has(slot) {
                    self.control(now, slot, byte);
                }
            }
            (None, Input::Terminate) => self.control(now, Slot::Main, b'x'),
            (None, Input::ChildExited { pid, status, finish_present }) => self.child_exited(now, pid, status, finish_present),
            (None, Input::Tick) => {}
        }
        self.step(now);
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_deadline(&self) -> Option<Mono> {
        if self.owed.is_some() || self.exited {
            return None;
        }
        let wants_start =
            |s: &SlotState, main: bool| s.pid == 0 && (s.want == Want::Up || s.once_pending || (main && s.state == RunState::Finish));
        let mut d: Option<Mono> = None;
        if wants_start(&self.main, true) {
            d = self.main.not_before;
        }
        if let Some(l) = &self.log {
            if wants_start(l, false) && !self.log_pipe_closed {
                if let Some(n) = l.not_before {
                    d = Some(d.map_or(n, |x| x.min(n)));
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests;
