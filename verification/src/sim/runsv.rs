//! Deterministic simulation of one runsv through the production driver loop
//! (`runtime::driver::run`, unchanged) over the fake kernel in [`kernel`].
//!
//! [`SimOs`] is the clock and the blocking wait: `wait` lets virtual time pass to the
//! earliest of the machine's deadline, the next scheduled exit and the next outside event
//! (command byte, SIGTERM, clock step), unless something is already pending. [`SimIo`]
//! carries out the runsv machine's actions on the fake kernel and gathers wake-ups into
//! inputs in exactly the production executor's order (reap all, one byte from the main
//! FIFO, one from the log FIFO, SIGTERM, tick).
//!
//! The checks reuse [`crate::reference::runsv_world::World`]: every input the driver feeds
//! is also applied, with the same answers to its obligations and the same clock readings
//! after them (a hanging `control/<c>` script lets time pass), to a shadow `World`, whose
//! named invariants then judge every run. That the shadow saw what the driver did is
//! itself checked: the effects of each batch must agree, the deadline passed to `wait`
//! must be the shadow's, and at the end both machines must be equal. Kernel-level checks
//! sit on top: the status files on the fake disk, signals only to unreaped children of the
//! named slot, one child per slot, no busy loop, an orderly, timely exit, and liveness: a
//! slot wanted up and down runs again within 1 s (5 s after a failed fork, plus the time
//! runsv spent blocked in `control/<c>` scripts).

pub mod kernel;

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use std::ffi::CStr;

use model::errno::Errno;
use model::runsv::text::StatusFile;
use model::runsv::{Action, Config, ControlOutcome, Input, Program, Runsv, Sig, Slot};
use model::time::{Mono, Now, Span};
use model::Machine;
use runtime::driver::{Io, Os, Trace, Woke};
use runtime::exec::runsv::{Handled, RunsvIo};
use runtime::exec::runsv_ready::ReadyIo;
use runtime::fs::AtomicWriteError;
use runtime::latch::SignalSet;
use runtime::os::Syscalls;
use runtime::process::{Reaped, SpawnSpec};
use runtime::wait::{Interest, Ready};

use crate::reference::runsv::{Effect, Event, Replies, Step, T0};
use crate::reference::runsv_world::{PidPolicy, World};

use kernel::{ControlPlan, FaultKind, Kernel, KernelConfig, Kind, LOG_CONTROL_FD, LOG_PIPE_R, LOG_PIPE_W, MAIN_CONTROL_FD};

/// How many plan entries each shadow step is offered (more than one input can consume).
const WINDOW: usize = 8;

/// A deliberately wrong fake behaviour, to show the simulation catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// Everything as it should be.
    None,
    /// The first `stat` write that would change the file is silently lost (no error, no
    /// warning).
    DropStatusWrite,
    /// `wait` with a deadline returns at once without letting time pass.
    SpinWait,
    /// The first reaped child is reported with a wrong pid.
    ReapWrongPid,
    /// The first child to exit is never reaped (a lost SIGCHLD): runsv waits for it forever.
    LostReap,
    /// `wait` ignores the machine's deadline (a timer never armed): a throttled restart
    /// waits for the next outside event.
    IgnoreDeadline,
    /// `stat("control/<c>")` says the script is absent when one is planned: what the
    /// executor reports no longer matches what ran.
    HideControlScript,
}

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Inject faults until the end phase.
    pub faults: bool,
    /// Virtual seconds of activity before the end phase.
    pub active_secs: u64,
    /// Virtual seconds the end phase may take before "runsv did not exit" is reported.
    pub exit_within_secs: u64,
    /// Stop after this many driver wake-ups whatever happens.
    pub max_waits: usize,
    /// Keep the full trace (for replay and the determinism check).
    pub keep_trace: bool,
    /// A planted bug.
    pub plant: Plant,
    /// `control/<c>` scripts may hang (runsv blocks while virtual time passes).
    pub hangs: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            faults: true,
            active_secs: 60,
            exit_within_secs: 90,
            max_waits: 20_000,
            keep_trace: false,
            plant: Plant::None,
            hangs: true,
        }
    }
}

/// The checks the simulation makes beyond the shadow world's named invariants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A `runsv_world` invariant (the message names it).
    World,
    /// The shadow world and the driven machine disagree (effects, deadline, final state).
    Shadow,
    /// A second unreaped child for a slot on the fake kernel.
    OneChildPerSlot,
    /// A signal to a pid that is not an unreaped child of the named slot.
    SignalsOnlyToLive,
    /// A status file on the fake disk differs from the last update without a failed write.
    StatusFiles,
    /// `wait` called twice at the same virtual instant with no progress in between.
    BusyLoop,
    /// The log pipe closed or runsv exited while a child was unreaped, or exited non-zero.
    OrderlyExit,
    /// runsv had not exited by the end of the end phase (or the run hit its step cap).
    ExitLiveness,
    /// A slot wanted up stayed down longer than its restart allowance.
    RestartLiveness,
    /// The production executor's syscalls do not carry out the action (wrong program,
    /// arguments or descriptors for a spawn, a control script reported other than it
    /// ran, a file that is not a status file written, a reply that answers nothing).
    Executor,
}

