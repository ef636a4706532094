//! The simulated surroundings of one real [`Runsv`]: it feeds [`Step`]s as the runtime
//! would, answers every obligation inside the step (fresh pids, scripted fork results and
//! `control/<c>` outcomes), tracks which children are alive, and checks runsv's named
//! invariants (ARCHITECTURE.md "Verification layers") on every action and after every step.
//!
//! Used by the proptest reference comparison, the exhaustive explorer and the fuzz targets,
//! so all three check the same invariants the same way. A violated invariant sets its bit
//! in [`World::violations`] and keeps the first message in [`World::first_violation`];
//! the world never panics on a misbehaving machine (but the machine's own `debug_assert!`s
//! may).

use std::collections::VecDeque;

use model::runsv::{finish_args, Action, Backoff, Config, Input, Owed, Program, Runsv, Sig, Slot, Stop};
use model::status::{self, RunState, StatusRecord, Want};
use model::time::{Mono, Now, Span};
use model::Machine;

use model::readiness::{Protocol, Sender};
use model::record;

use super::runsv::{Effect, Event, ReadyEvent, Replies, SlotView, Step, Written, FIRST_PID, FORK_ERRNO, STRAY_PID, T0, THROTTLE};

/// One named invariant; its index is its bit in [`World::violations`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invariant {
    /// At most one live child per slot: nothing is spawned beside a live child.
    OneChildPerSlot,
    /// The machine's pid for a slot is exactly the live child of that slot (or 0).
    PidTracksChild,
    /// The last `stat`/`status` written equals the slot's state.
    StatusEqualsState,
    /// `d`/`x` on a running slot leaves TERM (the `down-signal` when set; or a successful
    /// `control/t`) and CONT behind.
    StopSendsTermAndCont,
    /// Consecutive starts of `./run` (`log/run`) are at least 1 s apart, and at least 1 s
    /// after the end of a cycle that lasted under a second.
    ThrottleSpacing,
    /// Signals go only to live, unreaped children of the slot named.
    SignalsOnlyToLive,
    /// A slot that should start either runs or has a deadline in the future (never stuck).
    NeverStuckDown,
    /// Deadlines are in the future and within the fork-retry delay.
    TimeHygiene,
    /// The log pipe closes only once main is down; Exit only when no child lives; nothing
    /// after Exit.
    OrderlyExit,
    /// `./finish` gets the arguments of the exit it follows.
    FinishArgs,
    /// `paused` is what the last `p`/`c` since the last start made it.
    PauseConsistency,
    /// An obligation is the last action of its batch and `owed()` names it; nothing is
    /// owed between steps.
    ObligationHygiene,
    /// `./run` (`log/run`) starts only while wanted up, or for an `o` that arrived while the
    /// slot was down and was not followed by `d`/`x` (runit starts it at once, so a later
    /// `d` stops it: the service ends up down either way).
    StartOnlyWhenWanted,
    /// Once a slot's `pid` file exists it holds the slot's current pid (`<pid>\n`, or
    /// empty when none): every pid change is published by the very next status write.
    PidFileEqualsPid,
    /// A slot's want is what the commands received made it: the start-up `down` file, then
    /// the last of `u` (up), `o`/`d` (down), `x`/SIGTERM (exit, main), and for the log the
    /// exit sequence (exit when the log pipe closes).
    WantFollowsCommands,
    /// A stop ends within its timeout plus one tick: with `timeout-kill`, SIGKILL reaches a
    /// stopped `./run` still alive at its deadline, and with `timeout-finish` a `./finish`
    /// still alive at its own; runsv's next deadline is never later than one of these.
    StopEndsInTime,
    /// Without the files, runit's behaviour: no child in its own process group and no
    /// signal to a group unless `flag-timeout-killpg` is set (and then only for main).
    RunitUnlessOptedIn,
    /// Readiness (addition): a slot is ready only while its `./run` runs, and only after a
    /// readiness event from that very child (or at its start, without a protocol): never
    /// for a previous child, a forged sender, or after `STOPPING=1`.
    ReadyOnlyWhileThatChildRuns,
    /// Every `status.ext` written decodes, keeps the record's own invariants, and agrees
    /// with the 20 bytes written in the same step (and with the other slot's last ones).
    RecordAgrees,
    /// Adoption (addition): signals to an adopted child go through its pidfd, and only
    /// to it (a stop's group signal, with `flag-timeout-killpg`, goes to its group if it
    /// leads one).
    AdoptedByPidfd,
    /// Adoption: only the process the old status names, alive and with its start time,
    /// is ever adopted (never a reused pid), and never beside a live child.
    AdoptOnlyTheSame,
    /// Backoff (addition): a restart deadline is never further than the longest pause the
    /// backoff files allow (1 s without them; 5 s for a fork retry). The lower bound (with
    /// a `restart-delay` or growth, a start after an unasked death of a `./run` that lived
    /// under 10 s comes at least 1 s after the cycle ended) is checked as
    /// [`Invariant::ThrottleSpacing`], by counting that cycle as short.
    BackoffWithinBounds,
    /// Giving up (addition): only with `restart-limit-count`, and left only in a step
    /// that delivered a command (`u o d x`, SIGTERM); meanwhile nothing starts.
    GiveUpOnlyByCommand,
}

/// Every invariant, in bit order.
pub const INVARIANTS: [Invariant; 23] = [
    Invariant::OneChildPerSlot,
    Invariant::PidTracksChild,
    Invariant::StatusEqualsState,
    Invariant::StopSendsTermAndCont,
    Invariant::ThrottleSpacing,
    Invariant::SignalsOnlyToLive,
    Invariant::NeverStuckDown,
    Invariant::TimeHygiene,
    Invariant::OrderlyExit,
    Invariant::FinishArgs,
    Invariant::PauseConsistency,
    Invariant::ObligationHygiene,
    Invariant::StartOnlyWhenWanted,
    Invariant::PidFileEqualsPid,
    Invariant::WantFollowsCommands,
    Invariant::StopEndsInTime,
    Invariant::RunitUnlessOptedIn,
    Invariant::ReadyOnlyWhileThatChildRuns,
    Invariant::RecordAgrees,
    Invariant::AdoptedByPidfd,
    Invariant::AdoptOnlyTheSame,
    Invariant::BackoffWithinBounds,
    Invariant::GiveUpOnlyByCommand,
];

