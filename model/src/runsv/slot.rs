//! One supervised process slot (main or log): its phase, which carries only the data that
//! phase needs, and the three facts runit keeps across phases (`want`, `paused`, `stamp`).
//!
//! Upcoming features add variants or fields here, not flags beside them: a readiness flag
//! in [`Phase::Run`], a kill deadline in a stopping phase, a back-off delay in
//! [`Phase::Down`] and a given-up phase, an adopted child in [`Phase::Run`].

use super::adopt::Adopted;
use super::ready::{History, RunReady};
use crate::status::{RunState, StatusRecord, Want};
use crate::time::{Mono, Tai64n};

/// What a slot is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No process.
    Down {
        /// No start before this: the throttle after a short cycle, or the fork retry.
        not_before: Option<Mono>,
        /// A start owed whatever `want` says, if any.
        deferred: Option<Deferred>,
    },
    /// A start is under way: `control/u` or the fork is owed a reply (status says down).
    Starting,
    /// `./run` (`log/run`) runs.
    Run {
        /// Its pid.
        pid: u32,
        /// When it started (the throttle measures the cycle from here).
        started: Mono,
        /// TERM was sent and it has not exited since.
        got_term: bool,
        /// SIGKILL is due then (`timeout-kill` after a stop; see `stop.rs`).
        kill_at: Option<Mono>,
        /// Its readiness (docs/readiness.md §2): lives and dies with this child.
        ready: RunReady,
        /// Taken over from a previous runsv (`adopt.rs`): not runsv's child, watched and
        /// signalled through a pidfd, its exit status unknown.
        adopted: Option<Adopted>,
    },
    /// `./finish a b` is owed (`pid: None`, started at once or after a fork retry) or runs.
    /// Main slot only.
    Finish {
        /// Its pid, once forked.
        pid: Option<u32>,
        /// Its arguments, from the exit of `./run` it follows.
        args: (i32, i32),
        /// When the `./run` of this cycle started (the throttle measures run + finish).
        started: Mono,
        /// The fork retry deadline after a failed fork of `./finish`.
        not_before: Option<Mono>,
        /// SIGKILL is due then (`timeout-finish`, once `./finish` runs; see `stop.rs`).
        kill_at: Option<Mono>,
    },
    /// Given up after too many automatic restarts (`restart-limit-count`; `backoff.rs`):
    /// down, want down, nothing starts it until a command. Main slot only.
    GivenUp {
        /// 1 s after the last death: the start a `u` makes waits for it (runit's throttle).
        not_before: Option<Mono>,
    },
}

/// A start a down slot owes even though `want` is not up (runit would already have made it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Deferred {
    /// `o` arrived while down and the throttle is pending: start once.
    Once,
    /// The fork failed: the start goes on after [`super::FORK_RETRY`], without running
    /// `control/u` again (runit's `startservice` loops on `fork`).
    ForkRetry,
}

/// Everything runsv tracks for one slot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotState {
    /// What the slot is doing.
    pub phase: Phase,
    /// up / down / exit.
    pub want: Want,
    /// STOP sent and no CONT since (cleared on every start, as runit does).
    pub paused: bool,
    /// Wall time of the last change to run or down (written into `status`).
    pub stamp: Tai64n,
    /// What `supervise/status.ext` adds that outlives one child: last exit, counters,
    /// the sd_notify STATUS text.
    pub history: History,
}

impl SlotState {
    /// A slot at start-up: down, with the initial want, stamped now.
    pub fn new(want: Want, stamp: Tai64n) -> SlotState {
        SlotState { phase: Phase::Down { not_before: None, deferred: None }, want, paused: false, stamp, history: History::default() }
    }

    /// The state runit publishes: a start under way is still down.
    pub fn state(&self) -> RunState {
        match self.phase {
            Phase::Down { .. } | Phase::Starting | Phase::GivenUp { .. } => RunState::Down,
            Phase::Run { .. } => RunState::Run,
            Phase::Finish { .. } => RunState::Finish,
        }
    }

