//! runit's init stages 1, 2, 3 as a machine (runit as PID 1; spec/init.md §1).
//!
//! The machine decides everything runit decides: which stage runs next after a stage
//! exits (the exit-status table of spec/init.md §1.2), what a signal means in which
//! stage (§1.3), how stage 2 is stopped (TERM, wait up to 5 s, KILL), and what the final
//! step after stage 3 does (§1.4). The runtime only forks, signals, stats the flag files
//! and reaps; the facts it samples (is `stopit` owner-executable, ...) travel inside the
//! inputs as [`Flags`].
//!
//! Deliberate differences from runit 2.1.2 (docs/divergences.md, "runit and runit-init"):
//! - a stage 2 killed by a signal is restarted (as runit's manual promises) instead of
//!   being taken as a success that shuts the machine down;
//! - in *container mode* ([`Config::container`]) SIGTERM is a shutdown request in stage
//!   2 and, after stage 3, runit exits with a status instead of calling `reboot(2)`;
//! - a shutdown request during the 5 s pause before a stage 2 restart goes straight to
//!   stage 3 instead of starting stage 2 only to stop it again;
//! - stage 2 that exits after TERM is noticed at once, not at the next 1 s poll.

pub mod init;
pub mod msg;
pub mod spawn;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::machine::Machine;
use crate::time::{Mono, Now, Span};

pub use msg::{Layout, Msg, Paths};

// Short name for the state patterns, so a handler's "left alone" states fit on one line.
use State as S;

/// A process id as the kernel reports it.
pub type Pid = i32;

/// Pause after a failed fork before retrying (runit: `sleep(5)`).
pub const FORK_RETRY: Span = Span::from_secs(5);
/// Pause between killing a failed stage 2's process group and restarting it.
pub const STAGE2_RESTART_DELAY: Span = Span::from_secs(5);
/// How long stage 2 may take to exit after TERM before it gets KILL (runit: 5 × 1 s).
pub const STAGE2_TERM_GRACE: Span = Span::from_secs(5);
/// Pause between a power-off that returned and the halt fallback.
pub const POWEROFF_HALT_FALLBACK: Span = Span::from_secs(2);
/// Exit code of stage 1 that makes runit skip stage 2.
pub const STAGE1_SKIP_STAGE2: i32 = 100;
/// Exit code of stage 2 that makes runit kill its process group and restart it.
pub const STAGE2_RESTART: i32 = 111;
/// Upper bound of actions queued by one input (the longest is stage 3's end).
pub const MAX_ACTIONS_PER_INPUT: usize = 8;

/// The three stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StageId {
    /// `/etc/runit/1`: one-time system initialisation.
    One,
    /// `/etc/runit/2`: normally `exec runsvdir`; runs until shutdown.
    Two,
    /// `/etc/runit/3`: shutdown tasks.
    Three,
}

impl StageId {
    /// The stage number as runit counts it (1, 2, 3).
    pub fn number(self) -> u8 {
        match self {
            StageId::One => 1,
            StageId::Two => 2,
            StageId::Three => 3,
        }
    }
}

/// A program runit runs and names in its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Script {
    /// One of the stages.
    Stage(StageId),
    /// `/etc/runit/ctrlaltdel`, run on SIGINT in stage 2.
    CtrlAltDel,
}

/// What a reboot(2) call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RebootCmd {
    /// `RB_AUTOBOOT`: restart.
    Restart,
    /// `RB_POWER_OFF`.
    PowerOff,
    /// `RB_HALT_SYSTEM`.
    Halt,
}

/// One step of the final child (after stage 3 and `kill(-1, SIGKILL)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FinalStep {
    /// Print a message.
    Say(Msg),
    /// `sync()`.
    Sync,
    /// `reboot(cmd)`; returns only if the kernel refused.
    Reboot(RebootCmd),
    /// Sleep (the power-off → halt fallback).
    Sleep(Span),
}

/// The final child's steps, in order; the child exits 0 after the last.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FinalPlan(pub Vec<FinalStep>);

/// A child runit starts (the [`Action::Spawn`] obligation).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// A stage script.
    Stage(StageId),
    /// The ctrlaltdel script, while stage 2 (still) runs.
    CtrlAltDel,
    /// The final child that syncs and reboots.
    Final(FinalPlan),
}

