//! Stop that ends (issue 11): the opt-in s6 files `down-signal`, `timeout-kill`,
//! `flag-timeout-killpg` and `timeout-finish` (spec/additions.md §1.4–§1.6), for the main
//! slot. Without the files [`Stop::RUNIT`] applies and runsv behaves as runit does, action
//! for action.
//!
//! - `down-signal` replaces TERM in every stop (`d`, `x`/SIGTERM, `t`); CONT still follows
//!   a stop that wants the service down, as in runit.
//! - `timeout-kill` arms a deadline at the stop: if `./run` is still alive then, SIGKILL,
//!   re-sent every [`KILL_RESEND`] while it lives (s6). Armed by every stop that sends the
//!   stop signal or wants the service down (s6 arms it for `-d` only; runit's `t` is a stop
//!   too, so it ends too). A `t` whose `control/t` succeeded with want up arms nothing:
//!   the override took the stop over.
//! - `flag-timeout-killpg`: `./run` and `./finish` start in their own process group, and
//!   the stop signal, its CONT and the SIGKILL go to the whole group, so that children the
//!   service forked do not outlive it (s6 sends only the SIGKILL to the group, but s6 also
//!   gives every service its own session). When `./run` exits after a stop, whatever is
//!   left of its group gets SIGKILL at once. Commands (`sv kill`, `sv hup`...) keep going
//!   to the pid, as in runit.
//! - `timeout-finish`: SIGKILL to `./finish` still running at the deadline (re-sent every
//!   [`KILL_RESEND`]), with a warning.
//!
//! The files are read once, at start-up, like runit's `down` (s6 re-reads them at each
//! event): a change takes effect at runsv's next start. The log slot keeps runit's
//! behaviour (`log/timeout-kill` and friends are not read).

use alloc::vec::Vec;

use super::{Action, Phase, Runsv, Sig, Slot};
use crate::svcfiles;
use crate::time::{Mono, Now, Span};

/// s6 re-sends SIGKILL this often while the process it was sent to is still alive.
pub const KILL_RESEND: Span = Span::from_secs(5);

/// How one slot is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stop {
    /// The stop signal (`down-signal`; runit: TERM).
    pub signal: Sig,
    /// SIGKILL this long after a stop if still alive (`timeout-kill`; runit: never).
    pub kill_after: Option<Span>,
    /// SIGKILL to `./finish` after this long (`timeout-finish`; runit: never).
    pub finish_limit: Option<Span>,
    /// Own process group, signalled as a whole (`flag-timeout-killpg`; runit: no).
    pub group: bool,
}

impl Stop {
    /// runit's behaviour: TERM, no escalation, no finish limit, runsv's process group.
    pub const RUNIT: Stop = Stop { signal: Sig::Term, kill_after: None, finish_limit: None, group: false };

    /// The settings from the files' contents (`None` = no such file) and whether
    /// `flag-timeout-killpg` exists, with the warning lines for rejected contents (each
    /// rejected file keeps runit's default).
    pub fn from_files(
        dir: &[u8],
        down_signal: Option<&[u8]>,
        timeout_kill: Option<&[u8]>,
        timeout_finish: Option<&[u8]>,
        killpg: bool,
    ) -> (Stop, Vec<Vec<u8>>) {
        let signal = svcfiles::down_signal(down_signal);
        let kill = svcfiles::timeout_kill(timeout_kill);
        let finish = svcfiles::timeout_finish(timeout_finish);
        let warnings = [signal.warning, kill.warning, finish.warning].into_iter().flatten().map(|w| w.line(dir)).collect();
        let ms = |v: Option<u32>| v.map(|ms| Span::from_millis(u64::from(ms)));
        let stop = Stop { signal: signal.value, kill_after: ms(kill.value), finish_limit: ms(finish.value), group: killpg };
        (stop, warnings)
    }
}

impl Runsv {
    /// This machine with the main slot's stop settings (read by the runtime at start-up).
    pub fn with_stop(mut self, stop: Stop) -> Runsv {
        self.stop = stop;
        self
    }

    /// The main slot's stop settings.
    pub fn stop_settings(&self) -> Stop {
        self.stop
    }

    /// A slot's stop settings: the log slot always stops as in runit.
    pub(super) fn stop_of(&self, slot: Slot) -> Stop {
        match slot {
            Slot::Main => self.stop,
            Slot::Log => Stop::RUNIT,
        }
    }

    /// Sends a stop-related signal (the stop signal, its CONT, the SIGKILL) to the slot's
    /// live process, or to its whole group with `flag-timeout-killpg`.
    pub(super) fn stop_signal(&mut self, slot: Slot, pid: u32, sig: Sig) {
        // An adopted child not leading its own group (started before the flag existed)
        // gets the signal alone, through its pidfd.
        if self.stop_of(slot).group && self.adopted(slot).is_none_or(|a| a.own_group) {
            debug_assert!(pid != 0 && self.slot(slot).is_some_and(|s| s.pid() == pid), "groups are led by the slot's child");
            self.actions.push_back(Action::SignalGroup(slot, pid, sig));
        } else {
            self.signal(slot, pid, sig);
        }
    }

    /// A stop of the running slot arms `timeout-kill` (when `arm`), keeping an earlier
    /// deadline: a second stop never postpones the SIGKILL.
    pub(super) fn arm_kill(&mut self, now: Now, slot: Slot, arm: bool) {
        let after = self.stop_of(slot).kill_after;
        if let (true, Some(after), Phase::Run { kill_at, .. }) = (arm, after, &mut self.slot_mut(slot).phase) {
            let due = now.mono + after;
            *kill_at = Some(kill_at.map_or(due, |t| t.min(due)));
        }
    }

    /// The `timeout-finish` deadline for a `./finish` starting now.
    pub(super) fn finish_deadline(&self, now: Now, slot: Slot) -> Option<Mono> {
        self.stop_of(slot).finish_limit.map(|limit| now.mono + limit)
    }

    /// `./run` was reaped after a stop: with `flag-timeout-killpg`, what is left of its
    /// process group is killed at once, so no child outlives a stopped service. (The
    /// group's id cannot name another group yet: the kernel keeps the number while any
    /// member lives, and runsv sends this before anything else can run in it.)
    pub(super) fn kill_leftovers(&mut self, slot: Slot, pid: u32, stopped: bool) {
        if stopped && self.stop_of(slot).group {
            self.stop_signal(slot, pid, Sig::Kill);
        }
    }

    /// The loop top for a live process: SIGKILL when its deadline has passed, then again
    /// every [`KILL_RESEND`] until it is reaped.
    pub(super) fn escalate(&mut self, now: Now, slot: Slot) {
        let (pid, due) = match self.slot(slot).map(|s| s.phase) {
            Some(Phase::Run { pid, kill_at: Some(t), .. }) => (pid, t),
            Some(Phase::Finish { pid: Some(pid), kill_at: Some(t), .. }) => {
                if now.mono >= t {
                    self.actions.push_back(Action::Warn(super::text::finish_timed_out(&self.dir)));
                }
                (pid, t)
            }
            _ => return,
        };
        if now.mono < due {
            return;
        }
        self.stop_signal(slot, pid, Sig::Kill);
        match &mut self.slot_mut(slot).phase {
            Phase::Run { kill_at, .. } | Phase::Finish { kill_at, .. } => *kill_at = Some(now.mono + KILL_RESEND),
            Phase::Down { .. } | Phase::Starting | Phase::GivenUp { .. } => {}
        }
    }
}