/// What a run did; equal for equal seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// The service had a log slot.
    pub has_log: bool,
    /// The driver's return value.
    pub exit_code: i32,
    /// Failed checks, in order found (the run stops at the first).
    pub violations: Vec<(Check, String)>,
    /// Digest of every input and action, in order.
    pub digest: u64,
    /// Every input and action, when [`SimConfig::keep_trace`].
    pub trace: Vec<String>,
    /// Virtual time covered.
    pub virtual_ms: u64,
    /// Driver wake-ups.
    pub waits: usize,
    /// Inputs fed.
    pub inputs: usize,
    /// Actions executed.
    pub actions: usize,
    /// Successful forks (main, log).
    pub starts: [usize; 2],
    /// Signals delivered to live children.
    pub signals: usize,
    /// Injected faults by kind.
    pub faults: BTreeMap<FaultKind, usize>,
    /// Starts decided with a clock older than the kernel's (after a blocking control script
    /// in the same batch): the status stamp and throttle measure from a stale time.
    pub stale_starts: usize,
    /// The largest such staleness, in ms.
    pub max_stale_ms: u64,
    /// Starts less than 1 s (kernel time) after the previous start of the slot, or after
    /// the end of a cycle that lasted under 1 s (kernel time): the throttle as runit
    /// applies it, measured on the real clock. Non-zero only through the stale clock.
    pub real_throttle_misses: Vec<String>,
    /// Deadlines (throttle, fork retry) that fired later than due on the kernel clock: the
    /// wait's timeout is computed from the driver's `now`, stale after a blocking script.
    pub late_deadlines: usize,
    /// The latest of them, in ms.
    pub max_late_ms: u64,
    /// The planted bug ([`SimConfig::plant`]) actually took effect in this run.
    pub plant_fired: bool,
}

impl Report {
    /// The first violation, if any.
    pub fn failure(&self) -> Option<String> {
        self.violations.first().map(|(c, m)| format!("{c:?}: {m}"))
    }
}

/// The state both halves of the shell share.
struct Sim {
    cfg: SimConfig,
    k: Kernel,
    world: World,
    has_log: bool,
    /// Plan entries consumed by the shadow and by the real executor.
    shadow_fork: usize,
    shadow_ctl: usize,
    real_fork: usize,
    real_ctl: usize,
    shadow_effects: Vec<Effect>,
    real_effects: Vec<Effect>,
    /// The `Spawn` the executor is carrying out (taken by its fork).
    spawning: Option<Spawning>,
    /// The `control/<c>` script the executor is running, and its plan.
    control: Option<(u8, ControlPlan)>,
    /// Inputs the driver fed since the shadow last caught up; the first of a batch with
    /// the driver's clock reading.
    unshadowed: Vec<(Option<Now>, Input)>,
    /// The clock the driver reads after each obligation it executed (not yet shadowed).
    clock_after: VecDeque<Now>,
    /// Per slot, while it is wanted up and down: by when (kernel time) it must run again.
    restart_due: [Option<Mono>; 2],
    /// Per slot: when its last fork failed, until a fork succeeds.
    fork_failed: [Option<Mono>; 2],
    /// Something happened since the last wait (an action, or an input other than Tick).
    progress: bool,
    last_wait: Option<Mono>,
    last_spurious: bool,
    waits: usize,
    inputs: usize,
    actions: usize,
    status_writes: usize,
    planted: bool,
    plant_fired: bool,
    reaps: usize,
    stale_starts: usize,
    max_stale_ms: u64,
    /// Kernel-time throttle bookkeeping per slot: last start, last cycle end (+ short).
    real_start: [Option<Mono>; 2],
    real_down: [Option<(Mono, bool)>; 2],
    real_throttle_misses: Vec<String>,
    late_deadlines: usize,
    max_late_ms: u64,
    finished: Option<i32>,
    stalled: bool,
    violations: Vec<(Check, String)>,
    hasher: DefaultHasher,
    trace: Vec<String>,
}

impl Sim {
    fn violate(&mut self, c: Check, m: String) {
        if self.violations.is_empty() {
            let t = self.k.now.mono.0.saturating_sub(T0.mono.0) / 1_000_000;
            self.violations.push((c, format!("{m} (at +{t} ms)")));
        }
    }

    fn record<T: std::fmt::Debug + Hash>(&mut self, tag: &str, now: Now, x: &T, text: Option<String>) {
        tag.hash(&mut self.hasher);
        now.hash(&mut self.hasher);
        x.hash(&mut self.hasher);
        if self.cfg.keep_trace {
            let x = text.unwrap_or_else(|| format!("{x:?}"));
            let t = now.mono.0.saturating_sub(T0.mono.0);
            let k = self.k.now.mono.0.saturating_sub(T0.mono.0);
            self.trace.push(format!(
                "{tag} +{}.{:03} (kernel +{}.{:03}) wall {} {}",
                t / 1_000_000_000,
                t % 1_000_000_000 / 1_000_000,
                k / 1_000_000_000,
                k % 1_000_000_000 / 1_000_000,
                now.wall.unix_secs,
                x
            ));
        }
    }

    fn replies(&mut self) -> Replies {
        let spawn_ok = (0..WINDOW).map(|i| self.k.fork_plan(self.shadow_fork + i)).collect();
        let control = (0..WINDOW).map(|i| self.k.control_plan(self.shadow_ctl + i).outcome).collect();
        Replies { spawn_ok, control }
    }