impl Invariant {
    /// Its bit in [`World::violations`].
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// How pids are chosen for successful forks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PidPolicy {
    /// 100, 101, ... (what the reference model does).
    Fresh,
    /// The smallest positive pid not alive (keeps the explorer's state space small; a second
    /// child beside a live one still gets a different pid).
    SmallestFree,
}

/// A real [`Runsv`] and everything the checks need to know about its surroundings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct World {
    /// The machine under test.
    pub m: Runsv,
    /// The current time.
    pub now: Now,
    /// Wall time never moves (explorer canonicalisation).
    pub fixed_wall: bool,
    /// Pid allocation.
    pub pid_policy: PidPolicy,
    /// Next fresh pid.
    pub next_pid: u32,
    /// Live children per slot (index 0 main, 1 log), in spawn order.
    pub live: [Vec<u32>; 2],
    /// Last `stat` + `status` written per slot.
    pub written: [Option<Written>; 2],
    /// Last `pid` file content written per slot.
    pub pid_file: [Option<Vec<u8>>; 2],
    /// When the last `./run` / `log/run` of each slot started.
    pub last_start: [Option<Mono>; 2],
    /// When the last cycle of each slot ended, and whether it was shorter than 1 s.
    pub last_down: [Option<(Mono, bool)>; 2],
    /// Raw status of the main slot's last `./run` exit (what `./finish` must get).
    pub last_run_exit: Option<i32>,
    /// What `paused` must be (last `p`/`c` since the last start).
    pub expect_paused: [bool; 2],
    /// An `o` arrived while the slot was down and no `d`/`x`/start came after it.
    pub once_armed: [bool; 2],
    /// What the commands received make each slot's want.
    pub expect_want: [Want; 2],
    /// The main slot's previous `./run` (reaped), for late notifications.
    pub prev_main: Option<u32>,
    /// The `./run` that delivered a readiness event runsv had to accept (and not
    /// `STOPPING=1` since).
    pub ready_credit: Option<u32>,
    /// The log pipe was closed.
    pub pipe_closed: bool,
    /// Exit was emitted.
    pub exited: bool,
    /// Effects of the last step, in order.
    pub effects: Vec<Effect>,
    /// The clock as the runtime reads it again after each obligation's reply (a script can
    /// block for a while), consumed in order; empty = time stands still within a step. The
    /// simulation fills it from the real run.
    pub clock_after_obligation: VecDeque<Now>,
    /// The main slot's stop settings the machine was built with.
    pub stop: Stop,
    /// When SIGKILL must have reached each slot's live child (a stop's `timeout-kill`, or
    /// `./finish`'s `timeout-finish`), until it is sent or the child exits.
    pub kill_due: [Option<Mono>; 2],
    /// The pid reaped by the step under way (a group may be killed after its leader).
    pub just_reaped: Option<u32>,
    /// The live adopted child of each slot (index 0 main, 1 log), if any.
    pub adopted: [Option<u32>; 2],
    /// The pids a [`model::runsv::Resume`] named that are the genuine old children.
    pub adoptable: [Vec<u32>; 2],
    /// Whether each slot's genuine old child leads its own process group.
    pub adopted_leads_group: [bool; 2],
    /// The main slot's last `./run` to end was an adopted one: `./finish` must get
    /// [`model::runsv::UNKNOWN_EXIT`].
    pub adopted_exit: bool,
    /// The main slot's backoff settings the machine was built with.
    pub backoff: Backoff,
    /// The main slot's last `./run` died unasked after under 10 s while the backoff files
    /// change the delay: the cycle it ends counts as short for [`Invariant::ThrottleSpacing`].
    pub quick_auto_death: bool,
    /// Bits of violated invariants ([`Invariant::bit`]).
    pub violations: u32,
    /// The first violation, described.
    pub first_violation: Option<String>,
}

fn ix(slot: Slot) -> usize {
    match slot {
        Slot::Main => 0,
        Slot::Log => 1,
    }
}

fn is_obligation(a: &Action) -> bool {
    matches!(a, Action::Spawn { .. } | Action::RunControl(_))
}

impl World {
    /// A started runsv (Input::Start fed and answered with `replies`).
    pub fn new(config: Config, pid_policy: PidPolicy, fixed_wall: bool, replies: Replies) -> World {
        let mut w = World::unstarted(config, pid_policy, fixed_wall);
        w.start(replies);
        w
    }

    /// A runsv built from its start-up facts, before [`Input::Start`] (see [`World::start`]).
    pub fn unstarted(config: Config, pid_policy: PidPolicy, fixed_wall: bool) -> World {
        World::unstarted_with_stop(config, Stop::RUNIT, pid_policy, fixed_wall)
    }

    /// A started runsv whose main slot has the stop settings `stop` (the opt-in files).
    pub fn new_with_stop(config: Config, stop: Stop, pid_policy: PidPolicy, fixed_wall: bool, replies: Replies) -> World {
        let mut w = World::unstarted_with_stop(config, stop, pid_policy, fixed_wall);
        w.start(replies);
        w
    }

