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

use model::runsv::text;
use model::runsv::{Action, Config, Input, Program, Runsv, Slot};
use model::time::{Mono, Now, Span};
use model::Machine;
use runtime::driver::{Io, Os, Trace, Woke};
use runtime::latch::SignalSet;
use runtime::wait::{Interest, Ready};

use crate::reference::runsv::{Effect, Event, Replies, Step, T0};
use crate::reference::runsv_world::{PidPolicy, World};

use kernel::{FaultKind, Kernel, KernelConfig, Kind, LOG_CONTROL_FD, MAIN_CONTROL_FD, SIGTERM};

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
    dir: Vec<u8>,
    has_log: bool,
    /// Plan entries consumed by the shadow and by the real executor.
    shadow_fork: usize,
    shadow_ctl: usize,
    real_fork: usize,
    real_ctl: usize,
    shadow_effects: Vec<Effect>,
    real_effects: Vec<Effect>,
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

/// The simulated executor.
pub struct SimIo(Rc<RefCell<Sim>>);

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
        let s = &mut *self.0.borrow_mut();
        s.actions += 1;
        s.progress = true;
        let text = s.cfg.keep_trace.then(|| describe(&action));
        s.record("out", now, &action, text);
        match action {
            Action::Spawn { slot, program, .. } => {
                s.real_effects.push(Effect::Spawn(slot, program.clone()));
                let live = s.k.children_of(slot);
                if !live.is_empty() {
                    s.violate(Check::OneChildPerSlot, format!("{program:?} for {slot:?} beside unreaped {live:?}"));
                }
                let is_run = !matches!(program, Program::Finish { .. });
                let real = s.k.now.mono;
                if is_run && real > now.mono {
                    s.stale_starts += 1;
                    s.max_stale_ms = s.max_stale_ms.max((real - now.mono).as_millis());
                }
                let i = s.real_fork;
                s.real_fork += 1;
                let reply = match s.k.spawn(i, slot, &program) {
                    Ok(pid) => {
                        if is_run {
                            s.real_throttle(slot, real);
                        }
                        s.fork_failed[if slot == Slot::Main { 0 } else { 1 }] = None;
                        Input::Spawned(slot, pid)
                    }
                    Err(e) => {
                        // runit sleeps 5 s before the next fork: the restart is due then.
                        let (i, t) = (if slot == Slot::Main { 0 } else { 1 }, s.k.now.mono);
                        s.fork_failed[i] = Some(t);
                        if let Some(due) = &mut s.restart_due[i] {
                            *due = (*due).max(t + Span::from_secs(5));
                        }
                        Input::SpawnFailed(slot, e)
                    }
                };
                s.clock_after.push_back(s.k.now);
                Some(reply)
            }
            Action::RunControl(byte) => {
                s.real_effects.push(Effect::Control(byte));
                let i = s.real_ctl;
                s.real_ctl += 1;
                let plan = s.k.control_plan(i);
                if plan.hang > Span::ZERO {
                    s.k.count(FaultKind::ControlHang);
                    // runsv is blocked in waitpid meanwhile: the world goes on without it.
                    let t = s.k.now.mono + plan.hang;
                    s.k.advance_to(t);
                    for due in s.restart_due.iter_mut().flatten() {
                        *due = *due + plan.hang;
                    }
                }
                s.clock_after.push_back(s.k.now);
                if matches!(
                    plan.outcome,
                    model::runsv::ControlOutcome::StatFailed(_)
                        | model::runsv::ControlOutcome::ForkFailed(_)
                        | model::runsv::ControlOutcome::WaitFailed(_)
                ) {
                    s.k.count(FaultKind::ControlError);
                }
                Some(Input::ControlDone(plan.outcome))
            }
            // The simulated kernel has no process groups: a group signal reaches the leader
            // (the simulation runs services without the stop files, so it never happens).
            Action::Signal(slot, pid, sig) | Action::SignalGroup(slot, pid, sig) => {
                s.real_effects.push(Effect::Signal(slot, pid, sig));
                if !s.k.is_unreaped_child(pid, slot) {
                    s.violate(Check::SignalsOnlyToLive, format!("{sig:?} to {pid} of {slot:?}, unreaped {:?}", s.k.children_of(slot)));
                }
                s.k.deliver(pid, sig);
                None
            }
            Action::WriteStatus { slot, pid, stat, status, .. } => {
                s.status_writes += 1;
                let drop = s.cfg.plant == Plant::DropStatusWrite && !s.planted;
                let mut dropped = false;
                let failures = s.k.write_status(slot, pid.as_deref(), &stat, &status, drop, &mut dropped);
                s.planted |= dropped;
                s.plant_fired |= dropped;
                s.check_files(slot, pid.as_deref(), &stat, &status);
                for (file, step) in failures {
                    let line = text::status_write_failed(&s.dir, slot, file, step);
                    s.k.stderr.push(line);
                }
                None
            }
            // The simulated services declare no notification-fd: no pipe to close.
            Action::CloseNotificationFd => None,
            Action::CloseLogPipe => {
                s.real_effects.push(Effect::CloseLogPipe);
                let main = s.k.children_of(Slot::Main);
                if !main.is_empty() || !s.k.log_pipe_open {
                    s.violate(Check::OrderlyExit, format!("log pipe closed with main children {main:?} (open {})", s.k.log_pipe_open));
                }
                s.k.close_log_pipe();
                None
            }
            Action::Warn(line) => {
                s.real_effects.push(Effect::Warn(line.clone()));
                s.k.stderr.push(line);
                None
            }
            Action::Exit(code) => {
                s.real_effects.push(Effect::Exit(code));
                let left: Vec<u32> = s.k.procs.keys().copied().collect();
                if code != 0 || !left.is_empty() {
                    s.violate(Check::OrderlyExit, format!("Exit({code}) with unreaped children {left:?}"));
                }
                s.finished = Some(code);
                None
            }
            // The simulation never feeds `Input::Resume` (it starts one runsv on an empty
            // service directory): adoption's actions cannot come.
            Action::Adopt { .. } | Action::Release(_) | Action::TakeLogPipe(_) | Action::SignalPidfd(..) => {
                s.violate(Check::OrderlyExit, format!("adoption action {action:?} without a Resume"));
                None
            }
        }
    }

    fn interests(&self, out: &mut Vec<Interest>) {
        let s = self.0.borrow();
        out.push(Interest::read(MAIN_CONTROL_FD));
        if s.has_log {
            out.push(Interest::read(LOG_CONTROL_FD));
        }
    }

    fn gather(&mut self, now: Now, woke: &Woke, out: &mut VecDeque<Input>) {
        let s = &mut *self.0.borrow_mut();
        let mut inputs = Vec::new();
        // The production order: reap every exited child, one byte from the main FIFO, one
        // from the log FIFO, then SIGTERM as `x`, then the tick.
        while let Some((pid, status, slot, kind)) = s.k.reap() {
            s.reaps += 1;
            // A cycle ends when the slot goes down: after `./finish`, or after `./run`
            // when there is no `./finish` to run.
            let ends = kind != Kind::Run || !s.k.finish_present;
            let si = if slot == Slot::Main { 0 } else { 1 };
            if let (true, Some(start)) = (ends, s.real_start[si]) {
                let t = s.k.now.mono;
                s.real_down[si] = Some((t, t < start + Span::from_secs(1)));
            }
            let wrong = s.cfg.plant == Plant::ReapWrongPid && s.reaps == 1;
            s.plant_fired |= wrong;
            let pid = if wrong { pid + 1000 } else { pid };
            inputs.push(Input::ChildExited { pid, status, finish_present: s.k.finish_present });
        }
        let ready = |fd: i32| woke.ready.iter().any(|r| r.fd == fd && r.readable);
        if ready(MAIN_CONTROL_FD) {
            if let Some(b) = s.k.fifo[0].pop_front() {
                inputs.push(Input::Control(Slot::Main, b));
            }
        }
        if s.has_log && ready(LOG_CONTROL_FD) {
            if let Some(b) = s.k.fifo[1].pop_front() {
                inputs.push(Input::Control(Slot::Log, b));
            }
        }
        if woke.signals.contains(SIGTERM) {
            inputs.push(Input::Terminate);
        }
        if woke.deadline_passed {
            inputs.push(Input::Tick);
        }
        for (k, i) in inputs.into_iter().enumerate() {
            if i != Input::Tick {
                s.progress = true;
            }
            s.inputs += 1;
            s.record("in", now, &i, None);
            s.unshadowed.push(((k == 0).then_some(now), i.clone()));
            out.push_back(i);
        }
    }

    fn finished(&self) -> Option<i32> {
        let s = self.0.borrow();
        if let Some(c) = s.finished {
            return Some(c);
        }
        let over = s.k.now.mono >= s.k.end_at + Span::from_secs(s.cfg.exit_within_secs);
        if !s.violations.is_empty() || s.stalled || over || s.waits >= s.cfg.max_waits {
            return Some(-1);
        }
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
        dir,
        has_log,
        shadow_fork: 0,
        shadow_ctl: 0,
        real_fork: 0,
        real_ctl: 0,
        shadow_effects: Vec::new(),
        real_effects: Vec::new(),
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
    let mut io = SimIo(shared.clone());
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