    fn consume_shadow(&mut self) {
        let effects = std::mem::take(&mut self.world.effects);
        self.shadow_fork += effects.iter().filter(|e| matches!(e, Effect::Spawn(..))).count();
        self.shadow_ctl += effects.iter().filter(|e| matches!(e, Effect::Control(_))).count();
        self.shadow_effects.extend(effects);
    }

    /// Applies to the shadow world every input the driver has fed since the last call,
    /// with the answers and clock readings the real run had.
    fn catch_up(&mut self) {
        for (now, input) in std::mem::take(&mut self.unshadowed) {
            let event = match &input {
                Input::Start => None,
                Input::Control(slot, b) => Some(Event::Control(*slot, *b)),
                Input::Terminate => Some(Event::Terminate),
                Input::ChildExited { pid, status, finish_present } => {
                    let slot = if self.world.live[0].contains(pid) { Slot::Main } else { Slot::Log };
                    Some(Event::ChildExit { slot, status: *status, finish: *finish_present })
                }
                Input::Tick => Some(Event::Tick(0)),
                other => {
                    let o = other.clone();
                    self.violate(Check::Shadow, format!("the executor gathered an unexpected input {o:?}"));
                    continue;
                }
            };
            let replies = self.replies();
            if let Some(now) = now {
                self.world.now = now;
            }
            self.world.clock_after_obligation = self.clock_after.clone();
            match event {
                Some(event) => self.world.apply(&Step { event, replies }),
                None => self.world.start(replies),
            }
            let used = self.clock_after.len() - self.world.clock_after_obligation.len();
            self.clock_after.drain(..used);
            self.consume_shadow();
        }
    }

    /// A slot that owes a start (wanted up, an `o` received while down, or a `./finish` not
    /// yet forked) must have a process again within 1 s (the throttle), or 5 s after its
    /// last failed fork (runit's `sleep(5)`), later by every `control/<c>` hang meanwhile
    /// (runsv is blocked), plus 1 ms.
    fn check_restarts(&mut self) {
        let now = self.k.now.mono;
        for (i, slot) in [Slot::Main, Slot::Log].into_iter().enumerate() {
            let stopped = self.world.exited || (slot == Slot::Log && self.world.pipe_closed);
            let waiting = !stopped
                && self.world.m.slot(slot).is_some_and(|s| {
                    let owed =
                        s.want == model::status::Want::Up || self.world.once_armed[i] || s.state() == model::status::RunState::Finish;
                    owed && s.pid() == 0
                });
            if !waiting {
                self.restart_due[i] = None;
                continue;
            }
            let retry = self.fork_failed[i].map(|t| t + Span::from_secs(5));
            let due =
                *self.restart_due[i].get_or_insert_with(|| retry.map_or(now + Span::from_secs(1), |r| r.max(now + Span::from_secs(1))));
            if now > due + Span::from_millis(1) {
                let late = (now - due).as_millis();
                self.violate(Check::RestartLiveness, format!("{slot:?} wanted up and still down {late} ms after it was due"));
            }
        }
    }

    /// runit's throttle on the kernel clock, at a successful start of `./run`/`log/run`.
    fn real_throttle(&mut self, slot: Slot, now: Mono) {
        let i = if slot == Slot::Main { 0 } else { 1 };
        let sec = Span::from_secs(1);
        let t = (now.0 - T0.mono.0) / 1_000_000;
        if let Some(last) = self.real_start[i] {
            if now < last + sec {
                self.real_throttle_misses
                    .push(format!("{slot:?} started {} ms after its previous start (at +{t} ms)", (now - last).as_millis()));
            }
        }
        if let Some((down, true)) = self.real_down[i] {
            if now < down + sec {
                self.real_throttle_misses
                    .push(format!("{slot:?} started {} ms after a short cycle ended (at +{t} ms)", (now - down).as_millis()));
            }
        }
        self.real_start[i] = Some(now);
        self.real_down[i] = None;
    }

    /// After one status update: every file whose write did not fail holds exactly what
    /// the update asked for.
    fn check_files(&mut self, slot: Slot, pid: Option<&[u8]>, stat: &[u8], status: &[u8]) {
        let f = self.k.files[if slot == Slot::Main { 0 } else { 1 }].clone();
        let checks = [
            ("pid", pid, f.pid.as_deref(), f.stale[0]),
            ("stat", Some(stat), f.stat.as_deref(), f.stale[1]),
            ("status", Some(status), f.status.as_deref(), f.stale[2]),
        ];
        for (name, want, got, stale) in checks {
            if let Some(w) = want {
                if !stale && got != Some(w) {
                    let g = got.map(|v| String::from_utf8_lossy(v).into_owned());
                    self.violate(
                        Check::StatusFiles,
                        format!(
                            "{slot:?} {name} on disk {g:?} after an update to {:?} that reported no failure",
                            String::from_utf8_lossy(w)
                        ),
                    );
                }
            }
        }
    }