    /// [`World::unstarted`] with the main slot's stop settings.
    pub fn unstarted_with_stop(config: Config, stop: Stop, pid_policy: PidPolicy, fixed_wall: bool) -> World {
        let want = |down: bool| if down { Want::Down } else { Want::Up };
        let expect_want = [want(config.down), want(config.log == Some(true))];
        World {
            m: Runsv::new(T0, config).with_stop(stop),
            now: T0,
            fixed_wall,
            pid_policy,
            next_pid: FIRST_PID,
            live: [Vec::new(), Vec::new()],
            written: [None, None],
            pid_file: [None, None],
            last_start: [None, None],
            last_down: [None, None],
            last_run_exit: None,
            expect_paused: [false, false],
            once_armed: [false, false],
            expect_want,
            prev_main: None,
            ready_credit: None,
            pipe_closed: false,
            exited: false,
            effects: Vec::new(),
            clock_after_obligation: VecDeque::new(),
            stop,
            kill_due: [None, None],
            just_reaped: None,
            adopted: [None, None],
            adoptable: [Vec::new(), Vec::new()],
            adopted_leads_group: [false, false],
            adopted_exit: false,
            backoff: Backoff::RUNIT,
            quick_auto_death: false,
            violations: 0,
            first_violation: None,
        }
    }

    /// A runsv that finds what a killed runsv left (adoption): `resume` is fed before
    /// [`Input::Start`]; `genuine` are the pids that truly are the old children (the
    /// world's truth, against which `AdoptOnlyTheSame` judges every adoption). The old
    /// children are live processes of the world whether adopted or not; those not adopted
    /// are forgotten (they belong to no slot, as under runit).
    pub fn resumed(config: Config, stop: Stop, resume: model::runsv::Resume, genuine: [Option<u32>; 2], replies: Replies) -> World {
        World::resumed_with(config, stop, Backoff::RUNIT, PidPolicy::SmallestFree, true, resume, genuine, replies)
    }

    /// [`World::resumed`] with backoff settings, a pid policy and a moving wall clock (the
    /// reference comparison's world: fresh pids, as [`super::runsv::RefRunsv`] hands out).
    #[allow(clippy::too_many_arguments)]
    pub fn resumed_with(
        config: Config,
        stop: Stop,
        backoff: Backoff,
        pid_policy: PidPolicy,
        fixed_wall: bool,
        resume: model::runsv::Resume,
        genuine: [Option<u32>; 2],
        replies: Replies,
    ) -> World {
        let mut w = World::unstarted_with_stop(config, stop, pid_policy, fixed_wall);
        w.m = w.m.with_backoff(backoff);
        w.backoff = backoff;
        w.adoptable = genuine.map(|p| p.into_iter().collect());
        // Which genuine process leads its own group (its signals of a stop may then go to
        // the group), from the same `/proc` bytes.
        let probes = [resume.main.as_ref(), resume.log.as_ref()];
        w.adopted_leads_group = std::array::from_fn(|i| {
            let p = genuine[i].zip(probes[i]).and_then(|(pid, p)| Some((pid, model::runsv::parse_proc_stat(p.proc_stat.as_deref()?)?)));
            p.is_some_and(|(pid, st)| st.pgrp == pid)
        });
        let records = [resume.main.as_ref(), resume.log.as_ref()].map(|p| p.and_then(|p| model::status::StatusRecord::decode(&p.status)));
        let mut replies = replies;
        w.effects.clear();
        w.feed(Input::Resume(resume), &mut replies);
        // An adopted slot keeps the old record's want and paused flag.
        for (i, record) in records.into_iter().enumerate() {
            if let (Some(_), Some(r)) = (w.adopted[i], record) {
                w.expect_want[i] = if r.want == b'u' { Want::Up } else { Want::Down };
                w.expect_paused[i] = r.paused;
            }
        }
        w.feed(Input::Start, &mut replies);
        w.check_after_step();
        w
    }

    /// A started runsv with the main slot's stop and backoff settings (the opt-in files).
    pub fn new_with_backoff(
        config: Config,
        stop: Stop,
        backoff: Backoff,
        pid_policy: PidPolicy,
        fixed_wall: bool,
        replies: Replies,
    ) -> World {
        let mut w = World::unstarted_with_stop(config, stop, pid_policy, fixed_wall);
        w.m = w.m.with_backoff(backoff);
        w.backoff = backoff;
        w.start(replies);
        w
    }

    /// Feeds [`Input::Start`], answering its obligations with `replies`, and checks.
    pub fn start(&mut self, replies: Replies) {
        let mut replies = replies;
        self.effects.clear();
        self.feed(Input::Start, &mut replies);
        self.check_after_step();
    }

    /// Records a violation of `inv` (the first message is kept).
    pub fn violate(&mut self, inv: Invariant, detail: String) {
        self.violations |= inv.bit();
        if self.first_violation.is_none() {
            self.first_violation = Some(format!("{inv:?}: {detail}"));
        }
    }

