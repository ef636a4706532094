//! Readiness and the extended status record, wired into the runsv machine
//! (docs/readiness.md §2, §3).
//!
//! Kept beside the transition table rather than inside it: a child's readiness lives in
//! [`Phase::Run`] (so it cannot outlive that child), what outlives a child is the slot's
//! [`History`], and the protocol inputs ([`Input::NotificationFd`], [`Input::Notify`], the
//! watchdog deadline) only ever touch the main slot's running child. The table calls in
//! here at the two moments a child begins and ends.

use alloc::vec::Vec;

use super::{Action, Input, Phase, Runsv, Sig, Slot, SlotState};
use crate::readiness::text as rtext;
use crate::readiness::{authorize, parse_datagram, Credit, Datagram, PipeEvent, PipeReadiness, Protocol, Sender};
use crate::record::{self, ExitHow, LastExit, Record, SlotRecord};
use crate::status::Want;
use crate::time::{Mono, Now, Span, Tai64n};

/// A death is *quick* when the child ran less than this (docs/readiness.md §2 rule 11).
pub const QUICK_DEATH: Span = Span::from_secs(10);

/// The readiness settings runsv found in the service directory when it started (main slot
/// only; the log slot never declares a protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Readiness {
    /// `notification-fd` and/or `notify-socket`.
    pub protocol: Protocol,
    /// A valid `timeout-watchdog` (only with `notify-socket`).
    pub watchdog: Option<Span>,
}

impl Readiness {
    /// Whether runsv shows s6's clients the two things `s6-notifyoncheck` checks for: a
    /// POSIX record lock (`fcntl(F_SETLK, F_WRLCK)`) on the main `supervise/lock`, which
    /// s6's `s6_svc_ok` queries with `fcntl(F_GETLK)`, and s6's `event/` fifodir in the
    /// service directory, to which it subscribes. Only when the service declares
    /// `notification-fd`. runit's world never looks at either (runsv's mutual exclusion
    /// stays its `flock`; `sv` and daemontools use the `ok` FIFO), so it stays invisible
    /// there (docs/divergences.md, Additions).
    pub fn s6_compat(self) -> bool {
        matches!(self.protocol, Protocol::NotificationFd | Protocol::Both)
    }
}

/// A running child's watchdog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watchdog {
    /// The period (`timeout-watchdog`, or the child's `WATCHDOG_USEC=`).
    pub period: Span,
    /// Missed when this passes without a `WATCHDOG=1`.
    pub deadline: Mono,
    /// SIGABRT was sent; the deadline is now the SIGKILL deadline.
    pub fired: bool,
}

/// One child's readiness: part of [`Phase::Run`], so it is born and dies with that child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunReady {
    /// When it became ready; `None` = not ready.
    pub since: Option<Tai64n>,
    /// `STOPPING=1` was received: not ready for the rest of its life.
    pub stopping: bool,
    /// Its notification-fd pipe ([`PipeReadiness::Closed`] when it has none).
    pub pipe: PipeReadiness,
    /// Its watchdog, if one runs.
    pub watchdog: Option<Watchdog>,
}

impl RunReady {
    /// A child just started: ready at once without a protocol (s6's rule), else waiting.
    pub fn at_start(readiness: Readiness, now: Now) -> RunReady {
        let pipe = match readiness.protocol {
            Protocol::NotificationFd | Protocol::Both => PipeReadiness::Waiting,
            Protocol::None | Protocol::SdNotify => PipeReadiness::Closed,
        };
        RunReady {
            since: readiness.protocol.ready_at_start().then(|| Tai64n::from_wall(now.wall)),
            stopping: false,
            pipe,
            watchdog: readiness.watchdog.map(|period| Watchdog { period, deadline: now.mono + period, fired: false }),
        }
    }

    /// Whether the child is ready.
    pub fn is_ready(&self) -> bool {
        self.since.is_some()
    }

    /// With every stored monotonic time passed through `f` (explorer canonicalisation).
    pub fn map_times(self, mut f: impl FnMut(Mono) -> Mono) -> RunReady {
        RunReady { watchdog: self.watchdog.map(|w| Watchdog { deadline: f(w.deadline), ..w }), ..self }
    }

    /// Becomes ready now, unless it already is or said `STOPPING=1`. True if it changed.
    fn mark_ready(&mut self, now: Now) -> bool {
        let becomes = self.since.is_none() && !self.stopping;
        if becomes {
            self.since = Some(Tai64n::from_wall(now.wall));
        }
        becomes
    }
}

/// What `status.ext` says that outlives one child.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct History {
    /// How the last `./run` ended.
    pub last_exit: Option<LastExit>,
    /// Starts of `./run` (`log/run`) since runsv started.
    pub starts: u64,
    /// Latest run of consecutive quick deaths.
    pub quick_deaths: u64,
    /// The last `STATUS=` text (cleared at each start).
    pub status_text: Vec<u8>,
}