    /// Compares what the driver did in the batch just fed with the shadow, and checks the
    /// fake disk.
    fn end_batch(&mut self) {
        if self.world.violations != 0 {
            let m = self.world.first_violation.clone().unwrap_or_default();
            self.violate(Check::World, m);
        }
        if self.real_effects != self.shadow_effects {
            let (r, s) = (self.real_effects.clone(), self.shadow_effects.clone());
            self.violate(Check::Shadow, format!("driver effects {r:?}, shadow effects {s:?}"));
        }
        self.real_effects.clear();
        self.shadow_effects.clear();
        for (i, slot) in [Slot::Main, Slot::Log].into_iter().enumerate() {
            if slot == Slot::Log && !self.has_log {
                continue;
            }
            let f = self.k.files[i].clone();
            let (stat, status) = match &self.world.written[i] {
                Some((a, b)) => (Some(a.clone()), Some(b.to_vec())),
                None => (None, None),
            };
            let want = [self.world.pid_file[i].clone(), stat, status];
            let got = [f.pid, f.stat, f.status];
            for (j, name) in ["pid", "stat", "status"].into_iter().enumerate() {
                if !f.stale[j] && got[j] != want[j] {
                    let g = got[j].as_ref().map(|v| String::from_utf8_lossy(v).into_owned());
                    let w = want[j].as_ref().map(|v| String::from_utf8_lossy(v).into_owned());
                    self.violate(Check::StatusFiles, format!("{slot:?} {name} on disk {g:?}, last update {w:?}, no failure reported"));
                }
            }
        }
    }
}

/// The simulated clock and wait.
pub struct SimOs(Rc<RefCell<Sim>>);

/// The simulated executor: runsv's production executor over [`FakeSys`], with the
/// simulation's checks around each action.
pub struct SimIo {
    sim: Rc<RefCell<Sim>>,
    exec: RunsvIo<FakeSys>,
}

impl Os for SimOs {
    fn now(&mut self) -> Now {
        self.0.borrow().k.now
    }

    fn wait(&mut self, interests: &[Interest], now: Now, deadline: Option<Mono>) -> (Vec<Ready>, SignalSet) {
        let s = &mut *self.0.borrow_mut();
        s.waits += 1;
        if s.last_wait == Some(now.mono) && !s.progress && !s.last_spurious {
            s.violate(Check::BusyLoop, format!("wait twice at the same instant without progress (deadline {deadline:?})"));
        }
        s.last_wait = Some(now.mono);
        s.progress = false;
        s.last_spurious = false;
        s.catch_up();
        s.end_batch();
        s.check_restarts();
        let shadow_deadline = s.world.m.poll_deadline();
        if deadline != shadow_deadline && !s.world.exited {
            s.violate(Check::Shadow, format!("driver deadline {deadline:?}, shadow {shadow_deadline:?}"));
        }
        let fds: Vec<i32> = interests.iter().filter(|i| i.read).map(|i| i.fd).collect();
        if s.cfg.plant == Plant::SpinWait && deadline.is_some() {
            s.plant_fired = true;
            return (Vec::new(), SignalSet::default());
        }
        // As `runtime::wait::wait`: the timeout is `deadline - now` with the `now` the
        // driver passed, counted from the moment the wait starts.
        let wake_at = deadline.map(|d| s.k.now.mono + (d - now.mono));
        let woke = sleep(s, &fds, deadline, wake_at);
        // What was due must have been started before this wake-up's time passed.
        s.check_restarts();
        woke
    }
}

/// The blocking part of [`SimOs::wait`]: lets kernel time pass until an fd or a signal is
/// ready, `wake_at` passes, or nothing can happen any more.
fn sleep(s: &mut Sim, fds: &[i32], deadline: Option<Mono>, wake_at: Option<Mono>) -> (Vec<Ready>, SignalSet) {
    let intended = wake_at;
    let wake_at = if s.cfg.plant == Plant::IgnoreDeadline { None } else { wake_at };
    {
        loop {
            let ready: Vec<Ready> = fds
                .iter()
                .filter(|&&fd| (fd == MAIN_CONTROL_FD && !s.k.fifo[0].is_empty()) || (fd == LOG_CONTROL_FD && !s.k.fifo[1].is_empty()))
                .map(|&fd| Ready { fd, readable: true, writable: false })
                .collect();
            if !ready.is_empty() || s.k.pending != 0 {
                // Woken by an event: the next wait at this instant is not a spin.
                s.progress = true;
                s.plant_fired |= intended.is_some_and(|w| s.k.now.mono > w);
                return (ready, SignalSet(s.k.take_signals()));
            }
            if wake_at.is_some_and(|w| w <= s.k.now.mono) {
                // The timeout ran out. Late if the deadline was passed before that: the
                // timeout was computed from a `now` older than the kernel's clock.
                if let Some(d) = deadline {
                    let late = (s.k.now.mono - d).as_millis();
                    if late > 0 {
                        s.late_deadlines += 1;
                        s.max_late_ms = s.max_late_ms.max(late);
                    }
                }
                return (Vec::new(), SignalSet::default());
            }
            if s.k.spurious_wake() {
                s.last_spurious = true;
                return (Vec::new(), SignalSet::default());
            }
            let next = match (wake_at, s.k.next_event()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(t) => s.k.advance_to(t),
                None => {
                    s.plant_fired |= intended.is_some();
                    // Nothing will ever happen again: the real runsv would sleep forever.
                    s.stalled = true;
                    return (Vec::new(), SignalSet::default());
                }
            }
        }
    }
}

impl Io<Runsv> for SimIo {
    fn execute(&mut self, now: Now, action: Action) -> Option<Input> {
        self.before(now, &action);
        // The production executor carries the action out; its syscalls land in [`FakeSys`].
        let reply = self.exec.execute(now, action.clone());
        self.after(&action, &reply);
        reply
    }

