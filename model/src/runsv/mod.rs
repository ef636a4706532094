//! runsv: supervision of one service (the *main* slot) and its optional log service (the
//! *log* slot), as one pure machine (spec/runsv.md).
//!
//! # Contract
//! The runtime performs runsv's start-up (chdir, `supervise/`, lock, FIFOs) and then builds
//! the machine with [`Runsv::new`] from the facts it found (is there a `down` file, a
//! `log/` directory, a `log/down`), plus the opt-in stop files through [`Runsv::with_stop`]
//! (`stop.rs`). It feeds [`Input::Start`] first, then one input per
//! event. Two actions are *obligations* and must be answered before anything else:
//! [`Action::Spawn`] (answer [`Input::Spawned`] / [`Input::SpawnFailed`]) and
//! [`Action::RunControl`] (answer [`Input::ControlDone`]); [`Runsv::owed`] says which.
//!
//! # Shape
//! Each slot is a [`Phase`] (down / starting / run / finish, each carrying only its own
//! data) plus `want`, `paused` and `stamp`, which runit keeps across phases. One input is
//! routed to the slot it concerns as an `Event`, and `Runsv::on` is the whole behaviour:
//! one `match (phase, event)` without a catch-all arm, the code form of
//! `docs/state-tables/runsv.md`. runit's level-triggered loop top is the `Due` column,
//! offered after every input (log first, then main). At most one reply is owed at a time
//! (`Pending`, which also says where the interrupted command resumes).
//!
//! # Deliberate differences from runit (docs/divergences.md)
//! - The restart throttle is a deadline, not a blocking `sleep(1)`: commands, exits and the
//!   other slot are served meanwhile. No `./run` starts less than 1 s after the previous
//!   start of the same slot when that cycle lasted under a second, exactly as runit spaces
//!   them.
//! - A fork failure is retried after 5 s through a deadline, not a blocking `sleep(5)`;
//!   `d`/`x` meanwhile cancel that start (the next start runs `control/u` again).
//! - `k` does not mark the slot down before the process is reaped (runit does, which makes
//!   `./finish` run twice after `k` during finish, and lets a `u` start a second `./run`
//!   beside a process that `control/k` chose not to kill).
//! - Exiting (`x`/SIGTERM) does not wait for a pending throttle.

mod adopt;
mod backoff;
pub mod ready;
pub mod script;
mod slot;
mod stop;
pub mod text;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::machine::Machine;
use crate::status::{self, RunState, Want};
use crate::time::{Mono, Now, Span, Tai64n};