/// Signals runit acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sig {
    /// SIGCONT: shutdown if stopit is owner-executable.
    Cont,
    /// SIGINT: ctrl-alt-del.
    Int,
    /// [deb] SIGPWR: shutdown without the stopit check.
    Pwr,
    /// [deb] SIGALRM: forwarded to stage 2.
    Alrm,
    /// SIGTERM: only delivered in container mode (blocked otherwise): shutdown.
    Term,
}

/// Signals runit sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendSig {
    /// SIGTERM.
    Term,
    /// SIGKILL.
    Kill,
    /// SIGALRM.
    Alrm,
}

/// File facts sampled by the runtime when it builds an input (cheap `stat`s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// The stopit file exists with the owner-execute bit.
    pub stopit: bool,
    /// The reboot file exists with the owner-execute bit.
    pub reboot: bool,
    /// `/etc/runit/ctrlaltdel` exists with the owner-execute bit.
    pub ctrlaltdel: bool,
    /// [deb] `/etc/runit/nosync` exists.
    pub nosync: bool,
}

/// The facts the machine reacts to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// runit has set itself up (console, self-pipe, signals): start stage 1.
    Boot,
    /// Reply to [`Action::Spawn`]: the child runs as `pid`.
    Spawned {
        /// The child.
        pid: Pid,
    },
    /// Reply to [`Action::Spawn`]: fork failed.
    SpawnFailed {
        /// Why.
        errno: Errno,
    },
    /// A child was reaped (any child: stages, ctrlaltdel, orphans).
    Exited {
        /// The child.
        pid: Pid,
        /// Raw wait status.
        status: i32,
        /// Flag files, sampled when it was reaped.
        flags: Flags,
    },
    /// A signal arrived.
    Signal {
        /// Which.
        sig: Sig,
        /// Flag files, sampled when it was taken.
        flags: Flags,
    },
    /// The deadline passed (calling early is harmless).
    Tick,
}

/// The decisions the runtime carries out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Print a message to the console (fd 2).
    Say(Msg),
    /// Fork the job's child. Obligation: answer with `Spawned` or `SpawnFailed`.
    Spawn(Job),
    /// Send a signal to one process.
    Kill {
        /// The process.
        pid: Pid,
        /// The signal.
        sig: SendSig,
    },
    /// SIGKILL to a process group (a failed stage 2's session).
    KillGroup {
        /// The group id (stage 2's pid: it is a session leader).
        pgid: Pid,
    },
    /// `chmod(stopit, 0)`, result ignored.
    ClearStopit,
    /// `kill(-1, SIGKILL)`.
    KillAll,
    /// `sync()`.
    Sync,
    /// Run the final plan in runit itself (the fork for it failed).
    RunInline(FinalPlan),
    /// Exit runit with this status (container mode only).
    Exit(i32),
}

/// The reply the machine waits for (the driver checks each reply against it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Owed {
    /// [`Input::Spawned`] or [`Input::SpawnFailed`] for this job's [`Action::Spawn`].
    Spawn(Job),
}

/// Choices fixed at start by the bin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Config {
    /// runit runs as PID 1 of a container (a non-initial PID namespace, or forced by
    /// `RUNIT_CONTAINER=1`): SIGTERM requests shutdown and the end is an exit, not a
    /// reboot.
    pub container: bool,
}

/// Stage 2 as seen while something else (ctrlaltdel) is being waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stage2 {
    /// Its pid.
    pub pid: Pid,
    /// Its raw wait status if it already exited while ctrlaltdel ran.
    pub exited: Option<i32>,
}

/// Where runit is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Before [`Input::Boot`].
    Start,
    /// A spawn reply is owed. `stage2` is set while a ctrlaltdel spawn is pending.
    Spawning {
        /// What is being started.
        job: Job,
        /// Stage 2, when the job is ctrlaltdel.
        stage2: Option<Stage2>,
    },
    /// The fork failed; retry at `until`.
    ForkPause {
        /// What to start.
        job: Job,
        /// Stage 2, when the job is ctrlaltdel.
        stage2: Option<Stage2>,
        /// When to retry.
        until: Mono,
    },
    /// A stage runs.
    Running {
        /// Which.
        stage: StageId,
        /// Its pid.
        pid: Pid,
    },
    /// ctrlaltdel runs; stage 2 waits behind it.
    CtrlAltDel {
        /// Stage 2.
        stage2: Stage2,
        /// The ctrlaltdel process.
        pid: Pid,
    },
    /// Stage 2 got TERM for a shutdown; KILL at `kill_at`.
    Stopping {
        /// Stage 2.
        pid: Pid,
        /// When it gets KILL.
        kill_at: Mono,
    },
    /// Stage 2 got KILL; waiting for it.
    Killing {
        /// Stage 2.
        pid: Pid,
    },
    /// Stage 2 failed; its group was killed; restart at `until`.
    RestartPause {
        /// When stage 2 starts again.
        until: Mono,
    },
    /// The final child runs (`Some`) or runit did the final step itself (`None`).
    Final {
        /// The final child.
        pid: Option<Pid>,
    },
    /// Nothing left to do: sleep forever, reaping (or, in container mode, exited).
    Halted,
}