    /// The pid of the slot's process, 0 if none (runit's `sv.pid`).
    pub fn pid(&self) -> u32 {
        match self.phase {
            Phase::Run { pid, .. } | Phase::Finish { pid: Some(pid), .. } => pid,
            Phase::Down { .. } | Phase::Starting | Phase::Finish { pid: None, .. } | Phase::GivenUp { .. } => 0,
        }
    }

    /// TERM sent to the running process and not exited since.
    pub fn got_term(&self) -> bool {
        matches!(self.phase, Phase::Run { got_term: true, .. })
    }

    /// A start is owed although want is not up (an `o`, or the fork retry of one).
    pub fn once_pending(&self) -> bool {
        matches!(self.phase, Phase::Down { deferred: Some(_), .. }) && self.want != Want::Up
    }

    /// The throttle or fork-retry deadline, if one is pending.
    pub fn not_before(&self) -> Option<Mono> {
        match self.phase {
            Phase::Down { not_before, .. } | Phase::Finish { not_before, .. } => not_before,
            Phase::Starting | Phase::Run { .. } | Phase::GivenUp { .. } => None,
        }
    }

    /// `./finish`'s arguments while in finish.
    pub fn finish_args(&self) -> Option<(i32, i32)> {
        match self.phase {
            Phase::Finish { args, .. } => Some(args),
            Phase::Down { .. } | Phase::Starting | Phase::Run { .. } | Phase::GivenUp { .. } => None,
        }
    }

    /// When the slot wants to be started, if it does: `Some(None)` = as soon as possible.
    /// A `./finish` is owed whatever `want` says; `./run` needs want up or a deferred start.
    pub fn start_due(&self) -> Option<Option<Mono>> {
        match self.phase {
            Phase::Down { not_before, deferred } if self.want == Want::Up || deferred.is_some() => Some(not_before),
            Phase::Finish { pid: None, not_before, .. } => Some(not_before),
            Phase::Down { .. } | Phase::Starting | Phase::Run { .. } | Phase::Finish { pid: Some(_), .. } | Phase::GivenUp { .. } => None,
        }
    }

    /// Applies `f` to every monotonic time the slot stores (explorer canonicalisation:
    /// states equal up to a shift of time behave alike).
    pub fn map_times(&mut self, mut f: impl FnMut(Mono) -> Mono) {
        self.phase = match self.phase {
            Phase::Down { not_before, deferred } => Phase::Down { not_before: not_before.map(&mut f), deferred },
            Phase::Starting => Phase::Starting,
            Phase::Run { pid, started, got_term, kill_at, ready, adopted } => {
                Phase::Run { pid, started: f(started), got_term, kill_at: kill_at.map(&mut f), ready: ready.map_times(&mut f), adopted }
            }
            Phase::Finish { pid, args, started, not_before, kill_at } => {
                Phase::Finish { pid, args, started: f(started), not_before: not_before.map(&mut f), kill_at: kill_at.map(&mut f) }
            }
            Phase::GivenUp { not_before } => Phase::GivenUp { not_before: not_before.map(&mut f) },
        };
    }

    /// When SIGKILL is due for the slot's live process, if an escalation is armed
    /// (`timeout-kill` after a stop, `timeout-finish` for `./finish`).
    pub fn kill_at(&self) -> Option<Mono> {
        match self.phase {
            Phase::Run { kill_at, .. } | Phase::Finish { pid: Some(_), kill_at, .. } => kill_at,
            Phase::Down { .. } | Phase::Starting | Phase::Finish { pid: None, .. } | Phase::GivenUp { .. } => None,
        }
    }

    /// The running child's readiness, if a `./run` (`log/run`) runs.
    pub fn run_ready(&self) -> Option<&RunReady> {
        match &self.phase {
            Phase::Run { ready, .. } => Some(ready),
            Phase::Down { .. } | Phase::Starting | Phase::Finish { .. } | Phase::GivenUp { .. } => None,
        }
    }

    /// Whether the running child is ready (never outside [`Phase::Run`]).
    pub fn is_ready(&self) -> bool {
        self.run_ready().is_some_and(RunReady::is_ready)
    }

    /// The 20-byte `status` record for this slot.
    pub fn record(&self) -> StatusRecord {
        StatusRecord::new(self.stamp, self.pid(), self.paused, self.want, self.got_term(), self.state())
    }
}