pub use adopt::{candidate, parse_proc_stat, Adopted, PipeId, Probe, ProcStat, Resume, UNKNOWN_EXIT};
pub use backoff::{map_death_times, Backoff, Deaths, Limit, Verdict, DEFAULT_LIMIT_INTERVAL};
pub use ready::{History, Readiness, RunReady, Watchdog};
pub use slot::{Deferred, Phase, SlotState};
pub use stop::{Stop, KILL_RESEND};

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
    /// The watchdog's first signal (systemd's `WatchdogSignal=` default).
    Abrt,
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
    /// The readiness protocol and watchdog the service directory declares (addition;
    /// default: none, exactly runit).
    pub readiness: Readiness,
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
    /// notification-fd: what one read of the pipe given to the `./run` with this pid
    /// returned (empty: EOF or a read error).
    NotificationFd {
        /// The child the pipe was made for.
        pid: u32,
        /// The bytes read (at most [`crate::readiness::pipe::CHUNK`]).
        chunk: Vec<u8>,
    },
    /// One datagram received on `supervise/notify` (sd_notify).
    Notify {
        /// The kernel's credentials and the sender's ancestry, if any.
        sender: Option<crate::readiness::Sender>,
        /// The payload as received.
        payload: Vec<u8>,
        /// How many descriptors came with it (the runtime closes them all afterwards).
        fds: usize,
        /// The kernel's `MSG_TRUNC`.
        truncated: bool,
    },
    /// Before [`Input::Start`]: what the previous runsv left running (adoption, `adopt.rs`).
    Resume(Resume),
    /// The pidfd of an adopted child became readable: it ended, exit status unknown.
    AdoptedExited {
        /// Its pid.
        pid: u32,
        /// `./finish` can be opened for reading now.
        finish_present: bool,
    },
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
        /// The child calls `setpgid(0, 0)` (and runsv `setpgid(pid, pid)`): only for a
        /// service with `flag-timeout-killpg`, so its group can be signalled as one.
        own_group: bool,
    },
    /// Obligation: run `control/<byte>` if present and executable and wait for it; reply
    /// [`Input::ControlDone`].
    RunControl(u8),
    /// Send a signal to a live, unreaped child of the slot.
    Signal(Slot, u32, Sig),
    /// Send a signal to the process group led by a live, unreaped child of the slot
    /// (`kill(-pgid, sig)`): only for a service started with `own_group`.
    SignalGroup(Slot, u32, Sig),
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
        /// New `supervise/status.ext` (always the main slot's `supervise/`), renamed into
        /// place just before `status`; `None` for a service without a readiness protocol.
        ext: Option<Vec<u8>>,
    },
    /// Close the read end of the current child's notification-fd pipe.
    CloseNotificationFd,
    /// Close both ends of the log pipe so the log service sees EOF and can flush.
    CloseLogPipe,
    /// Print a warning line (complete, with newline) on stderr.
    Warn(Vec<u8>),
    /// Terminate runsv with this exit code.
    Exit(i32),
    /// Keep the pidfd probed for `slot` and poll it: `pid` is now the slot's child.
    Adopt {
        /// Whose candidate.
        slot: Slot,
        /// Its pid.
        pid: u32,
    },
    /// Close the pidfd (and pipe descriptors) probed for `slot`: not adopted.
    Release(Slot),
    /// Use the log pipe recovered through `slot`'s probe instead of the new one.
    TakeLogPipe(Slot),
    /// Send a signal to the slot's adopted child through its pidfd (`pidfd_send_signal`).
    SignalPidfd(Slot, u32, Sig),
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

/// Where runsv is in its life, beside the two slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Life {
    /// Built; [`Input::Start`] not seen yet: nothing starts.
    Created,
    /// Supervising both slots.
    Supervising,
    /// Main is down with want exit and the log still runs: the log pipe is closed, the log
    /// is not restarted, and runsv exits when the log has read to EOF and exited.
    DrainingLog,
    /// `Exit` was emitted; every input is ignored.
    Exited,
}

/// The reply the machine waits for, with where the interrupted work resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pending {
    /// A fork for this slot.
    Spawn(Slot),
    /// A `control/<byte>` script (main slot only).
    Control {
        /// Which script.
        byte: u8,
        /// What its result is for.
        then: Then,
    },
}

/// One control byte, decoded for one slot (spec/runsv.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    /// `u`: want up.
    Up,
    /// `o`: want down, but start once if down.
    Once,
    /// `d`: want down, stop.
    Down,
    /// `x` (main) or SIGTERM: want exit, stop.
    Exit,
    /// `t`: stop, want unchanged.
    Term,
    /// `k p c h a i q 1 2`: this signal, unless `control/<byte>` (main slot) exits 0.
    Signal(u8, Sig),
    /// Any other byte, and `x` on the log slot: read and ignored.
    Ignore,
}

impl Cmd {
    fn decode(slot: Slot, byte: u8) -> Cmd {
        match byte {
            b'u' => Cmd::Up,
            b'o' => Cmd::Once,
            b'd' => Cmd::Down,
            b'x' if slot == Slot::Main => Cmd::Exit,
            b't' => Cmd::Term,
            b'k' => Cmd::Signal(byte, Sig::Kill),
            b'p' => Cmd::Signal(byte, Sig::Stop),
            b'c' => Cmd::Signal(byte, Sig::Cont),
            b'h' => Cmd::Signal(byte, Sig::Hup),
            b'a' => Cmd::Signal(byte, Sig::Alrm),
            b'i' => Cmd::Signal(byte, Sig::Int),
            b'q' => Cmd::Signal(byte, Sig::Quit),
            b'1' => Cmd::Signal(byte, Sig::Usr1),
            b'2' => Cmd::Signal(byte, Sig::Usr2),
            // The 241 other byte values (and `x` for the log, which has no exit of its own).
            _ => Cmd::Ignore,
        }
    }
}