/// runit's stage machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stages {
    config: Config,
    state: State,
    /// Exit code of the last stage 2 that ended on its own (0 if ended by a request).
    stage2_code: i32,
    /// Container mode: SIGTERM arrived during stage 1; stage 2 is skipped.
    term_pending: bool,
    actions: VecDeque<Action>,
}

/// How a wait status reads to runit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Exited with a code.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Ended {
    /// Classifies a raw wait status (`status & 127` non-zero = killed by a signal).
    pub fn from_status(status: i32) -> Ended {
        let sig = status & 0x7f;
        if sig != 0 {
            Ended::Signal(sig)
        } else {
            Ended::Code((status >> 8) & 0xff)
        }
    }
    /// runit's "exit code" (`status >> 8`): 0 for a signal death.
    pub fn code(self) -> i32 {
        match self {
            Ended::Code(c) => c,
            Ended::Signal(_) => 0,
        }
    }
}

/// A raw wait status for an exit with `code` (for tests and the simulator).
pub fn status_exit(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// A raw wait status for a death by `sig` (for tests and the simulator).
pub fn status_signal(sig: i32) -> i32 {
    sig & 0x7f
}

impl Stages {
    /// A machine before boot.
    pub fn new(config: Config) -> Stages {
        Stages { config, state: State::Start, stage2_code: 0, term_pending: false, actions: VecDeque::new() }
    }

    /// The current state (for tests, exploration and tables).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The configuration.
    pub fn config(&self) -> Config {
        self.config
    }

    /// A machine in an arbitrary state (for tables and exploration).
    pub fn with_state(config: Config, state: State, stage2_code: i32) -> Stages {
        Stages { config, state, stage2_code, term_pending: false, actions: VecDeque::new() }
    }

    /// Replaces the state only (exploration renames pids and rebases times this way).
    pub fn set_state(&mut self, state: State) {
        self.state = state;
    }

    /// Exit code remembered from the last stage 2 (container mode's exit status).
    pub fn stage2_code(&self) -> i32 {
        self.stage2_code
    }

    /// Whether a container stop request (SIGTERM in stage 1) is waiting for stage 1 to end.
    pub fn term_pending(&self) -> bool {
        self.term_pending
    }

    /// Whether a spawn reply is owed (the driver must answer it before anything else).
    pub fn owes_spawn_reply(&self) -> bool {
        matches!(self.state, State::Spawning { .. })
    }

    /// The reply the runtime owes, if any (it must feed that reply next).
    pub fn owed(&self) -> Option<Owed> {
        match &self.state {
            State::Spawning { job, .. } => Some(Owed::Spawn(job.clone())),
            _ => None,
        }
    }

    fn say(&mut self, m: Msg) {
        self.actions.push_back(Action::Say(m));
    }

    fn spawn(&mut self, job: Job, stage2: Option<Stage2>) {
        debug_assert!(!matches!(self.state, State::Halted), "nothing starts after the end");
        debug_assert!(matches!(job, Job::CtrlAltDel) == stage2.is_some(), "stage 2 travels with ctrlaltdel only");
        self.actions.push_back(Action::Spawn(job.clone()));
        self.state = State::Spawning { job, stage2 };
    }

    /// Stage 3 ended: kill everything, then reboot/power off (or exit in a container).
    fn final_step(&mut self, stage3_code: i32, flags: Flags) {
        self.say(Msg::SendingKillAll);
        self.actions.push_back(Action::KillAll);
        if self.config.container {
            if !flags.nosync {
                self.actions.push_back(Action::Sync);
            }
            let code = if stage3_code != 0 { stage3_code } else { self.stage2_code };
            self.say(Msg::ContainerExit(code));
            self.actions.push_back(Action::Exit(code));
            self.state = State::Halted;
            return;
        }
        let plan = final_plan(flags);
        self.spawn(Job::Final(plan), None);
    }

    /// Shutdown requested while stage 2 runs: chmod stopit 0, TERM, grace period.
    fn stop_stage2(&mut self, now: Now, pid: Pid) {
        self.actions.push_back(Action::ClearStopit);
        self.actions.push_back(Action::Kill { pid, sig: SendSig::Term });
        self.state = State::Stopping { pid, kill_at: now.mono + STAGE2_TERM_GRACE };
    }

    /// Stage 2 is gone for a shutdown: stage 3 next.
    fn enter_stage3_after_stage2(&mut self) {
        self.say(Msg::LeaveStage(Script::Stage(StageId::Two)));
        self.spawn(Job::Stage(StageId::Three), None);
    }

    /// Stage `stage` (pid already reaped) ended on its own with `status`.
    fn stage_ended(&mut self, now: Now, stage: StageId, pid: Pid, status: i32, flags: Flags) {
        let ended = Ended::from_status(status);
        let script = Script::Stage(stage);
        match stage {
            StageId::One => {
                // runit looks only at the exit code: a signal death counts as 0 (kept).
                let code = ended.code();
                if code != 0 {
                    self.say(Msg::ChildFailed(script));
                }
                self.say(Msg::LeaveStage(script));
                if code == STAGE1_SKIP_STAGE2 || self.term_pending {
                    self.say(Msg::SkippingStage2);
                    self.spawn(Job::Stage(StageId::Three), None);
                } else {
                    self.spawn(Job::Stage(StageId::Two), None);
                }
            }
            StageId::Two => match ended {
                // Correction: a crashed stage 2 is restarted, as the manual promises.
                Ended::Signal(_) => {
                    self.say(Msg::ChildCrashed(script));
                    self.restart_stage2(now, pid);
                }
                Ended::Code(STAGE2_RESTART) => {
                    self.say(Msg::ChildFailed(script));
                    self.restart_stage2(now, pid);
                }
                Ended::Code(code) => {
                    if code != 0 {
                        self.say(Msg::ChildFailed(script));
                    }
                    self.stage2_code = code;
                    self.say(Msg::LeaveStage(script));
                    self.spawn(Job::Stage(StageId::Three), None);
                }
            },
            StageId::Three => {
                let code = ended.code();
                if code != 0 {
                    self.say(Msg::ChildFailed(script));
                }
                self.say(Msg::LeaveStage(script));
                self.final_step(code, flags);
            }
        }
    }

    fn restart_stage2(&mut self, now: Now, pid: Pid) {
        self.say(Msg::KillingStage2);
        self.actions.push_back(Action::KillGroup { pgid: pid });
        self.state = State::RestartPause { until: now.mono + STAGE2_RESTART_DELAY };
    }

    /// Whether `sig` (with `flags`) asks for a shutdown in stage 2.
    fn is_shutdown_request(&self, sig: Sig, flags: Flags) -> bool {
        match sig {
            Sig::Cont => flags.stopit,
            Sig::Pwr => true,
            Sig::Term => self.config.container,
            Sig::Int | Sig::Alrm => false,
        }
    }

    /// A signal outside stage 2: runit's warning (SIGTERM outside container mode is
    /// never delivered; if it were, it is ignored as runit ignores it).
    fn wrong_stage(&mut self, sig: Sig) {
        if sig == Sig::Term && !self.config.container {
            return;
        }
        // Container mode: a stop request during stage 1 is kept; stage 2 is skipped.
        if sig == Sig::Term
            && matches!(self.state, State::Running { stage: StageId::One, .. } | State::ForkPause { job: Job::Stage(StageId::One), .. })
        {
            self.term_pending = true;
            return;
        }
        self.say(Msg::SignalsOnlyInStage2);
    }

    fn on_signal(&mut self, now: Now, sig: Sig, flags: Flags) {
        match self.state {
            S::Running { stage: StageId::Two, pid } => {
                if self.is_shutdown_request(sig, flags) {
                    self.stop_stage2(now, pid);
                    return;
                }
                match sig {
                    Sig::Int => {
                        if flags.ctrlaltdel {
                            self.say(Msg::CtrlAltDelRequest);
                            self.spawn(Job::CtrlAltDel, Some(Stage2 { pid, exited: None }));
                        }
                    }
                    Sig::Alrm => self.actions.push_back(Action::Kill { pid, sig: SendSig::Alrm }),
                    Sig::Cont | Sig::Pwr | Sig::Term => {}
                }
            }
            S::Running { stage: StageId::One | StageId::Three, .. } => self.wrong_stage(sig),
            S::ForkPause { job: Job::Stage(StageId::One | StageId::Three), .. } => self.wrong_stage(sig),
            // No stage 2 process exists (restart pause, failed fork): a shutdown request
            // goes straight to stage 3; anything else waits for the new stage 2.
            S::RestartPause { .. } | S::ForkPause { job: Job::Stage(StageId::Two), .. } => {
                if self.is_shutdown_request(sig, flags) {
                    self.actions.push_back(Action::ClearStopit);
                    self.enter_stage3_after_stage2();
                }
            }
            // Busy with a shutdown, ctrlaltdel, or the end: runit is not listening.
            S::ForkPause { job: Job::CtrlAltDel | Job::Final(_), .. } => {}
            S::Start | S::Spawning { .. } | S::CtrlAltDel { .. } | S::Stopping { .. } | S::Killing { .. } | S::Final { .. } | S::Halted => {
            }
        }
    }

    /// ctrlaltdel is done: shut down iff stopit is now executable, else back to stage 2.
    fn ctrlaltdel_done(&mut self, now: Now, stage2: Stage2, flags: Flags) {
        if flags.stopit {
            match stage2.exited {
                None => self.stop_stage2(now, stage2.pid),
                Some(_) => {
                    self.actions.push_back(Action::ClearStopit);
                    self.enter_stage3_after_stage2();
                }
            }
            return;
        }
        match stage2.exited {
            None => self.state = State::Running { stage: StageId::Two, pid: stage2.pid },
            Some(status) => self.stage_ended(now, StageId::Two, stage2.pid, status, flags),
        }
    }

    /// A child was reaped. One that is not this state's child is an orphan (or a stale
    /// pid): just collected.
    fn on_exited(&mut self, now: Now, pid: Pid, status: i32, flags: Flags) {
        match self.state {
            S::Running { stage, pid: p } => {
                if p == pid {
                    self.stage_ended(now, stage, pid, status, flags);
                }
            }
            S::CtrlAltDel { stage2, pid: cad } => {
                if cad == pid {
                    if let Ended::Signal(_) = Ended::from_status(status) {
                        self.say(Msg::ChildCrashed(Script::CtrlAltDel));
                    }
                    self.say(Msg::LeaveStage(Script::CtrlAltDel));
                    self.ctrlaltdel_done(now, stage2, flags);
                } else if stage2.pid == pid && stage2.exited.is_none() {
                    self.state = S::CtrlAltDel { stage2: Stage2 { pid, exited: Some(status) }, pid: cad };
                }
            }
            S::ForkPause { job: Job::CtrlAltDel, stage2: Some(s2), until } => {
                if s2.pid == pid && s2.exited.is_none() {
                    self.state = S::ForkPause { job: Job::CtrlAltDel, stage2: Some(Stage2 { pid, exited: Some(status) }), until };
                }
            }
            S::Stopping { pid: p, .. } | S::Killing { pid: p } => {
                if p == pid {
                    self.stage2_code = 0;
                    self.enter_stage3_after_stage2();
                }
            }
            S::Final { pid: Some(p) } => {
                if p == pid {
                    self.state = S::Halted;
                }
            }
            S::Start | S::Spawning { .. } | S::ForkPause { .. } | S::RestartPause { .. } | S::Final { pid: None } | S::Halted => {}
        }
    }

    fn on_tick(&mut self, now: Now) {
        match self.state {
            S::ForkPause { until, .. } => {
                if now.mono >= until {
                    self.retry_spawn();
                }
            }
            S::RestartPause { until } => {
                if now.mono >= until {
                    self.say(Msg::Restarting);
                    self.spawn(Job::Stage(StageId::Two), None);
                }
            }
            S::Stopping { pid, kill_at } => {
                if now.mono >= kill_at {
                    self.say(Msg::Stage2NotTerminated);
                    self.actions.push_back(Action::Kill { pid, sig: SendSig::Kill });
                    self.state = S::Killing { pid };
                }
            }
            // No deadline.
            S::Start | S::Spawning { .. } | S::Running { .. } | S::CtrlAltDel { .. } | S::Killing { .. } | S::Final { .. } | S::Halted => {}
        }
    }

    /// The fork pause is over: the same job again (moved out of the state, not cloned).
    fn retry_spawn(&mut self) {
        match core::mem::replace(&mut self.state, S::Start) {
            S::ForkPause { job, stage2, .. } => self.spawn(job, stage2),
            other => self.state = other,
        }
    }

    /// The reply to [`Action::Spawn`]: the child's pid, or the fork's errno.
    fn on_spawn_reply(&mut self, now: Now, reply: Result<Pid, Errno>) {
        if !self.owes_spawn_reply() {
            // An unsolicited reply is a driver bug; ignoring it is the safe answer.
            return;
        }
        // The job moves out of the state (a final plan is not cloned); every arm below
        // sets the next state.
        let S::Spawning { job, stage2 } = core::mem::replace(&mut self.state, S::Start) else { return };
        match (job, reply) {
            (Job::Stage(stage), Ok(pid)) => self.state = S::Running { stage, pid },
            (Job::CtrlAltDel, Ok(pid)) => match stage2 {
                Some(stage2) => self.state = S::CtrlAltDel { stage2, pid },
                // Cannot happen (a ctrlaltdel spawn always records stage 2); stay safe.
                None => self.state = S::CtrlAltDel { stage2: Stage2 { pid: 0, exited: Some(0) }, pid },
            },
            (Job::Final(_), Ok(pid)) => self.state = S::Final { pid: Some(pid) },
            (Job::Final(plan), Err(_)) => {
                // runit does the final step itself when it cannot fork for it.
                self.actions.push_back(Action::RunInline(plan));
                self.state = S::Final { pid: None };
            }
            (job @ (Job::Stage(_) | Job::CtrlAltDel), Err(errno)) => {
                let script = match job {
                    Job::Stage(s) => Script::Stage(s),
                    Job::CtrlAltDel | Job::Final(_) => Script::CtrlAltDel,
                };
                self.say(Msg::ForkFailed(script, errno));
                self.state = S::ForkPause { job, stage2, until: now.mono + FORK_RETRY };
            }
        }
    }
}

/// The final child's steps: reboot if the reboot flag is executable, else power off
/// and, if that returns, halt after 2 s; each preceded by `sync()` unless nosync.
pub fn final_plan(flags: Flags) -> FinalPlan {
    let mut steps = Vec::new();
    let go = |msg: Msg, cmd: RebootCmd, steps: &mut Vec<FinalStep>| {
        steps.push(FinalStep::Say(msg));
        if !flags.nosync {
            steps.push(FinalStep::Sync);
        }
        steps.push(FinalStep::Reboot(cmd));
    };
    if flags.reboot {
        go(Msg::SystemReboot, RebootCmd::Restart, &mut steps);
    } else {
        go(Msg::PowerOff, RebootCmd::PowerOff, &mut steps);
        steps.push(FinalStep::Sleep(POWEROFF_HALT_FALLBACK));
        go(Msg::SystemHalt, RebootCmd::Halt, &mut steps);
    }
    FinalPlan(steps)
}

impl Machine for Stages {
    type Input = Input;
    type Action = Action;
    type Owed = Owed;

    fn owed(&self) -> Option<Owed> {
        Stages::owed(self)
    }

    /// A spawn is answered by its pid or its fork errno.
    fn answers(owed: &Owed, input: &Input) -> bool {
        match (owed, input) {
            (Owed::Spawn(_), Input::Spawned { .. } | Input::SpawnFailed { .. }) => true,
            (Owed::Spawn(_), Input::Boot | Input::Exited { .. } | Input::Signal { .. } | Input::Tick) => false,
        }
    }

    fn handle(&mut self, now: Now, input: Input) {
        match input {
            // Only the first Boot starts stage 1; a repeated one is ignored.
            Input::Boot => {
                if self.state == S::Start {
                    self.say(Msg::Booting);
                    self.spawn(Job::Stage(StageId::One), None);
                }
            }
            Input::Spawned { pid } => self.on_spawn_reply(now, Ok(pid)),
            Input::SpawnFailed { errno } => self.on_spawn_reply(now, Err(errno)),
            Input::Exited { pid, status, flags } => self.on_exited(now, pid, status, flags),
            Input::Signal { sig, flags } => self.on_signal(now, sig, flags),
            Input::Tick => self.on_tick(now),
        }
        debug_assert!(self.actions.len() <= MAX_ACTIONS_PER_INPUT, "bounded actions per input");
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn poll_deadline(&self) -> Option<Mono> {
        match self.state {
            S::ForkPause { until, .. } | S::RestartPause { until } => Some(until),
            S::Stopping { kill_at, .. } => Some(kill_at),
            S::Start | S::Spawning { .. } | S::Running { .. } | S::CtrlAltDel { .. } | S::Killing { .. } | S::Final { .. } | S::Halted => {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