    /// This world with its history normalised where it cannot change what happens next,
    /// for the explorer (stateright's "representative"): two worlds with equal canonical
    /// forms answer every input alike, so the explorer may merge them.
    /// - Time is rebased so that now is [`T0`]: the machine and the checks compare times only
    ///   with each other, with now, and with now minus [`THROTTLE`] (minus
    ///   `QUICK_DEATH` when a record counts quick deaths); so every time further back than
    ///   that is clamped to it (it compares the same way forever after).
    /// - The last step's effects and the first violation's text are outputs, not state (the
    ///   violation bits stay).
    /// - The next fresh pid is unused under [`PidPolicy::SmallestFree`].
    /// - The last `./run` exit status is read only when `./finish` is forked, and written
    ///   at every exit of `./run` before that, so it is kept only while a finish is owed.
    pub fn canonical(&self) -> World {
        let mut w = self.clone();
        let record = w.m.writes_record();
        let now = w.now.mono.0;
        // With a record, a death within QUICK_DEATH of the start counts as quick: times
        // are compared that far back.
        let window = if record { model::runsv::ready::QUICK_DEATH } else { THROTTLE };
        let floor = now.saturating_sub(window.0);
        let rebase = |t: Mono| Mono(T0.mono.0 + t.0.max(floor) - now);
        w.m.map_times(rebase);
        for t in w.last_start.iter_mut().flatten() {
            *t = rebase(*t);
        }
        for (t, _) in w.last_down.iter_mut().flatten() {
            *t = rebase(*t);
        }
        for t in w.kill_due.iter_mut().flatten() {
            *t = rebase(*t);
        }
        w.now.mono = T0.mono;
        w.effects.clear();
        w.first_violation = None;
        if w.pid_policy == PidPolicy::SmallestFree {
            w.next_pid = 0;
        }
        // The history and the normally-up flags only feed status.ext: without a record
        // they are unobservable (the flags made a service started by `u` after a `down`
        // file a different state from one that started by itself), with one the history's
        // counters are kept up to 2 (enough to tell "none", "one", "several").
        if !record {
            w.m.map_normally_up(|_| true);
        }
        w.m.map_history(|h| {
            if record {
                h.starts = h.starts.min(2);
                h.quick_deaths = h.quick_deaths.min(2);
            } else {
                *h = Default::default();
            }
        });
        // A previous child matters only with a readiness protocol and while its pid is not
        // reused.
        if !record || w.prev_main.is_some_and(|p| w.live.iter().flatten().any(|&l| l == p)) {
            w.prev_main = None;
        }
        if w.ready_credit.is_some_and(|p| w.m.slot(Slot::Main).is_none_or(|m| m.pid() != p)) {
            w.ready_credit = None;
        }
        let finish_owed = w.m.slot(Slot::Main).is_some_and(|m| matches!(m.phase, model::runsv::Phase::Finish { pid: None, .. }));
        if !finish_owed {
            w.last_run_exit = None;
            w.adopted_exit = false;
        }
        // Who was adoptable matters only for the adoption, made before the first step;
        // who leads a group, only while that adopted child lives.
        w.adoptable = [Vec::new(), Vec::new()];
        for (leads, adopted) in w.adopted_leads_group.iter_mut().zip(w.adopted) {
            *leads &= adopted.is_some();
        }
        w
    }

    /// Whether `inv` has been violated.
    pub fn violated(&self, inv: Invariant) -> bool {
        self.violations & inv.bit() != 0
    }

    /// The observable state of a slot of the machine.
    pub fn view(&self, slot: Slot) -> Option<SlotView> {
        self.m.slot(slot).map(|s| SlotView { state: s.state(), want: s.want, pid: s.pid(), paused: s.paused, got_term: s.got_term() })
    }

    /// The live child of a slot (the first, if the machine broke "one child per slot").
    pub fn live_pid(&self, slot: Slot) -> Option<u32> {
        self.live[ix(slot)].first().copied()
    }

    /// Applies one step as the runtime would, then checks the per-step invariants.
    pub fn apply(&mut self, step: &Step) {
        self.effects.clear();
        if self.exited {
            return;
        }
        let mut replies = step.replies.clone();
        let was_given_up = self.m.given_up();
        let down_before = self.last_down[0];
        match &step.event {
            Event::Control(slot, byte) => {
                if self.m.accepts_control(*slot) {
                    let before = self.m.slot(*slot).map(|s| s.state());
                    match byte {
                        b'u' => self.expect_want[ix(*slot)] = Want::Up,
                        b'o' | b'd' => self.expect_want[ix(*slot)] = Want::Down,
                        b'x' if *slot == Slot::Main => self.expect_want[0] = Want::Exit,
                        _ => {}
                    }
                    match byte {
                        b'p' => self.expect_paused[ix(*slot)] = true,
                        b'c' => self.expect_paused[ix(*slot)] = false,
                        b'o' if before == Some(RunState::Down) => self.once_armed[ix(*slot)] = true,
                        b'd' => self.once_armed[ix(*slot)] = false,
                        b'x' if *slot == Slot::Main => self.once_armed[0] = false,
                        _ => {}
                    }
                    self.feed(Input::Control(*slot, *byte), &mut replies);
                    let stops = *byte == b'd' || (*byte == b'x' && *slot == Slot::Main);
                    if stops && before == Some(RunState::Run) {
                        self.check_stop(*slot);
                    }
                    if (stops || *byte == b't') && before == Some(RunState::Run) {
                        self.arm_kill_due(*slot);
                    }
                }
            }
            Event::Terminate => {
                self.once_armed[0] = false;
                self.expect_want[0] = Want::Exit;
                let before = self.m.slot(Slot::Main).map(|s| s.state());
                self.feed(Input::Terminate, &mut replies);
                if before == Some(RunState::Run) {
                    self.check_stop(Slot::Main);
                    self.arm_kill_due(Slot::Main);
                }
            }
            Event::ChildExit { slot, status, finish } => {
                if let Some(pid) = self.live_pid(*slot) {
                    let adopted = self.adopted[ix(*slot)] == Some(pid);
                    self.adopted[ix(*slot)] = None;
                    self.live[ix(*slot)].retain(|&p| p != pid);
                    self.kill_due[ix(*slot)] = None;
                    self.just_reaped = Some(pid);
                    let was = self.m.slot(*slot).map(|s| s.state());
                    if *slot == Slot::Main && was == Some(RunState::Run) {
                        self.last_run_exit = Some(*status);
                        self.adopted_exit = adopted;
                        self.prev_main = Some(pid);
                        self.ready_credit = None;
                    }
                    if let (Slot::Main, Some(RunState::Run), Some(start)) = (*slot, was, self.last_start[0]) {
                        let m = self.m.slot(Slot::Main).expect("main");
                        let unasked = m.want == Want::Up && !m.got_term();
                        self.quick_auto_death = self.backoff.delays() && unasked && self.now.mono < start + Span::from_secs(10);
                    }
                    if let Some(start) = self.last_start[ix(*slot)] {
                        // A cycle ends when the slot goes down (after finish, for main).
                        let ends_cycle = *slot == Slot::Log || was == Some(RunState::Finish) || !*finish;
                        if ends_cycle {
                            let quick = *slot == Slot::Main && self.quick_auto_death;
                            self.last_down[ix(*slot)] = Some((self.now.mono, quick || self.now.mono < start + THROTTLE));
                        }
                    }
                    // An adopted child is no child of runsv's: its end comes through its
                    // pidfd, without a status.
                    let input = if adopted {
                        Input::AdoptedExited { pid, finish_present: *finish }
                    } else {
                        Input::ChildExited { pid, status: *status, finish_present: *finish }
                    };
                    self.feed(input, &mut replies);
                    self.just_reaped = None;
                }
            }
            Event::Stray => self.feed(Input::ChildExited { pid: STRAY_PID, status: 0, finish_present: false }, &mut replies),
            Event::Tick(ms) => {
                let span = Span::from_millis(*ms);
                if self.fixed_wall {
                    self.now.mono = self.now.mono + span;
                } else {
                    self.now = self.now.after(span);
                }
                self.feed(Input::Tick, &mut replies);
            }
            Event::Ready(e) => self.ready_event(*e, &mut replies),
        }
        self.check_give_up(was_given_up, &step.event);
        if self.last_down[0] != down_before {
            self.check_pause();
        }
        self.check_after_step();
    }