/// One input as it concerns one slot: the columns of the transition table in
/// [`Runsv::on`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A command byte.
    Cmd(Cmd),
    /// The slot's process was reaped.
    Reaped {
        /// Raw wait status.
        status: i32,
        /// `./finish` could be opened at reap time.
        finish_present: bool,
    },
    /// The owed fork succeeded.
    Spawned(u32),
    /// The owed fork failed.
    SpawnFailed(Errno),
    /// The owed `control/<c>` finished; `ok` = it exited 0.
    ScriptDone {
        /// runit's `custom()` result.
        ok: bool,
        /// Where the interrupted work resumes.
        then: Then,
    },
    /// runit's loop top: start the slot if it is wanted and its deadline has passed.
    Due,
    /// The adopted child ended (pidfd readable); its status is unknown.
    Vanished {
        /// `./finish` could be opened then.
        finish_present: bool,
    },
}

/// The whole runsv: two slots and the pieces shared between them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Runsv {
    dir: Vec<u8>,
    main: SlotState,
    log: Option<SlotState>,
    /// runit's single "pid changed" flag, shared by both slots (formats.md §2.4 quirk).
    pid_changed: bool,
    life: Life,
    pending: Option<Pending>,
    actions: VecDeque<Action>,
    /// The main slot's stop settings (`down-signal`, `timeout-kill`, ...): runit's by default.
    stop: Stop,
    /// What the service directory declared for readiness (main slot).
    readiness: Readiness,
    /// `down` (`log/down`) did not exist at start-up, for the record.
    normally_up: [bool; 2],
    /// The main slot's restart settings (`restart-delay`, ...): runit's by default.
    backoff: Backoff,
    /// The main slot's recent deaths, for the backoff and the give-up limit.
    deaths: Deaths,
}

impl Runsv {
    /// A machine for a service directory with the facts found at start-up. `now` is the
    /// start-up time (both slots' first stamp).
    pub fn new(now: Now, config: Config) -> Runsv {
        let stamp = Tai64n::from_wall(now.wall);
        let want = |down: bool| if down { Want::Down } else { Want::Up };
        Runsv {
            dir: config.dir,
            main: SlotState::new(want(config.down), stamp),
            log: config.log.map(|down| SlotState::new(want(down), stamp)),
            pid_changed: true,
            life: Life::Created,
            pending: None,
            actions: VecDeque::new(),
            stop: Stop::RUNIT,
            readiness: config.readiness,
            normally_up: [!config.down, config.log.is_some_and(|d| !d)],
            backoff: Backoff::RUNIT,
            deaths: Deaths::default(),
        }
    }

    /// The reply the runtime owes, if any (it must feed that reply next).
    pub fn owed(&self) -> Option<Owed> {
        self.pending.map(|p| match p {
            Pending::Spawn(slot) => Owed::Spawn(slot),
            Pending::Control { byte, .. } => Owed::Control(byte),
        })
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
        self.life == Life::Exited
    }

    /// Whether the log pipe has been closed (exit sequence under way).
    pub fn log_pipe_closed(&self) -> bool {
        self.life == Life::DrainingLog
    }

    /// Whether the machine reads control bytes for `slot` now (false while a reply is
    /// owed or after exit, so the runtime leaves bytes in the FIFO).
    pub fn accepts_control(&self, slot: Slot) -> bool {
        self.pending.is_none() && self.life != Life::Exited && self.slot(slot).is_some()
    }

    /// Applies `f` to every monotonic time the machine stores (deadlines, start times), so
    /// the explorer can rebase time: the machine compares times only with each other and
    /// with the `now` it is given.
    pub fn map_times(&mut self, mut f: impl FnMut(Mono) -> Mono) {
        self.main.map_times(&mut f);
        if let Some(l) = &mut self.log {
            l.map_times(&mut f);
        }
        self.deaths = map_death_times(self.deaths, &mut f);
    }