    fn interests(&self, out: &mut Vec<Interest>) {
        self.exec.interests(out);
    }

    fn gather(&mut self, now: Now, woke: &Woke, out: &mut VecDeque<Input>) {
        let before = out.len();
        // The production executor's order: reap every exited child, one byte from the main
        // FIFO, one from the log FIFO, then SIGTERM as `x`, then the tick.
        self.exec.gather(now, woke, out);
        let s = &mut *self.sim.borrow_mut();
        for (k, i) in out.iter().skip(before).enumerate() {
            if *i != Input::Tick {
                s.progress = true;
            }
            s.inputs += 1;
            s.record("in", now, i, None);
            s.unshadowed.push(((k == 0).then_some(now), i.clone()));
        }
    }

    fn finished(&self) -> Option<i32> {
        if let Some(c) = self.exec.finished() {
            return Some(c);
        }
        let s = self.sim.borrow();
        let over = s.k.now.mono >= s.k.end_at + Span::from_secs(s.cfg.exit_within_secs);
        if !s.violations.is_empty() || s.stalled || over || s.waits >= s.cfg.max_waits {
            return Some(-1);
        }
        None
    }
}

impl SimIo {
    /// The checks and bookkeeping before the production executor runs `action`.
    fn before(&mut self, now: Now, action: &Action) {
        let s = &mut *self.sim.borrow_mut();
        s.actions += 1;
        s.progress = true;
        let text = s.cfg.keep_trace.then(|| describe(action));
        s.record("out", now, action, text);
        match action {
            Action::Spawn { slot, program, exec_fail_msg, own_group } => {
                s.real_effects.push(Effect::Spawn(*slot, program.clone()));
                let live = s.k.children_of(*slot);
                if !live.is_empty() {
                    s.violate(Check::OneChildPerSlot, format!("{program:?} for {slot:?} beside unreaped {live:?}"));
                }
                let is_run = !matches!(program, Program::Finish { .. });
                if is_run && s.k.now.mono > now.mono {
                    s.stale_starts += 1;
                    s.max_stale_ms = s.max_stale_ms.max((s.k.now.mono - now.mono).as_millis());
                }
                s.spawning = Some(Spawning { slot: *slot, program: program.clone(), fail: exec_fail_msg.clone(), group: *own_group });
            }
            Action::RunControl(byte) => {
                s.real_effects.push(Effect::Control(*byte));
                let i = s.real_ctl;
                s.real_ctl += 1;
                s.control = Some((*byte, s.k.control_plan(i)));
            }
            Action::Signal(slot, pid, sig) | Action::SignalGroup(slot, pid, sig) => {
                s.real_effects.push(Effect::Signal(*slot, *pid, *sig));
                if !s.k.is_unreaped_child(*pid, *slot) {
                    s.violate(Check::SignalsOnlyToLive, format!("{sig:?} to {pid} of {slot:?}, unreaped {:?}", s.k.children_of(*slot)));
                }
            }
            Action::WriteStatus { slot, pid, .. } => {
                s.status_writes += 1;
                // Every file of the update may lag until its write succeeds (a failed `pid`
                // write skips the rest, as in runit).
                let f = &mut s.k.files[if *slot == Slot::Main { 0 } else { 1 }];
                f.stale = [pid.is_some() || f.stale[0], true, true];
            }
            Action::CloseNotificationFd => {}
            Action::CloseLogPipe => {
                s.real_effects.push(Effect::CloseLogPipe);
                let main = s.k.children_of(Slot::Main);
                if !main.is_empty() || !s.k.log_pipe_open {
                    s.violate(Check::OrderlyExit, format!("log pipe closed with main children {main:?} (open {})", s.k.log_pipe_open));
                }
            }
            Action::Warn(line) => s.real_effects.push(Effect::Warn(line.clone())),
            Action::Exit(code) => {
                s.real_effects.push(Effect::Exit(*code));
                let left: Vec<u32> = s.k.procs.keys().copied().collect();
                if *code != 0 || !left.is_empty() {
                    s.violate(Check::OrderlyExit, format!("Exit({code}) with unreaped children {left:?}"));
                }
            }
            // The simulation never feeds `Input::Resume` (it starts one runsv on an empty
            // service directory): adoption's actions cannot come.
            Action::Adopt { .. } | Action::Release(_) | Action::TakeLogPipe(_) | Action::SignalPidfd(..) => {
                s.violate(Check::OrderlyExit, format!("adoption action {action:?} without a Resume"));
            }
        }
    }