    /// [`Invariant::BackoffWithinBounds`] for the pause a cycle that ended in this step armed
    /// (a fork retry's 5 s is not a pause: a `d` may later keep its deadline).
    fn check_pause(&mut self) {
        if let Some(model::runsv::Phase::Down { not_before: Some(t), deferred: None }) = self.m.slot(Slot::Main).map(|m| m.phase) {
            let longest = self.backoff.longest().max(THROTTLE);
            if t > self.now.mono + longest {
                let now = self.now.mono;
                self.violate(Invariant::BackoffWithinBounds, format!("restart due {t:?} at {now:?}, longest pause {longest:?}"));
            }
        }
    }

    /// [`Invariant::GiveUpOnlyByCommand`] for one step; giving up also stops wanting the
    /// service up (so that runit's `sv up` sends `u`), which is the one want change that
    /// is not a command's.
    fn check_give_up(&mut self, was: bool, event: &Event) {
        let now = self.m.given_up();
        let command = matches!(event, Event::Control(Slot::Main, b'u' | b'o' | b'd' | b'x') | Event::Terminate);
        if now && self.backoff.limit.is_none() {
            self.violate(Invariant::GiveUpOnlyByCommand, "given up without restart-limit-count".into());
        }
        if was && !now && !command {
            self.violate(Invariant::GiveUpOnlyByCommand, format!("left giving up on {event:?}"));
        }
        if !was && now {
            self.expect_want[0] = Want::Down;
        }
        if !self.backoff.opted_in() && self.m.deaths() != Default::default() {
            let d = self.m.deaths();
            self.violate(Invariant::RunitUnlessOptedIn, format!("deaths counted without the backoff files: {d:?}"));
        }
    }

    /// The stop signal of `slot` (the log slot always stops as in runit).
    fn stop_of(&self, slot: Slot) -> Stop {
        if slot == Slot::Main {
            self.stop
        } else {
            Stop::RUNIT
        }
    }