/// How a raw wait status ended the child.
pub fn exit_how(wstatus: i32) -> ExitHow {
    if wstatus & 0x7f != 0 {
        ExitHow::Signal((wstatus & 0x7f) as u8)
    } else {
        ExitHow::Code(((wstatus >> 8) & 0xff) as u8)
    }
}

impl Runsv {
    /// The readiness settings of `slot`.
    fn readiness_of(&self, slot: Slot) -> Readiness {
        match slot {
            Slot::Main => self.readiness,
            Slot::Log => Readiness::default(),
        }
    }

    /// The [`Phase::Run`] a child just forked for `slot` starts in; counts the start and
    /// clears the previous child's STATUS text.
    pub(super) fn fresh_run(&mut self, now: Now, slot: Slot, pid: u32) -> Phase {
        let ready = RunReady::at_start(self.readiness_of(slot), now);
        let h = &mut self.slot_mut(slot).history;
        h.starts = h.starts.saturating_add(1);
        h.status_text.clear();
        Phase::Run { pid, started: now.mono, got_term: false, kill_at: None, ready, adopted: None }
    }

    /// The running child of `slot` was reaped with `wstatus`: record the exit, count a
    /// quick death, and close its notification pipe if still open. Call before the phase
    /// changes.
    pub(super) fn note_exit(&mut self, now: Now, slot: Slot, wstatus: i32) {
        let Phase::Run { started, got_term, ready, .. } = self.phase(slot) else {
            debug_assert!(false, "note_exit outside run");
            return;
        };
        if ready.pipe.wants_read() {
            self.actions.push_back(Action::CloseNotificationFd);
        }
        let s = self.slot_mut(slot);
        let asked = s.want != Want::Up || got_term;
        let quick = !asked && (now.mono - started < QUICK_DEATH || !ready.is_ready());
        s.history.quick_deaths = if quick { s.history.quick_deaths.saturating_add(1) } else { 0 };
        s.history.last_exit = Some(LastExit { how: exit_how(wstatus), at: Tai64n::from_wall(now.wall) });
    }

    /// TERM is being sent to the child: its watchdog stops (a stopping service is not
    /// aborted for missing pings).
    pub(super) fn without_watchdog(ready: RunReady) -> RunReady {
        RunReady { watchdog: None, ..ready }
    }

    /// Whether runsv writes `status.ext`: only for a service that declares a readiness
    /// protocol, so a plain runit service directory gets exactly runit's files.
    pub fn writes_record(&self) -> bool {
        self.readiness.protocol != Protocol::None || self.backoff.opted_in()
    }

    /// The `status.ext` text for the current state, when the record is written.
    pub(super) fn record_text(&self) -> Option<Vec<u8>> {
        if !self.writes_record() {
            return None;
        }
        Some(record::encode(&self.record()))
    }

    /// The extended record of both slots, as `status.ext` would say it now.
    pub fn record(&self) -> Record {
        let mut main = slot_record(&self.main, self.readiness.protocol, self.normally_up[0]);
        main.backoff = self.backoff_record();
        let log = self.log.as_ref().map(|l| slot_record(l, Protocol::None, self.normally_up[1]));
        Record { main, log }
    }

    /// Applies `f` to each slot's normally-up flag (explorer canonicalisation: the flag
    /// only changes what `status.ext` says, never what the machine does next, so without
    /// a record it is unobservable).
    pub fn map_normally_up(&mut self, mut f: impl FnMut(bool) -> bool) {
        self.normally_up = self.normally_up.map(&mut f);
    }

    /// The watchdog deadline of the main slot's running child, if any.
    pub(super) fn watchdog_deadline(&self) -> Option<Mono> {
        self.main.run_ready().and_then(|r| r.watchdog).map(|w| w.deadline)
    }

    /// Readiness inputs (and the watchdog half of [`Input::Tick`]); everything else is
    /// left to the transition table. Called only when no reply is owed.
    pub(super) fn on_readiness_input(&mut self, now: Now, input: &Input) {
        match input {
            Input::NotificationFd { pid, chunk } => self.on_pipe(now, *pid, chunk),
            Input::Notify { sender, payload, fds, truncated } => self.on_datagram(now, sender.as_ref(), payload, *fds, *truncated),
            Input::Tick => self.watchdog_due(now),
            Input::Start
            | Input::Control(..)
            | Input::Terminate
            | Input::ChildExited { .. }
            | Input::Spawned(..)
            | Input::SpawnFailed(..)
            | Input::ControlDone(_)
            | Input::Resume(_)
            | Input::AdoptedExited { .. } => {}
        }
    }

    /// The main slot's running child's readiness, with its pid.
    fn main_run(&self) -> Option<(u32, RunReady)> {
        match self.main.phase {
            Phase::Run { pid, ready, .. } => Some((pid, ready)),
            Phase::Down { .. } | Phase::Starting | Phase::Finish { .. } | Phase::GivenUp { .. } => None,
        }
    }

    fn set_main_ready(&mut self, new: RunReady) {
        if let Phase::Run { ready, .. } = &mut self.main.phase {
            *ready = new;
        }
    }