    /// The checks and bookkeeping after the production executor ran `action`.
    fn after(&mut self, action: &Action, reply: &Option<Input>) {
        let finished = self.exec.finished();
        let s = &mut *self.sim.borrow_mut();
        match (action, reply) {
            (Action::Spawn { slot, program, .. }, Some(reply)) => {
                if s.spawning.take().is_some() {
                    s.violate(Check::Executor, format!("{program:?} for {slot:?}: the executor forked nothing"));
                }
                let i = if *slot == Slot::Main { 0 } else { 1 };
                match reply {
                    Input::Spawned(..) => {
                        if !matches!(program, Program::Finish { .. }) {
                            s.real_throttle(*slot, s.k.now.mono);
                        }
                        s.fork_failed[i] = None;
                    }
                    _ => {
                        // runit sleeps 5 s before the next fork: the restart is due then.
                        let t = s.k.now.mono;
                        s.fork_failed[i] = Some(t);
                        if let Some(due) = &mut s.restart_due[i] {
                            *due = (*due).max(t + Span::from_secs(5));
                        }
                    }
                }
                s.clock_after.push_back(s.k.now);
            }
            (Action::RunControl(_), Some(Input::ControlDone(outcome))) => {
                if let Some((_, plan)) = s.control.take() {
                    if plan.outcome != *outcome {
                        s.violate(Check::Executor, format!("control script planned as {:?}, reported as {outcome:?}", plan.outcome));
                    }
                }
                s.clock_after.push_back(s.k.now);
                if matches!(outcome, ControlOutcome::StatFailed(_) | ControlOutcome::ForkFailed(_) | ControlOutcome::WaitFailed(_)) {
                    s.k.count(FaultKind::ControlError);
                }
            }
            (Action::WriteStatus { slot, pid, stat, status, .. }, None) => s.check_files(*slot, pid.as_deref(), stat, status),
            (Action::Exit(_), None) => s.finished = finished,
            (Action::Signal(..) | Action::SignalGroup(..) | Action::CloseNotificationFd | Action::CloseLogPipe | Action::Warn(_), None) => {
            }
            (a, r) => s.violate(Check::Executor, format!("{a:?} answered with {r:?}")),
        }
    }
}

/// A fork the executor is about to make, as the action asked for it.
#[derive(Clone, Debug)]
struct Spawning {
    slot: Slot,
    program: Program,
    fail: Vec<u8>,
    group: bool,
}

/// The fake kernel as the production executor sees it: each syscall answered by
/// [`Kernel`], with the simulation's faults and planted bugs.
pub struct FakeSys(Rc<RefCell<Sim>>);

/// A pid the fake gives `control/<c>` scripts (never a child of a slot).
const CONTROL_PID: i32 = 90_000;
/// The fd `open_read("finish")` returns while `./finish` exists.
const FINISH_FD: i32 = 7;

/// The model's signal for a platform number.
fn sig_of(signo: i32) -> Option<Sig> {
    use Sig::*;
    [Term, Cont, Stop, Hup, Alrm, Int, Quit, Usr1, Usr2, Kill, Abrt].into_iter().find(|&s| runtime::exec::runsv::signo(s) == signo)
}

impl Sim {
    /// Checks that a spawn spec carries out the pending `Spawn` action exactly: program,
    /// arguments, directory, log pipe ends, process group, exec failure message.
    fn check_spec(&mut self, want: &Spawning, spec: &SpawnSpec) {
        let c = |s: &str| std::ffi::CString::new(s).unwrap_or_default();
        // Once runsv has closed the log pipe (an `x`, then a `u` that cancelled it), the
        // service writes to runsv's own stdout.
        let pipe = self.has_log && self.k.log_pipe_open;
        let (path, argv, chdir, stdin, stdout) = match &want.program {
            Program::Run => (c("./run"), vec![c("./run")], None, None, pipe.then_some(LOG_PIPE_W)),
            Program::Finish { a, b } => {
                (c("./finish"), vec![c("./finish"), c(&a.to_string()), c(&b.to_string())], None, None, pipe.then_some(LOG_PIPE_W))
            }
            Program::LogRun => (c("./run"), vec![c("./run")], Some(c("./log")), pipe.then_some(LOG_PIPE_R), None),
        };
        let got = (&spec.path, &spec.argv, &spec.chdir, spec.stdin, spec.stdout, spec.new_pgrp, &spec.exec_fail_msg);
        if got != (&path, &argv, &chdir, stdin, stdout, want.group, &want.fail) {
            self.violate(Check::Executor, format!("spawn spec {got:?} for {:?} of {:?}", want.program, want.slot));
        }
    }
}

impl Syscalls for FakeSys {
    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, Errno> {
        let s = &mut *self.0.borrow_mut();
        if spec.path.as_bytes().starts_with(b"control/") {
            return match s.control {
                Some((_, ControlPlan { outcome: ControlOutcome::ForkFailed(e), .. })) => Err(e),
                Some(_) => Ok(CONTROL_PID),
                None => {
                    s.violate(Check::Executor, format!("{:?} forked outside a RunControl", spec.path));
                    Err(Errno::EAGAIN)
                }
            };
        }
        let Some(want) = s.spawning.take() else {
            s.violate(Check::Executor, format!("{:?} forked outside a Spawn", spec.path));
            return Err(Errno::EAGAIN);
        };
        s.check_spec(&want, spec);
        let i = s.real_fork;
        s.real_fork += 1;
        s.k.spawn(i, want.slot, &want.program).map(|p| p as i32)
    }

    fn wait_pid(&mut self, pid: i32) -> Result<i32, Errno> {
        let s = &mut *self.0.borrow_mut();
        let Some((_, plan)) = s.control.filter(|_| pid == CONTROL_PID) else {
            s.violate(Check::Executor, format!("waitpid({pid}) outside a control script"));
            return Err(Errno::ECHILD);
        };
        if plan.hang > Span::ZERO {
            s.k.count(FaultKind::ControlHang);
            // runsv is blocked in waitpid meanwhile: the world goes on without it.
            let t = s.k.now.mono + plan.hang;
            s.k.advance_to(t);
            for due in s.restart_due.iter_mut().flatten() {
                *due = *due + plan.hang;
            }
        }
        match plan.outcome {
            ControlOutcome::Exited(st) => Ok(st),
            ControlOutcome::WaitFailed(e) => Err(e),
            other => {
                s.violate(Check::Executor, format!("waitpid on a control script planned as {other:?}"));
                Err(Errno::ECHILD)
            }
        }
    }