    /// After a stop command on a running slot: with `timeout-kill`, SIGKILL is due at now
    /// plus the timeout if the stop signal went out or the slot is wanted down (an earlier
    /// deadline is kept).
    fn arm_kill_due(&mut self, slot: Slot) {
        let stop = self.stop_of(slot);
        let Some(after) = stop.kill_after else { return };
        let signalled = self
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Signal(s, _, g) | Effect::SignalGroup(s, _, g) | Effect::SignalPidfd(s, _, g) if *s == slot && *g == stop.signal));
        let wanted_down = self.m.slot(slot).is_some_and(|s| s.want != Want::Up);
        if self.live_pid(slot).is_some() && (signalled || wanted_down) {
            let due = self.now.mono + after;
            let k = &mut self.kill_due[ix(slot)];
            *k = Some(k.map_or(due, |t| t.min(due)));
        }
    }

    /// Delivers a readiness event as the runtime would (the pipe's bytes, a datagram with
    /// its sender), and notes which child earned readiness.
    fn ready_event(&mut self, e: ReadyEvent, replies: &mut Replies) {
        let running = self.m.slot(Slot::Main).filter(|s| s.state() == RunState::Run).map(|s| s.pid());
        let notify = |pid: u32, payload: &[u8]| Input::Notify {
            sender: Some(Sender { pid: pid as i32, ancestors: Vec::new() }),
            payload: payload.to_vec(),
            fds: 0,
            truncated: false,
        };
        let inputs: Vec<Input> = match (e, running) {
            (ReadyEvent::PipeNewline, Some(p)) => vec![Input::NotificationFd { pid: p, chunk: b"\n".to_vec() }],
            (ReadyEvent::PipeEof, Some(p)) => vec![Input::NotificationFd { pid: p, chunk: Vec::new() }],
            (ReadyEvent::NotifyReady, Some(p)) => vec![notify(p, b"READY=1")],
            (ReadyEvent::NotifyStopping, Some(p)) => vec![notify(p, b"STOPPING=1")],
            (ReadyEvent::NotifyPing, Some(p)) => vec![notify(p, b"WATCHDOG=1")],
            (ReadyEvent::Forged, _) => vec![notify(STRAY_PID, b"READY=1")],
            (ReadyEvent::Previous, _) => match self.prev_main.filter(|p| !self.live[0].contains(p)) {
                Some(p) => vec![Input::NotificationFd { pid: p, chunk: b"\n".to_vec() }, notify(p, b"READY=1")],
                None => vec![],
            },
            (
                ReadyEvent::PipeNewline
                | ReadyEvent::PipeEof
                | ReadyEvent::NotifyReady
                | ReadyEvent::NotifyStopping
                | ReadyEvent::NotifyPing,
                None,
            ) => {
                vec![]
            }
        };
        let protocol = self.m.record().main.readiness;
        let pipe = matches!(protocol, Protocol::NotificationFd | Protocol::Both);
        let sd = matches!(protocol, Protocol::SdNotify | Protocol::Both);
        let was_ready = self.m.slot(Slot::Main).is_some_and(|s| s.is_ready());
        match (e, running) {
            (ReadyEvent::PipeNewline, Some(p)) if pipe && !self.stopping(p) && !was_ready => self.ready_credit = Some(p),
            (ReadyEvent::NotifyReady, Some(p)) if sd && !self.stopping(p) && !was_ready => self.ready_credit = Some(p),
            (ReadyEvent::NotifyStopping, Some(_)) if sd => self.ready_credit = None,
            _ => {}
        }
        for i in inputs {
            self.feed(i, replies);
        }
    }

    fn stopping(&self, pid: u32) -> bool {
        self.m.slot(Slot::Main).and_then(|s| s.run_ready()).is_some_and(|r| r.stopping)
            && self.m.slot(Slot::Main).is_some_and(|s| s.pid() == pid)
    }

    /// The readiness invariant, after every step.
    fn check_ready(&mut self) {
        for slot in [Slot::Main, Slot::Log] {
            let Some(s) = self.m.slot(slot) else { continue };
            if !s.is_ready() {
                continue;
            }
            let pid = s.pid();
            let runs = s.state() == RunState::Run && self.live[ix(slot)].contains(&pid);
            let protocol = if slot == Slot::Main { self.m.record().main.readiness } else { Protocol::None };
            let earned = protocol == Protocol::None || self.ready_credit == Some(pid);
            if !(runs && earned) {
                let c = self.ready_credit;
                self.violate(Invariant::ReadyOnlyWhileThatChildRuns, format!("{slot:?} ready with pid {pid}, runs {runs}, credit {c:?}"));
            }
        }
    }

    /// A written record against the 20 bytes of the same write and the other slot's last.
    fn check_record(&mut self, slot: Slot, status: &[u8; status::STATUS_LEN], ext: &[u8]) {
        let rec = match record::decode(ext) {
            Ok(r) => r,
            Err(e) => return self.violate(Invariant::RecordAgrees, format!("undecodable: {e:?}")),
        };
        let this = StatusRecord::decode(status).expect("20 bytes");
        let (mine, other) = match slot {
            Slot::Main => (Some(&rec.main), rec.log.as_ref()),
            Slot::Log => (rec.log.as_ref(), Some(&rec.main)),
        };
        let other_slot = if slot == Slot::Main { Slot::Log } else { Slot::Main };
        let other_status = self.written[ix(other_slot)].as_ref().and_then(|w| StatusRecord::decode(&w.1));
        let ok_mine = mine.is_some_and(|m| record::agrees(m, &this));
        let ok_other = match (other, other_status) {
            (Some(o), Some(st)) => record::agrees(o, &st),
            (None, None) => true,
            // The other slot's first status is written later in the same start-up.
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        let broken = rec.main.broken_invariant().or(rec.log.as_ref().and_then(|l| l.broken_invariant()));
        if !ok_mine || !ok_other || broken.is_some() {
            self.violate(Invariant::RecordAgrees, format!("{slot:?}: mine {ok_mine} other {ok_other} broken {broken:?}: {rec:?}"));
        }
    }

    /// `d`/`x` on a running slot: TERM (unless `control/t` succeeded) and CONT were sent.
    fn check_stop(&mut self, slot: Slot) {
        let sent = |w: &World, sig: Sig| {
            w.effects.iter().any(|e| matches!(e, Effect::Signal(s, _, g) | Effect::SignalGroup(s, _, g) | Effect::SignalPidfd(s, _, g) if *s == slot && *g == sig))
        };
        let term = sent(self, self.stop_of(slot).signal);
        let cont = sent(self, Sig::Cont);
        // `control/t` success shows as: control t consulted and no TERM; accept it only then.
        let t_consulted = self.effects.contains(&Effect::Control(b't'));
        let overridden = slot == Slot::Main && t_consulted && !term;
        if !(cont && (term || overridden)) {
            let e = self.effects.clone();
            self.violate(Invariant::StopSendsTermAndCont, format!("{slot:?}: effects {e:?}"));
        }
    }

    /// Feeds one input and drains everything, answering obligations from `replies`.
    fn feed(&mut self, input: Input, replies: &mut Replies) {
        let mut next = Some(input);
        while let Some(i) = next.take() {
            self.m.handle(self.now, i);
            let mut batch: VecDeque<Action> = VecDeque::new();
            while let Some(a) = self.m.poll_action() {
                batch.push_back(a);
            }
            let n = batch.len();
            for (k, a) in batch.into_iter().enumerate() {
                if self.exited {
                    self.violate(Invariant::OrderlyExit, format!("action after Exit: {a:?}"));
                }
                if is_obligation(&a) && k + 1 != n {
                    self.violate(Invariant::ObligationHygiene, format!("obligation {a:?} not last of its batch"));
                }
                if let Some(reply) = self.act(a, replies) {
                    if let Some(t) = self.clock_after_obligation.pop_front() {
                        self.now = t;
                    }
                    next = Some(reply);
                }
            }
        }
    }

    /// Carries out one action; returns the reply input for an obligation.
    fn act(&mut self, a: Action, replies: &mut Replies) -> Option<Input> {
        match a {
            Action::Spawn { slot, program, own_group, .. } => {
                if own_group != (slot == Slot::Main && self.stop.group) {
                    self.violate(Invariant::RunitUnlessOptedIn, format!("{program:?} for {slot:?} with own_group {own_group}"));
                }
                if self.m.owed() != Some(Owed::Spawn(slot)) {
                    let o = self.m.owed();
                    self.violate(Invariant::ObligationHygiene, format!("Spawn({slot:?}) but owed {o:?}"));
                }
                if !self.live[ix(slot)].is_empty() {
                    let l = self.live[ix(slot)].clone();
                    self.violate(Invariant::OneChildPerSlot, format!("{program:?} for {slot:?} beside live {l:?}"));
                }
                if let Program::Finish { a, b } = program {
                    let want = if self.adopted_exit { Some(model::runsv::UNKNOWN_EXIT) } else { self.last_run_exit.map(finish_args) };
                    if want != Some((a, b)) {
                        self.violate(Invariant::FinishArgs, format!("finish {a} {b}, last run exit gives {want:?}"));
                    }
                }
                let is_run = !matches!(program, Program::Finish { .. });
                if is_run {
                    let want = self.m.slot(slot).map(|s| s.want);
                    if want != Some(Want::Up) && !self.once_armed[ix(slot)] {
                        self.violate(
                            Invariant::StartOnlyWhenWanted,
                            format!("{program:?} for {slot:?} with want {want:?} and no pending `o`"),
                        );
                    }
                    let now = self.now.mono;
                    if let Some(last) = self.last_start[ix(slot)] {
                        if now < last + THROTTLE {
                            self.violate(
                                Invariant::ThrottleSpacing,
                                format!("{slot:?} restarted {} ms after its last start", (now - last).as_millis()),
                            );
                        }
                    }
                    if let Some((down, true)) = self.last_down[ix(slot)] {
                        if now < down + THROTTLE {
                            self.violate(
                                Invariant::ThrottleSpacing,
                                format!("{slot:?} restarted {} ms after a short cycle", (now - down).as_millis()),
                            );
                        }
                    }
                }
                self.effects.push(Effect::Spawn(slot, program));
                if !replies.next_spawn() {
                    return Some(Input::SpawnFailed(slot, FORK_ERRNO));
                }
                let pid = self.alloc_pid();
                self.live[ix(slot)].push(pid);
                if let (false, Some(limit)) = (is_run, self.stop_of(slot).finish_limit) {
                    self.kill_due[ix(slot)] = Some(self.now.mono + limit);
                }
                self.expect_paused[ix(slot)] = false;
                if is_run {
                    self.once_armed[ix(slot)] = false;
                    self.last_start[ix(slot)] = Some(self.now.mono);
                    self.last_down[ix(slot)] = None;
                }
                Some(Input::Spawned(slot, pid))
            }
            Action::RunControl(c) => {
                if self.m.owed() != Some(Owed::Control(c)) {
                    let o = self.m.owed();
                    self.violate(Invariant::ObligationHygiene, format!("RunControl({}) but owed {o:?}", c as char));
                }
                self.effects.push(Effect::Control(c));
                Some(Input::ControlDone(replies.next_control()))
            }
            Action::Signal(slot, pid, sig) | Action::SignalGroup(slot, pid, sig) | Action::SignalPidfd(slot, pid, sig) => {
                // A stop's group signal may go to an adopted child's group if it leads one.
                let adopted_live = self.adopted[ix(slot)].is_some_and(|p| self.live[ix(slot)].contains(&p));
                let group_ok = matches!(a, Action::SignalGroup(..)) && self.stop.group && self.adopted_leads_group[ix(slot)];
                if matches!(a, Action::SignalPidfd(..)) != (adopted_live && !group_ok) {
                    self.violate(Invariant::AdoptedByPidfd, format!("{a:?}: adopted {:?}", self.adopted[ix(slot)]));
                }
                if matches!(a, Action::SignalGroup(..)) && !(slot == Slot::Main && self.stop.group) {
                    self.violate(Invariant::RunitUnlessOptedIn, format!("{sig:?} to the group of {pid} of {slot:?}"));
                }
                if sig == Sig::Kill {
                    self.kill_due[ix(slot)] = None;
                }
                // The group of a leader reaped after a stop gets its SIGKILL in the same step.
                let leftovers = matches!(a, Action::SignalGroup(_, _, Sig::Kill)) && self.just_reaped == Some(pid);
                if !self.live[ix(slot)].contains(&pid) && !leftovers {
                    let l = self.live[ix(slot)].clone();
                    self.violate(Invariant::SignalsOnlyToLive, format!("{sig:?} to {pid} of {slot:?}, live {l:?}"));
                }
                self.effects.push(match a {
                    Action::SignalGroup(..) => Effect::SignalGroup(slot, pid, sig),
                    Action::SignalPidfd(..) => Effect::SignalPidfd(slot, pid, sig),
                    _ => Effect::Signal(slot, pid, sig),
                });
                None
            }
            Action::WriteStatus { slot, pid, stat, status, ext } => {
                if let Some(x) = ext {
                    self.check_record(slot, &status, &x);
                }
                if let Some(p) = pid {
                    self.pid_file[ix(slot)] = Some(p);
                }
                self.written[ix(slot)] = Some((stat, status));
                None
            }
            Action::CloseNotificationFd => {
                self.effects.push(Effect::CloseNotificationFd);
                None
            }
            Action::CloseLogPipe => {
                let main_down = self.m.slot(Slot::Main).is_some_and(|s| s.state() == RunState::Down && s.pid() == 0);
                if !main_down || !self.live[0].is_empty() || self.pipe_closed {
                    self.violate(Invariant::OrderlyExit, "log pipe closed while main is not down (or twice)".into());
                }
                self.pipe_closed = true;
                self.expect_want[1] = Want::Exit;
                self.effects.push(Effect::CloseLogPipe);
                None
            }
            Action::Warn(text) => {
                self.effects.push(Effect::Warn(text));
                None
            }
            Action::Adopt { slot, pid } => {
                if !self.live[ix(slot)].is_empty() {
                    let l = self.live[ix(slot)].clone();
                    self.violate(Invariant::OneChildPerSlot, format!("adopting {pid} for {slot:?} beside live {l:?}"));
                }
                if !self.adoptable[ix(slot)].contains(&pid) {
                    self.violate(
                        Invariant::AdoptOnlyTheSame,
                        format!("adopted {pid} for {slot:?}, genuine {:?}", self.adoptable[ix(slot)]),
                    );
                }
                self.live[ix(slot)].push(pid);
                self.adopted[ix(slot)] = Some(pid);
                None
            }
            Action::TakeLogPipe(_) => {
                self.effects.push(Effect::TakeLogPipe);
                None
            }
            Action::Release(_) => None,
            Action::Exit(code) => {
                if code != 0 || !self.live[0].is_empty() || !self.live[1].is_empty() {
                    let l = self.live.clone();
                    self.violate(Invariant::OrderlyExit, format!("Exit({code}) with live children {l:?}"));
                }
                self.exited = true;
                self.effects.push(Effect::Exit(code));
                None
            }
        }
    }

    fn alloc_pid(&mut self) -> u32 {
        match self.pid_policy {
            PidPolicy::Fresh => {
                let p = self.next_pid;
                self.next_pid += 1;
                p
            }
            PidPolicy::SmallestFree => (1..).find(|p| !self.live[0].contains(p) && !self.live[1].contains(p)).unwrap_or(1),
        }
    }

    /// The invariants stated on the state between steps.
    fn check_after_step(&mut self) {
        self.check_ready();
        if self.m.owed().is_some() {
            let o = self.m.owed();
            self.violate(Invariant::ObligationHygiene, format!("still owed {o:?} after the step"));
        }
        if self.exited != self.m.has_exited() {
            let e = self.exited;
            self.violate(Invariant::OrderlyExit, format!("Exit emitted {e} but has_exited {}", self.m.has_exited()));
        }
        if self.exited {
            return;
        }
        for slot in [Slot::Main, Slot::Log] {
            let Some(s) = self.m.slot(slot).cloned() else { continue };
            let live = self.live_pid(slot).unwrap_or(0);
            if s.pid() != live {
                self.violate(Invariant::PidTracksChild, format!("{slot:?} pid {} but live child {live}", s.pid()));
            }
            let rec = StatusRecord::new(s.stamp, s.pid(), s.paused, s.want, s.got_term(), s.state());
            let expect = (status::stat_text(s.state(), s.paused, s.got_term(), s.want), rec.encode());
            if self.written[ix(slot)].as_ref() != Some(&expect) {
                let got = self.written[ix(slot)].as_ref().map(|w| String::from_utf8_lossy(&w.0).into_owned());
                self.violate(Invariant::StatusEqualsState, format!("{slot:?}: last stat {got:?}, state {s:?}"));
            }
            if let Some(file) = &self.pid_file[ix(slot)] {
                if *file != status::pid_text(s.pid()) {
                    let f = String::from_utf8_lossy(file).into_owned();
                    self.violate(Invariant::PidFileEqualsPid, format!("{slot:?} pid file {f:?} but pid {}", s.pid()));
                }
            }
            if s.want != self.expect_want[ix(slot)] {
                let e = self.expect_want[ix(slot)];
                self.violate(Invariant::WantFollowsCommands, format!("{slot:?} want {:?} expected {e:?}", s.want));
            }
            if s.paused != self.expect_paused[ix(slot)] {
                let e = self.expect_paused[ix(slot)];
                self.violate(Invariant::PauseConsistency, format!("{slot:?} paused {} expected {e}", s.paused));
            }
            let should_start = s.pid() == 0
                && match slot {
                    Slot::Main => s.want == Want::Up || s.state() == RunState::Finish || s.once_pending(),
                    Slot::Log => (s.want == Want::Up || s.once_pending()) && !self.pipe_closed,
                };
            let exiting = self.m.slot(Slot::Main).is_some_and(|m| m.want == Want::Exit && m.state() == RunState::Down && m.pid() == 0);
            if should_start && !exiting && self.m.poll_deadline().is_none() {
                self.violate(Invariant::NeverStuckDown, format!("{slot:?} should start but no deadline: {s:?}"));
            }
        }
        for slot in [Slot::Main, Slot::Log] {
            if let (Some(due), Some(_)) = (self.kill_due[ix(slot)], self.live_pid(slot)) {
                let wakes = self.m.poll_deadline().is_some_and(|d| d <= due);
                if due <= self.now.mono || !wakes {
                    let (now, d) = (self.now.mono, self.m.poll_deadline());
                    self.violate(Invariant::StopEndsInTime, format!("{slot:?}: SIGKILL due {due:?}, now {now:?}, next deadline {d:?}"));
                }
            }
        }
        if self.m.given_up() && !self.live[0].is_empty() {
            let l = self.live[0].clone();
            self.violate(Invariant::GiveUpOnlyByCommand, format!("given up with live children {l:?}"));
        }
        let horizon = [Some(Span::from_secs(5)), self.stop.kill_after, self.stop.finish_limit, Some(self.backoff.longest())]
            .into_iter()
            .flatten()
            .max();
        if let Some(d) = self.m.poll_deadline() {
            if d <= self.now.mono || d > self.now.mono + horizon.unwrap_or(Span::from_secs(5)) {
                let now = self.now.mono;
                self.violate(Invariant::TimeHygiene, format!("deadline {d:?} at now {now:?}"));
            }
        }
    }
}