    /// Applies `f` to each slot's [`History`] (explorer canonicalisation: the history only
    /// changes what `status.ext` says, never what the machine does next).
    pub fn map_history(&mut self, mut f: impl FnMut(&mut History)) {
        f(&mut self.main.history);
        if let Some(l) = &mut self.log {
            f(&mut l.history);
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut SlotState {
        match slot {
            Slot::Main => &mut self.main,
            Slot::Log => self.log.as_mut().expect("log slot exists"),
        }
    }

    fn phase(&self, slot: Slot) -> Phase {
        self.slot(slot).expect("slot exists").phase
    }

    fn set(&mut self, slot: Slot, phase: Phase) {
        debug_assert!(slot == Slot::Main || !matches!(phase, Phase::Finish { .. }), "the log slot has no finish");
        self.slot_mut(slot).phase = phase;
    }

    /// The slot whose process has this pid (0 is nobody's).
    fn whose(&self, pid: u32) -> Option<Slot> {
        debug_assert!(self.main.pid() == 0 || self.log.as_ref().is_none_or(|l| l.pid() != self.main.pid()), "pids are distinct");
        [Slot::Main, Slot::Log].into_iter().find(|&s| pid != 0 && self.slot(s).is_some_and(|x| x.pid() == pid))
    }

    /// Queues the status files of `slot` (runit's `update_status`).
    fn update(&mut self, slot: Slot) {
        debug_assert!(self.life != Life::Exited, "no status after exit");
        let pid_changed = core::mem::replace(&mut self.pid_changed, false);
        let ext = self.record_text();
        let s = self.slot_mut(slot);
        let stat = status::stat_text(s.state(), s.paused, s.got_term(), s.want);
        let pid = if pid_changed { Some(status::pid_text(s.pid())) } else { None };
        let status = s.record().encode();
        self.actions.push_back(Action::WriteStatus { slot, pid, stat, status, ext });
    }

    fn want(&mut self, slot: Slot, want: Want) {
        self.slot_mut(slot).want = want;
        self.update(slot);
    }

    fn signal(&mut self, slot: Slot, pid: u32, sig: Sig) {
        debug_assert!(pid != 0 && self.slot(slot).is_some_and(|s| s.pid() == pid), "signals go only to the slot's live child");
        if self.adopted(slot).is_some() {
            self.actions.push_back(Action::SignalPidfd(slot, pid, sig));
        } else {
            self.actions.push_back(Action::Signal(slot, pid, sig));
        }
    }

    fn run_control(&mut self, byte: u8, then: Then) {
        debug_assert!(self.pending.is_none(), "one obligation at a time");
        self.pending = Some(Pending::Control { byte, then });
        self.actions.push_back(Action::RunControl(byte));
    }

    fn spawn(&mut self, slot: Slot, program: Program) {
        debug_assert!(self.pending.is_none(), "one obligation at a time");
        debug_assert!(self.slot(slot).is_some_and(|s| s.pid() == 0), "one child per slot");
        let exec_fail_msg = text::exec_failed(&self.dir, &program);
        self.pending = Some(Pending::Spawn(slot));
        let own_group = self.stop_of(slot).group;
        self.actions.push_back(Action::Spawn { slot, program, exec_fail_msg, own_group });
    }

    /// The transition table: what one event does to one slot in each phase. runit's
    /// `ctrl()` switch, the reap block, `startservice()`'s halves and the loop top, as
    /// (phase, event) cells. Arms marked "cannot happen" are excluded by the contract
    /// (no input but the reply while one is owed; a reap is routed by pid).
    fn on(&mut self, now: Now, slot: Slot, event: Event) {
        use Event::{Cmd as C, Due, Reaped, ScriptDone, SpawnFailed, Spawned, Vanished};
        use Phase::{Down, Finish, GivenUp, Run, Starting};
        debug_assert!(self.slot(slot).is_some(), "events only for an existing slot");
        debug_assert!(self.pending.is_none(), "a reply is routed only after the pending one is cleared");
        match (self.phase(slot), event) {
            // Commands. A deferred start is taken over by `u`, kept by `o` (an `o` on a
            // half-done start lets it finish), and cancelled by `d`/`x`: runit would have
            // started it and the byte would stop it, so the slot ends down either way.
            (Down { not_before, deferred }, C(Cmd::Up)) => {
                let deferred = deferred.filter(|d| *d == Deferred::ForkRetry);
                self.set(slot, Down { not_before, deferred });
                self.want(slot, Want::Up);
            }
            (Down { not_before, deferred }, C(Cmd::Once)) => {
                self.set(slot, Down { not_before, deferred: deferred.or(Some(Deferred::Once)) });
                self.want(slot, Want::Down);
            }
            (Down { not_before, .. }, C(Cmd::Down)) => {
                self.set(slot, Down { not_before, deferred: None });
                self.want(slot, Want::Down);
            }
            (Down { not_before, .. }, C(Cmd::Exit)) => {
                self.set(slot, Down { not_before, deferred: None });
                self.want(slot, Want::Exit);
            }
            (Run { .. } | Finish { .. }, C(Cmd::Up)) => self.want(slot, Want::Up),
            (Run { .. } | Finish { .. }, C(Cmd::Once)) => self.want(slot, Want::Down),
            (Run { .. }, C(Cmd::Down)) => {
                self.want(slot, Want::Down);
                self.stop(now, slot);
            }
            (Run { .. }, C(Cmd::Exit)) => {
                self.want(slot, Want::Exit);
                self.stop(now, slot);
            }
            // During finish, `d`/`x` change want only; `./finish` runs to completion.
            (Finish { .. }, C(Cmd::Down)) => self.want(slot, Want::Down),
            (Finish { .. }, C(Cmd::Exit)) => self.want(slot, Want::Exit),
            (Run { .. }, C(Cmd::Term)) => self.stop(now, slot),
            (Down { .. } | Finish { .. }, C(Cmd::Term)) => {}
            (Run { .. }, C(Cmd::Signal(byte, sig))) if slot == Slot::Main => self.run_control(byte, Then::SignalUnless(sig, byte)),
            (Run { pid, .. }, C(Cmd::Signal(byte, sig))) => {
                self.signal(slot, pid, sig);
                self.pause_flag(slot, byte);
            }
            // Not running: no signal (`k` does not mark the slot down: a divergence), but
            // `p`/`c` still set the flag.
            (Down { .. } | Finish { .. }, C(Cmd::Signal(byte, _))) => self.pause_flag(slot, byte),
            (Down { .. } | Run { .. } | Finish { .. }, C(Cmd::Ignore)) => {}

            // The slot's process exits.
            (Run { pid, started, got_term, .. }, Reaped { status, finish_present }) => {
                self.count_death(now, slot);
                self.kill_leftovers(slot, pid, got_term);
                self.note_exit(now, slot, status);
                self.pid_changed = true;
                if slot == Slot::Main && finish_present {
                    self.set(slot, Finish { pid: None, args: finish_args(status), started, not_before: None, kill_at: None });
                    self.update(slot);
                } else {
                    self.went_down(now, slot, started);
                }
            }
            (Run { adopted: Some(_), .. }, Vanished { finish_present }) => self.adopted_exited(now, slot, finish_present),
            (Finish { pid: Some(_), started, .. }, Reaped { .. }) => {
                self.pid_changed = true;
                self.went_down(now, slot, started);
            }

            // Starting: the loop top, then the replies.
            (Down { not_before, deferred }, Due) => {
                let draining = slot == Slot::Log && self.life == Life::DrainingLog;
                let wanted = self.slot_mut(slot).want == Want::Up || deferred.is_some();
                if wanted && !draining && not_before.is_none_or(|t| now.mono >= t) {
                    self.set(slot, Starting);
                    match (slot, deferred) {
                        // runit runs `control/u` once per start, not once per fork attempt.
                        (Slot::Main, Some(Deferred::ForkRetry)) => self.spawn(slot, Program::Run),
                        (Slot::Main, Some(Deferred::Once) | None) => self.run_control(b'u', Then::StartRun),
                        (Slot::Log, _) => self.spawn(slot, Program::LogRun),
                    }
                }
            }
            (Finish { pid: None, args: (a, b), not_before, .. }, Due) => {
                if not_before.is_none_or(|t| now.mono >= t) {
                    self.spawn(slot, Program::Finish { a, b });
                }
            }
            (Run { .. } | Finish { pid: Some(_), .. }, Due) => self.escalate(now, slot),
            (Starting, ScriptDone { then: Then::StartRun, .. }) => self.spawn(slot, Program::Run),
            (Starting, Spawned(pid)) => {
                let s = self.slot_mut(slot);
                s.stamp = Tai64n::from_wall(now.wall);
                s.paused = false;
                let run = self.fresh_run(now, slot, pid);
                self.set(slot, run);
                self.pid_changed = true;
                self.update(slot);
            }
            (Finish { pid: None, args, started, .. }, Spawned(pid)) => {
                self.slot_mut(slot).paused = false;
                let kill_at = self.finish_deadline(now, slot);
                self.set(slot, Finish { pid: Some(pid), args, started, not_before: None, kill_at });
                self.pid_changed = true;
                self.update(slot);
            }
            (Starting, SpawnFailed(e)) => {
                self.actions.push_back(Action::Warn(text::fork_failed(&self.dir, e)));
                self.set(slot, Down { not_before: Some(now.mono + FORK_RETRY), deferred: Some(Deferred::ForkRetry) });
            }
            (Finish { pid: None, args, started, .. }, SpawnFailed(e)) => {
                self.actions.push_back(Action::Warn(text::fork_failed(&self.dir, e)));
                self.set(slot, Finish { pid: None, args, started, not_before: Some(now.mono + FORK_RETRY), kill_at: None });
            }

            // Given up (backoff.rs): only a command that changes want leaves it, acting as
            // on a down slot with runit's throttle deadline; nothing starts it by itself.
            (GivenUp { not_before }, C(Cmd::Up | Cmd::Once | Cmd::Down | Cmd::Exit)) => {
                self.leave_give_up();
                self.set(slot, Down { not_before, deferred: None });
                self.on(now, slot, event);
            }
            (GivenUp { .. }, C(Cmd::Term | Cmd::Ignore) | Due) => {}
            (GivenUp { .. }, C(Cmd::Signal(byte, _))) => self.pause_flag(slot, byte),

            // Override scripts come back.
            (Run { .. }, ScriptDone { ok, then: Then::StopAfterT }) => self.stop_after_t(now, slot, ok),
            (Run { pid, .. }, ScriptDone { ok, then: Then::SignalUnless(sig, byte) }) => {
                if !ok {
                    self.signal(slot, pid, sig);
                }
                self.pause_flag(slot, byte);
            }
            (Run { .. }, ScriptDone { then: Then::Nothing, .. }) => {}

            // Cannot happen.
            (Starting, C(_) | Reaped { .. } | Due | ScriptDone { then: Then::StopAfterT | Then::Nothing | Then::SignalUnless(..), .. })
            | (Down { .. }, Reaped { .. } | Spawned(_) | SpawnFailed(_) | ScriptDone { .. })
            | (Run { .. }, Spawned(_) | SpawnFailed(_) | ScriptDone { then: Then::StartRun, .. })
            | (Finish { pid: None, .. }, Reaped { .. })
            | (Finish { pid: Some(_), .. }, Spawned(_) | SpawnFailed(_))
            | (Finish { .. }, ScriptDone { .. })
            | (GivenUp { .. }, Reaped { .. } | Spawned(_) | SpawnFailed(_) | ScriptDone { .. })
            | (Down { .. } | Starting | Finish { .. } | GivenUp { .. } | Run { adopted: None, .. }, Vanished { .. }) => {
                debug_assert!(false, "{slot:?}: {event:?} cannot happen in {:?}", self.phase(slot))
            }
        }
    }

    /// The flag updates `p` and `c` make whether or not a signal was sent.
    fn pause_flag(&mut self, slot: Slot, byte: u8) {
        debug_assert!(b"kpchaiq12".contains(&byte), "only signal commands");
        if byte == b'p' || byte == b'c' {
            self.slot_mut(slot).paused = byte == b'p';
            self.update(slot);
        }
    }

    /// runit's `stopservice`: the main slot consults `control/t` first (its result decides
    /// the TERM); the log slot has no overrides.
    fn stop(&mut self, now: Now, slot: Slot) {
        debug_assert!(matches!(self.phase(slot), Phase::Run { .. }), "only a running slot is stopped");
        match slot {
            Slot::Main => self.run_control(b't', Then::StopAfterT),
            Slot::Log => self.stop_after_t(now, slot, false),
        }
    }

    /// The rest of `stopservice`: TERM (or `down-signal`) unless overridden, then CONT and
    /// `control/d`/`x` when the slot is wanted down or exiting; `timeout-kill` arms here.
    fn stop_after_t(&mut self, now: Now, slot: Slot, overridden: bool) {
        let Phase::Run { pid, .. } = self.phase(slot) else {
            debug_assert!(false, "stop_after_t outside run");
            return;
        };
        let want = self.slot_mut(slot).want;
        self.arm_kill(now, slot, !overridden || want != Want::Up);
        if !overridden {
            self.stop_signal(slot, pid, self.stop_of(slot).signal);
            if let Phase::Run { got_term, ready, .. } = &mut self.slot_mut(slot).phase {
                *got_term = true;
                *ready = Self::without_watchdog(*ready);
            }
            self.update(slot);
        }
        if want != Want::Up {
            self.stop_signal(slot, pid, Sig::Cont);
            if slot == Slot::Main {
                self.run_control(if want == Want::Down { b'd' } else { b'x' }, Then::Nothing);
            }
        }
    }

    /// The slot becomes down after a cycle that began at `started`: restamp, and arm the
    /// throttle if the cycle was shorter than [`RESTART_THROTTLE`].
    fn went_down(&mut self, now: Now, slot: Slot, started: Mono) {
        debug_assert!(now.mono >= started, "time does not go backwards");
        let not_before = (now.mono < started + RESTART_THROTTLE).then(|| now.mono + RESTART_THROTTLE);
        let phase = self.down_phase(now, slot, not_before);
        self.set(slot, phase);
        self.slot_mut(slot).stamp = Tai64n::from_wall(now.wall);
        self.update(slot);
        debug_assert!(self.slot(slot).is_some_and(|s| s.pid() == 0 && s.state() == RunState::Down));
    }

    /// runit's loop top and exit check, as explicit [`Event::Due`] events: exit when main
    /// is down for good, else offer a start to the log slot, then to main. One start at a
    /// time: each owes a reply, after which the loop top runs again.
    fn loop_top(&mut self, now: Now) {
        if self.pending.is_some() || matches!(self.life, Life::Created | Life::Exited) {
            return;
        }
        if self.main.want == Want::Exit && matches!(self.main.phase, Phase::Down { .. }) {
            self.exit_check();
            return;
        }
        if self.log.is_some() {
            self.on(now, Slot::Log, Event::Due);
            if self.pending.is_some() {
                return;
            }
        }
        self.on(now, Slot::Main, Event::Due);
    }

    /// Main is down with want exit: exit, or first let the log read to EOF.
    fn exit_check(&mut self) {
        debug_assert!(self.main.want == Want::Exit && self.main.pid() == 0);
        let log_running = self.log.as_ref().is_some_and(|l| l.pid() != 0);
        if !log_running {
            self.life = Life::Exited;
            self.actions.push_back(Action::Exit(0));
        } else if self.life == Life::Supervising {
            self.life = Life::DrainingLog;
            self.want(Slot::Log, Want::Exit);
            self.actions.push_back(Action::CloseLogPipe);
        }
        debug_assert!(matches!(self.life, Life::Exited | Life::DrainingLog), "the exit sequence is under way");
    }

    /// runit's `custom()` result for a `control/<byte>` outcome, with its warning.
    fn script_ok(&mut self, byte: u8, outcome: ControlOutcome) -> bool {
        let warn = match outcome {
            ControlOutcome::Absent => None,
            ControlOutcome::StatFailed(e) => Some(text::control_stat_failed(&self.dir, byte, e)),
            ControlOutcome::ForkFailed(e) => Some(text::control_fork_failed(&self.dir, byte, e)),
            ControlOutcome::WaitFailed(e) => Some(text::control_wait_failed(&self.dir, byte, e)),
            // runit: success is `status >> 8 == 0`, so a script killed by a signal succeeds.
            ControlOutcome::Exited(st) => return (st >> 8) & 0xff == 0,
        };
        if let Some(w) = warn {
            self.actions.push_back(Action::Warn(w));
        }
        false
    }

    /// Which slot an input concerns, checked against the owed reply (the contract). A reply
    /// nobody asked for, or anything else while a reply is owed, is a runtime bug: debug
    /// builds stop; release builds drop it rather than corrupt the state.
    fn route(&mut self, input: Input) -> Option<(Slot, Event)> {
        match (self.pending, input) {
            (_, Input::Start) => {
                if self.life == Life::Created {
                    self.life = Life::Supervising;
                    self.update(Slot::Main);
                    if self.log.is_some() {
                        self.update(Slot::Log);
                    }
                }
                None
            }
            (Some(Pending::Spawn(owed)), Input::Spawned(slot, pid)) if owed == slot => {
                self.pending = None;
                Some((slot, Event::Spawned(pid)))
            }
            (Some(Pending::Spawn(owed)), Input::SpawnFailed(slot, e)) if owed == slot => {
                self.pending = None;
                Some((slot, Event::SpawnFailed(e)))
            }
            (Some(Pending::Control { byte, then }), Input::ControlDone(outcome)) => {
                self.pending = None;
                let ok = self.script_ok(byte, outcome);
                Some((Slot::Main, Event::ScriptDone { ok, then }))
            }
            (_, Input::Spawned(..) | Input::SpawnFailed(..) | Input::ControlDone(_)) => {
                debug_assert!(false, "unexpected reply");
                None
            }
            (
                Some(_),
                Input::Control(..)
                | Input::Terminate
                | Input::ChildExited { .. }
                | Input::Tick
                | Input::NotificationFd { .. }
                | Input::Notify { .. }
                | Input::Resume(_)
                | Input::AdoptedExited { .. },
            ) => {
                debug_assert!(false, "input while a reply is owed");
                None
            }
            (None, Input::Control(slot, byte)) => self.slot(slot).map(|_| (slot, Event::Cmd(Cmd::decode(slot, byte)))),
            (None, Input::Terminate) => Some((Slot::Main, Event::Cmd(Cmd::Exit))),
            // Any other pid (a control script reaped late, a stray) is ignored, as runit does.
            (None, Input::ChildExited { pid, status, finish_present }) => {
                self.whose(pid).map(|slot| (slot, Event::Reaped { status, finish_present }))
            }
            (None, Input::AdoptedExited { pid, finish_present }) => {
                self.whose_adopted(pid).map(|slot| (slot, Event::Vanished { finish_present }))
            }
            // Readiness inputs were handled before routing (`ready.rs`), Resume too (`adopt.rs`).
            (None, Input::Tick | Input::NotificationFd { .. } | Input::Notify { .. } | Input::Resume(_)) => None,
        }
    }

    /// The shape's invariants, checked after every input in debug builds.
    fn well_formed(&self) -> bool {
        let starting = [Some(&self.main), self.log.as_ref()].into_iter().flatten().filter(|s| s.phase == Phase::Starting).count();
        let pending_matches = match self.pending {
            None => starting == 0,
            Some(Pending::Spawn(slot)) => starting <= 1 && self.slot(slot).is_some_and(|s| s.pid() == 0),
            Some(Pending::Control { .. }) => starting <= 1,
        };
        let log_no_finish = self.log.as_ref().is_none_or(|l| !matches!(l.phase, Phase::Finish { .. }));
        let draining_has_log = self.life != Life::DrainingLog || self.log.is_some();
        let given_up_main_want_down = self.log.as_ref().is_none_or(|l| !matches!(l.phase, Phase::GivenUp { .. }))
            && (!self.given_up() || self.main.want == Want::Down);
        pending_matches && log_no_finish && draining_has_log && given_up_main_want_down
    }
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Mono>, b: Option<Mono>) -> Option<Mono> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
    type Owed = Owed;

    fn owed(&self) -> Option<Owed> {
        Runsv::owed(self)
    }

    /// A spawn is answered for its own slot; a control script by its outcome.
    fn answers(owed: &Owed, input: &Input) -> bool {
        match (owed, input) {
            (Owed::Spawn(slot), Input::Spawned(s, _) | Input::SpawnFailed(s, _)) => slot == s,
            (Owed::Control(_), Input::ControlDone(_)) => true,
            (Owed::Spawn(_) | Owed::Control(_), _) => false,
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        if self.life == Life::Exited {
            return;
        }
        if self.pending.is_none() {
            self.on_readiness_input(now, &input);
            self.on_resume_input(now, &input);
        }
        if let Some((slot, event)) = self.route(input) {
            self.on(now, slot, event);
        }
        self.loop_top(now);
        debug_assert!(self.well_formed(), "ill-formed runsv: {self:?}");
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_deadline(&self) -> Option<Mono> {
        if self.pending.is_some() || self.life == Life::Exited {
            return None;
        }
        let main = earliest(self.main.start_due().flatten(), self.main.kill_at());
        let log = match &self.log {
            Some(l) if self.life != Life::DrainingLog => l.start_due().flatten(),
            _ => None,
        };
        [main, log, self.watchdog_deadline()].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod backoff_tests;
#[cfg(test)]
mod ready_tests;
#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod shape_tests;
#[cfg(test)]
mod stop_tests;
#[cfg(test)]
mod tests;