    fn reap_nohang(&mut self) -> Option<Reaped> {
        let s = &mut *self.0.borrow_mut();
        let (pid, status, slot, kind) = s.k.reap()?;
        s.reaps += 1;
        // A cycle ends when the slot goes down: after `./finish`, or after `./run` when
        // there is no `./finish` to run.
        let ends = kind != Kind::Run || !s.k.finish_present;
        let si = if slot == Slot::Main { 0 } else { 1 };
        if let (true, Some(start)) = (ends, s.real_start[si]) {
            let t = s.k.now.mono;
            s.real_down[si] = Some((t, t < start + Span::from_secs(1)));
        }
        let wrong = s.cfg.plant == Plant::ReapWrongPid && s.reaps == 1;
        s.plant_fired |= wrong;
        let pid = if wrong { pid + 1000 } else { pid };
        Some(Reaped { pid: pid as i32, status })
    }

    fn kill(&mut self, pid: i32, signo: i32) -> Result<(), Errno> {
        let s = &mut *self.0.borrow_mut();
        // The fake kernel has no process groups: a group signal reaches the leader (the
        // simulated services have no stop files, so it never happens).
        match sig_of(signo) {
            Some(sig) => {
                s.k.deliver(pid.unsigned_abs(), sig);
                Ok(())
            }
            None => {
                s.violate(Check::Executor, format!("kill({pid}, {signo}): a signal runsv never sends"));
                Err(Errno::EINVAL)
            }
        }
    }

    fn stat_mode(&mut self, path: &CStr) -> Result<u32, Errno> {
        let s = &mut *self.0.borrow_mut();
        match (path.to_bytes().strip_prefix(b"control/"), s.control) {
            (Some(c), Some((byte, plan))) if c == [byte] => match plan.outcome {
                ControlOutcome::Absent => Err(Errno::ENOENT),
                ControlOutcome::Exited(_) if s.cfg.plant == Plant::HideControlScript => {
                    s.plant_fired = true;
                    Err(Errno::ENOENT)
                }
                ControlOutcome::StatFailed(e) => Err(e),
                _ => Ok(0o100_755),
            },
            _ => {
                s.violate(Check::Executor, format!("stat({path:?}) outside a control script"));
                Err(Errno::ENOENT)
            }
        }
    }

    fn open_read(&mut self, path: &CStr) -> Result<i32, Errno> {
        let s = &mut *self.0.borrow_mut();
        match path.to_bytes() {
            b"finish" if s.k.finish_present => Ok(FINISH_FD),
            b"finish" => Err(Errno::ENOENT),
            other => {
                let o = String::from_utf8_lossy(other).into_owned();
                s.violate(Check::Executor, format!("open({o:?}) of a file the fake kernel does not have"));
                Err(Errno::ENOENT)
            }
        }
    }