    /// One read of the notification pipe of child `pid` (empty = EOF or error).
    fn on_pipe(&mut self, now: Now, pid: u32, chunk: &[u8]) {
        // A read from a previous child's pipe (queued before its reap) is ignored.
        let Some((child, mut ready)) = self.main_run().filter(|(child, r)| *child == pid && r.pipe.wants_read()) else { return };
        debug_assert_eq!(child, pid);
        let event = if chunk.is_empty() { ready.pipe.on_eof() } else { ready.pipe.on_data(chunk) };
        let changed = match event {
            PipeEvent::Nothing => return,
            PipeEvent::Ready => ready.mark_ready(now),
            PipeEvent::ClosedUnready => false,
        };
        self.actions.push_back(Action::CloseNotificationFd);
        self.set_main_ready(ready);
        if changed {
            self.update(Slot::Main);
        }
    }

    /// One sd_notify datagram: credited to the current child only, then parsed and acted on.
    fn on_datagram(&mut self, now: Now, sender: Option<&Sender>, payload: &[u8], fds: usize, truncated: bool) {
        if !matches!(self.readiness.protocol, Protocol::SdNotify | Protocol::Both) {
            return;
        }
        let run = self.main_run();
        let credit = authorize(sender, run.map(|(pid, _)| pid));
        if let Some(w) = rtext::credit_warning(&self.dir, credit) {
            self.actions.push_back(Action::Warn(w));
        }
        let (Credit::Accept, Some((pid, mut ready))) = (credit, run) else { return };
        let msg = match parse_datagram(payload, fds, truncated) {
            Err(e) => {
                self.actions.push_back(Action::Warn(rtext::notify_error(&self.dir, e)));
                return;
            }
            // Datagrams are handled in order, so the barrier is reached at once: the
            // runtime closes every received descriptor after handing the datagram over.
            Ok(Datagram::Barrier) => return,
            Ok(Datagram::Message(m)) => m,
        };
        for w in &msg.warnings {
            self.actions.push_back(Action::Warn(rtext::field_warning(&self.dir, *w)));
        }
        let mut changed = false;
        if let Some(text) = msg.status {
            changed |= self.main.history.status_text != text;
            self.main.history.status_text = text;
        }
        if msg.stopping && !ready.stopping {
            ready.stopping = true;
            ready.since = None;
            changed = true;
        } else if msg.ready {
            changed |= ready.mark_ready(now);
        }
        match msg.watchdog_usec {
            Some(0) => ready.watchdog = None,
            Some(us) => {
                let period = Span(us.saturating_mul(1000));
                ready.watchdog = Some(Watchdog { period, deadline: now.mono + period, fired: false });
            }
            None => {}
        }
        if msg.watchdog_ping {
            if let Some(w) = ready.watchdog.filter(|w| !w.fired) {
                ready.watchdog = Some(Watchdog { deadline: now.mono + w.period, ..w });
            }
        }
        self.set_main_ready(ready);
        if msg.watchdog_trigger {
            if let Some(w) = ready.watchdog.filter(|w| !w.fired) {
                self.fire_watchdog(now, pid, ready, w);
            }
        }
        if changed {
            self.update(Slot::Main);
        }
    }

    /// A deadline may have passed: a missed watchdog aborts the child, a missed kill
    /// deadline after that kills it. The reap then follows the ordinary restart logic.
    fn watchdog_due(&mut self, now: Now) {
        let Some((pid, ready)) = self.main_run() else { return };
        let Some(w) = ready.watchdog.filter(|w| now.mono >= w.deadline) else { return };
        self.fire_watchdog(now, pid, ready, w);
    }

    /// systemd's `WatchdogSec=` action: SIGABRT, then SIGKILL one period later.
    fn fire_watchdog(&mut self, now: Now, pid: u32, mut ready: RunReady, w: Watchdog) {
        if w.fired {
            self.signal(Slot::Main, pid, Sig::Kill);
            ready.watchdog = None;
        } else {
            self.actions.push_back(Action::Warn(rtext::watchdog_timeout(&self.dir)));
            self.signal(Slot::Main, pid, Sig::Abrt);
            ready.watchdog = Some(Watchdog { deadline: now.mono + w.period, fired: true, ..w });
        }
        self.set_main_ready(ready);
    }
}

/// One slot's record from its state.
fn slot_record(s: &SlotState, readiness: Protocol, normally_up: bool) -> SlotRecord {
    SlotRecord {
        state: s.state(),
        pid: s.pid(),
        since: s.stamp,
        wanted: s.want,
        normally_up,
        paused: s.paused,
        got_term: s.got_term(),
        readiness,
        ready: s.is_ready(),
        ready_since: s.run_ready().and_then(|r| r.since),
        last_exit: s.history.last_exit,
        restarts: s.history.starts.saturating_sub(1),
        quick_deaths: s.history.quick_deaths,
        status_text: s.history.status_text.clone(),
        backoff: None,
    }
}