    fn read(&mut self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let s = &mut *self.0.borrow_mut();
        let fifo = match fd {
            MAIN_CONTROL_FD => 0,
            LOG_CONTROL_FD => 1,
            _ => return Err(Errno::EBADF),
        };
        match (s.k.fifo[fifo].pop_front(), buf.first_mut()) {
            (Some(b), Some(out)) => {
                *out = b;
                Ok(1)
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let s = &mut *self.0.borrow_mut();
        if fd == LOG_PIPE_W {
            s.k.close_log_pipe();
        }
        Ok(())
    }

    fn write_atomic(&mut self, tmp: &CStr, dest: &CStr, bytes: &[u8]) -> Result<(), AtomicWriteError> {
        let s = &mut *self.0.borrow_mut();
        let d = dest.to_bytes();
        let (slot, name) = match d.strip_prefix(b"log/supervise/") {
            Some(n) => (Slot::Log, n),
            None => (Slot::Main, d.strip_prefix(b"supervise/").unwrap_or(d)),
        };
        let file = match name {
            b"pid" => StatusFile::Pid,
            b"stat" => StatusFile::Stat,
            b"status" => StatusFile::Status,
            b"status.ext" => StatusFile::Ext,
            _ => {
                s.violate(Check::Executor, format!("write of {dest:?} (via {tmp:?}): not a status file"));
                return Ok(());
            }
        };
        if tmp.to_bytes() != [d, b".new"].concat() {
            s.violate(Check::Executor, format!("{dest:?} written through {tmp:?}"));
        }
        let drop = s.cfg.plant == Plant::DropStatusWrite && !s.planted;
        let mut dropped = false;
        let r = s.k.write_file(slot, file, bytes, drop, &mut dropped);
        s.planted |= dropped;
        s.plant_fired |= dropped;
        r
    }

    fn write_stderr(&mut self, line: &[u8]) {
        self.0.borrow_mut().k.stderr.push(line.to_vec());
    }

    // The simulated services declare no readiness protocol: no pipe, no socket.
    fn pipe(&mut self) -> Result<(i32, i32), Errno> {
        self.0.borrow_mut().violate(Check::Executor, "a notification pipe for a service without notification-fd".into());
        Err(Errno::EMFILE)
    }

    fn set_nonblock(&mut self, _fd: i32) -> Result<(), Errno> {
        Ok(())
    }

    fn recv_datagram(&mut self, _fd: i32) -> Option<runtime::os::Datagram> {
        None
    }

    fn parent_of(&mut self, _pid: i32) -> Option<i32> {
        None
    }
}

/// Runs one seeded simulation to its end and reports what happened and what failed.
pub fn run(seed: u64, cfg: &SimConfig) -> Report {
    let mut rng = crate::sim::rng::Rng::new(seed ^ 0x5EED_5EED);
    let has_log = rng.chance(700);
    let dir = b"/service/sim".to_vec();
    let config = Config {
        dir: dir.clone(),
        down: rng.chance(150),
        log: if has_log { Some(rng.chance(150)) } else { None },
        readiness: Default::default(),
    };
    let mut k =
        Kernel::new(seed, &KernelConfig { faults: cfg.faults, active: Span::from_secs(cfg.active_secs), has_log, hangs: cfg.hangs });
    k.lose_next_reap = cfg.plant == Plant::LostReap;
    let world = World::unstarted(config.clone(), PidPolicy::Fresh, false);
    let mut sim = Sim {
        cfg: cfg.clone(),
        k,
        world,
        has_log,
        shadow_fork: 0,
        shadow_ctl: 0,
        real_fork: 0,
        real_ctl: 0,
        shadow_effects: Vec::new(),
        real_effects: Vec::new(),
        spawning: None,
        control: None,
        unshadowed: vec![(Some(T0), Input::Start)],
        clock_after: VecDeque::new(),
        restart_due: [None, None],
        fork_failed: [None, None],
        progress: true,
        last_wait: None,
        last_spurious: false,
        waits: 0,
        inputs: 1,
        actions: 0,
        status_writes: 0,
        planted: false,
        plant_fired: false,
        reaps: 0,
        stale_starts: 0,
        max_stale_ms: 0,
        real_start: [None, None],
        real_down: [None, None],
        real_throttle_misses: Vec::new(),
        late_deadlines: 0,
        max_late_ms: 0,
        finished: None,
        stalled: false,
        violations: Vec::new(),
        hasher: DefaultHasher::new(),
        trace: Vec::new(),
    };
    sim.record("in", T0, &Input::Start, None);
    let shared = Rc::new(RefCell::new(sim));
    let mut machine = Runsv::new(T0, config);
    let handled = Handled { all: Vec::new(), stray_unblock: Vec::new() };
    let control = (MAIN_CONTROL_FD, has_log.then_some(LOG_CONTROL_FD));
    let log_pipe = has_log.then_some((LOG_PIPE_R, LOG_PIPE_W));
    let exec = RunsvIo::started(FakeSys(shared.clone()), &dir, control, log_pipe, handled, ReadyIo::default());
    let mut io = SimIo { sim: shared.clone(), exec };
    let mut os = SimOs(shared.clone());
    let code = runtime::driver::run(&mut machine, &mut io, &mut os, vec![Input::Start], &mut Trace::none());
    drop((io, os));
    let mut guard = shared.borrow_mut();
    let s = &mut *guard;
    if s.cfg.plant == Plant::LostReap && !s.k.lose_next_reap {
        s.plant_fired = true;
    }
    s.catch_up();
    s.end_batch();
    s.check_restarts();
    if s.world.m != machine {
        s.violate(Check::Shadow, format!("final machines differ: driver {machine:?}, shadow {:?}", s.world.m));
    }
    if s.finished.is_none() && s.violations.is_empty() {
        let why = if s.stalled { "nothing left to happen" } else { "time or step cap reached" };
        let st = (machine.slot(Slot::Main).cloned(), machine.slot(Slot::Log).cloned());
        s.violate(Check::ExitLiveness, format!("runsv did not exit ({why}): {st:?}, children {:?}", s.k.procs));
    }
    let digest = s.hasher.finish();
    Report {
        seed,
        has_log,
        exit_code: code,
        violations: std::mem::take(&mut s.violations),
        digest,
        trace: std::mem::take(&mut s.trace),
        virtual_ms: (s.k.now.mono - T0.mono).as_millis(),
        waits: s.waits,
        inputs: s.inputs,
        actions: s.actions,
        starts: s.k.starts,
        signals: s.k.signals,
        faults: std::mem::take(&mut s.k.faults),
        stale_starts: s.stale_starts,
        max_stale_ms: s.max_stale_ms,
        real_throttle_misses: std::mem::take(&mut s.real_throttle_misses),
        late_deadlines: s.late_deadlines,
        max_late_ms: s.max_late_ms,
        plant_fired: s.plant_fired,
    }
}

/// An action for the trace, with its bytes as text.
fn describe(a: &Action) -> String {
    let t = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match a {
        Action::Spawn { slot, program, .. } => format!("Spawn {slot:?} {program:?}"),
        Action::WriteStatus { slot, pid, stat, status, .. } => {
            let hex: String = status.iter().map(|b| format!("{b:02x}")).collect();
            format!("WriteStatus {slot:?} pid {:?} stat {:?} status {hex}", pid.as_deref().map(t), t(stat))
        }
        Action::Warn(line) => format!("Warn {:?}", t(line)),
        Action::RunControl(c) => format!("RunControl({:?})", *c as char),
        other => format!("{other:?}"),
    }
}
